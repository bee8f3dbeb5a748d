"""The example every board runs: power the module, attach, open a socket, send, read the
echo. main.py on each board is `import config, atmodem_app; atmodem_app.main(config)`.
A site_config.py next to it (optional) overrides HOST/PORT/APN without editing config.py."""
import machine

import atmodem
from atmodem.hal.pins import Power


def main(config):
    try:
        import site_config

        for name in ("HOST", "PORT", "APN"):
            if hasattr(site_config, name):
                setattr(config, name, getattr(site_config, name))
    except ImportError:
        pass
    uart = atmodem.hal.open_serial(config.UART_ID, config.BAUD, tx=config.TX, rx=config.RX, rxbuf=config.RXBUF)
    power = Power(power_key=machine.Pin(config.POWER_KEY, machine.Pin.OUT),
                  reset=machine.Pin(config.RESET, machine.Pin.OUT))
    modem = atmodem.Modem(uart, dialect=config.DIALECT, power=power, auto_reattach=True)
    print("module:", modem.start())
    print("attached, address", modem.attach(apn=config.APN, progress=lambda step: print("  attach:", step)))
    s = modem.socket(atmodem.SOCK_STREAM)
    s.settimeout(30)
    s.connect((config.HOST, config.PORT))
    s.write(b"hello from atmodem\n")
    print("echo:", s.readline())
    s.close()
    modem.close()
