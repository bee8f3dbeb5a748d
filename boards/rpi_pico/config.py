# Raspberry Pi Pico (RP2040) wired to the module's UART (3.3 V logic).
DIALECT = None  # "nm28", "l610", or None to ask the module (AT+CGMM)
UART_ID = 0  # UART0: GP0 TX -> module RXD, GP1 RX <- module TXD
TX = 0
RX = 1
BAUD = 115200
RXBUF = 4096
POWER_KEY = 2  # GP2 drives PWRKEY through an NPN transistor: active high
RESET = 3  # GP3 drives RESET_N through an NPN transistor: active high
APN = "cmnet"
HOST = "tcpbin.com"
PORT = 4242
