"""Ask an NTP server for the time over UDP through the cellular module (one SNTP request).

    python examples/ntp_time.py /dev/ttyUSB0 pool.ntp.org"""
import struct
import sys
import time

import atmodem

# Your set-up; the command line overrides them: PORT [SERVER [UDP_PORT]].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
SERVER, UDP_PORT = "pool.ntp.org", 123
NTP_TO_UNIX = 2208988800  # seconds from 1900 (NTP's epoch) to 1970

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
SERVER = args[1] if len(args) > 1 else SERVER
UDP_PORT = int(args[2]) if len(args) > 2 else UDP_PORT

modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
print("module:", modem.start())
print("address:", modem.attach(apn=APN))

s = modem.socket(atmodem.SOCK_DGRAM)
s.settimeout(10)
s.connect((SERVER, UDP_PORT))
s.send(b"\x1b" + bytes(47))  # version 3, mode 3 (client)
answer = s.recv(48)  # one datagram, whole
s.close()
seconds = struct.unpack("!I", answer[40:44])[0]  # the transmit timestamp's seconds
unix = seconds - NTP_TO_UNIX
print("unix time:", unix)
print("UTC: %04d-%02d-%02d %02d:%02d:%02d" % time.gmtime(unix)[:6])
modem.close()
