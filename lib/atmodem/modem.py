"""The modem a program holds: the module's side of atmodem in one object. It owns the line
(UART and engine: line.py, at.py), the dialect, the mode (mode.py), the pump (pump.py),
and the clock, and it offers the calls a
program makes: bring-up, sockets, raw commands. Operations are flows that a runner carries
out: the blocking one (runner.py) here, aio.py's under asyncio."""
from . import dialects, hal
from .at import Engine
from .checks import check_port
from .compat import Clock, cold, const
from .dialects.base import Dialect
from .errors import EBADF, EINVAL, ModemError
from .flow import _never, once
from .line import Line
from .mode import Mode
from .pump import Pump
from .runner import Runner
from .socket import Socket
from .states import AF_INET, SOCK_STREAM

_CMD_MS = const(5000)


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
        self.want_dialect = None if dialect is None else dialects.check(dialect)
        self.dialect = Dialect(self)  # until the module says which it is (start)
        self.engine = Engine(self.dialect, self.dialect.LINE_MAX)
        self.dialect.install(self.engine)
        self.line = Line(uart, self.engine, self.clock, rxbuf, trace)
        self.mode = Mode(self.engine)
        self.pump = Pump(self)
        self.blocking = Runner(self)
        self.ip = None
        self.model = ""
        self.started = False
        self.closed = False
        # bring-up: off -> ready -> sim_ready -> registered -> attached; a reboot: off
        self.state = "off"
        self.reboots = 0
        self.registration = None
        self.csq = None
        self.guard_ms = guard_ms  # +++ guard silence (1 s, docs/nm28.md, docs/l610.md)
        # Data mode: a tail that could begin NO CARRIER is data once the line pauses this
        # long (the module writes its own NO CARRIER sequence in one go).
        self.hold_ms = 20
        self.flow_wait_ms = 30000  # XOFF / full send buffer: give up after this (docs/l610.md)
        self.power = power  # hal.pins.Power, optional
        self.auto_reattach = auto_reattach
        self.rebooted = False  # seen a reset: bring the module back before the next call
        self.attach_args = None
        self.pin = None  # the SIM's PIN, once attach(pin=) gave it
        self._data = None  # datamode.DataMode, loaded with the first transparent socket
        self.waiting = 0  # flows waiting for the line: the pump issues nothing meanwhile
        self.runner = None  # an aio.AsyncModem driving this modem, if any
        self.warnings = []  # what warn() said, once each

    @property
    def data(self):
        """Data (transparent) mode's flows: datamode.py, loaded when first needed."""
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

    # ---------------------------------------------------------------- running flows
    def run(self, flow):
        """Carry out a flow with the blocking runner; its errors propagate."""
        return self.blocking.run(flow)

    def until(self, pred, timeout_ms, what=None):
        """Service the line until pred() holds; False (what None) or ATTimeout(what) when
        timeout_ms runs out."""
        return self.blocking.until(pred, timeout_ms, what)

    def poll(self, timeout_ms=0):
        """Service the line (URCs, background reads), waiting up to timeout_ms for input."""
        return self.blocking.poll(timeout_ms)

    def idle(self, ms):
        """Service the line for ms (URCs keep flowing while we wait between retries)."""
        self.blocking.until(_never, ms)

    def kick(self):
        """The program made room (or wants data): let the pump issue the next read now
        (unless a payload is still arriving: the next wait reads it whole)."""
        if not self.line.batch_ms():
            self.blocking.service()

    def command(self, text, prefix=None, prompt=None, payload=None, need=None,
                timeout_ms=_CMD_MS, check=True, on_connect=None):
        """Send one command line (str or bytes), wait for its final result; raise ATError
        on an error result (check=True) and ATTimeout when none comes."""
        return self.blocking.command(cold("texts", "user_command", text, prefix, prompt, payload, need, timeout_ms, check, on_connect))

    def check_open(self):
        if self.closed:
            raise ModemError(EBADF, "the modem was closed (modem.close()); make a new Modem")

    def warn(self, message):
        """Something the program may want to know, said once: in modem.warnings, and to
        the trace as direction '!'."""
        if message in self.warnings:
            return
        self.warnings.append(message)
        if self.line.trace:
            self.line.trace("!", message.encode())

    def ensure_up(self):
        """After a module reset: sync, echo off, errors on, and attach again if asked to."""
        self.run(once("table", "ensure_up", self))

    def use_dialect(self, name):
        """The module identified itself: its dialect (kept across restarts, and with it the
        socket table)."""
        cls = dialects.load(name)
        if not isinstance(self.dialect, cls):
            self.dialect = cls(self)
        self.engine.h = self.dialect
        self.dialect.install(self.engine)

    # ---------------------------------------------------------------- bring-up (bringup.py)
    def start(self, timeout=10):
        """Sync with the module (leaving a data-mode session a previous program left
        behind), echo off, verbose errors, identify the dialect, and close the sockets
        the module still has open that no socket object owns. Returns the model."""
        return self.run(once("bringup", "start", self, int(timeout * 1000)))

    def attach(self, apn=None, user=None, password=None, timeout=180, progress=None, pin=None):
        """SIM (pin: its PIN, entered once if the SIM asks), signal, registration, data
        bearer; returns the local IP address."""
        self.check_attach(apn, user, password, pin)
        self.attach_args = (apn, user, password, timeout, progress)
        if not self.started or self.rebooted:
            self.rebooted = False
            self.start()
        return self.run(once("bringup", "attach", self, apn, user, password, int(timeout * 1000), progress))

    def check_attach(self, apn, user, password, pin):
        for value, what in ((apn, "APN"), (user, "user"), (password, "password")):
            if value is not None:
                cold("texts", "check_text", value, what)
        if pin is not None:
            if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8:
                raise ValueError("pin: 4 to 8 digits as a str, got %r" % (pin,))
            self.pin = pin  # kept: a reboot asks for it again

    def sync_clock(self, server="pool.ntp.org", port=123, timeout=75):
        """Set the module's clock from network time (what certificate checks need): returns
        the clock as the module then says it ("yy/mm/dd,hh:mm:ss+zz"); NotImplementedError on
        a module that has no way, ModemError when it failed."""
        cold("texts", "check_text", server, "server")
        check_port(port)
        self.ensure_up()
        return self.run(self.dialect.sync_clock(server, port, timeout * 1000))

    def detach(self):
        self.run(self.dialect.detach())
        self.ip = None
        self.state = "registered"

    def set_baudrate(self, baud):
        """The module's UART rate and the port's together (AT+IPR; before sockets open).
        Many modules keep it across power-off: open the port at that rate next time."""
        self.check_open()
        cold("baud", "set_baudrate", self, baud)

    def power_off(self):
        """AT+CPWROFF (or the power key); sockets and the bearer are gone."""
        self.check_open()
        from .power import power_off

        power_off(self)

    def power_on(self, timeout=30, ask=True):
        """The module up: if it does not answer (power.answer_ms, 6 s: a running module
        may be in a data session first), the power key (or reset pin), then start()."""
        self.check_open()
        from .power import power_on

        power_on(self, timeout, ask)

    # ---------------------------------------------------------------- sockets
    def socket(self, type=SOCK_STREAM, mode=None, tls=None, rxbuf=4096, af=AF_INET):
        self.check_open()
        if not self.started:
            raise ModemError(EINVAL, "call modem.start() (or attach()) before opening sockets")
        d = self.dialect
        if tls is not None:
            mode = d.tls_mode(tls, mode, self.default_mode)
        elif mode is None:
            mode = self.default_mode
        if mode not in d.MODES and mode in ("buffer", "push", "hex", "transparent"):
            raise ValueError("the %s has no %r mode (it has %s)" % (d.NAME, mode, ", ".join(d.MODES)))
        return Socket(self, af, type, mode, tls, rxbuf)

    def sockets(self):
        """The modem's `socket` module for libraries written for one: give it to one library
        with .load("name") (or .install_into(module)), or to every later import as
        sys.modules["socket"] (README: Libraries written for the `socket` module)."""
        self.check_open()
        from .socket_module import SocketModule

        return SocketModule(self)

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        self.check_open()
        self.check_resolve(host, port)
        return self.addrinfo(self.run(once("table", "resolve", self, host)), port, type, proto)

    def check_resolve(self, host, port):
        cold("texts", "check_host", host)
        check_port(port, lo=0)

    def addrinfo(self, ips, port, type=0, proto=0):
        return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port)) for ip in ips]

    def open_sockets(self):
        """Ids the module reports open, after reconciling atmodem's table with it."""
        return self.run(once("table", "reconcile", self))

    def close(self):
        """Close every socket, let a command in flight finish, and release the UART."""
        if self.closed:
            return
        try:
            for k in list(self.dialect.links.values()):
                try:
                    self.run(k.close_flow())
                except OSError:
                    pass
            self.waiting += 1  # the pump issues nothing more
            self.until(self.line.idle, 5000)
        finally:
            self.closed = True
            self.line.close()
