"""Fibocom L610: the +MIP* command set (SPEC.md, L610 section). Operations are flows.

Async commands (MIPCALL, MIPOPEN, MIPCLOSE, MIPODM) answer OK at once and their result
comes later as a URC or a bare ERROR; the next async command waits for it [seed], also
when the flow that sent the first was cancelled (the module is busy all the same)."""
import binascii

from ..at import Background, Command, Notify
from ..compat import const
from ..errors import EBUSY, ECONNRESET, EIO, ATError, ATTimeout, LinkError, ModemError
from ..flow import Until
from .base import Dialect, ints, unquote

_FORMAT = {"push": 2, "hex": 0, "buffer": 5}
_CALL_MS = const(150000)
CALL_RETRIES = 2
_OPEN_MS = const(60000)
_CLOSE_MS = const(60000)
_SEND_MS = const(12000 + 3000)  # the module itself gives up after 12 s [seed]
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

    def __init__(self, modem):
        super().__init__(modem)
        self.fmt = None  # the module keeps IPRFMT across power-off: unknown until we set it
        self.fmt_switching = False
        self.async_error = None
        self.async_busy = False  # an async command's result is still to come
        self.async_deadline = 0
        self.call = None
        self.dns = None

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
            if addr is None:
                return -1
        self._p = start
        sid = self.num(buf, i)
        n = self.num(buf, i)
        if sid < 0 or not 0 <= n <= 4096:
            return -1
        target = self.payload_to(sid)
        if addr is not None:
            target.rx_addr = addr
        self.engine.expect(target, n)
        return i

    def _peer(self, buf, i, j):
        """`<ip>,<port>` in buf[i:j], a +MIPRUDP header's start: (ip, port), or None."""
        f = bytes(buf[i:j]).split(b",")
        try:
            return (f[0].strip().decode(), int(f[1]))
        except (ValueError, IndexError):
            return None

    def header(self, buf, s, e):
        """`+MIPDATA: <id>,<len>` then len raw bytes (IPRFMT 5 read), the frequent
        `+MIPREAD: <id>,<len>` and IPRFMT 0's hex data lines, read in place."""
        if buf[s + 4] == 82 and buf[s + 5] != 69:  # +MIPRTCP / +MIPRUDP, not +MIPREAD
            return self._hex_data(buf, s, e)
        self._p = s + 9
        sid = self.num(buf, e)
        n = self.num(buf, e)
        if buf[s + 4] == 82:  # +MIPREAD: data waiting
            sock = self.socks.get(sid)
            if sock is None:
                return False  # let the URC path note the doubt
            sock.data_waiting()
            return True
        if sid < 0 or not 0 <= n <= 4096:
            return False
        self.read_header(sid, n)
        self.engine.expect(self.payload_to(sid), n)
        return True

    def socket_urc(self, line):
        if line.startswith(b"+MIPRTCP:") or line.startswith(b"+MIPRUDP:"):
            return  # not a data line header() could read: noise
        if line == b"ERROR" or line.startswith(b"+CME ERROR"):
            if self.async_busy:
                self.async_error = line  # an async command failed after its OK [seed]
                self.async_busy = False
            return
        head = line[: line.find(b":") + 1]
        if head == b"+MIPCALL:":
            body = line[9:].strip()
            self.call = body
            self.async_busy = False
            if body == b"0" and self.m.ip is not None:
                self.m.on_pdp_lost("+MIPCALL: 0")
            return
        if head == b"+MIPDNS:":
            self.dns = line
            return
        try:
            f = ints(line[len(head) :])
        except ValueError:
            return
        s = self.socks.get(f[0])
        if head in (b"+MIPOPEN:", b"+MIPODM:", b"+MIPCLOSE:"):
            self.async_busy = False
        if s is None:
            if f[0] not in self.dirty and head != b"+MIPCLOSE:":
                self.doubt = True
            return
        if head == b"+MIPOPEN:" and len(f) >= 2:
            s.on_open(f[1] == 1, line)
        elif head == b"+MIPODM:" and len(f) >= 2:
            s.on_open(f[1] == 1, line)
            if f[1] == 1:
                self.m.enter_data(s)  # the next byte is the socket's [seed]
        elif head == b"+MIPREAD:":
            s.data_waiting()
        elif head == b"+MIPXOFF:":
            s.xoff = True
        elif head == b"+MIPXON:":
            s.xoff = False
        elif head == b"+MIPSTAT:":
            if s.opened is None:
                s.on_open(False, line)
            elif len(f) >= 2 and f[1] == 2:
                s.on_closed(LinkError(ECONNRESET, "connection closed by a TLS alert (%s)" % line.decode()))
            elif s.closing:
                s.on_closed(None)
            else:
                # +MIPSTAT: <id>,1 is the link broken [SPEC]; a peer's close reads the same,
                # so this is an end of stream, and the README says what cannot be told apart.
                s.on_closed(None)
        elif head == b"+MIPCLOSE:":
            s.close_done = True
            kind = f[-1] if len(f) >= 2 else 0
            if s.closing or kind == 0:
                s.on_closed(None)
            else:
                s.on_closed(LinkError(ECONNRESET, "connection lost (%s: %s)" % (
                    line.decode(), "timeout" if kind == 1 else "other")))

    def overflow(self, buf, s, e):
        """IPRFMT 0: a hex data line longer than the line buffer: its socket lost data."""
        udp = buf.startswith(b"+MIPRUDP:", s, e)
        if not (udp or buf.startswith(b"+MIPRTCP:", s, e)):
            return
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
        try:
            data = binascii.unhexlify(memoryview(buf)[h:e])  # type: ignore (any buffer: modbinascii.c)
        except ValueError:
            return False
        target = self.payload_to(sid)
        if addr is not None:
            target.rx_addr = addr
        if target.rx_write(memoryview(data), 0, len(data)) < len(data):
            target.rx_spill()  # a hex line is one URC: it cannot wait in the UART
        if left == 0:  # <left> counts what is still queued: a datagram ends at 0
            target.rx_end()
        return True

    # ---------------------------------------------------------------- async commands
    def _async_free(self):
        if not self.async_busy:
            return True
        clock = self.m.clock
        return clock.ticks_diff(self.async_deadline, clock.ticks_ms()) <= 0

    def _async_begin(self, cmd, timeout_ms):
        """Send an async command once the previous one has its result; its own result
        is due within timeout_ms."""
        yield Until(self._async_free, _OPEN_MS + 5000, "the module's previous async command")
        self.async_error = None
        clock = self.m.clock
        self.async_busy = True
        self.async_deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
        try:
            yield Command(cmd, timeout_ms=min(5000, timeout_ms))
        except ModemError:
            self.async_busy = False  # refused at once: no result will follow
            raise

    def _async(self, cmd, done, timeout_ms):
        """Send an async command and wait for its result URC; the error line or None."""
        yield from self._async_begin(cmd, timeout_ms)
        yield Until(lambda: done() or self.async_error is not None, timeout_ms, cmd.decode())
        return self.async_error

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        if apn is not None:
            yield from step("pdp", Command(b'AT+CGDCONT=1,"IP","%s"' % apn.encode()))
        c = yield from step("dial state", Command(b"AT+MIPCALL?", prefix=b"+MIPCALL:"))
        state = c.first(b"+MIPCALL") or b"0"
        if state.startswith(b"1,"):
            return state[2:].strip().decode()
        cmd = b"AT+MIPCALL=1"
        if apn is not None:
            cmd += b',"%s"' % apn.encode()
            if user is not None:
                cmd += b',"%s","%s"' % (user.encode(), (password or "").encode())
        answer = b""
        for _ in range(1 + CALL_RETRIES):  # [seed: 150 s, resend at least twice]
            self.call = None
            try:
                err = yield from step("dial", self._async(cmd, lambda: self.call is not None, min(timeout_ms, _CALL_MS)))
            except ModemError as e:  # ERROR, or no +MIPCALL in time: resend
                err = str(e).encode()
            if err is None and self.call not in (None, b"0"):
                return self.call.decode()
            answer = err or b"+MIPCALL: 0"
        raise ATError(cmd.decode(), answer.decode() + " (after %d tries)" % (1 + CALL_RETRIES))

    def detach(self):
        self.call = None
        yield from self._async(b"AT+MIPCALL=0", lambda: self.call is not None, 40000)

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
        if sock.mode == "transparent":
            sock.open_cmd = b'AT+MIPODM=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        else:
            sock.inbox.want_hold = sock.mode == "buffer"
            yield from self.ensure_format(sock.mode)
            sock.inbox.held = self.fmt == 5
            sock.open_cmd = b'AT+MIPOPEN=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        yield from self._async_begin(sock.open_cmd, _OPEN_MS)

    def open_timeout(self, sock, timeout_ms):
        return min(timeout_ms, _OPEN_MS)

    def open_done(self, sock):
        """The predicate an open waits for: its result, or the module's bare ERROR."""
        return sock.opened is not None or self.async_error is not None

    def opened(self, sock):
        if self.async_error is not None and sock.opened is None:
            sock.opened = False
            sock.open_answer = self.async_error
        return super().opened(sock)

    def resume(self, sock):
        """ATO: CONNECT, and the UART carries the socket again [seed]."""
        c = yield Command(b"ATO", prompt=b"CONNECT", on_connect=lambda: self.m.enter_data(sock),
                          timeout_ms=30000, check=False)
        if c.result != b"CONNECT":
            raise ATError("ATO", (c.result or b"no answer").decode())

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
            try:
                f = ints(conf)
                if len(f) >= 3:
                    sock.free = f[2]
                ok = f[1] in (0, 1) and (push is None or ints(push)[1] == 0)
            except (ValueError, IndexError):
                pass
        answer = b"" if ok else b" ".join(c.lines + [c.result or b"no answer"])
        self.sent_with(sock, c)
        if ok:
            return n
        raise ATError(cmd.decode(), answer.decode() + " (0 of %d bytes confirmed)" % n, EIO)

    def close(self, sock):
        """A flow: True when the module confirmed the id free. Always waits for +MIPCLOSE:
        the next async command must not find the module busy."""
        sock.closing = True
        sock.close_done = False
        try:
            err = yield from self._async(b"AT+MIPCLOSE=%d" % sock.id, lambda: sock.close_done, _CLOSE_MS)
        except ModemError:
            err = b"ERROR"
        if err is None:
            return True
        table = yield from self.table()
        return sock.id not in table

    def close_id(self, sid):
        """A flow: close an id no socket object owns; True when the module confirmed it."""
        try:
            err = yield from self._async(b"AT+MIPCLOSE=%d" % sid, lambda: not self.async_busy, _CLOSE_MS)
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
            raise self.dns_failed(host, (c.result or b"no answer").decode())
        line = c.lines[0] if c.lines else None
        if line is None:
            yield Until(lambda: self.dns is not None, 30000, cmd.decode())
            line = self.dns or b""
        f = line[8:].split(b",")
        ips = [unquote(x).decode() for x in f[1:]]
        if not ips:
            raise self.dns_failed(host, line.decode())
        return ips
