"""What both dialects share: the engine-handler surface, the socket table, argument checks,
small parsers.

A dialect knows one module's words and nothing about UARTs or clocks: its operations are
flows (generators yielding at.Command / flow.Until steps) that a runner carries out."""
from ..at import DISCARD, Background, Command
from ..compat import const
from ..errors import EINVAL, ECONNREFUSED, EHOSTUNREACH, EMFILE, ETIMEDOUT, ConnectError, LinkError, ModemError, text

_D0 = const(48)
_D9 = const(57)


def ints(text):
    """b'1,0,2048' -> [1, 0, 2048]; a field that is not a number gives ValueError."""
    return [int(f) for f in text.split(b",")]


def garbled(line):
    """Payload data that lost its framing (a header dropped or damaged on the line), not a
    line of the module's: control characters, or bytes past ASCII in a line that does not
    begin as the module's do (`+CME ERROR: <GBK text>` is the module's)."""
    high = False
    for b in line:
        if b < 32 and b != 9:
            return True
        if b > 126:
            high = True
    if not high:
        return False
    b = line[0]
    return not (b == 43 or 65 <= b <= 90) or b":" not in line[:24]


def lead_ints(text):
    """The leading numeric fields: b'1,0,"x"' -> [1, 0]. Real firmware adds fields to many
    answers (docs/real-modules.md): parse what is needed, ignore what follows."""
    out = []
    for f in text.split(b","):
        try:
            out.append(int(f))
        except ValueError:
            break
    return out


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
    MAX_PAYLOAD = 4096  # the most one header may announce: more is a framing error [decision]
    BOOT_URCS = ()
    URC_PREFIXES = ()
    HEADER_PREFIXES = ()
    PAYLOAD_PREFIXES = ()  # the headers among them that announce a payload, up to the id
    HEADER_FRAGMENTS = ()  # what is left of one of them that lost its start
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
        engine.line_starts = self.HEADER_PREFIXES + self.URC_PREFIXES + self.BOOT_URCS + (b"+",)
        engine.inline_prefix = b""

    # ---- engine handler surface
    def header(self, buf, s, e):
        return False

    def inline(self, buf, s, e):
        return -1

    def overflow(self, buf, s, e):
        """A line too long to read was dropped: the module's text is never that long, so
        it is data that lost its framing (doubt.py)."""
        self.framing(DISCARD, "%d bytes of data outside any payload" % (e - s), bytes(buf[s : s + 16]))

    def echo(self, line):
        self.m.on_echo(line)

    def urc(self, line):
        if line.endswith(self.BOOT_URCS):  # also `Wait...AT command ready` [docs/real-modules.md]
            self.m.on_boot_urc(line)
            return
        if line.startswith((b"+CGREG:", b"+CEREG:")):
            self.m.on_registration(line)
        elif not line.startswith(self.URC_PREFIXES) and (garbled(line) or self._damaged_header(line)):
            self.framing(DISCARD, "a line of data outside any payload (%r)" % line[:16], line[:16])
        else:
            self.socket_urc(line)

    def socket_urc(self, line):
        pass

    def _damaged_header(self, line):
        """A data header that lost its start, or its end (the module's own lines never look
        like these)."""
        for frag in self.HEADER_FRAGMENTS:
            if frag in line:
                return True
        for pre in self.PAYLOAD_PREFIXES:
            if line.startswith(pre[:6]):
                return True
        return False

    def framing(self, target, why, tail):
        """A payload failed its framing (see doubt.py)."""
        from .doubt import framing

        framing(self, target, why, tail)

    def rescan(self, seen):
        """The ids of sockets whose payload headers appear in seen (damaged bytes)."""
        ids = []
        for pre in self.PAYLOAD_PREFIXES:
            i = seen.find(pre)
            while i >= 0:
                f = lead_ints(seen[i + len(pre) : i + len(pre) + 24])
                if f:
                    ids.append(f[0])
                i = seen.find(pre, i + 1)
        return ids

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
            if sid not in self.dirty:
                # or the id was garbled on the line, and the data is some socket's
                self.framing(DISCARD, "data for socket %d, which is not open" % sid, b"")
            return DISCARD
        return s.inbox

    def payload_target(self, sid, n, push, buf, s, e):
        """A data header announced n bytes for id sid: their target, or None when the
        header cannot be believed (a pushed payload is never empty; the sockets it may
        belong to fail: doubt.py)."""
        if sid < 0:
            self.framing(DISCARD, "a data header that cannot be read (%r)" % bytes(buf[s : min(e, s + 40)]), b"")
            return None
        target = self.payload_to(sid)
        if not (1 if push else 0) <= n <= self.MAX_PAYLOAD:
            self.framing(target, "a header announced %d bytes (%s%d)" % (n, "1-" if push else "0-", self.MAX_PAYLOAD), b"")
            return None
        return target

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
            raise self.open_failed(text(sock.open_cmd), text(sock.open_answer))
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
