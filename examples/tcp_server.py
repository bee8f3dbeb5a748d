"""A TCP server on the cellular module: listen on a port, accept one client, send its first
line back, close. Only modules with server sockets (the NM28) can; on others (the L610) it
says so and stops. Your operator must let connections in to your address (many do not).

    python examples/tcp_server.py /dev/ttyUSB0 8080"""
import sys

import atmodem

# Your set-up; the command line overrides them: PORT [LISTEN_PORT].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
LISTEN_PORT = 8080

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
LISTEN_PORT = int(args[1]) if len(args) > 1 else LISTEN_PORT

modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
name = modem.start()
print("module:", name)
if not modem.dialect.SERVER:  # known once start() has identified the module
    print("%s: this module has no server sockets (bind/listen/accept); nothing to do" % name)
else:
    print("address:", modem.attach(apn=APN))
    srv = modem.socket(atmodem.SOCK_STREAM)
    srv.settimeout(60)  # how long to wait for a client
    srv.bind(("0.0.0.0", LISTEN_PORT))
    srv.listen()
    print("listening on port", LISTEN_PORT)
    conn, addr = srv.accept()
    print("client from %s:%d" % addr)
    conn.settimeout(20)
    line = conn.readline()
    conn.sendall(line)
    print("echoed %d bytes" % len(line))
    conn.close()
    srv.close()
modem.close()
