import atmodem_app
import config

atmodem_app.main(config)
