"""Quectel's TCP/IP AT set (AT+QI*): the EC200U / EC600 Cat-1 and BG95 / BG96 families
(docs/quectel.md). Operations are flows on links. Each socket has its own access mode,
chosen at the open (0 buffer, 1 push, 2 transparent) and switched one socket at a time."""
from ..command import OK, Command
from ..compat import cold, const
from ..errors import ATError, ModemError, text
from ..flow import Until, once
from .ipfamily import IpFamily, switched
from .parse import lead_ints, unquote

_ACCESS = {"buffer": 0, "push": 1, "transparent": 2}
_CMD_MS = const(5000)
_OPEN_MS = const(150000)  # +QIOPEN comes within 150 s [docs/quectel.md, AT+QIOPEN]
_ACT_MS = const(150000)
_DEACT_MS = const(40000)
_DNS_MS = const(60000)
_SEND_MS = const(10000)
_SEND_FAIL = b"SEND FAIL"
_DNS = b'+QIURC: "dnsgip",'


class Context:
    """A Quectel's own state for one connection."""

    def __init__(self):
        self.ssl = -1  # a TLS socket's SSL context


class Quectel(IpFamily):
    NAME = "Quectel"
    IDS = tuple(range(12))
    MODES = ("buffer", "push", "transparent")
    SERVER = True
    ID_IN_USE = ("socket identity has been used",)  # +QIOPEN: <id>,563 [quectel_errors]
    TLS = True  # buffer mode (quectel_tls.py)
    MAX_SEND = 1460
    MAX_READ = 1500
    MAX_DATAGRAM = 1460
    READ = b"AT+QIRD=%d,%d"
    SWITCH = b"AT+QISWTMD=%d,%d"
    CLOSE = b"AT+QICLOSE=%d"
    CLOSE_MS = 12000  # the module's own close timeout is 10 s [docs/quectel.md, AT+QICLOSE]
    STATE = b"AT+QISTATE?"
    STATE_PREFIX = b"+QISTATE:"
    INCOMING = 19  # len('+QIURC: "incoming",')
    Context = Context
    BOOT_URCS = (b"RDY",)
    URC_PREFIXES = (
        b"+QIURC:", b"+QIOPEN:", b"+QNTP:", b"+QSSLURC:", b"+QSSLOPEN:", b"+QIND:", b"+CPIN:", b"APP RDY", b"NO CARRIER", b"+CGREG:", b"+CEREG:",
    )
    URCS = (
        (b'+QIURC: "closed"', "_u_closed"), (b'+QSSLURC: "closed"', "_u_closed"),
        (b'+QIURC: "incoming full"', "_u_full"),
        (b'+QIURC: "incoming",', "_u_incoming"), (b'+QIURC: "dnsgip"', "_u_dns"),
        (b'+QIURC: "pdpdeact"', "_u_pdp"), (b"+QIOPEN:", "_u_open"), (b"+QSSLOPEN:", "_u_open"),
        (b"+QNTP:", "_u_ntp"), (b"NO CARRIER", "_u_no_carrier"),
    )
    HEADERS = ((b'+QIURC: "recv",', "_h_recv"), (b"+QIRD:", "_h_read"),
               (b'+QSSLURC: "recv",', "_h_recv"), (b"+QSSLRECV:", "_h_read"))
    # a read's answer names no id: it is the read in flight's (-1)
    PAYLOADS = ((b'+QIURC: "recv",', 0, 1, False), (b"+QIRD:", -1, 0, False),
                (b'+QSSLURC: "recv",', 0, 1, False), (b"+QSSLRECV:", -1, 0, False))
    SEND = b"AT+QISEND=%d,%d"
    HEADER_FRAGMENTS = (b'"recv",', b"IRD:", b"LRECV:")
    SSL_SEND = b"AT+QSSLSEND=%d,%d"
    SSL_READ = b"AT+QSSLRECV=%d,%d"

    def __init__(self, modem):
        IpFamily.__init__(self, modem)
        self.dns = None  # the DNS answer: None while it comes, then an error code (0: ok)
        self.dns_ips = []
        self.dns_left = 0
        self.deact = False  # the bearer dropped ("pdpdeact"): AT+QIDEACT before AT+QIACT
        self.tls_files = set()  # certificate files known to be on the module (its flash)
        self.tls_ctx = [None] * 6  # each SSL context's settings, as written since the boot
        self.ssl_ids = set()  # ids the module's last table listed as TLS sockets
        self.ntp = None  # the network time's result (clock.py)

    def start(self):
        # raw bytes both ways, a pushed header on its own line: what a previous program
        # may have changed (older firmware lacks the settings: ERROR is fine)
        # and no length in a buffer-mode notice; the module echoes no payload it is sent.
        # Settings are not kept across a boot [docs/quectel.md, start]
        for cmd in (b'AT+QICFG="dataformat",0,0', b'AT+QICFG="viewmode",0', b'AT+QICFG="recvind",0', b"AT+QISDE=0"):
            yield Command(cmd, check=False)

    # ---------------------------------------------------------------- lines read in place
    def _h_recv(self, buf, s, i, e):
        """+QIURC: "recv",<id>[,<len>[,"<ip>",<port>]]: for a pushed socket, data (<len> raw
        bytes follow the line); for one whose data the module holds, that it holds some (it
        says so once, until read empty; with "recvind" firmware adds a length)."""
        self._p = i
        sid = self.num(buf, e)
        k = self.links.get(sid)
        if self._p < e and (k is None or not k.inbox.held):
            return self._payload(buf, s, e, True, sid)
        if not self.data_waiting(sid):
            self.doubt = True  # data for an id we do not know of: the table is reconciled
        return True

    def _h_read(self, buf, s, i, e):
        """+QIRD: <len>[,"<ip>",<port>]: a read's answer: <len> raw bytes follow the line."""
        p = self.engine.pending
        sid = p.sid if p is not None and p.lands and not p.done else -1
        self._p = i
        return self._payload(buf, s, e, False, sid)

    def urc(self, line):
        if line == b"APP RDY":
            return  # the EC200U's second banner after RDY, not a second boot [docs/quectel.md]
        IpFamily.urc(self, line)

    # ---------------------------------------------------------------- URCs
    def _u_open(self, line):
        """+QIOPEN: <id>,<err> (+QSSLOPEN for TLS): the open's result, 0 ok (else an error
        code, 55x-57x)."""
        f = lead_ints(line[line.index(b":") + 1 :])
        k = self.links.get(f[0]) if len(f) >= 2 else None
        if k is not None and k.opened is None:
            k.on_open(f[1] == 0, line)

    def _u_ntp(self, line):
        """+QNTP: <err>[,"<time>"]: network time's result, 0 the clock was set."""
        self.ntp = line

    def _u_full(self, line):
        """+QIURC: "incoming full": a client was refused, every id is in use."""

    def _u_dns(self, line):
        """+QIURC: "dnsgip",<err>[,<count>,<ttl>] then <count> lines +QIURC: "dnsgip","<ip>":
        a DNS answer."""
        body = line[len(_DNS) :].strip()
        if body[:1] == b'"':
            self.dns_ips.append(text(unquote(body)))
            self.dns_left -= 1
            if self.dns_left <= 0:
                self.dns = 0
            return
        f = lead_ints(body)
        if not f:
            return
        if f[0] != 0 or len(f) < 2 or f[1] <= 0:
            self.dns = f[0] or -1
        else:
            self.dns_left = f[1]

    def _u_pdp(self, line):
        """+QIURC: "pdpdeact",<context>: the data bearer dropped; its sockets are gone."""
        self.deact = True  # the host must deactivate it before it is activated again
        if self.m.ip is not None:
            cold("events", "bearer_lost", self.m, text(line))

    def _u_no_carrier(self, line):
        """NO CARRIER: the transparent connection ended (the peer closed, or it broke)."""
        for k in self.links.values():
            if k.mode == "transparent" and k.opened and not k.suspended and not k.ended():
                k.on_closed(None)

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        if apn is not None:
            cmd = b'AT+QICSGP=1,1,"%s","%s","%s",%d' % (
                apn.encode(), (user or "").encode(), (password or "").encode(), 1 if user else 0)
            yield from step("pdp", Command(cmd))  # auth 1 PAP: 3 is not the EC200U's [docs/quectel.md]
        ip = None if self.deact else (yield from self._address(step))
        if ip is None:
            if self.deact:
                yield from step("deactivate", Command(b"AT+QIDEACT=1", timeout_ms=_DEACT_MS, check=False))
                self.deact = False
            for attempt in range(3):  # as the other modules' 150 s: resend twice [decision]
                try:
                    yield from step("activate", Command(b"AT+QIACT=1", timeout_ms=min(timeout_ms, _ACT_MS)))
                    break
                except ModemError:
                    if attempt == 2:
                        raise
            ip = yield from self._address(step)
        if ip is None:
            raise ATError("AT+QIACT?", "context 1 is not active after AT+QIACT=1")
        return ip

    def _address(self, step):
        """Context 1's address, or None when it is not active."""
        c = yield from step("address", Command(b"AT+QIACT?", prefix=b"+QIACT:"))
        for line in c.lines:
            f = line[7:].split(b",")
            try:
                if int(f[0]) == 1 and int(f[1]) == 1 and len(f) >= 4:
                    ip = text(unquote(f[3]))
                    return ip if ip not in ("", "0.0.0.0") else None
            except ValueError:
                pass
        return None

    def detach(self):
        yield Command(b"AT+QIDEACT=1", timeout_ms=_DEACT_MS)

    def sync_clock(self, server, port, timeout_ms):
        return once("dialects.clock", "qntp", self, server, port, timeout_ms)

    def resolve(self, host):
        self.dns = None
        self.dns_ips = []
        cmd = b'AT+QIDNSGIP=1,"%s"' % host.encode()
        c = yield Command(cmd, check=False)
        if not c.ok():
            raise self.dns_failed(host, text(c.result or b"no answer"))
        yield Until(lambda: self.dns is not None, _DNS_MS, text(cmd))
        if self.dns or not self.dns_ips:
            raise self.dns_failed(host, '+QIURC: "dnsgip",%s%s' % (self.dns, cold("dialects.quectel_errors", "meaning", self.dns)))
        return self.dns_ips

    # ---------------------------------------------------------------- links
    def open(self, link, host, port):
        """Up to the OK of the open (+QIOPEN comes later); a transparent open is over at its
        CONNECT, and the next byte is the connection's."""
        link.ctx = ctx = Context()
        kind = b"TCP" if link.stream else b"UDP"
        link.open_cmd = b'AT+QIOPEN=1,%d,"%s","%s",%d,0,%d' % (link.id, kind, host.encode(), port, _ACCESS[link.mode])
        if link.tls is not None:
            ctx.ssl = yield from once("dialects.quectel_tls", "setup", self, link)
            link.open_cmd = b'AT+QSSLOPEN=1,%d,%d,"%s",%d,0' % (ctx.ssl, link.id, host.encode(), port)
        # buffer mode from the open on: the module holds what comes until it is read
        link.inbox.want_hold = link.inbox.held = link.mode == "buffer"
        if link.mode != "transparent":
            yield Command(link.open_cmd, timeout_ms=_CMD_MS)
            return
        clock = self.m.clock
        ms = max(1000, clock.ticks_diff(link.open_by, clock.ticks_ms()))
        c = yield Command(link.open_cmd, prompt=b"CONNECT", on_connect=lambda: self.m.mode.enter(link, self.terminator(link)),
                          timeout_ms=min(ms, _OPEN_MS), check=False)
        if link.opened is None:
            link.on_open(c.result == b"CONNECT", c.result or b"no answer")

    def open_timeout(self, link, timeout_ms):
        if link.tls is not None:
            return max(timeout_ms, (link.tls.negotiate_timeout + 30) * 1000)
        return min(timeout_ms, _OPEN_MS)

    def tls_mode(self, tls, mode, default):
        mode = "buffer" if mode is None else mode
        cold("dialects.quectel_tls", "check", self, tls, mode)
        return mode

    def lost_all(self, err, gone):
        IpFamily.lost_all(self, err, gone)
        if gone:  # a boot keeps no SSL settings; the files are in flash
            self.tls_ctx = [None] * 6

    def opened(self, link):
        if not link.opened:
            a = link.open_answer
            f = lead_ints(a[a.index(b":") + 1 :]) if a.startswith((b"+QIOPEN:", b"+QSSLOPEN:")) else ()
            why = cold("dialects.quectel_errors", "meaning", f[1]) if len(f) >= 2 else ""
            if link.tls is not None:
                why += (" (TLS handshake or certificate check failed: check ca=, the server's"
                        " name and validity dates, client_cert=/client_key=, the module's clock)")
            raise self.open_failed(text(link.open_cmd), text(link.open_answer) + why)
        return
        yield

    def listen(self, link):
        """TCP LISTENER (listen) or UDP SERVICE (bind) on lport, in the link's access mode."""
        link.ctx = Context()
        kind = b"TCP LISTENER" if link.stream else b"UDP SERVICE"
        cmd = b'AT+QIOPEN=1,%d,"%s","127.0.0.1",0,%d,%d' % (link.id, kind, link.lport, _ACCESS[link.mode])
        link.listening = link.stream  # a first client may come before the listener's +QIOPEN
        link.inbox.want_hold = link.inbox.held = link.mode == "buffer"
        yield Command(cmd)
        yield Until(lambda: link.opened is not None, 60000, text(cmd))
        if not link.opened:
            link.listening = False
            raise self.open_failed(text(cmd), text(link.open_answer) + " (port in use?)")
        link.service = not link.stream

    def command_done(self, c):
        switched(self, c)

    def resume(self, link):
        """AT+QISWTMD=<id>,2 answers CONNECT and the UART carries the link."""
        cmd = b"AT+QISWTMD=%d,2" % link.id
        c = yield Command(cmd, prompt=b"CONNECT", on_connect=lambda: self.m.mode.enter(link, self.terminator(link)),
                          check=False)
        if c.result != b"CONNECT":
            if link.ended():
                return  # the peer closed first
            raise ATError(text(cmd), text(c.result or b"no answer"))

    def terminator(self, link):
        return b"\r\nNO CARRIER\r\n"

    def close(self, link):
        if link.tls is None:
            return (yield from IpFamily.close(self, link))
        c = yield Command(b"AT+QSSLCLOSE=%d" % link.id, timeout_ms=self.CLOSE_MS, check=False)
        if c.ok():
            return True
        table = yield from self.table()
        return link.id not in table

    def close_id(self, sid):
        if sid not in self.ssl_ids:
            return (yield from IpFamily.close_id(self, sid))
        c = yield Command(b"AT+QSSLCLOSE=%d" % sid, timeout_ms=self.CLOSE_MS, check=False)
        return c.ok()

    def table(self):
        """A flow: the ids the module has open, plain (AT+QISTATE?) and TLS (AT+QSSLSTATE)."""
        ids = yield from IpFamily.table(self)
        c = yield Command(b"AT+QSSLSTATE", prefix=b"+QSSLSTATE:", timeout_ms=_CMD_MS, check=False)
        self.ssl_ids = ssl = self.open_ids(c.lines)
        return ids | ssl

    def read_cmd(self, link, n):
        """A bound UDP socket reads one whole datagram, with no length: `AT+QIRD=<id>`
        [docs/quectel.md, AT+QIRD]."""
        c = IpFamily.read_cmd(self, link, n)
        if link.service:
            c.text = b"AT+QIRD=%d" % link.id
            c.wire = None
        return c

    def send_fmt(self, link):
        return self.SEND if link.tls is None else self.SSL_SEND

    def read_fmt(self, link):
        return self.READ if link.tls is None else self.SSL_READ

    # ---------------------------------------------------------------- sending
    def send_now(self, link, mv):
        return self._send_cmd(link, mv, None)

    def _send_cmd(self, link, mv, peer):
        text = None
        if peer is not None:
            text = self.SEND % (link.id, len(mv)) + b',"%s",%d' % (peer[0].encode(), peer[1])
        return self.send_command(link, text, mv, b"SEND ", self.SEND_PROMPT, None, _SEND_MS, self._scan)

    def scan_send(self, c, buf, s, e):
        """SEND OK (the module took the bytes) and SEND FAIL (its buffer is full) are the
        send's final answers: no OK follows them."""
        if buf.startswith(b"SEND OK", s, e) and e - s == 7:
            c.conf = True
            c.finish(OK)
            return True
        if buf.startswith(_SEND_FAIL, s, e) and e - s == 9:
            c.finish(_SEND_FAIL)
            return True
        return False
