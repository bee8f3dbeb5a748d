"""asyncio on both runtimes: the flows the blocking Modem runs, driven from an event loop.

    am = aio.start(modem)                   # a reader task feeds the engine from the UART
    await am.start()                        # sync, echo off, identify, reconcile
    await am.attach(apn="cmnet")
    reader, writer = await am.open_connection("example.org", 80)
    s = am.socket(); await s.connect((host, port)); await s.sendall(b"..."); await s.recv(100)
    aio.open_connection(modem, host, port)  # the same, for a modem given to aio.start

The reader task waits for the UART without polling (the event loop watches the serial port's
descriptor on CPython, the UART or tty object on MicroPython) and wakes the tasks that wait.
Nothing blocks the loop longer than writing a command line or a payload. Commands from
concurrent tasks go to the UART one at a time, in order. A task cancelled in the middle of a
command leaves that command to finish on the line (the next one waits for it); a cancelled
connect closes its socket on the module; a cancelled send or read leaves the socket owned by
its object."""
try:
    import asyncio
except ImportError:  # pragma: no cover - very old MicroPython
    import uasyncio as asyncio

from .at import Command, user_command
from .compat import MICROPYTHON, const
from .errors import EAGAIN, ModemError, text
from .flow import Until, _never, once
from .socket import CLOSED

_TICK_MS = const(100)  # waiters re-check their deadlines at least this often
_SPILL_MS = const(1000)  # a full socket nobody drains, in front of what a task waits for


def _sleep_ms(ms):
    if MICROPYTHON:
        return asyncio.sleep_ms(ms)  # pyright: ignore[reportAttributeAccessIssue]
    return asyncio.sleep(ms / 1000)


async def _wait_for_ms(aw, ms):
    """aw within ms; False when the time ran out."""
    try:
        if MICROPYTHON:
            await asyncio.wait_for_ms(aw, ms)  # pyright: ignore[reportAttributeAccessIssue]
        else:
            await asyncio.wait_for(aw, ms / 1000)
        return True
    except asyncio.TimeoutError:
        return False


def _readable(obj):
    """MicroPython: until obj (a machine.UART or a file) has input, through asyncio's own
    I/O queue, as its streams wait."""
    yield asyncio.core._io_queue.queue_read(obj)  # pyright: ignore[reportAttributeAccessIssue]


class _PortWaiter:
    """Until the port has input or ms pass, without polling: the event loop watches it."""

    def __init__(self, port):
        self.obj = getattr(port, "stream", None)
        self.obj = self.obj() if self.obj is not None else None
        fileno = getattr(port, "fileno", None)
        self.fd = fileno() if fileno is not None else None
        self.ev = None if MICROPYTHON else asyncio.Event()
        self.port = port

    async def wait(self, ms):
        if MICROPYTHON and self.obj is not None:
            return await _wait_for_ms(_readable(self.obj), ms)
        if self.fd is not None and self.ev is not None:
            loop = asyncio.get_event_loop()
            ev = self.ev
            ev.clear()
            loop.add_reader(self.fd, ev.set)
            try:
                return await _wait_for_ms(ev.wait(), ms)
            finally:
                loop.remove_reader(self.fd)
        # a port the loop cannot watch (pyserial URL without a descriptor): look often
        await _sleep_ms(min(ms, 5))
        pending = getattr(self.port, "pending", None)
        return bool(pending and pending())


