"""A stand-in for MicroPython's machine module on the unix port: the UART is the
emulator's pseudo-terminal (path in $ATMODEM_FAKE_UART). Pins record their values and, when
$ATMODEM_FAKE_PINS names HOST:PORT, report each change there as a line "<pin id> <value>",
so the test can wire a pin to the emulated module (a power key that really powers it on).

The UART follows MicroPython's rp2 firmware as measured on the emulated Pico
(host_tests/test_pico_hal.py): read/readinto give None when nothing is there, readinto
without nbytes waits timeout_char for more while it has fewer than asked for, buffer sizes
outside the firmware's range are refused, and flush() exists."""
import os

from atmodem.hal.unix_port import UnixPort

MAX_BUFFER = 32766
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
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None, rxbuf=256, txbuf=256, timeout=0,
                 timeout_char=0, **kw):
        for name, size in (("rxbuf", rxbuf), ("txbuf", txbuf)):
            if size > MAX_BUFFER:
                raise ValueError("%s too large" % name)
        self.id = uart_id
        self.args = (baudrate, tx, rx, rxbuf)
        # the firmware makes the inter-character timeout at least 13 bit times
        self.timeout_char = max(timeout_char, 13000 // baudrate + 1)
        self.port = UnixPort(os.getenv("ATMODEM_FAKE_UART"), baudrate)
        self._peek = bytearray(1)
        self._have = 0

    def any(self):
        if not self._have:
            self._have = self.port.readinto(self._peek)
        return self._have

    def readinto(self, buf, nbytes=None):
        want = len(buf) if nbytes is None else min(nbytes, len(buf))
        if not want or not self.any():
            return None
        buf[0] = self._peek[0]
        self._have = 0
        got = 1
        mv = memoryview(buf)
        while got < want:
            n = self.port.readinto(mv[got:want])
            if n:
                got += n
                continue
            # fewer than asked for: the firmware waits timeout_char for the next byte
            if not self.port.wait(self.timeout_char):
                break
        return got

    def read(self, nbytes=None):
        buf = bytearray(nbytes or 4096)
        n = self.readinto(buf)
        return None if n is None else bytes(buf[:n])

    def write(self, data):
        self.port.write(data)
        return len(data)

    def flush(self):
        pass  # the pty takes every byte at once

    def deinit(self):
        self.port.close()
