"""Fibocom L610: the +MIP* command set (SPEC.md, L610 section). Operations are flows.

Async commands (MIPCALL, MIPOPEN, MIPCLOSE, MIPODM) answer OK at once and their result
comes later as a URC or a bare ERROR; the next async command waits for it [seed], also
when the flow that sent the first was cancelled (the module is busy all the same)."""
import binascii

from ..at import DISCARD, Background, Command, Notify
from ..compat import const
from ..errors import EBUSY, ECONNRESET, EIO, ATError, ATTimeout, LinkError, ModemError, text
from ..flow import Until, pause
from .base import Dialect, ints, lead_ints, unquote
from .pending import AsyncCommands

_FORMAT = {"push": 2, "hex": 0, "buffer": 5}
_CALL_MS = const(150000)
CALL_RETRIES = 2
_OPEN_MS = const(60000)
_CLOSE_MS = const(60000)
_HANGUP_MS = const(40000)
# A close waits this long for the module (busy with an earlier async command, or slow to
# report +MIPCLOSE); then the id stays in doubt and is reconciled later, so that connect()
# returns within its timeout plus this bound [decision]
CLOSE_WAIT_MS = 10000
_SEND_MS = const(33000)  # "wait at least 30 s for +MIPSEND" [docs/l610.md, AT+MIPSEND]
# IPRFMT 0 data lines: the largest datagram (2048 bytes) as hex and its header. SPEC.md
# bounds no TCP line: a longer one is ENOBUFS on its socket (overflow), never a silent gap.
_HEX_LINE = const(4200)


