"""asyncio on both runtimes: one task services the modem's UART; each connection is a
(reader, writer) pair like asyncio.open_connection.

    service = aio.start(modem)                      # one task for the whole module
    r, w = await aio.open_connection(modem, host, port, mode="push")

Sends run to completion inside the call (an AT send is one exchange on the shared UART),
while the service task keeps every other socket's data flowing into its buffer."""
try:
    import asyncio
except ImportError:  # pragma: no cover - very old MicroPython
    import uasyncio as asyncio

from .errors import EAGAIN

_IDLE_MS = 2


class Service:
    def __init__(self, modem):
        self.modem = modem
        self.running = True
        self.task = asyncio.create_task(self._run())

    async def _run(self):
        m = self.modem
        while self.running:
            try:
                busy = m.line.idle() and m.poll(0)
            except OSError:
                busy = False
            await asyncio.sleep(0 if busy else _IDLE_MS / 1000)

    def stop(self):
        self.running = False


def start(modem):
    return Service(modem)


class Reader:
    def __init__(self, sock):
        self.s = sock

    async def read(self, n=-1):
        """Up to n bytes as soon as some are there; b'' at the end of the stream."""
        s = self.s
        while True:
            try:
                d = s.recv(4096 if n < 0 else n)
                return d
            except OSError as e:
                if e.errno != EAGAIN:
                    raise
            await asyncio.sleep(_IDLE_MS / 1000)

    async def readexactly(self, n):
        out = b""
        while len(out) < n:
            d = await self.read(n - len(out))
            if not d:
                raise EOFError("%d of %d bytes before the end of the stream" % (len(out), n))
            out += d
        return out

    async def readline(self):
        out = b""
        while not out.endswith(b"\n"):
            d = await self.read(1)
            if not d:
                break
            out += d
        return out


class Writer:
    def __init__(self, sock):
        self.s = sock
        self._buf = b""

    def write(self, data):
        self._buf += data

    async def drain(self):
        if self._buf:
            data, self._buf = self._buf, b""
            self.s.sendall(data)
        await asyncio.sleep(0)

    def close(self):
        self.s.close()

    async def wait_closed(self):
        await asyncio.sleep(0)

    def get_extra_info(self, name, default=None):
        return self.s.peer if name == "peername" else default


async def open_connection(modem, host, port, mode=None, tls=None, rxbuf=8192, timeout=30):
    s = modem.socket(mode=mode, tls=tls, rxbuf=rxbuf)
    s.settimeout(timeout)
    s.connect((host, port))
    s.setblocking(False)
    return Reader(s), Writer(s)
