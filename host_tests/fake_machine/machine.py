"""A stand-in for MicroPython's machine module on the unix port: the UART is the
emulator's pseudo-terminal (path in $ATMODEM_FAKE_UART), pins record their values and, when
$ATMODEM_FAKE_PINS names HOST:PORT, report each change there as a line "<pin id> <value>",
so the test can wire a pin to the emulated module (a power key that really powers it on)."""
import os

from atmodem.hal.unix_port import UnixPort

_wire = []  # the connection to the test, once opened


def _tell(line):
    where = os.getenv("ATMODEM_FAKE_PINS")
    if not where:
        return
    if not _wire:
        import socket

        host, port = where.rsplit(":", 1)
        s = socket.socket()
        s.connect(socket.getaddrinfo(host, int(port))[0][-1])
        _wire.append(s)
    _wire[0].send(line.encode())


class Pin:
    OUT = 1
    IN = 0
    log = []

    def __init__(self, pin_id, mode=-1, value=None):
        self.id = pin_id
        self._v = value or 0

    def value(self, v=None):
        if v is None:
            return self._v
        self._v = v
        Pin.log.append((self.id, v))
        _tell("%s %d\n" % (self.id, v))


class UART:
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None, rxbuf=256, **kw):
        self.id = uart_id
        self.args = (baudrate, tx, rx, rxbuf)
        self.port = UnixPort(os.getenv("ATMODEM_FAKE_UART"), baudrate)
        self._peek = bytearray(1)
        self._have = 0

    def any(self):
        if not self._have:
            self._have = self.port.readinto(self._peek)
        return self._have

    def readinto(self, buf):
        if not self.any():
            return None
        buf[0] = self._peek[0]
        self._have = 0
        n = self.port.readinto(memoryview(buf)[1:]) if len(buf) > 1 else 0
        return 1 + n

    def write(self, data):
        self.port.write(data)
        return len(data)

    def deinit(self):
        self.port.close()
