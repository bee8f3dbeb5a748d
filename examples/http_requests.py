"""HTTP GET with MicroPython's `requests`, unmodified, over the cellular module: the library
gets the modem's sockets as its socket module.

    micropython examples/http_requests.py /dev/ttyUSB0 https://example.org/

MicroPython only: `requests` is MicroPython's (`mpremote mip install requests` on a board; the
unix port has it frozen in). On CPython use http_get.py, or CPython's own HTTP libraries."""
import sys

import atmodem

# Your set-up; the command line overrides them: PORT [URL].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
URL = "http://example.org/"

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
URL = args[1] if len(args) > 1 else URL

modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
print("module:", modem.start())
print("address:", modem.attach(apn=APN))

# Import requests with the modem's sockets as its `socket`; only requests sees them, Wi-Fi
# sockets stay as they were. install_tls(): an https:// URL gets TLS in the module (requests
# wraps the modem's socket; a socket that is not the modem's keeps MicroPython's tls).
sm = modem.sockets()
sm.install_tls()
requests = sm.load("requests")

r = requests.get(URL)  # the module resolves the name
print("status:", r.status_code)
print("body: %d bytes" % len(r.content))
r.close()
modem.close()