class L610(Dialect):
    NAME = "L610"
    MODEL = b"L610"
    IDS = (1, 2, 3, 4, 5, 6)
    MAX_SEND = 2048
    MAX_READ = 2048  # a whole 2048-byte datagram is one read [SPEC, datagrams]
    MAX_DATAGRAM = 2048
    READ = b"AT+MIPREAD=%d,%d"
    BOOT_URCS = (b"AT command ready",)
    URC_PREFIXES = (
        b"+MIPOPEN:", b"+MIPCLOSE:", b"+MIPSTAT:", b"+MIPCALL:", b"+MIPREAD:",
        b"+MIPXOFF:", b"+MIPXON:", b"+MIPRTCP:", b"+MIPRUDP:", b"+MIPODM:",
        b"+MIPPUSH:", b"+MIPSEND:", b"+MIPDNS:", b"+SIM READY", b"+CGREG:", b"+CEREG:",
    )
    HEADER_PREFIXES = (b"+MIPDATA:", b"+MIPREAD:", b"+MIPRTCP:", b"+MIPRUDP:")
    PAYLOAD_PREFIXES = (b"+MIPDATA:", b"+MIPRTCP:")  # +MIPRUDP: names the peer first (rescan)
    HEADER_FRAGMENTS = (b"RTCP:", b"RUDP:", b"PDATA:")

    def __init__(self, modem):
        super().__init__(modem)
        self.fmt = None  # the module keeps IPRFMT across power-off: unknown until we set it
        self.fmt_switching = False
        self.asyncs = AsyncCommands(modem.clock if modem is not None else None)
        self.call = None
        self.dns = None
        self._urcs = {
            b"+MIPOPEN:": self._u_open, b"+MIPODM:": self._u_odm, b"+MIPCLOSE:": self._u_close,
            b"+MIPSTAT:": self._u_stat, b"+MIPREAD:": self._u_read, b"+MIPXOFF:": self._u_xoff,
            b"+MIPXON:": self._u_xon, b"+MIPCALL:": self._u_call, b"+MIPDNS:": self._u_dns,
        }

    def install(self, engine):
        Dialect.install(self, engine)
        if self.fmt == 2:
            engine.inline_prefix = b"+MIPR"

    # ---------------------------------------------------------------- engine surface
    def inline(self, buf, s, e):
        """IPRFMT 2: `+MIPRTCP: <id>,<len>,` / `+MIPRUDP: <ip>,<port>,<id>,<len>,` then raw,
        read in place from what has arrived (buf[s:e]); where the raw bytes start."""
        udp = buf.startswith(b"+MIPRUDP:", s, e)
        if not (udp or buf.startswith(b"+MIPRTCP:", s, e)):
            return -1
        need = 4 if udp else 2
        commas = 0
        start = i = s + 9
        while commas < need:
            i = buf.find(b",", i, e)
            if i < 0:
                return 0
            commas += 1
            i += 1
            if commas == need - 2:
                start = i  # <id> follows <ip>,<port>,
        addr = None
        if udp:
            addr = self._peer(buf, s + 9, start - 1)
        self._p = start
        sid = self.num(buf, i) if addr is not None or not udp else -1
        n = self.num(buf, i)
        target = self.payload_target(sid, n, True, buf, s, i)
        if target is None:
            return i
        if addr is not None:
            target.rx_addr = addr
        self.engine.expect(target, n)
        return i

    def _peer(self, buf, i, j):
        """`<ip>,<port>` in buf[i:j], a +MIPRUDP header's start: (ip, port), or None."""
        f = bytes(buf[i:j]).split(b",")
        try:
            return (text(f[0].strip()), int(f[1]))
        except (ValueError, IndexError):
            return None

    def header(self, buf, s, e):
        """`+MIPDATA: <id>,<len>` then len raw bytes (IPRFMT 5 read), the frequent
        `+MIPREAD: <id>,<len>` and IPRFMT 0's hex data lines, read in place."""
        if buf[s + 4] == 82 and buf[s + 5] != 69:  # +MIPRTCP / +MIPRUDP, not +MIPREAD
            if self.fmt != 0 or not self._hex_data(buf, s, e):
                # (IPRFMT 2 reads these inline: a whole line means the header was damaged)
                self.framing(DISCARD, "a data header that cannot be read (%r)" % bytes(buf[s : min(e, s + 40)]), b"")
            return True
        self._p = s + 9
        sid = self.num(buf, e)
        n = self.num(buf, e)
        if buf[s + 4] == 82:  # +MIPREAD: data waiting
            sock = self.socks.get(sid)
            if sock is None:
                return False  # let the URC path note the doubt
            sock.data_waiting()
            return True
        target = self.payload_target(sid, n, False, buf, s, e)
        if target is None:
            return True
        self.read_header(sid, n)
        self.engine.expect(target, n, False)
        return True

    def socket_urc(self, line):
        if line.startswith(b"ERROR") or line.startswith(b"+CME ERROR"):
            self.asyncs.error(line)  # also G24's `ERROR: <n>`  # an async command failed after its OK [seed]
            return
        head = line[: line.find(b":") + 1]
        fn = self._urcs.get(head)
        if fn is None:
            return  # +MIPRTCP / +MIPRUDP that header() could not read, or noise
        if head == b"+MIPCALL:" or head == b"+MIPDNS:":
            fn(line, None, None)
            return
        f = lead_ints(line[len(head) :])  # the fields we need; trailing ones are ignored
        if not f:
            return
        sid = f[0]
        self.asyncs.result(head, sid, line)
        s = self.socks.get(sid)
        if s is None:
            if sid not in self.dirty and head != b"+MIPCLOSE:" and head != b"+MIPSTAT:":
                self.doubt = True
            return
        fn(line, s, f)

    def _u_call(self, line, s, f):
        body = line[9:].strip()
        if body[:2] == b"1,":
            body = body[2:].strip()  # some firmware says `+MIPCALL: 1,<ip>` [real-modules]
        self.call = body
        self.asyncs.result(b"+MIPCALL:", -1, line)
        if body == b"0" and self.m.ip is not None:
            self.m.on_pdp_lost("+MIPCALL: 0")

    def _u_dns(self, line, s, f):
        self.dns = line

    def _u_open(self, line, s, f):
        if len(f) >= 2 and s.opened is None:
            s.on_open(f[1] == 1, line)

    def _u_odm(self, line, s, f):
        if len(f) >= 2 and s.opened is None:
            s.on_open(f[1] == 1, line)
            if f[1] == 1:
                self.m.enter_data(s)  # the next byte is the socket's [seed]

    def _u_read(self, line, s, f):
        s.data_waiting()

    def _u_xoff(self, line, s, f):
        s.xoff = True

    def _u_xon(self, line, s, f):
        s.xoff = False

    def _u_stat(self, line, s, f):
        """+MIPSTAT: <id>,<n>[,<acked>]: n 0 acknowledges sent bytes, 1 the link broke
        (a peer's close reads the same: end of stream, README), 2 a TLS alert
        [docs/real-modules.md, +MIPSTAT]. During an open it is the open's failure."""
        n = f[1] if len(f) >= 2 else 1
        if n == 0:
            return  # an acknowledgement: the connection goes on
        if s.opened is None:
            s.on_open(False, line)
        elif n == 2:
            s.on_closed(LinkError(ECONNRESET, "connection closed by a TLS alert (%s)" % text(line)))
        else:
            s.on_closed(None)

    def _u_close(self, line, s, f):
        s.close_done = True
        kind = f[-1] if len(f) >= 2 else 0  # <id>,<type> or G24's <id>,<acked>,<type>
        if s.closing or kind == 0:
            s.on_closed(None)
        else:
            s.on_closed(LinkError(ECONNRESET, "connection lost (%s: %s)" % (
                text(line), "timeout" if kind == 1 else "other")))

    def rescan(self, seen):
        ids = Dialect.rescan(self, seen)
        i = seen.find(b"+MIPRUDP:")
        while i >= 0:  # +MIPRUDP: <ip>,<port>,<id>,...
            f = lead_ints(b",".join(seen[i + 9 : i + 64].split(b",")[2:3]))
            if f:
                ids.append(f[0])
            i = seen.find(b"+MIPRUDP:", i + 1)
        return ids

    def overflow(self, buf, s, e):
        """IPRFMT 0: a hex data line longer than the line buffer: its socket lost data."""
        udp = buf.startswith(b"+MIPRUDP:", s, e)
        if not (udp or buf.startswith(b"+MIPRTCP:", s, e)):
            return Dialect.overflow(self, buf, s, e)
        f = bytes(buf[s + 9:min(e, s + 80)]).split(b",")
        try:
            sid = int(f[2] if udp else f[0])
        except (ValueError, IndexError):
            return
        self.payload_to(sid).rx_spill()

    def _hex_data(self, buf, s, e):
        """IPRFMT 0: `+MIPRTCP: <id>,<left>,<HEX>` / `+MIPRUDP: <ip>,<port>,<id>,<left>,<HEX>`,
        read in place; the decoded bytes are the one copy."""
        i = s + 9
        addr = None
        if buf[s + 5] == 85:  # +MIPRUDP
            c1 = buf.find(b",", i, e)
            c2 = buf.find(b",", c1 + 1, e) if c1 > 0 else -1
            addr = self._peer(buf, i, c2) if c2 > 0 else None
            if addr is None:
                return False
            i = c2 + 1
        self._p = i
        sid = self.num(buf, e)
        left = self.num(buf, e)
        h = self._p
        while e > h and buf[e - 1] == 32:
            e -= 1
        if sid < 0 or left < 0 or buf[h - 1] != 44:
            return False
        target = self.payload_to(sid)
        try:
            data = binascii.unhexlify(memoryview(buf)[h:e])  # type: ignore (any buffer: modbinascii.c)
        except ValueError:
            self.framing(target, "a hex data line that does not decode", b"")
            return True
        if addr is not None:
            target.rx_addr = addr
        if target.rx_write(memoryview(data), 0, len(data)) < len(data):
            target.rx_spill()  # a hex line is one URC: it cannot wait in the UART
        if left == 0:  # <left> counts what is still queued: a datagram ends at 0
            target.rx_end()
        return True

    def lost_all(self, err, gone):
        Dialect.lost_all(self, err, gone)
        if gone:
            self.asyncs.forget()  # a rebooted module runs nothing

    # ---------------------------------------------------------------- async commands
    # Which URCs carry each async command's result (a failed open may come as +MIPSTAT)
    _OPEN_HEADS = (b"+MIPOPEN:", b"+MIPSTAT:")
    _ODM_HEADS = (b"+MIPODM:", b"+MIPSTAT:")
    _CLOSE_HEADS = (b"+MIPCLOSE:",)
    _CALL_HEADS = (b"+MIPCALL:",)

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
        for _ in range(1 + CALL_RETRIES):  # [seed: 150 s, resend at least twice]
            self.call = None
            left = max(1000, clock.ticks_diff(deadline, clock.ticks_ms()))
            try:
                err = yield from step("dial", self.asyncs.run(cmd, -1, self._CALL_HEADS, _CALL_MS, left))
            except ModemError as e:  # ERROR, or no +MIPCALL in time: resend
                err = str(e).encode()
            if err is None and self.call not in (None, b"0"):
                return text(self.call)
            answer = err or b"+MIPCALL: 0"
        raise ATError(text(cmd), text(answer) + " (after %d tries)" % (1 + CALL_RETRIES))

    def detach(self):
        self.call = None
        yield from self.asyncs.run(b"AT+MIPCALL=0", -1, self._CALL_HEADS, _HANGUP_MS, _HANGUP_MS)

    # ---------------------------------------------------------------- receive format
    def _mixed(self, mode):
        for s in self.socks.values():
            if s.mode != mode and s.mode in _FORMAT and s.opened and not s.ended():
                return s
        return None

    def ensure_format(self, mode):
        """A flow: the module-wide receive format for a socket opening in mode."""
        other = self._mixed(mode)
        if other is not None:
            raise ModemError(
                EBUSY,
                "the L610's receive format is one setting for the whole module: socket %d "
                "is open in %r mode, so %r cannot be used until it closes" % (other.id, other.mode, mode),
            )
        yield Until(lambda: not self.fmt_switching, 5000, "a receive-format switch")
        want = 5 if self._holding() else _FORMAT[mode]
        if want == 0:
            self.engine.line_room(_HEX_LINE)
        if self.fmt != want:
            c = Notify(b'AT+GTSET="IPRFMT",%d' % want, self)
            c.want = want
            yield c

    def _holding(self):
        for s in self.socks.values():
            if s.inbox.want_hold and s.mode != "transparent":
                return True
        return False

    def set_fmt(self, fmt):
        """The module's format changed (after the OK: data before it kept the old one)."""
        self.fmt = fmt
        self.engine.inline_prefix = b"+MIPR" if fmt == 2 else b""
        for s in self.socks.values():
            if s.mode != "transparent":
                s.inbox.held = fmt == 5

    def switch_cmd(self):
        """Push back-pressure is module-wide here: every push socket follows one format."""
        if self.fmt_switching or self.fmt is None:
            return None
        base = None
        for s in self.socks.values():
            if s.mode in _FORMAT and s.opened and not s.ended():
                base = _FORMAT[s.mode]
        if base is None:
            return None
        want = 5 if self._holding() else base
        if want == self.fmt:
            return None
        self.fmt_switching = True
        for s in self.socks.values():
            s.inbox.burst = 0
            s.inbox.switching = True  # every socket follows: count what lands meanwhile
        c = Background(b'AT+GTSET="IPRFMT",%d' % want, self)
        c.want = want
        return c

    def command_done(self, c):
        """A format switch has its answer: from the next byte on, the new format."""
        if not c.background:
            if c.ok():
                self.set_fmt(c.want)
            return
        self.fmt_switching = False
        for s in self.socks.values():
            s.inbox.switching = False
        if c.ok():
            self.set_fmt(c.want)
            if c.want == 5:
                for s in self.socks.values():
                    ib = s.inbox
                    if ib.burst > ib.max_burst:
                        ib.max_burst = ib.burst
        self.m.pump.switch_due()

    # ---------------------------------------------------------------- sockets
    def open(self, sock, host, port):
        """Up to the OK of the open; +MIPOPEN / +MIPODM comes later."""
        if sock.tls is not None:
            self.tls_unsupported()
        proto = 0 if sock.stream else 1
        heads = self._OPEN_HEADS
        if sock.mode == "transparent":
            heads = self._ODM_HEADS
            sock.open_cmd = b'AT+MIPODM=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        else:
            sock.inbox.want_hold = sock.mode == "buffer"
            yield from self.ensure_format(sock.mode)
            sock.inbox.held = self.fmt == 5
            sock.open_cmd = b'AT+MIPOPEN=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        clock = self.m.clock
        budget = clock.ticks_diff(sock.open_by, clock.ticks_ms())
        sock.pending = yield from self.asyncs.begin(sock.open_cmd, sock.id, heads, _OPEN_MS, budget)

    def open_timeout(self, sock, timeout_ms):
        return min(timeout_ms, _OPEN_MS)

    def open_done(self, sock):
        """The predicate an open waits for: its result, or the module's bare ERROR."""
        p = sock.pending
        return sock.opened is not None or (p is not None and p.done())

    def opened(self, sock):
        p = sock.pending
        if sock.opened is None and p is not None and p.done():
            sock.opened = False
            sock.open_answer = p.result
        return super().opened(sock)

    def resume(self, sock):
        """ATO: CONNECT, and the UART carries the socket again [seed]."""
        c = yield Command(b"ATO", prompt=b"CONNECT", on_connect=lambda: self.m.enter_data(sock),
                          timeout_ms=30000, check=False)
        if c.result != b"CONNECT":
            raise ATError("ATO", text(c.result or b"no answer"))

    def terminator(self, sock):
        return b"\r\nNO CARRIER\r\n\r\n+MIPSTAT: %d,1\r\n" % sock.id

    def max_send(self, sock):
        free = sock.free
        return min(self.MAX_SEND, free) if free else self.MAX_SEND

    def send(self, sock, mv, peer=None):
        m = self.m
        if sock.xoff:
            try:
                yield Until(lambda: not sock.xoff or sock.ended(), m.flow_wait_ms, "+MIPXON")
            except ATTimeout:
                err = yield from self.flow_timeout(sock, "+MIPXOFF without +MIPXON")
                raise err
            if sock.ended():
                raise sock.inbox.error or LinkError(ECONNRESET, "socket %d closed while flowed off" % sock.id)
        n = len(mv)
        cmd = b"AT+MIPSEND=%d,%d" % (sock.id, n)
        c = yield self.send_command(sock, cmd, mv, (b"+MIPPUSH:", b"+MIPSEND:"), b">", b"+MIPSEND:", _SEND_MS)
        conf = c.first(b"+MIPSEND")
        push = c.first(b"+MIPPUSH")
        ok = False
        if c.ok() and conf is not None:
            f = lead_ints(conf)
            p = lead_ints(push) if push is not None else [0, 0]
            if len(f) >= 3:
                sock.free = f[2]
            # +MIPPUSH status 2 is "nothing left to send" [real-modules]: not a failure
            ok = len(f) >= 2 and f[1] in (0, 1) and len(p) >= 2 and p[1] in (0, 2)
        answer = b"" if ok else b" ".join(c.lines + [c.result or b"no answer"])
        self.sent_with(sock, c)
        if ok:
            return n
        raise ATError(text(cmd), text(answer) + " (0 of %d bytes confirmed)" % n, EIO)

    def close(self, sock):
        """A flow: True when the module confirmed the id free. Always waits for +MIPCLOSE:
        the next async command must not find the module busy."""
        sock.closing = True
        sock.close_done = False
        # (its open may have no result yet: the close cancels it, or the module says ERROR
        # and the id stays in doubt, reconciled later)
        try:
            err = yield from self.asyncs.run(b"AT+MIPCLOSE=%d" % sock.id, sock.id, self._CLOSE_HEADS,
                                             _CLOSE_MS, CLOSE_WAIT_MS, self.asyncs.busy_with(sock.id))
        except ModemError:
            err = b"ERROR"
        if err is None:
            return True
        if self.asyncs.busy_with(sock.id):
            return False  # its open is still running: whatever the table says, not free yet
        table = yield from self.table()
        return sock.id not in table

    def close_id(self, sid):
        """A flow: close an id no socket object owns; True when the module confirmed it."""
        try:
            err = yield from self.asyncs.run(b"AT+MIPCLOSE=%d" % sid, sid, self._CLOSE_HEADS, _CLOSE_MS, CLOSE_WAIT_MS)
        except ModemError:
            return False
        return err is None

    def table(self):
        """A flow: the ids the module has open (AT+MIPCLOSE? lists them [src])."""
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
