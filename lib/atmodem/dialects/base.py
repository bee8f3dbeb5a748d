"""The contract a module's dialect meets, and what every dialect shares.

A dialect knows one module's words and nothing about UARTs or clocks. It is the engine's
handler (it reads lines in place and frames payloads), it keeps the module's socket table
(id -> link.Link), and its operations are flows: generators that yield command.Command and
flow.Until steps to a runner and get the answers back (flow.py). It talks to links (link.py)
and their inbox, never to a program's Socket. docs/adding-a-module.md is the checklist."""
from ..command import Command, Read
from ..compat import cold, const
from ..errors import ECONNREFUSED, EHOSTUNREACH, EMFILE, ConnectError, ModemError, text
from ..flow import once
from ..framing import DISCARD
from .parse import garbled

_D0 = const(48)
_D9 = const(57)


class Dialect:
    # ---- what the module is, read by the rest of atmodem (never hasattr)
    NAME = ""  # in messages: "NM28"
    # the module's socket ids
    IDS = ()  # type: tuple
    MODES = ("buffer", "push", "transparent")  # which of atmodem's modes it has
    TLS = False  # TLS in the module (socket(tls=...))
    SERVER = False  # TCP listeners and bound UDP sockets (bind, listen, accept)
    SHARED_FORMAT = False  # one receive format for the whole module: open sockets share a mode
    MAX_SEND = 1460  # bytes one send command carries
    MAX_READ = 1500  # bytes one read command asks for
    MAX_DATAGRAM = 1460
    MAX_PAYLOAD = 4096  # the most one header may announce: more is a framing error [decision]
    LINE_MAX = 512  # the longest line a module sends in text (data has its own framing)
    READ = b""  # the read command, "%d,%d" for id and length
    # ---- its words, as tables
    # lines that mean it (re)started
    BOOT_URCS = ()  # type: tuple
    # every URC it sends (the engine tells them from command answers)
    URC_PREFIXES = ()  # type: tuple
    # (prefix, method name): the URC handlers, first match wins
    URCS = ()  # type: tuple
    # (prefix, method name): lines read in place, fn(buf, s, i, e), i after prefix
    HEADERS = ()  # type: tuple
    # (prefix, id field, length field, inline): the headers that announce a payload, the
    # fields counted from the prefix; an inline one has the bytes on its own line, after
    # the length's comma, in the receive format INLINE_FORMAT (doubt.py, tools/console.py)
    PAYLOADS = ()  # type: tuple
    # (prefix, method name): URCs about one socket id, fn(line, link, fields)
    SOCKET_URCS = ()  # type: tuple
    # the send command ("%d,%d": id, length), and what the module asks for the bytes with
    SEND = b""
    SEND_PROMPT = b">"
    # the receive format command ("%d"), when the module has one format for all sockets
    FORMAT_CMD = None
    INLINE_FORMAT = -1
    DATA_OPEN = None  # the URC of a transparent open: `<id>,1`, then the link's bytes
    ID_IN_USE = ("not allowed",)  # an open's error that means the id is taken: reconcile, retry
    # what is left of one of them that lost its start
    HEADER_FRAGMENTS = ()  # type: tuple

    def __init__(self, modem):
        self.m = modem
        self.links = {}  # id -> the link that owns it
        self.dirty = set()  # ids the module may still hold: not handed out until confirmed free
        self.doubt = False  # the module said something that contradicts our table
        self._p = 0  # parse position for num()
        self._urcs = tuple((p, getattr(self, n)) for p, n in self.URCS)
        self._scan = self.scan_send  # bound once: given to every send command

    def install(self, engine):
        """Become engine's handler: its prefixes and header table are ours."""
        self.engine = engine
        engine.urc_prefixes = self.URC_PREFIXES + self.BOOT_URCS
        engine.header_prefixes = tuple(p for p, _ in self.HEADERS)
        engine.headers = tuple((p, getattr(self, n)) for p, n in self.HEADERS)
        # (known prefixes only: a bare "+" would turn up in random data now and then)
        engine.line_starts = engine.header_prefixes + self.URC_PREFIXES + self.BOOT_URCS + (b"OK\r", b"ERROR")
        engine.inline_prefix = b""

    # ---------------------------------------------------------------- engine handler
    def inline(self, buf, s, e):
        """A line whose payload starts after a comma on the same line: where its raw bytes
        start (> 0), 0 (need more of it) or -1 (not such a line)."""
        return -1

    def overflow(self, buf, s, e):
        """A line too long to read was dropped: the module's text is never that long, so
        it is data that lost its framing (doubt.py)."""
        self.framing(DISCARD, "%d bytes of data outside any payload" % (e - s), bytes(buf[s : s + 16]))

    def framing(self, target, why, tail):
        """A payload failed its framing (doubt.py)."""
        from .doubt import framing

        framing(self, target, why, tail)

    def echo(self, line):
        cold("events", "echo", self.m, line)

    def urc(self, line):
        """A line no command claimed: boot, registration, or the dialect's URC table."""
        if line.endswith(self.BOOT_URCS):  # also `Wait...AT command ready` [docs/real-modules.md]
            cold("events", "boot", self.m, line)
            return
        if line.startswith((b"+CGREG:", b"+CEREG:")):
            self.registration(line)
            return
        if garbled(line) or self._damaged_header(line):  # before any URC claims it
            self.framing(DISCARD, "a line of data outside any payload (%r)" % line[:16], line[:16])
            return
        for pre, fn in self._urcs:
            if line.startswith(pre):
                fn(line)
                return

    def registration(self, line):
        """+CGREG / +CEREG: [<n>,]<stat>: registration: 1 home, 5 roaming, 0/2 searching."""
        self.m.registration = line

    def _damaged_header(self, line):
        """A data header that lost its start (the module's own lines never hold what is
        left of one)."""
        for frag in self.HEADER_FRAGMENTS:
            if frag in line:
                return True
        return False

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
        k = self.links.get(sid)
        if k is None:
            self.doubt = True  # the module has a socket we do not know of
            if sid not in self.dirty:
                # or the id was garbled on the line, and the data is some link's
                self.framing(DISCARD, "data for socket %d, which is not open" % sid, b"")
            return DISCARD
        return k.inbox

    def payload_target(self, sid, n, push, buf, s, e):
        """A data header announced n bytes for id sid: their target, or None when the
        header cannot be believed (a pushed payload is never empty; the links it may belong
        to fail: doubt.py)."""
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
        if p is not None and p.lands and p.got < 0 and p.sid == sid:
            p.got = n

    def data_waiting(self, sid):
        """The module says it holds data for sid (a header read in place): True when that
        is a link of ours, False to let the URC path note the doubt."""
        k = self.links.get(sid)
        if k is None:
            return False
        k.data_waiting()
        return True

    # ---------------------------------------------------------------- the socket table
    def claim_id(self, link):
        """A flow: an id the module has free (a doubtful one only after the module says so)."""
        for attempt in (0, 1):
            for i in self.IDS:
                if i not in self.links and i not in self.dirty:
                    link.id = i
                    self.links[i] = link
                    return i
            if not self.dirty or attempt:
                break
            yield from once("table", "reconcile", self.m)
        raise ModemError(EMFILE, "all %d sockets of the %s are in use" % (len(self.IDS), self.NAME))

    def release(self, link, confirmed):
        """The link gave up its id: free at once if the module confirmed it, else doubtful."""
        if self.links.get(link.id) is link:
            del self.links[link.id]
            if not confirmed:
                self.dirty.add(link.id)

    def lost_all(self, err, gone):
        """Every link ends with err (after its data). gone: the module itself forgot them
        (a reboot), so their ids are free at once and nothing is closed on it; else (the
        bearer dropped) the module still holds each id until it is closed."""
        for k in list(self.links.values()):
            k.on_closed(err, gone)
            if gone:
                self.release(k, True)
                k.state = 0  # CLOSED: close() has nothing left to do
        if gone:
            self.dirty.clear()
            self.doubt = False

    # ---------------------------------------------------------------- the contract: flows
    def start(self):
        """A flow, once the module is identified: what the dialect sets up on it."""
        return
        yield

    def attach(self, apn, user, password, timeout_ms, step):
        """A flow: the data bearer up (apn/user/password when given); returns the local IP.
        step(name, command_or_flow) runs each part as a named attach step. Raises
        ModemError (ATError / ATTimeout) naming what failed."""
        raise NotImplementedError

    def detach(self):
        """A flow: the data bearer down."""
        raise NotImplementedError

    def sync_clock(self, server, port, timeout_ms):
        """A flow: the module's clock from network time (NTP server:port); ModemError if not."""
        raise NotImplementedError("the %s documents no network time: set its clock (AT+CCLK) yourself" % self.NAME)

    def resolve(self, host):
        """A flow: the module's DNS answer for host, a list of IPv4 strings; ModemError
        EHOSTUNREACH (dns_failed) when it has none."""
        raise NotImplementedError

    def table(self):
        """A flow: the set of ids the module has open (any state but closed)."""
        raise NotImplementedError

    def close_id(self, sid):
        """A flow: close an id no link owns; True when the module confirmed it free."""
        raise NotImplementedError

    def open(self, link, host, port):
        """A flow up to the module's acceptance of the open (its answer comes later: open_done
        tells when). Sets link.open_cmd and link.ctx. Raises ATError when refused at once."""
        raise NotImplementedError

    def tls_mode(self, tls, mode, default):
        """(TLS) The mode a TLS socket opens in (mode None: default, or one the module does
        TLS in); raises for what it cannot do with tls, before anything reaches it."""
        raise NotImplementedError(
            "the %s does no TLS in the module: atmodem will not open a plain-text connection "
            "instead; layer TLS on the socket in your program (e.g. MicroPython's tls)" % self.NAME)

    def open_timeout(self, link, timeout_ms):
        """How long the whole open may take, given the program's timeout."""
        return timeout_ms

    def open_done(self, link):
        """The predicate an open waits for: the module's answer."""
        return link.opened is not None

    def opened(self, link):
        """A flow after the module answered an open: raise ConnectError if it failed;
        whatever finishes it (transparent: into data mode)."""
        if not link.opened:
            raise self.open_failed(text(link.open_cmd), text(link.open_answer))
        return
        yield

    def listen(self, link):
        """A flow (SERVER): a TCP listener (link.stream) or a bound UDP socket on link.lport."""
        raise NotImplementedError

    def send(self, link, mv, peer=None):
        """A flow: one send of mv (at most max_send / max_datagram bytes); returns how many
        bytes the module confirmed, or raises (ATError with what it said; LinkError)."""
        raise NotImplementedError

    def send_now(self, link, mv):
        """The steady state of a stream: the command that sends mv (at most max_send) when
        nothing must be waited for first, else None (send runs). Its answer goes to sent;
        no flow, no heap per chunk."""
        return None

    def sent(self, link, c, n):
        """After send_now's command: n when the module confirmed the bytes, else raises as
        send would."""
        raise NotImplementedError

    def send_failed(self, link, mv, err):
        """A flow after send_now's command failed with err: what send would do (retry), or raise."""
        raise err
        yield

    def scan_send(self, c, buf, s, e):  # a send's answer read in place: True if taken
        return False

    def max_send(self, link):  # the most one send carries for link
        return self.MAX_SEND

    def max_datagram(self, link):  # the largest datagram one send carries for link
        return self.MAX_DATAGRAM

    def close(self, link):  # a flow: close link on the module; True: its id is confirmed free
        raise NotImplementedError

    def resume(self, link):  # a flow (transparent): back into data mode for a suspended link
        raise NotImplementedError

    def terminator(self, link):
        """The bytes with which the module ends data mode by itself for link."""
        raise NotImplementedError

    def switch_cmd(self):
        """A background command that moves a link between push and hold, or None (pump)."""
        return None

    def command_done(self, c):
        """A Notify / Background command of ours has its result (at the byte it came)."""

    # ---------------------------------------------------------------- shared pieces
    def open_failed(self, cmd, answer):
        return ConnectError(ECONNREFUSED, "%s: %s" % (cmd, answer))

    def dns_failed(self, host, answer):
        return ModemError(EHOSTUNREACH, "the module could not resolve %r (%s)" % (host, answer))

    def send_command(self, link, text, mv, prefix, prompt, need, timeout_ms, scan=None):
        """A send's command (text None: SEND for mv): the link's own, taken while this send
        uses it (a concurrent send makes a new one), or a new one. A Command is a dozen
        attributes: heap per chunk on a board. scan(c, buf, s, e) reads its answer lines in
        place (at.py). Give it back with sent_with() once its answer has been read."""
        wire = None
        if text is None:
            t = link.send_texts
            n = len(mv)
            if t[0] == n:
                text, wire = t[1], t[2]
            elif t[3] == n:
                text, wire = t[4], t[5]
            else:  # two sizes are kept: full chunks and a same-sized tail format nothing
                i = t[6]
                t[6] = 3 - i
                text = self.send_fmt(link) % (link.id, n)
                wire = text + b"\r"
                t[i], t[i + 1], t[i + 2] = n, text, wire
        c = link.send_cmd
        if c is None:
            c = Command(text, prefix, prompt, need, None, mv, timeout_ms, False)
        else:
            link.send_cmd = None
            c.setup(text, prefix, prompt, need, None, mv, timeout_ms, False)  # no new heap
        c.wire = wire
        c.scan = scan
        c.conf = False
        c.free = -1
        return c

    def send_fmt(self, link):  # the send command for link ("%d,%d": id, length)
        return self.SEND

    def read_fmt(self, link):  # the read command for link ("%d,%d": id, length)
        return self.READ

    def sent_with(self, link, c):
        c.payload = None  # the program's buffer is not kept alive by us
        link.send_cmd = c

    def read_cmd(self, link, n):
        """The link's reusable read command for up to n bytes (no allocation per read)."""
        c = link.read_cmd
        n = self.MAX_READ if n >= self.MAX_READ else n
        fmt = self.read_fmt(link)
        if c is None or c.sid != link.id or c.fmt is not fmt:
            c = Read(fmt % (link.id, self.MAX_READ), self.m.pump, link)
            c.fmt = fmt
            link.read_cmd = c
        if n == self.MAX_READ:
            c.text = c.full
            c.wire = c.full_wire
        else:
            c.text = c.fmt % (link.id, n)
            c.wire = None
        c.size = n
        c.notes = link.inbox.notes
        c.garbled = None
        return c
