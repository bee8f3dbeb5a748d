"""HTTP GET over a plain TCP socket through the cellular module.

    python examples/http_get.py /dev/ttyUSB0 example.org 80 /

On a board, copy it as main.py and set PORT to the UART (see below)."""
import sys

import atmodem

# Your set-up; the command line overrides them: PORT [HOST [TCP_PORT [PATH]]].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
HOST, TCP_PORT, PATH = "example.org", 80, "/"

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
HOST = args[1] if len(args) > 1 else HOST
TCP_PORT = int(args[2]) if len(args) > 2 else TCP_PORT
PATH = args[3] if len(args) > 3 else PATH

modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
print("module:", modem.start())
print("address:", modem.attach(apn=APN))

s = modem.socket(atmodem.SOCK_STREAM)
s.settimeout(30)
s.connect((HOST, TCP_PORT))  # the module resolves the name
s.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (PATH.encode(), HOST.encode()))
response = b""
while True:
    data = s.recv(1024)
    if not data:  # the server closed: HTTP/1.0 ends the body so
        break
    response += data
s.close()

head, _, body = response.partition(b"\r\n\r\n")
print("status:", head.split(b"\r\n")[0].decode())
print("body: %d bytes" % len(body))
modem.close()
