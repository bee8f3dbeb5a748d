"""The modem: owns the UART, the engine, the dialect and the clock, and is the only place
that loops. Everything blocking in atmodem is `poll` here with a deadline."""
from .at import Command, Engine
from .datamode import DataMode
from .compat import Clock
from .dialects.base import Dialect, check_port, check_text
from .errors import (
    EBUSY, EHOSTUNREACH, EINVAL, EIO, ENETDOWN, ATError, ATTimeout, LinkError, ModemError, ECONNRESET,
)
from .socket import AF_INET, CLOSED, CLOSING, OPEN, OPENING, SOCK_STREAM, Socket

_CMD_MS = 5000
TX_BUFFERED = 16384  # bytes a UART path can still hold after write() returned (tty, USB bridge)
_OPEN_MS = 60000


def _dialect_class(name):
    if name == "nm28":
        from .dialects.nm28 import NM28

        return NM28
    if name == "l610":
        from .dialects.l610 import L610

        return L610
    raise ValueError("dialect must be 'nm28', 'l610' or None, not %r" % (name,))


def registered(lines):
    """Any +CGREG/+CEREG answer line at 1 (home) or 5 (roaming) [seed]."""
    for line in lines:
        try:
            if int(line.split(b",")[1]) in (1, 5):
                return True
        except (ValueError, IndexError):
            pass
    return False


