"""What both dialects share: the engine-handler surface, the socket table, argument checks,
small parsers.

A dialect knows one module's words and nothing about UARTs or clocks: its operations are
flows (generators yielding at.Command / flow.Until steps) that a runner carries out."""
from ..at import DISCARD, Background, Command
from ..compat import const
from ..errors import EINVAL, ECONNREFUSED, EHOSTUNREACH, EMFILE, ETIMEDOUT, ConnectError, LinkError, ModemError

_D0 = const(48)
_D9 = const(57)


def ints(text):
    """b'1,0,2048' -> [1, 0, 2048]; a field that is not a number gives ValueError."""
    return [int(f) for f in text.split(b",")]


def last_int(line):
    """The number after the last ',' or ':' (the id in `IPREAD: 1`, `+IPURC: "closed",1`)."""
    i = max(line.rfind(b","), line.rfind(b":"))
    try:
        return int(line[i + 1 :])
    except ValueError:
        return -1


def unquote(field):
    f = field.strip()
    if f[:1] == b'"' and f[-1:] == b'"':
        return f[1:-1]
    return f


def check_text(value, what):
    """Refuse a string that would change the AT command it is put into."""
    if not isinstance(value, str):
        raise ValueError("%s must be a str, not %s" % (what, type(value).__name__))
    for ch in value:
        c = ord(ch)
        if c < 0x20 or c > 0x7E or ch == '"':
            raise ValueError(
                "%s %r contains %r, which could inject AT commands; refused" % (what, value, ch)
            )
    return value


def check_port(port, what="port", lo=1):
    if not isinstance(port, int) or not lo <= port <= 65535:
        raise ValueError("%s must be an int %d-65535, got %r" % (what, lo, port))
    return port


class Read(Background):
    """A socket's reusable read command (the full-size text is built once)."""

    lands = True

    def __init__(self, full, pump, sock):
        Background.__init__(self, full, pump)
        self.full = full
        self.full_wire = full + b"\r"
        self.sid = sock.id
        self.sock = sock


