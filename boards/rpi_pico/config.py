# Raspberry Pi Pico (RP2040) wired to the module's UART (3.3 V logic). README: Wiring.
DIALECT = None  # "nm28", "l610", or None to ask the module (AT+CGMM)
UART_ID = 0  # UART0: GP0 TX -> module RXD, GP1 RX <- module TXD
TX = 0
RX = 1
BAUD = 115200
RXBUF = 4096
# Hardware flow control (why: atmodem_app.open_uart). The RP2040 has fixed pins for it:
# UART0's CTS is GP2, GP14 or GP18 and its RTS GP3, GP15 or GP19 (GP2/GP3 drive the power
# key and reset here).
FLOW = False  # True once RTS and CTS are wired
RTS = 19  # GP19 (our RTS, output) -> module's RTS input
CTS = 18  # GP18 (our CTS, input) <- module's CTS output
POWER_KEY = 2  # GP2 drives PWRKEY through an NPN transistor: active high
RESET = 3  # GP3 drives RESET_N through an NPN transistor: active high
APN = "cmnet"  # your operator's APN
HOST = "tcpbin.com"
PORT = 4242
