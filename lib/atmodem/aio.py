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

from .command import Command
from .compat import MICROPYTHON, cold, const
from .errors import ATTimeout
from .flow import Until, _never, once
from .aiosocket import AsyncSocket, StreamReader, StreamWriter
from .runner import IDLE_MS, RunnerBase, wait_s
from .states import SOCK_STREAM

_TICK_MS = const(100)  # a full socket's reader, or a pause, looks again this often
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


class AsyncModem(RunnerBase):
    """The asyncio runner for a Modem: one reader task, and the same flows as Modem.run."""

    def __init__(self, modem):
        RunnerBase.__init__(self, modem)
        self.changed = asyncio.Event()  # pulsed whenever the reader moved something
        self.room = asyncio.Event()  # pulsed when a socket was read (room for held input)
        self.lock = asyncio.Lock()  # commands in the order tasks asked
        self._cmd = None  # the foreground command being waited for (under the lock)
        self._cmd_over = self._over  # bound once
        self.port = _PortWaiter(modem.uart)
        self.running = True
        # when the reader looks at the line next: a waiter whose deadline (or whose
        # command's) comes sooner keeps its own time, so an idle reader sleeps up to IDLE_MS
        self.wake_at = modem.clock.ticks_ms()
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
                    self._sleeps(_TICK_MS)
                    await _wait_for_ms(self.room.wait(), _TICK_MS)
                    self.service()
                else:
                    gather = line.batch_ms()
                    while gather:
                        await _sleep_ms(gather)
                        gather = line.batch_ms()
                    if not self.service():
                        await self._quiet()
                self._pulse(self.changed)
        except asyncio.CancelledError:
            pass

    async def _quiet(self):
        """Nothing to read: wait for input, but no longer than a data-mode tail may stay
        undecided, a payload's framing waits or a command has to live."""
        wait = self.wait_ms(IDLE_MS)
        self._sleeps(wait)
        if await self.port.wait(wait):
            self.service()
        else:
            self.quiet()

    def _sleeps(self, ms):
        clock = self.m.clock
        self.wake_at = clock.ticks_add(clock.ticks_ms(), ms)

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
        return self.output_step(s)

    async def _command(self, c):
        m = self.m
        line = m.line
        self.admit(c)
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
            self.admit(c)
            line.begin(c)
            # Cancelled from here on, the command stays in flight: the reader retires it
            # at its answer (or deadline) and the next command waits for that.
            self._cmd = c
            try:
                await self.until(self._cmd_over, None, c.text)
            finally:
                self._cmd = None
        return self.result(c)

    def _over(self):
        return self.m.line.cmd is not self._cmd

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
                    raise ATTimeout(what, wait_s(timeout_ms))
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
            soon = deadline
            c = m.line.cmd
            if c is not None and (soon is None or clock.ticks_diff(c.deadline, soon) < 0):
                soon = c.deadline
            if soon is None or clock.ticks_diff(soon, self.wake_at) >= 0:
                await self.changed.wait()  # the reader pulses before that (no task per wait)
            elif not await _wait_for_ms(self.changed.wait(), max(1, clock.ticks_diff(soon, clock.ticks_ms()))):
                # due before the reader looks again: read what came, then a command past
                # its deadline has no answer coming (as the reader's quiet() would decide)
                self.service()
                if m.line.expire() is not None:
                    self.service()
        return True

    # ---------------------------------------------------------------- the modem, async
    async def start(self, timeout=10):
        return await self.run(once("bringup", "start", self.m, int(timeout * 1000)))

    async def attach(self, apn=None, user=None, password=None, timeout=180, progress=None, pin=None):
        m = self.m
        m.check_attach(apn, user, password, pin)
        m.attach_args = (apn, user, password, timeout, progress)
        if not m.started or m.rebooted:
            m.rebooted = False
            await self.start()
        return await self.run(once("bringup", "attach", m, apn, user, password, int(timeout * 1000), progress))

    async def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        self.m.check_resolve(host, port)
        ips = await self.run(once("table", "resolve", self.m, host))
        return self.m.addrinfo(ips, port, type, proto)

    async def command(self, text, prefix=None, timeout_ms=5000, check=True):
        return await self._command(cold("texts", "user_command", text, prefix, None, None, None, timeout_ms, check))

    def socket(self, type=SOCK_STREAM, mode=None, tls=None, rxbuf=4096):
        return AsyncSocket(self, self.m.socket(type or SOCK_STREAM, mode=mode, tls=tls, rxbuf=rxbuf))

    async def open_connection(self, host, port, mode=None, tls=None, rxbuf=8192, timeout=30):
        s = self.socket(mode=mode, tls=tls, rxbuf=rxbuf)
        s.settimeout(timeout)
        await s.connect((host, port))
        return StreamReader(s), StreamWriter(s)

    async def close(self):
        for k in list(self.m.dialect.links.values()):
            try:
                await self.run(k.close_flow())
            except OSError:
                pass
        self.stop()
        self.m.close()


def start(modem):
    """The asyncio runner for modem (its reader task starts now); one per modem."""
    am = getattr(modem, "runner", None)
    if isinstance(am, AsyncModem) and am.running:
        return am
    return AsyncModem(modem)


async def open_connection(modem, host, port, mode=None, tls=None, rxbuf=8192, timeout=30):
    """(reader, writer) for a connection through modem, like asyncio.open_connection."""
    return await start(modem).open_connection(host, port, mode, tls, rxbuf, timeout)