class AsyncModem:
    """The asyncio runner for a Modem: one reader task, and the same flows as Modem.run."""

    def __init__(self, modem):
        self.m = modem
        self.changed = asyncio.Event()  # pulsed whenever the reader moved something
        self.room = asyncio.Event()  # pulsed when a socket was read (room for held input)
        self.lock = asyncio.Lock()  # commands in the order tasks asked
        self.port = _PortWaiter(modem.uart)
        self.running = True
        modem.runner = self
        self.task = asyncio.create_task(self._reader())

    def stop(self):
        self.running = False
        if self.m.runner is self:
            self.m.runner = None
        self.task.cancel()

    # ---------------------------------------------------------------- the reader task
    def _pulse(self, ev):
        ev.set()
        ev.clear()

    async def _reader(self):
        m = self.m
        line = m.line
        try:
            while self.running and not m.closed:
                if line.blocked():
                    # a socket is full: its reader makes room (or a waiter gives up)
                    await _wait_for_ms(self.room.wait(), _TICK_MS)
                    m.service()
                else:
                    gather = line.batch_ms()
                    if gather:
                        await _sleep_ms(gather)
                    if not m.service():
                        await self._quiet()
                self._pulse(self.changed)
        except asyncio.CancelledError:
            pass

    async def _quiet(self):
        """Nothing to read: wait for input, but no longer than a data-mode tail may stay
        undecided or a command has to live."""
        m = self.m
        line = m.line
        ms = _TICK_MS
        if line.held():
            ms = m.hold_ms
        c = line.cmd
        if c is not None:
            clock = m.clock
            ms = max(1, min(ms, clock.ticks_diff(c.deadline, clock.ticks_ms())))
        ms = line.wait_cap(ms)
        if await self.port.wait(ms):
            m.service()
            return
        if line.held():
            line.service(final=True)  # the line went quiet: the tail was data
            return
        if line.framing_waits():
            m.service()  # quiet: a payload's framing is decided (Line._framing_clock)
        if line.expire() is not None:
            m.service()

    def kick(self):
        """A socket was read: held input may fit now, and the pump may read again."""
        self._pulse(self.room)
        self.m.kick()

    # ---------------------------------------------------------------- the runner
    async def run(self, flow):
        """Carry out a flow's steps until it returns; its errors propagate. Cancelled, the
        flow gets the CancelledError thrown in, so its cleanup runs."""
        value = None
        err = None
        while True:
            try:
                step = flow.throw(err) if err is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value = err = None
            try:
                value = await self.step(step)
            except BaseException as e:
                err = e

    async def step(self, s):
        if isinstance(s, Command):
            return await self._command(s)
        if isinstance(s, Until):
            return await self.until(s.pred, s.timeout_ms, s.what)
        return self.m.output_step(s)

    async def _command(self, c):
        m = self.m
        line = m.line
        m.check_command(c)
        if c.background:
            await self.until(line.idle, None, "the command in flight")
            line.begin(c)
            return c
        async with self.lock:
            m.waiting += 1
            try:
                await self.until(line.idle, None, "the command in flight")
            finally:
                m.waiting -= 1
            m.check_command(c)
            line.begin(c)
            # Cancelled from here on, the command stays in flight: the reader retires it
            # at its answer (or deadline) and the next command waits for that.
            await self.until(lambda: line.cmd is not c, None, text(c.text))
        return m.command_result(c)

    async def until(self, pred, timeout_ms, what=None):
        """Like Modem.until: wait for pred() (the reader pulses `changed` as things move)."""
        m = self.m
        clock = m.clock
        deadline = None if timeout_ms is None else clock.ticks_add(clock.ticks_ms(), timeout_ms)
        blocked_since = None
        while not pred():
            if deadline is not None:
                left = clock.ticks_diff(deadline, clock.ticks_ms())
                if left <= 0:
                    if what is None:
                        return False
                    from .errors import ATTimeout

                    raise ATTimeout(what, (timeout_ms or 0) / 1000)
            if pred is _never:
                await _sleep_ms(min(left, _TICK_MS) if deadline is not None else _TICK_MS)
                continue
            if m.line.blocked():
                now = clock.ticks_ms()
                if blocked_since is None:
                    blocked_since = now
                elif clock.ticks_diff(now, blocked_since) > _SPILL_MS:
                    m.line.spill()  # nobody read that socket: what we wait for is behind it
                    blocked_since = None
            else:
                blocked_since = None
            await self.changed.wait()
        return True

    # ---------------------------------------------------------------- the modem, async
    async def start(self, timeout=10):
        return await self.run(once("bringup", "start", self.m, int(timeout * 1000)))

    async def attach(self, apn=None, user=None, password=None, timeout=180, progress=None):
        m = self.m
        m.check_attach(apn, user, password)
        m.attach_args = (apn, user, password, timeout, progress)
        if not m.started or m.rebooted:
            m.rebooted = False
            await self.start()
        return await self.run(once("bringup", "attach", m, apn, user, password, int(timeout * 1000), progress))

    async def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        from . import table

        self.m.check_resolve(host, port)
        ips = await self.run(table.resolve(self.m, host))
        return self.m.addrinfo(ips, port, type, proto)

    async def command(self, text, prefix=None, timeout_ms=5000, check=True):
        return await self._command(user_command(text, prefix, timeout_ms=timeout_ms, check=check))

    def socket(self, type=None, mode=None, tls=None, rxbuf=4096):
        from .socket import SOCK_STREAM

        return AsyncSocket(self, self.m.socket(type or SOCK_STREAM, mode=mode, tls=tls, rxbuf=rxbuf))

    async def open_connection(self, host, port, mode=None, tls=None, rxbuf=8192, timeout=30):
        s = self.socket(mode=mode, tls=tls, rxbuf=rxbuf)
        s.settimeout(timeout)
        await s.connect((host, port))
        return StreamReader(s), StreamWriter(s)

    async def close(self):
        for s in list(self.m.dialect.socks.values()):
            try:
                await self.run(s.close_flow())
            except OSError:
                pass
        self.stop()
        self.m.close()


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
        await self.am.run(self.sock.sendall_flow(memoryview(data)))

    async def close(self):
        s = self.sock
        if s.state != CLOSED:
            await self.am.run(s.close_flow())
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
        if s.suspended and not s.ended():
            await am.run(am.m.data.resume(s))
        ms = s._wait_ms()
        if ms == 0 and stream:
            ms = None
        if ms == 0:
            am.m.kick()
            return pred()
        if not await am.until(pred, ms):
            raise s._timed_out(what)
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
        return data, self.sock.peer


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
            ring = s.inbox.ring
            if not ring.count:
                s._end()
                self._eof = True
                return out
            i = ring.find(10)
            out += ring.read(ring.count if i < 0 else i + 1)
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
        return self.s.sock.peer if name == "peername" else default


def start(modem):
    """The asyncio runner for modem (its reader task starts now); one per modem."""
    am = getattr(modem, "runner", None)
    if isinstance(am, AsyncModem) and am.running:
        return am
    return AsyncModem(modem)


async def open_connection(modem, host, port, mode=None, tls=None, rxbuf=8192, timeout=30):
    """(reader, writer) for a connection through modem, like asyncio.open_connection."""
    return await start(modem).open_connection(host, port, mode, tls, rxbuf, timeout)
