# pyright: reportAttributeAccessIssue=false
# (these methods are Socket's: socket.py gives them the attributes they read)
"""MicroPython's stream protocol for a socket (py/stream.c): read, readinto, readline,
write and the ioctl that select.poll and asyncio use. Socket (socket.py) is this plus the
BSD calls; the waits, the ring and the link are its."""
from .compat import StreamBase, const
from .states import CLOSED, OPEN

_FLUSH = const(1)  # MP_STREAM_FLUSH
_POLL = const(3)  # MP_STREAM_POLL
_CLOSE = const(4)  # MP_STREAM_CLOSE
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8)
_POLLHUP = const(16)


class Stream(StreamBase):
    def ioctl(self, req, arg):
        """The MicroPython stream protocol: select.poll and asyncio ask whether we are
        readable; anything else is not ours (-1; poll first asks 10, get fileno). A poll
        services the line, so a program that only polls still sees its data."""
        if req == _CLOSE:  # a stream wrapped around us (tls) closes its transport
            self.close()
            return 0
        if req == _FLUSH:
            return 0
        if req != _POLL:
            return -1
        m = self._m
        k = self.link
        if not m.closed and not self.used:
            m.kick()
            self._settle_connect()
        ready = 0
        if arg & _POLLIN and (k.inbox.has_input() or k.incoming):
            ready |= _POLLIN
        if arg & _POLLOUT and k.state == OPEN:
            ready |= _POLLOUT
        if k.connect_error is not None:
            ready |= _POLLERR | _POLLHUP
        elif k.state == CLOSED or self.used:
            ready |= _POLLHUP
        return ready

    def fileno(self):
        return -1

    def makefile(self, mode="rb", buffering=0, *args, **kw):
        """MicroPython's socket.makefile returns the socket itself: it already is a stream."""
        return self

    def write(self, buf, a=None, b=None):
        """write(buf), write(buf, max_len) (negative: all of it), write(buf, off, len), as
        py/stream.c: everything is written (one datagram on a UDP socket)."""
        if isinstance(buf, str):
            buf = buf.encode()  # MicroPython streams take str too (requests writes headers so)
        mv = memoryview(buf)
        if b is not None:
            off = min(max(a or 0, 0), len(mv))
            mv = mv[off:]
            a = b
        if a is not None and 0 <= a < len(mv):
            mv = mv[:a]
        self.sendall(mv)
        return len(mv)

    def read(self, n=-1):
        """n bytes, fewer only at the end of the stream (py/stream.c read); None when
        non-blocking and nothing is there; an error raises even after some bytes."""
        if n is None:
            n = -1
        ib = self.link.inbox
        if not ib.stream:
            return self.recv(1 << 16 if n < 0 else n)
        if n >= 0:
            buf = bytearray(n)  # one buffer, filled in place (a board's heap fragments)
            got = self.readinto(buf)
            if got is None:
                return None
            return bytes(buf) if got == n else bytes(memoryview(buf)[:got])
        out = bytearray()
        ring = ib.ring
        while True:
            if not self._wait(self._has_input, "read"):
                if out:
                    break
                return None
            if not ring.count:
                self._end()  # an error raises, as py/stream.c does, even after some bytes
                break
            out += ring.read(ring.count)
            self._took()
        return bytes(out)

    def readinto(self, buf, nbytes=None):
        mv = memoryview(buf)
        want = len(mv) if nbytes is None else min(nbytes, len(mv))
        ib = self.link.inbox
        if not ib.stream:
            return self.recv_into(mv, want)
        got = 0
        ring = ib.ring
        while got < want:
            if not self._wait(self._has_input, "readinto"):
                return got or None
            if not ring.count:
                self._end()
                break
            got += ring.readinto(mv[got:], want - got)
            self._took()
        return got

    def readline(self, limit=-1):
        out = bytearray()
        ring = self.link.inbox.ring
        while limit < 0 or len(out) < limit:
            if not self._wait(self._has_input, "readline"):
                return bytes(out) if out else None
            if not ring.count:
                self._end()
                return bytes(out)
            k = ring.line(limit - len(out) if limit >= 0 else -1)
            out += ring.read(k)
            self._took()
            if out[-1:] == b"\n":
                break
        return bytes(out)
