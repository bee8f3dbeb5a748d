# Espressif ESP32-DevKitC wired to the module's UART (3.3 V logic; the module's own supply
# must deliver its peak current, 2 A for short bursts on most LTE modules). README: Wiring.
DIALECT = None  # "nm28", "l610", or None to ask the module (AT+CGMM)
UART_ID = 2  # UART2: GPIO17 TX -> module RXD, GPIO16 RX <- module TXD
TX = 17
RX = 16
BAUD = 115200
RXBUF = 4096  # UART receive buffer: at 921600 baud keep it >= 4096
# Hardware flow control (why: atmodem_app.open_uart). Any free GPIO works on the ESP32.
FLOW = False  # True once RTS and CTS are wired
RTS = 18  # GPIO18 (our RTS, output) -> module's RTS input
CTS = 19  # GPIO19 (our CTS, input) <- module's CTS output
POWER_KEY = 4  # drives PWRKEY through an NPN transistor: active high
RESET = 5  # drives RESET_N through an NPN transistor: active high
APN = "cmnet"
HOST = "tcpbin.com"  # an echo server on the internet for the example
PORT = 4242