def _is_ipv4(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or int(p) > 255:
            return False
    return True


class Modem:
    def __init__(self, uart, dialect=None, clock=None, trace=None, rxbuf=1024, guard_ms=1000,
                 power=None, auto_reattach=False):
        self.uart = uart
        self.clock = clock or Clock()
        self.trace = trace  # trace(direction, bytes): '>' to the module, '<' from it
        self._rx = bytearray(rxbuf)
        self._want = dialect
        if dialect is not None:
            _dialect_class(dialect)  # a bad name fails here, before any I/O
        self.dialect = Dialect(self)
        self.engine = Engine(self.dialect)
        self.dialect.install(self.engine)
        self.ip = None
        self.model = ""
        self.started = False
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
        self._attach_args = None
        self.data_sock = None  # the socket whose bytes the UART carries (transparent mode)
        self.data = DataMode(self)
        self.last_write = self.clock.ticks_ms()

    # ---------------------------------------------------------------- the line
    def write(self, data):
        if self.trace:
            self.trace(">", bytes(data))
        self.uart.write(data)
        # When the last byte will have left the wire (8N1: 10 bits a byte): written bytes
        # wait in UART buffers (at most TX_BUFFERED of them), and the +++ guard silence is
        # the module's, counted from then. Ports that can drain() say it exactly instead.
        clock = self.clock
        now = clock.ticks_ms()
        bps = getattr(self.uart, "baudrate", 0)
        if not bps:
            self.last_write = now
            return
        start = self.last_write if clock.ticks_diff(self.last_write, now) > 0 else now
        end = clock.ticks_add(start, len(data) * 10000 // bps + 1)
        cap = clock.ticks_add(now, TX_BUFFERED * 10000 // bps + 1)
        self.last_write = end if clock.ticks_diff(cap, end) > 0 else cap

    def poll(self, timeout_ms=0):
        """Feed whatever the UART has to the engine; wait up to timeout_ms for something.
        Returns True when bytes were processed."""
        got = self._drain()
        if got or timeout_ms <= 0:
            return got
        if self.uart.wait(timeout_ms):
            return self._drain()
        return False

    def _drain(self):
        """One buffer-full at most: the caller gets a turn between chunks, so a reader in
        push mode keeps up with its ring, and unread bytes stay in the UART (back-pressure)."""
        buf = self._rx
        n = self.uart.readinto(buf)
        if not n:
            return False
        if self.trace:
            self.trace("<", bytes(buf[:n]))
        self.engine.feed(buf, n)
        return True

    def wait_for(self, pred, timeout_ms, what):
        clock = self.clock
        deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
        while not pred():
            left = clock.ticks_diff(deadline, clock.ticks_ms())
            if left <= 0:
                raise ATTimeout(what, timeout_ms / 1000)
            self.poll(left)

    def idle(self, ms):
        """Service the line for ms (URCs keep flowing while we wait between retries)."""
        try:
            self.wait_for(lambda: False, ms, "idle")
        except ATTimeout:
            pass

    def command(self, text, prefix=None, prompt=None, payload=None, need=None,
                timeout_ms=_CMD_MS, check=True, on_connect=None):
        """Send one command line, wait for its final result; raise ATError on an error
        result (check=True) and ATTimeout when none comes."""
        e = self.engine
        if self.data_sock is not None:
            raise ModemError(
                EBUSY,
                "%s: socket %d holds the UART in transparent mode; call its suspend() or "
                "close() first" % (text.decode(), self.data_sock.id),
            )
        if e.pending is not None:
            raise ModemError(EIO, "%s while %s is in flight" % (text.decode(), e.pending.text.decode()))
        c = Command(text, prefix, prompt, need, on_connect)
        e.start(c)
        clock = self.clock
        deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
        try:
            self.write(text + b"\r")
            sent = payload is None
            while not c.done:
                if c.prompted and not sent:
                    self.write(payload)
                    sent = True
                left = clock.ticks_diff(deadline, clock.ticks_ms())
                if left <= 0:
                    last = c.lines[-1].decode() if c.lines else ""
                    raise ATTimeout(text.decode(), timeout_ms / 1000, last)
                self.poll(left)
        finally:
            e.pending = None
        if check and not c.ok():
            raise ATError(text.decode(), (c.result or b"no result").decode())
        if c.ok() and text.upper() in (b"ATE0", b"ATE1"):
            e.echo_on = text.upper() == b"ATE1"  # echo on by request is not a reset sign
        return c

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
        self._lost_module(line.decode())

    def _lost_module(self, why):
        self.reboots += 1
        if self.started:
            self._fail_all(LinkError(ECONNRESET, "the module rebooted (%s)" % why))
            self.rebooted = True
        self.ip = None
        self.data_sock = None
        self.engine.echo_on = True
        self.state = "off"

    def ensure_up(self):
        """After a module reset: sync, echo off, errors on, and attach again if asked to."""
        if not self.rebooted:
            return
        self.rebooted = False
        self.start()
        if self.auto_reattach and self._attach_args is not None:
            self.attach(*self._attach_args)

    def on_registration(self, line):
        self.registration = line

    def on_pdp_lost(self, why):
        self.ip = None
        if self.state == "attached":
            self.state = "registered"
        self._fail_all(LinkError(ENETDOWN, "the data bearer was lost (%s)" % why))

    # data (transparent) mode: see datamode.py
    def enter_data(self, sock):
        self.data.enter(sock)

    def data_ended(self, sock):
        self.data.ended(sock)

    def escape(self):
        self.data.escape()

    def resume(self, sock):
        self.data.resume(sock)

    def _fail_all(self, err):
        for s in list(self.dialect.socks.values()):
            s.on_closed(err)

    # ---------------------------------------------------------------- bring-up
    def start(self, timeout=10):
        """Sync with the module, echo off, verbose errors, identify the dialect."""
        self.engine.reset()
        for _ in range(64):  # whatever the module said before we listened (boot URCs)
            if not self._drain():
                break
        self._sync(int(timeout * 1000))
        self.command(b"ATE0")
        self.command(b"AT+CMEE=2", check=False)
        c = self.command(b"AT+CGMM", prefix=b"", check=False)
        text = b" ".join(c.lines)
        if not text.strip() or not c.ok():
            c = self.command(b"ATI", prefix=b"", check=False)
            text = b" ".join(c.lines)
        self.model = text.decode()
        name = self._want
        if name is None:
            for cand in ("nm28", "l610"):
                if _dialect_class(cand).MODEL in text.upper():
                    name = cand
                    break
            else:
                raise ModemError(
                    EIO, "unknown module: AT+CGMM answered %r; pass dialect='nm28' or 'l610'" % self.model
                )
        self.dialect = _dialect_class(name)(self)
        self.engine.h = self.dialect
        self.dialect.install(self.engine)
        self.dialect.start()
        self.started = True
        self.state = "ready"
        return self.model

    def _sync(self, timeout_ms):
        """AT until OK: the first command after power-on may be lost [seed]."""
        clock = self.clock
        deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
        last = None
        while clock.ticks_diff(deadline, clock.ticks_ms()) > 0:
            try:
                self.command(b"AT", timeout_ms=500)
                return
            except (ATTimeout, ATError) as err:
                last = err
        raise ModemError(110, "the module does not answer AT (%s)" % last)

    def attach(self, apn=None, user=None, password=None, timeout=180, progress=None):
        """SIM, signal, registration, data bearer; returns the local IP address."""
        for value, what in ((apn, "APN"), (user, "user"), (password, "password")):
            if value is not None:
                check_text(value, what)
        self._attach_args = (apn, user, password, timeout, progress)
        if not self.started or self.rebooted:
            self.rebooted = False
            self.start()
        clock = self.clock
        deadline = clock.ticks_add(clock.ticks_ms(), int(timeout * 1000))

        def left():
            return clock.ticks_diff(deadline, clock.ticks_ms())

        def step(name, fn):
            if progress is not None:
                progress(name)
            try:
                return fn()
            except ModemError as err:
                raise ModemError(err.errno, "attach, step %r: %s" % (name, err))

        def until(name, cmd, prefix, good):
            last = b""
            while True:
                c = step(name, lambda: self.command(cmd, prefix=prefix, check=False))
                last = b" ".join(c.lines + [c.result or b""])
                if c.ok() and good(c):
                    return c
                if left() <= 0:
                    raise ATTimeout("attach, step %r: %s" % (name, cmd.decode()), timeout, last.decode())
                self.idle(min(1000, left()))

        until("sim", b"AT+CPIN?", b"+CPIN:", lambda c: c.first(b"+CPIN") == b"READY")
        self.state = "sim_ready"
        c = step("signal", lambda: self.command(b"AT+CSQ", prefix=b"+CSQ:"))
        try:
            self.csq = tuple(int(x) for x in (c.first(b"+CSQ") or b"").split(b","))
        except ValueError:
            self.csq = None

        def either(c):
            # CGREG or, on LTE, CEREG: one of them at 1 or 5 is enough [seed]
            if registered(c.lines):
                return True
            c2 = self.command(b"AT+CEREG?", prefix=b"+CEREG:", check=False)
            c.lines += c2.lines
            return c2.ok() and registered(c2.lines)

        until("registration", b"AT+CGREG?", (b"+CGREG:", b"+CEREG:"), either)
        self.state = "registered"
        self.ip = self.dialect.attach(apn, user, password, max(1000, left()), step)
        self.state = "attached"
        return self.ip

    # ---------------------------------------------------------------- power
    def power_off(self):
        """AT+CPWROFF, then 1 s before power may be cut [seed]; the power key if it will
        not answer. Sockets and the bearer are gone."""
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
        if self.power is None or not (self.power.press_key(self.clock) or self.power.reset(self.clock)):
            raise ModemError(EINVAL, "no power key or reset pin configured (Modem(power=...))")
        self.start(timeout=timeout)

    def detach(self):
        self.dialect.detach()
        self.ip = None
        self.state = "registered"

    # ---------------------------------------------------------------- sockets
    def socket(self, type=SOCK_STREAM, mode="push", tls=None, rxbuf=4096, af=AF_INET):
        if not self.started:
            raise ModemError(EINVAL, "call modem.start() (or attach()) before opening sockets")
        if tls is not None and not hasattr(self.dialect, "TLS"):
            raise NotImplementedError(
                "the %s manual documents no TLS: atmodem will not open a plain-text connection "
                "instead; layer TLS on the socket in your program (e.g. MicroPython's tls)"
                % self.dialect.NAME
            )
        return Socket(self, af, type, mode, tls, rxbuf)

    def open_socket(self, sock, host, port):
        self.ensure_up()
        if self.ip is None:
            raise ModemError(ENETDOWN, "no data bearer: call modem.attach() first")
        d = self.dialect
        sock.id = d.free_id()
        d.socks[sock.id] = sock
        sock.state = OPENING
        sock.peer = (host, port)
        t = sock.gettimeout()
        try:
            d.open(sock, host, port, int(t * 1000) if t else _OPEN_MS)
        except BaseException as err:
            if isinstance(err, ATTimeout):
                try:
                    d.close(sock)
                except OSError:
                    pass
            d.release(sock)
            sock.state = CLOSED
            raise
        sock.state = OPEN

    def open_server(self, sock):
        """A TCP listener (listen) or a bound UDP socket (bind) on the module."""
        self.ensure_up()
        if self.ip is None:
            raise ModemError(ENETDOWN, "no data bearer: call modem.attach() first")
        d = self.dialect
        if not hasattr(d, "listen"):
            raise NotImplementedError("the %s manual documents no server sockets" % d.NAME)
        sock.id = d.free_id()
        d.socks[sock.id] = sock
        sock.state = OPENING
        try:
            d.listen(sock)
        except BaseException:
            d.release(sock)
            sock.state = CLOSED
            raise
        sock.state = OPEN

    def close_socket(self, sock):
        d = self.dialect
        try:
            if sock.state == OPEN:
                if self.data_sock is sock:
                    self.escape()
                sock.state = CLOSING
                d.close(sock)
        except OSError:
            pass  # the module may have released the id already
        finally:
            d.release(sock)
            sock.state = CLOSED

    def sockets(self):
        """A socket-module-shaped object for libraries that `import socket` (inject it as
        sys.modules["socket"], or pass it where a library takes a socket module)."""
        from .socket_module import SocketModule

        return SocketModule(self)

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        check_text(host, "host")
        check_port(port, lo=0)
        if _is_ipv4(host):
            ips = [host]
        else:
            self.ensure_up()
            if self.ip is None:
                raise ModemError(ENETDOWN, "no data bearer: call modem.attach() first")
            ips = self.dialect.resolve(host)
            if not ips:
                raise ModemError(EHOSTUNREACH, "the module could not resolve %r" % host)
        return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port)) for ip in ips]

    def close(self):
        for s in list(self.dialect.socks.values()):
            s.close()
        self.uart.close()

