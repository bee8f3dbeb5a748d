"""Fibocom L610: the +MIP* command set (docs/l610.md). Operations are flows on links.

Async commands (MIPCALL, MIPOPEN, MIPCLOSE, MIPODM) answer OK at once and their result
comes later as a URC or a bare ERROR; the next one waits for it (pending.py). The receive
format is one setting for the whole module (shared_format.py)."""
from ..command import Command
from ..compat import cold, const
from ..errors import ECONNRESET, ATError, ATTimeout, LinkError, ModemError, text
from ..flow import Until, once, pause
from .base import Dialect
from .mip import MipData
from .parse import ints, lead_ints, unquote
from .pending import AsyncCommands, Pending
from .shared_format import SharedFormat

_FORMAT = {"push": 2, "hex": 0, "buffer": 5}
_CALL_MS = const(150000)
CALL_RETRIES = 2
_OPEN_MS = const(60000)
_CLOSE_MS = const(60000)
_HANGUP_MS = const(40000)
# After a dial's ERROR, G510 firmware still reports `+MIPCALL: 0` and refuses a dial until
# then; RTT and ONEOS pause before they redial [docs/real-modules.md, AT+MIPCALL]
_CALL_SETTLE_MS = const(2000)
# A close waits this long for the module (busy with an earlier async command, or slow to
# report +MIPCLOSE); then the id stays in doubt and is reconciled later, so that connect()
# returns within its timeout plus this bound [decision]
CLOSE_WAIT_MS = 10000
_SEND_MS = const(33000)  # "wait at least 30 s for +MIPSEND" [docs/l610.md, AT+MIPSEND]
# IPRFMT 0 data lines: the largest datagram (2048 bytes) as hex and its header. The manual
# bounds no TCP line: a longer one is ENOBUFS on its link (overflow), never a silent gap.
_HEX_LINE = const(4200)
_TLS_MODES = ("push", "hex")
# which URCs carry each async command's result (a failed open may come as +MIPSTAT)
_OPEN_HEADS = (b"+MIPOPEN:", b"+MIPSTAT:")
_ODM_HEADS = (b"+MIPODM:", b"+MIPSTAT:")
_CLOSE_HEADS, _CALL_HEADS = (b"+MIPCLOSE:",), (b"+MIPCALL:",)


class Context:
    """The L610's own state for one connection."""

    def __init__(self):
        self.xoff = False  # +MIPXOFF: the module's send buffer is full until +MIPXON
        self.free = 0  # send-buffer space last reported (0: not known)
        self.closing = False
        self.close_done = False
        # the open's async command
        self.pending = None  # type: Pending | None


