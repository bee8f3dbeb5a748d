"""The asyncio face of a socket (aio.py runs its flows): AsyncSocket, and the StreamReader
and StreamWriter that open_connection gives."""
try:
    import asyncio
except ImportError:  # pragma: no cover - very old MicroPython
    import uasyncio as asyncio

from .errors import EAGAIN, ModemError
from .states import CLOSED


class AsyncSocket:
    """A Socket whose calls are coroutines; the same flows, and the same socket object
    underneath (`.sock`) for what is not I/O."""

    def __init__(self, am, sock):
        self.am = am
        self.sock = sock

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    @property
    def id(self):
        return self.sock.id

    async def connect(self, addr):
        await self.am.run(self.sock.connect_flow(addr))

    async def send(self, data):
        return await self.am.run(self.sock.send_flow(memoryview(data)))

    async def sendall(self, data):
        mv = memoryview(data)
        if len(mv):
            await self.am.run(self.sock.send_flow(mv, True))

    async def close(self):
        s = self.sock
        if s.state != CLOSED:
            await self.am.run(s.link.close_flow())
        s.used = True

    async def wait(self, pred, what, stream=False):
        """Until pred() or the socket's timeout; False when non-blocking and it does not
        hold. stream: an asyncio stream's read, which awaits data even on a non-blocking
        socket (it never spins)."""
        s = self.sock
        s._usable()
        if pred():
            return True
        am = self.am
        k = s.link
        if k.suspended and not k.ended():
            await am.run(am.m.data.resume(k))
        ms = s._wait_ms()
        if ms == 0 and stream:
            ms = None
        if ms == 0:
            am.m.kick()
            return pred()
        if not await am.until(pred, ms):
            raise k.timed_out(what, s._timeout)
        return True

    async def recv(self, n, stream=False):
        s = self.sock
        if n == 0 or not await self.wait(s._has_input, "recv", stream):
            if n == 0:
                return b""
            raise ModemError(EAGAIN, "no data yet")
        t = s._timeout
        s._timeout = 0  # it is there: take it without waiting
        try:
            data = s.recv(n)
        finally:
            s._timeout = t
        self.am.kick()
        return data

    async def recvfrom(self, n):
        data = await self.recv(n)
        return data, self.sock.link.peer


class StreamReader:
    """What asyncio.open_connection gives: read, readexactly, readline, at_eof."""

    def __init__(self, asock):
        self.s = asock
        self._eof = False

    async def read(self, n=-1):
        if n == 0:
            return b""
        if n > 0:
            d = await self.s.recv(n, True)
            self._eof = not d
            return d
        out = b""
        while True:
            d = await self.s.recv(4096, True)
            if not d:
                self._eof = True
                return out
            out += d

    async def readexactly(self, n):
        out = b""
        while len(out) < n:
            d = await self.s.recv(n - len(out), True)
            if not d:
                self._eof = True
                raise EOFError("%d of %d bytes before the end of the stream" % (len(out), n))
            out += d
        return out

    async def readline(self):
        s = self.s.sock
        out = b""
        while True:
            await self.s.wait(s._has_input, "readline", True)
            ring = s.link.inbox.ring
            if not ring.count:
                s._end()
                self._eof = True
                return out
            out += ring.read(ring.line())
            self.s.am.kick()
            if out[-1:] == b"\n":
                return out

    def at_eof(self):
        return self._eof


class StreamWriter:
    """What asyncio.open_connection gives: write, drain, close, wait_closed."""

    def __init__(self, asock):
        self.s = asock
        self._buf = []
        self._closing = None

    def write(self, data):
        self._buf.append(bytes(data))

    async def drain(self):
        while self._buf:
            await self.s.sendall(self._buf.pop(0))

    def close(self):
        if self._closing is None:
            self._closing = asyncio.create_task(self._close())

    async def _close(self):
        try:
            await self.drain()
        finally:
            await self.s.close()

    async def wait_closed(self):
        closing = self._closing
        if closing is None:
            closing = self._closing = asyncio.create_task(self._close())
        await closing

    def is_closing(self):
        return self._closing is not None

    def get_extra_info(self, name, default=None):
        return self.s.sock.link.peer if name == "peername" else default


