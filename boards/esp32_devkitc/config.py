# Espressif ESP32-DevKitC wired to the module's UART (3.3 V logic; the module's own supply
# must deliver its peak current, 2 A for short bursts on most LTE modules). README: Wiring.
#
# Pins: chosen to be safe on a DevKitC with either an ESP32-WROOM-32 or an ESP32-WROVER.
# Not used: GPIO0, 2, 5, 12, 15 (strapping pins, read at reset: GPIO5 is pulled up at boot,
# and through an NPN it would pull the module's RESET_N low on every board reset), GPIO6-11
# (the SPI flash), GPIO16/17 (the PSRAM on WROVER modules, although they are UART2's default
# pins), GPIO1/3 (the USB serial: the REPL), GPIO34-39 (inputs only). The ESP32 routes any
# UART signal to any GPIO, so UART2 goes on GPIO26/27 here.
DIALECT = None  # "nm28", "l610", or None to ask the module (AT+CGMM)
UART_ID = 2  # UART2: GPIO26 TX -> module RXD, GPIO27 RX <- module TXD
TX = 26
RX = 27
BAUD = 115200
RXBUF = 4096  # UART receive buffer: at 921600 baud keep it >= 4096
# Hardware flow control (why: atmodem_app.open_uart). Any free GPIO of the list above works.
FLOW = False  # True once RTS and CTS are wired
RTS = 18  # GPIO18 (our RTS, output) -> module's RTS input
CTS = 19  # GPIO19 (our CTS, input) <- module's CTS output
# Through NPN transistors, active high. Until MicroPython drives them the pins float: give
# each transistor's base a pull-down (e.g. 10 kOhm to GND) so the key and reset stay released.
POWER_KEY = 4  # GPIO4 drives PWRKEY: not a strapping pin
RESET = 23  # GPIO23 drives RESET_N: not a strapping pin (GPIO5 was one)
APN = "cmnet"  # your operator's APN
HOST = "tcpbin.com"  # an echo server on the internet for the example
PORT = 4242