class L610(MipData):
    NAME = "L610"
    IDS = (1, 2, 3, 4, 5, 6)
    MODES = ("buffer", "push", "hex", "transparent")
    SHARED_FORMAT = True
    TLS = True  # push and hex only: the modes real firmware shows TLS in (docs/l610-tls.md)
    MAX_SEND = 2048
    MAX_READ = 2048  # a whole 2048-byte datagram is one read
    MAX_DATAGRAM = 2048
    READ = b"AT+MIPREAD=%d,%d"
    # G5X0 firmware prefixes the banner (docs/real-modules.md, boot banner): a table entry of
    # its own, so that it also starts a line and is found inside damaged payload bytes
    BOOT_URCS = (b"AT command ready", b"Wait...AT command ready")
    URC_PREFIXES = (
        b"+MIPOPEN:", b"+MIPCLOSE:", b"+MIPSTAT:", b"+MIPCALL:", b"+MIPREAD:",
        b"+MIPXOFF:", b"+MIPXON:", b"+MIPRTCP:", b"+MIPRUDP:", b"+MIPODM:",
        b"+MIPPUSH:", b"+MIPSEND:", b"+MIPDNS:", b"+MIPNTP:", b"+SIM READY", b"+CGREG:", b"+CEREG:",
    )
    URCS = (
        (b"ERROR", "_u_error"), (b"+CME ERROR", "_u_error"), (b"+MIPCALL:", "_u_call"),
        (b"+MIPDNS:", "_u_dns"), (b"+MIP", "_u_socket"),
    )
    HEADERS = (
        (b"+MIPDATA:", "_h_read"), (b"+MIPREAD:", "_h_waiting"),
        (b"+MIPRTCP:", "_h_hex"), (b"+MIPRUDP:", "_h_hex"),
    )
    PAYLOADS = ((b"+MIPDATA:", 0, 1, False), (b"+MIPRTCP:", 0, 1, True), (b"+MIPRUDP:", 2, 3, True))
    SOCKET_URCS = (
        (b"+MIPOPEN:", "_u_open"), (b"+MIPODM:", "_u_odm"), (b"+MIPCLOSE:", "_u_close"),
        (b"+MIPSTAT:", "_u_stat"), (b"+MIPREAD:", "_u_read"), (b"+MIPXOFF:", "_u_xoff"),
        (b"+MIPXON:", "_u_xon"),
    )
    SEND = b"AT+MIPSEND=%d,%d"
    FORMAT_CMD = b'AT+GTSET="IPRFMT",%d'
    INLINE_FORMAT = 2  # IPRFMT 2: +MIPRTCP / +MIPRUDP carry the bytes after the header
    DATA_OPEN = b"+MIPODM:"
    HEADER_FRAGMENTS = (b"RTCP:", b"RUDP:", b"PDATA:")

    def __init__(self, modem):
        MipData.__init__(self, modem)
        self.format = SharedFormat(self, self.FORMAT_CMD, _FORMAT, 5, self._format_changed)
        self.asyncs = AsyncCommands(modem.clock if modem is not None else None)
        self.call = None
        self.dns = None
        self.tls_now = [None, None, []]  # GTSSLMODE, GTSSLVER, CAs uploaded since its boot
        self._socket_urcs = {p: getattr(self, n) for p, n in self.SOCKET_URCS}

    def install(self, engine):
        Dialect.install(self, engine)
        self._format_changed(self.format.fmt)

    def _format_changed(self, fmt):
        self.fmt = fmt  # what MipData reads data lines by
        self.engine.inline_prefix = b"+MIPR" if fmt == self.INLINE_FORMAT else b""
        if fmt == 0:
            self.engine.line_room(_HEX_LINE)

    # ---------------------------------------------------------------- lines read in place
    def _h_waiting(self, buf, s, i, e):
        """+MIPREAD: <id>,<len>: the module holds data for the link (IPRFMT 5)."""
        self._p = i
        return self.data_waiting(self.num(buf, e))

    def _h_read(self, buf, s, i, e):
        """+MIPDATA: <id>,<len>: a read's answer (IPRFMT 5): <len> raw bytes follow the line."""
        self._p = i
        sid = self.num(buf, e)
        n = self.num(buf, e)
        target = self.payload_target(sid, n, False, buf, s, e)
        if target is not None:
            self.read_header(sid, n)
            self.engine.expect(target, n, False)
        return True

    # ---------------------------------------------------------------- URCs
    def _u_error(self, line):
        """ERROR / +CME ERROR / G24's `ERROR: <n>` outside a command: the async command
        running failed after its OK."""
        self.asyncs.error(line)

    def _u_call(self, line):
        """+MIPCALL: <ip> | 0 (some firmware `1,<ip>`): the data bearer, up at that address or
        (0) gone."""
        body = line[9:].strip()
        if body[:2] == b"1,":
            body = body[2:].strip()
        self.call = body
        self.asyncs.result(b"+MIPCALL:", -1, line)
        if body == b"0" and self.m.ip is not None:
            cold("events", "bearer_lost", self.m, "+MIPCALL: 0")

    def _u_dns(self, line):
        """+MIPDNS: "<host>",<ip>[,<ip>...]: an answer that came after the OK."""
        self.dns = line

    def _u_socket(self, line):
        head = line[: line.find(b":") + 1]
        f = lead_ints(line[len(head) :])  # the fields we need; trailing ones are ignored
        if not f or self.asyncs.result(head, f[0], line) and head == b"+MIPNTP:":
            return
        fn = self._socket_urcs.get(head)
        if fn is None:
            return
        k = self.links.get(f[0])
        if k is None:
            if f[0] not in self.dirty and head != b"+MIPCLOSE:" and head != b"+MIPSTAT:":
                self.doubt = True
            return
        fn(line, k, f)

    def _u_open(self, line, k, f):
        """+MIPOPEN: <id>,<1 ok | 0 failed>[,...]: the open's result."""
        if len(f) >= 2 and k.opened is None:
            k.on_open(f[1] == 1, line)

    def _u_odm(self, line, k, f):
        """+MIPODM: <id>,<1|0>: a transparent open; the next byte is the link's."""
        if len(f) >= 2 and k.opened is None:
            k.on_open(f[1] == 1, line)
            if f[1] == 1:
                self.m.mode.enter(k, self.terminator(k))

    def _u_read(self, line, k, f):
        """+MIPREAD: <id>,<len>: data waiting in the module (IPRFMT 5)."""
        k.data_waiting()

    def _u_xoff(self, line, k, f):
        """+MIPXOFF: <id>: the module's send buffer is full: sends wait for +MIPXON."""
        k.ctx.xoff = True

    def _u_xon(self, line, k, f):
        """+MIPXON: <id>: room again."""
        k.ctx.xoff = False

    def _u_stat(self, line, k, f):
        """+MIPSTAT: <id>,<n>[,<acked>]: n 0 acknowledges sent bytes, 1 the link broke (a
        peer's close reads the same: end of stream, README), 2 a TLS alert. During an open
        it is the open's failure (docs/real-modules.md, +MIPSTAT)."""
        n = f[1] if len(f) >= 2 else 1
        if n == 0:
            return  # an acknowledgement: the connection goes on
        if k.opened is None:
            k.on_open(False, line)
        elif n == 2:
            k.on_closed(LinkError(ECONNRESET, "connection closed by a TLS alert (%s)" % text(line)))
        else:
            k.on_closed(None)

    def _u_close(self, line, k, f):
        """+MIPCLOSE: <id>[,<acked>],<type>: closed; type 0 normal, 1 timeout, 2 other."""
        k.ctx.close_done = True
        kind = f[-1] if len(f) >= 2 else 0
        if k.ctx.closing or kind == 0:
            k.on_closed(None)
        else:
            k.on_closed(LinkError(ECONNRESET, "connection lost (%s: %s)" % (
                text(line), "timeout" if kind == 1 else "other")))

    def lost_all(self, err, gone):
        Dialect.lost_all(self, err, gone)
        if gone:
            self.asyncs.forget()  # a rebooted module runs nothing
            self.tls_now = [None, None, []]  # and keeps no TLS settings or CAs

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        if apn is not None:
            yield from step("pdp", Command(b'AT+CGDCONT=1,"IP","%s"' % apn.encode()))
        clock = self.m.clock
        deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
        while True:
            c = yield from step("dial state", Command(b"AT+MIPCALL?", prefix=b"+MIPCALL:"))
            state = c.first(b"+MIPCALL") or b"0"
            if state.startswith(b"1,"):
                return text(state[2:].strip())
            if state != b"2" or clock.ticks_diff(deadline, clock.ticks_ms()) <= 0:
                break
            yield pause(1000)  # 2: a dial is under way (a previous program's): let it end
        cmd = b"AT+MIPCALL=1"
        if apn is not None:
            cmd += b',"%s"' % apn.encode()
            if user is not None:
                cmd += b',"%s","%s"' % (user.encode(), (password or "").encode())
        answer = b""
        for _ in range(1 + CALL_RETRIES):  # 150 s, resend at least twice [docs/l610.md]
            self.call = None
            left = max(1000, clock.ticks_diff(deadline, clock.ticks_ms()))
            try:
                err = yield from step("dial", self.asyncs.run(cmd, -1, _CALL_HEADS, _CALL_MS, left))
            except ModemError as e:  # ERROR, or no +MIPCALL in time: resend
                err = str(e).encode()
            if err is None and self.call not in (None, b"0"):
                return text(self.call)
            answer = err or b"+MIPCALL: 0"
            wait = min(_CALL_SETTLE_MS, clock.ticks_diff(deadline, clock.ticks_ms()))
            if err is not None and wait > 0:
                # the failed dial's own late `+MIPCALL: 0` must not be read as the next
                # dial's result, nor (once one succeeded) as the bearer lost
                yield Until(lambda: self.call is not None, wait)
        raise ATError(text(cmd), text(answer) + " (after %d tries)" % (1 + CALL_RETRIES))

    def sync_clock(self, server, port, timeout_ms):
        return once("dialects.clock", "mipntp", self, server, port, timeout_ms)

    def detach(self):
        self.call = None
        yield from self.asyncs.run(b"AT+MIPCALL=0", -1, _CALL_HEADS, _HANGUP_MS, _HANGUP_MS)

    # ---------------------------------------------------------------- links
    def switch_cmd(self):
        return self.format.switch_cmd()

    def command_done(self, c):
        self.format.command_done(c)

    def open(self, link, host, port):
        """Up to the OK of the open; +MIPOPEN / +MIPODM comes later."""
        link.ctx = ctx = Context()
        proto = 0 if link.stream else 1
        if link.tls is not None:
            proto = 2
            yield from once("dialects.gtssl", "setup", self, link.tls)
        heads = _OPEN_HEADS
        if link.mode == "transparent":
            heads = _ODM_HEADS
            link.open_cmd = b'AT+MIPODM=%d,,"%s",%d,%d' % (link.id, host.encode(), port, proto)
        else:
            link.inbox.want_hold = link.mode == "buffer"
            yield from self.format.ensure(link.mode)
            link.inbox.held = self.format.fmt == 5
            link.open_cmd = b'AT+MIPOPEN=%d,,"%s",%d,%d' % (link.id, host.encode(), port, proto)
        clock = self.m.clock
        budget = clock.ticks_diff(link.open_by, clock.ticks_ms())
        ctx.pending = yield from self.asyncs.begin(link.open_cmd, link.id, heads, _OPEN_MS, budget)

    def open_timeout(self, link, timeout_ms):
        return min(timeout_ms, _OPEN_MS)

    def open_done(self, link):
        """The predicate an open waits for: its result, or the module's bare ERROR."""
        p = link.ctx.pending
        return link.opened is not None or (p is not None and p.done())

    def opened(self, link):
        p = link.ctx.pending
        if link.opened is None and p is not None and p.done():
            link.opened = False
            link.open_answer = p.result
        if not link.opened and link.tls is not None:
            why = yield from once("dialects.gtssl", "failure", self)
            raise self.open_failed(text(link.open_cmd), text(link.open_answer) + why)
        return (yield from Dialect.opened(self, link))

    def tls_mode(self, tls, mode, default):
        cold("dialects.gtssl", "check", self, tls)
        if mode is None:
            mode = default if default in _TLS_MODES else "push"
        if mode not in _TLS_MODES:
            raise ValueError("the L610 does TLS in push and hex mode, not %r: no source shows it in "
                             "the others (docs/l610-tls.md)" % mode)
        return mode

    def resume(self, link):
        """ATO: CONNECT, and the UART carries the link again."""
        c = yield Command(b"ATO", prompt=b"CONNECT", on_connect=lambda: self.m.mode.enter(link, self.terminator(link)),
                          timeout_ms=30000, check=False)
        if c.result != b"CONNECT":
            raise ATError("ATO", text(c.result or b"no answer"))

    def terminator(self, link):
        return b"\r\nNO CARRIER\r\n\r\n+MIPSTAT: %d,1\r\n" % link.id

    def max_send(self, link):
        free = link.ctx.free
        return min(self.MAX_SEND, free) if free else self.MAX_SEND

    def send(self, link, mv, peer=None):
        m = self.m
        ctx = link.ctx
        if ctx.xoff:
            try:
                yield Until(lambda: not ctx.xoff or link.ended(), m.flow_wait_ms, "+MIPXON")
            except ATTimeout:
                err = yield from link.flow_timeout("+MIPXOFF without +MIPXON")
                raise err
            if link.ended():
                raise link.inbox.error or LinkError(ECONNRESET, "socket %d closed while flowed off" % link.id)
        c = yield self._send_cmd(link, mv)
        return self.sent(link, c, len(mv))

    def send_now(self, link, mv):
        return None if link.ctx.xoff else self._send_cmd(link, mv)

    def _send_cmd(self, link, mv):
        return self.send_command(link, None, mv, (b"+MIPPUSH:", b"+MIPSEND:"), self.SEND_PROMPT, b"+MIPSEND:",
                                 _SEND_MS, self._scan)

    def close(self, link):
        """A flow: True when the module confirmed the id free. Its open may have no result
        yet: the close cancels it, or the module says ERROR and the id stays in doubt."""
        ctx = link.ctx
        ctx.closing = True
        ctx.close_done = False
        asyncs = self.asyncs
        try:
            err = yield from asyncs.run(b"AT+MIPCLOSE=%d" % link.id, link.id, _CLOSE_HEADS,
                                        _CLOSE_MS, CLOSE_WAIT_MS, asyncs.busy_with(link.id))
        except ModemError:
            err = b"ERROR"
        if err is None:
            return True
        if asyncs.busy_with(link.id):
            return False  # its open is still running: whatever the table says, not free yet
        table = yield from self.table()
        return link.id not in table

    def close_id(self, sid):
        try:
            err = yield from self.asyncs.run(b"AT+MIPCLOSE=%d" % sid, sid, _CLOSE_HEADS, _CLOSE_MS, CLOSE_WAIT_MS)
        except ModemError:
            return False
        return err is None

    def table(self):
        """A flow: the ids the module has open (AT+MIPCLOSE? lists them)."""
        c = yield Command(b"AT+MIPCLOSE?", prefix=b"+MIPCLOSE:", check=False)
        line = c.first(b"+MIPCLOSE") if c.ok() else None
        if line is None:  # older firmware: AT+MIPOPEN? lists the free ones
            c = yield Command(b"AT+MIPOPEN?", prefix=b"+MIPOPEN:")
            free = set(ints(c.first(b"+MIPOPEN") or b"0")) - {0}
            return set(self.IDS) - free
        return set(ints(line)) - {0}

    def resolve(self, host):
        self.dns = None
        cmd = b'AT+MIPDNS="%s"' % host.encode()
        c = yield Command(cmd, prefix=b"+MIPDNS:", timeout_ms=30000, check=False)
        if not c.ok():
            raise self.dns_failed(host, text(c.result or b"no answer"))
        line = c.lines[0] if c.lines else None
        if line is None:
            yield Until(lambda: self.dns is not None, 30000, text(cmd))
            line = self.dns or b""
        f = line[8:].split(b",")
        ips = [text(unquote(x)) for x in f[1:]]
        if not ips:
            raise self.dns_failed(host, text(line))
        return ips