class Dialect:
    NAME = ""
    MODEL = b""
    IDS = ()
    MAX_SEND = 1460
    MAX_READ = 1500
    MAX_DATAGRAM = 1460
    BOOT_URCS = ()
    URC_PREFIXES = ()
    HEADER_PREFIXES = ()
    READ = b""  # the read command, "%d,%d" for id and length
    LINE_MAX = 512  # the longest line a module sends in text (data has its own framing)

    def __init__(self, modem):
        self.m = modem
        self.socks = {}  # id -> Socket that owns it
        self.dirty = set()  # ids the module may still hold: not handed out until confirmed free
        self.doubt = False  # the module said something that contradicts our table
        self._p = 0  # parse position for num()

    def install(self, engine):
        self.engine = engine
        engine.urc_prefixes = self.URC_PREFIXES + self.BOOT_URCS
        engine.header_prefixes = self.HEADER_PREFIXES
        engine.inline_prefix = b""

    # ---- engine handler surface
    def header(self, buf, s, e):
        return False

    def inline(self, buf, s, e):
        return -1

    def overflow(self, buf, s, e):
        """A line too long to read was dropped: if it carried a socket's data, say so there."""

    def echo(self, line):
        self.m.on_echo(line)

    def urc(self, line):
        if line.startswith(self.BOOT_URCS):
            self.m.on_boot_urc(line)
        elif line.startswith((b"+CGREG:", b"+CEREG:")):
            self.m.on_registration(line)
        else:
            self.socket_urc(line)

    def socket_urc(self, line):
        pass

    def num(self, buf, ln):
        """The decimal number at self._p in buf (up to ln; spaces skipped), leaving self._p
        after the comma that ends it; -1 when there is none. In place: no copy of the line."""
        i = self._p
        while i < ln and buf[i] == 32:
            i += 1
        v = -1
        while i < ln:
            c = buf[i]
            if c < _D0 or c > _D9:
                break
            v = (0 if v < 0 else v * 10) + c - _D0
            i += 1
        while i < ln and buf[i] == 32:
            i += 1
        if i < ln:
            if buf[i] != 44:  # something else than ',' after the number
                v = -1
            i += 1
        self._p = i
        return v

    def payload_to(self, sid):
        """The inbox for a payload on id sid; nobody's data is consumed to stay in sync."""
        s = self.socks.get(sid)
        if s is None:
            self.doubt = True  # the module has a socket we do not know of
            return DISCARD
        return s.inbox

    def read_header(self, sid, n):
        """A read answer's header: how many bytes came, for the read command in flight."""
        p = self.engine.pending
        if p is not None and p.got < 0 and getattr(p, "sid", -1) == sid:
            p.got = n

    # ---- the socket table
    def claim_id(self, sock):
        """A flow: an id the module has free (a doubtful one only after the module says so)."""
        for attempt in (0, 1):
            for i in self.IDS:
                if i not in self.socks and i not in self.dirty:
                    sock.id = i
                    self.socks[i] = sock
                    return i
            if not self.dirty or attempt:
                break
            from ..table import reconcile

            yield from reconcile(self.m)
        raise ModemError(EMFILE, "all %d sockets of the %s are in use" % (len(self.IDS), self.NAME))

    def release(self, sock, confirmed):
        """The socket gave up its id: free at once if the module confirmed it, else doubtful."""
        if self.socks.get(sock.id) is sock:
            del self.socks[sock.id]
            if not confirmed:
                self.dirty.add(sock.id)

    def lost_all(self, err, gone):
        """Every socket ends with err (after its data). gone: the module itself forgot them
        (a reboot), so their ids are free at once and nothing is closed on it; else (the
        bearer dropped) the module still holds each id until it is closed."""
        for s in list(self.socks.values()):
            s.on_closed(err, gone)
            if gone:
                self.release(s, True)
                s.state = 0  # CLOSED: close() has nothing left to do
        if gone:
            self.dirty.clear()
            self.doubt = False

    def open_timeout(self, sock, timeout_ms):
        return timeout_ms

    def open_done(self, sock):
        """The predicate an open waits for: the module's answer."""
        return sock.opened is not None

    def opened(self, sock):
        """A flow after the module answered an open: raise if it failed."""
        if not sock.opened:
            raise self.open_failed(sock.open_cmd.decode(), sock.open_answer.decode())
        return
        yield

    def open_failed(self, cmd, answer):
        return ConnectError(ECONNREFUSED, "%s: %s" % (cmd, answer))

    def dns_failed(self, host, answer):
        return ModemError(EHOSTUNREACH, "the module could not resolve %r (%s)" % (host, answer))

    def max_datagram(self, sock):
        """The largest datagram one send carries for sock."""
        return self.MAX_DATAGRAM

    def send_command(self, sock, text, mv, prefix, prompt, need, timeout_ms):
        """A send's command: the socket's own, taken while this send uses it (a concurrent
        send makes a new one), or a new one. A Command is a dozen attributes: heap per chunk
        on a board. Give it back with sent_with() once its answer has been read."""
        c = sock.send_cmd
        if c is None:
            return Command(text, prefix, prompt, need, None, mv, timeout_ms, False)
        sock.send_cmd = None
        Command.__init__(c, text, prefix, prompt, need, None, mv, timeout_ms, False)  # same attributes: no new heap
        return c

    def sent_with(self, sock, c):
        c.payload = None  # the program's buffer is not kept alive by us
        sock.send_cmd = c

    def read_cmd(self, sock, n):
        """The socket's reusable read command for up to n bytes (no allocation per read)."""
        c = sock.read_cmd
        n = self.MAX_READ if n >= self.MAX_READ else n
        if c is None or c.sid != sock.id:
            c = Read(self.READ % (sock.id, self.MAX_READ), self.m.pump, sock)
            sock.read_cmd = c
        if n == self.MAX_READ:
            c.text = c.full
            c.wire = c.full_wire
        else:
            c.text = self.READ % (sock.id, n)
            c.wire = None
        c.want = n
        c.notes = sock.inbox.notes
        return c

    def start(self):
        return
        yield

    # ---- what each dialect implements: flows
    def attach(self, apn, user, password, timeout_ms, step):
        raise NotImplementedError

    def detach(self):
        raise NotImplementedError

    def switch_cmd(self):
        """A background command that moves a socket between push and hold, or None."""
        return None

    def flow_timeout(self, sock, what):
        """A flow: no room in the module's send buffer for the manual's 30 s. The connection
        is closed (the module may drop it anyway [seed]); returns the error to raise."""
        from ..table import abandon

        err = LinkError(ETIMEDOUT, "socket %d: %s for %d s; connection closed" % (sock.id, what, self.m.flow_wait_ms // 1000))
        yield from abandon(self.m, sock)
        sock.on_closed(err)
        return err

    def tls_unsupported(self):
        raise ModemError(EINVAL, "TLS is not available on the %s" % self.NAME)
