"""The modem: owns the line (UART + engine), the dialect, the clock and the pump, and runs
flows. `run(flow)` is the blocking runner: it carries out each step a flow yields, servicing
the line while it waits; atmodem.aio drives the same flows from an asyncio task."""
from . import hal
from .at import Command, Engine, user_command
from .compat import Clock, const
from .checks import check_host, check_port, check_text
from .dialects.base import Dialect
from .errors import EBUSY, EINVAL, ENETDOWN, ECONNRESET, EBADF, ATError, ATTimeout, LinkError, ModemError, text
from .flow import DRAIN, Until, Write, _never, once
from .line import Line
from .pump import Pump
from .socket import AF_INET, SOCK_STREAM, Socket

_CMD_MS = const(5000)


def dialect_class(name):
    if name == "nm28":
        from .dialects.nm28 import NM28

        return NM28
    if name == "l610":
        from .dialects.l610 import L610

        return L610
    raise ValueError("dialect must be 'nm28', 'l610' or None, not %r" % (name,))


def wait_s(ms):
    return ms / 1000 if ms is not None else "unlimited"


class Modem:
    def __init__(self, uart, dialect=None, clock=None, trace=None, rxbuf=2048, guard_ms=1000,
                 power=None, auto_reattach=False, default_mode=None):
        if not isinstance(rxbuf, int) or not 64 <= rxbuf <= 65536:
            raise ValueError("rxbuf must be an int of 64-65536 bytes, got %r" % (rxbuf,))
        uart = hal.port(uart)  # a TypeError naming open_serial, before anything else
        self.uart = uart
        self.clock = clock or Clock()
        # The module holds received data (buffer) unless the UART has RTS/CTS: then pushed
        # data is lossless too (the UART stops the module, and push sockets ask it to hold
        # when their ring fills), and it keeps the line busy (README, "Socket modes").
        if default_mode is None:
            default_mode = "push" if getattr(uart, "flow_control", False) else "buffer"
        if default_mode not in ("buffer", "push"):
            raise ValueError("default_mode must be 'buffer' or 'push', not %r" % (default_mode,))
        self.default_mode = default_mode
        self.want_dialect = dialect
        if dialect is not None:
            dialect_class(dialect)  # a bad name fails here, before any I/O
        self.dialect = Dialect(self)
        self.engine = Engine(self.dialect, self.dialect.LINE_MAX)
        self.dialect.install(self.engine)
        self.line = Line(uart, self.engine, self.clock, rxbuf, trace)
        self.pump = Pump(self)
        self.ip = None
        self.model = ""
        self.started = False
        self.closed = False
        # off -> ready -> sim_ready -> registered -> attached; a reboot goes back to "off"
        self.state = "off"
        self.reboots = 0
        self.registration = None
        self.csq = None
        self.guard_ms = guard_ms  # +++ guard silence [seed: 1 s]
        # Data mode: a tail that could begin NO CARRIER is data once the line pauses this
        # long (the module writes its own NO CARRIER sequence in one go).
        self.hold_ms = 20
        self.flow_wait_ms = 30000  # XOFF / full send buffer: give up after this [seed: 30 s]
        self.power = power  # hal.pins.Power, optional
        self.auto_reattach = auto_reattach
        self.rebooted = False  # seen a reset: bring the module back before the next call
        self.attach_args = None
        self.data_sock = None  # the socket whose bytes the UART carries (transparent mode)
        self._data = None  # datamode.DataMode, loaded with the first transparent socket
        self.waiting = 0  # flows waiting for the line: the pump issues nothing meanwhile
        self.runner = None  # an aio.AsyncModem driving this modem, if any
        self.warnings = []  # what warn() said, once each

    @property
    def data(self):
        """Data (transparent) mode: datamode.py, loaded when first needed."""
        if self._data is None:
            from .datamode import DataMode

            self._data = DataMode(self)
        return self._data

    @property
    def trace(self):
        return self.line.trace

    @trace.setter
    def trace(self, fn):
        self.line.trace = fn

    # ---------------------------------------------------------------- the blocking runner
    def run(self, flow):
        """Carry out a flow's steps until it returns; its errors propagate."""
        self._check_open()
        value = None
        err = None
        while True:
            try:
                step = flow.throw(err) if err is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value = err = None
            try:
                value = self.step(step)
            except BaseException as e:  # thrown into the flow, so its cleanup runs
                err = e

    def step(self, s):
        if isinstance(s, Command):
            return self._command(s)
        if isinstance(s, Until):
            return self.until(s.pred, s.timeout_ms, s.what)
        return self.output_step(s)

    def output_step(self, s):
        """Write / DRAIN, the steps that never wait for the module (both runners)."""
        if isinstance(s, Write):
            self.line.write(s.data)
            return None
        if s is DRAIN:
            self.line.drain()
            return None
        raise TypeError("a flow yielded %r, which is not a step" % (s,))

    def _command(self, c):
        self.check_command(c)
        line = self.line
        self.waiting += 1
        try:
            if not line.idle():
                self.until(line.idle, None, "the command in flight")
        finally:
            self.waiting -= 1
        line.begin(c)
        if c.background:
            return c  # issued; its completion is the runner's business
        self.until(lambda: line.cmd is not c, None, text(c.text))
        return self.command_result(c)

    def check_command(self, c):
        """A command may go out now (both runners ask)."""
        self._check_open()
        if self.data_sock is not None and c.on_connect is None:
            raise ModemError(
                EBUSY,
                "%s: socket %d holds the UART in transparent mode; call its suspend() or "
                "close() first" % (text(c.text), self.data_sock.id),
            )

    def command_result(self, c):
        """A foreground command is over: its error, or it (both runners)."""
        if not c.done:
            raise self.line.timed_out(c)
        if c.check and not c.ok():
            raise ATError(text(c.text), text(c.result or b"no result"))
        e = self.engine
        if c.ok() and c.text in (b"ATE0", b"ATE1", b"ate0", b"ate1"):
            e.echo_on = c.text[3] == 49  # echo on by request is not a reset sign
            e.echo_off_seen = False
        return c

    def warn(self, message):
        """Something the program may want to know, said once: in modem.warnings, and to
        the trace as direction '!'."""
        if message in self.warnings:
            return
        self.warnings.append(message)
        if self.line.trace:
            self.line.trace("!", message.encode())

    def until(self, pred, timeout_ms, what=None):
        """Service the line until pred() holds (None: no time limit). When time runs out:
        ATTimeout(what), or False when what is None."""
        clock = self.clock
        deadline = None if timeout_ms is None else clock.ticks_add(clock.ticks_ms(), timeout_ms)
        line = self.line
        while not pred():
            wait = 1000
            if deadline is not None:
                wait = clock.ticks_diff(deadline, clock.ticks_ms())
                if wait <= 0:
                    if what is None:
                        return False
                    raise ATTimeout(what, wait_s(timeout_ms))
            c = line.cmd
            if c is not None and clock.ticks_diff(c.deadline, clock.ticks_ms()) < wait:
                wait = max(0, clock.ticks_diff(c.deadline, clock.ticks_ms()))
            if not self.poll(wait) and line.blocked():
                if pred is _never:
                    clock.sleep_ms(wait)  # a pause: nothing can change while we hold the program
                else:
                    # Only the program could make room, and it is waiting on us: the data
                    # in front of what we wait for cannot be held. Its socket says so.
                    line.spill()
        return True

    def poll(self, timeout_ms=0):
        """Feed the engine what the UART has, finish and start commands; wait up to
        timeout_ms for input. True when something was consumed."""
        self._check_open()
        if timeout_ms > 0:
            gather = self.line.batch_ms()
            if gather:
                self.clock.sleep_ms(min(gather, timeout_ms))
        if self.service():
            return True
        if timeout_ms <= 0:
            return False
        line = self.line
        if line.blocked():
            return False
        tail = line.held() > 0  # a data-mode tail that may be the module's NO CARRIER
        wait = line.wait_cap(min(timeout_ms, self.hold_ms) if tail else timeout_ms)
        if self.uart.wait(wait):
            return self.service()
        if tail:
            return line.service(final=True)  # the line went quiet: the tail was data
        if line.framing_waits():
            self.service()  # quiet: a payload's framing is decided (Line._framing_clock)
        if line.expire() is not None:  # quiet: a command past its deadline gets no answer
            self.service()  # the line is free: the pump may go on
        return False

    def service(self):
        line = self.line
        got = line.service()
        if self.engine.notice is not None:
            self.warn(self.engine.notice)
            self.engine.notice = None
        line.progress()
        if line.cmd is None:
            c = self.pump.next(self.waiting > 0)
            if c is not None:
                line.begin(c)
        return got

    def kick(self):
        """The program made room (or wants data): let the pump issue the next read now
        (unless a payload is still arriving: the next wait reads it whole)."""
        if not self.line.batch_ms():
            self.service()

    def wait_for(self, pred, timeout_ms, what):
        self.until(pred, timeout_ms, what)

    def idle(self, ms):
        """Service the line for ms (URCs keep flowing while we wait between retries)."""
        self.until(_never, ms)

    def command(self, text, prefix=None, prompt=None, payload=None, need=None,
                timeout_ms=_CMD_MS, check=True, on_connect=None):
        """Send one command line, wait for its final result; raise ATError on an error
        result (check=True) and ATTimeout when none comes."""
        return self._command(user_command(text, prefix, prompt, payload, need, timeout_ms, check, on_connect))

    def write(self, data):
        self.line.write(data)

    def _check_open(self):
        if self.closed:
            raise ModemError(EBADF, "the modem was closed (modem.close()); make a new Modem")

    # ---------------------------------------------------------------- events from the line
    def on_echo(self, line):
        """Our own command echoed although we turned echo off: the module reset (echo is
        on after boot) without us seeing its boot URCs."""
        if self.started and not self.rebooted:
            self._lost_module("echo came back on")

    def on_boot_urc(self, line):
        """The module rebooted: sockets and the data bearer are gone."""
        p = self.engine.pending
        if p is not None and not p.done:
            p.result = b"no answer: the module rebooted (" + line + b")"
            p.done = True  # it never will answer now
        self._lost_module(text(line))

    def _lost_module(self, why):
        self.reboots += 1
        if self.started:
            self.dialect.lost_all(LinkError(ECONNRESET, "the module rebooted (%s)" % why), True)
            self.rebooted = True
        self.ip = None
        if self.data_sock is not None:
            self.engine.leave_data()
            self.data_sock = None
        self.engine.echo_on = True
        self.engine.echo_off_seen = False
        self.state = "off"

    def ensure_up(self):
        """After a module reset: sync, echo off, errors on, and attach again if asked to."""
        from . import table

        self.run(table.ensure_up(self))

    def on_registration(self, line):
        self.registration = line

    def on_pdp_lost(self, why):
        self.ip = None
        if self.state == "attached":
            self.state = "registered"
        self.dialect.lost_all(LinkError(ENETDOWN, "the data bearer was lost (%s)" % why), False)

    # data (transparent) mode: see datamode.py
    def enter_data(self, sock):
        self.data.enter(sock)

    def data_ended(self, sock):
        self.data.ended(sock)

    def escape(self):
        self.run(self.data.escape())

    def resume(self, sock):
        self.run(self.data.resume(sock))

    def use_dialect(self, name):
        """The module identified itself: its dialect (kept across restarts, and with it the
        socket table)."""
        cls = dialect_class(name)
        if not isinstance(self.dialect, cls):
            self.dialect = cls(self)
        self.engine.h = self.dialect
        self.dialect.install(self.engine)

    # ---------------------------------------------------------------- bring-up (bringup.py)
    def start(self, timeout=10):
        """Sync with the module (leaving a data-mode session a previous program left
        behind), echo off, verbose errors, identify the dialect, and close the sockets
        the module still has open that no socket object owns."""
        return self.run(once("bringup", "start", self, int(timeout * 1000)))

    def attach(self, apn=None, user=None, password=None, timeout=180, progress=None):
        """SIM, signal, registration, data bearer; returns the local IP address."""
        self.check_attach(apn, user, password)
        self.attach_args = (apn, user, password, timeout, progress)
        if not self.started or self.rebooted:
            self.rebooted = False
            self.start()
        return self.run(once("bringup", "attach", self, apn, user, password, int(timeout * 1000), progress))

    def check_attach(self, apn, user, password):
        for value, what in ((apn, "APN"), (user, "user"), (password, "password")):
            if value is not None:
                check_text(value, what)

    def power_off(self):
        """AT+CPWROFF, then 1 s before power may be cut [seed]; the power key if it will
        not answer. Sockets and the bearer are gone."""
        self._check_open()
        try:
            self.command(b"AT+CPWROFF", timeout_ms=1000)
            self.clock.sleep_ms(1000)
        except OSError:
            if self.power is not None and not self.power.press_key(self.clock, off=True):
                self.power.reset(self.clock)
        self._lost_module("powered off")
        self.rebooted = False
        self.started = False

    def power_on(self, timeout=30):
        """Press the power key (or pulse reset) and bring the module up again."""
        self._check_open()
        if self.power is None or not (self.power.press_key(self.clock) or self.power.reset(self.clock)):
            raise ModemError(EINVAL, "no power key or reset pin configured (Modem(power=...))")
        self.start(timeout=timeout)

    def detach(self):
        self.run(self.dialect.detach())
        self.ip = None
        self.state = "registered"

    # ---------------------------------------------------------------- sockets
    def socket(self, type=SOCK_STREAM, mode=None, tls=None, rxbuf=4096, af=AF_INET):
        self._check_open()
        if mode is None:
            mode = self.default_mode
        if not self.started:
            raise ModemError(EINVAL, "call modem.start() (or attach()) before opening sockets")
        if tls is not None and not hasattr(self.dialect, "TLS"):
            raise NotImplementedError(
                "the %s manual documents no TLS: atmodem will not open a plain-text connection "
                "instead; layer TLS on the socket in your program (e.g. MicroPython's tls)"
                % self.dialect.NAME
            )
        return Socket(self, af, type, mode, tls, rxbuf)

    def sockets(self):
        """A socket-module-shaped object for libraries that `import socket` (inject it as
        sys.modules["socket"], or pass it where a library takes a socket module)."""
        self._check_open()
        from .socket_module import SocketModule

        return SocketModule(self)

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        from . import table

        self._check_open()
        self.check_resolve(host, port)
        return self.addrinfo(self.run(table.resolve(self, host)), port, type, proto)

    def check_resolve(self, host, port):
        check_host(host)
        check_port(port, lo=0)

    def addrinfo(self, ips, port, type=0, proto=0):
        return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port)) for ip in ips]

    def open_sockets(self):
        """Ids the module reports open, after reconciling atmodem's table with it."""
        from . import table

        return self.run(table.reconcile(self))

    def close(self):
        """Close every socket, let a command in flight finish, and release the UART."""
        if self.closed:
            return
        try:
            for s in list(self.dialect.socks.values()):
                try:
                    s.close()
                except OSError:
                    pass
            self.waiting += 1  # the pump issues nothing more
            self.until(self.line.idle, 5000)
        finally:
            self.closed = True
            self.line.close()
