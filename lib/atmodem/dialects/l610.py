"""Fibocom L610: the +MIP* command set (SPEC.md, L610 section).

Async commands (MIPCALL, MIPOPEN, MIPCLOSE, MIPODM) answer OK at once and their result
comes later as a URC or a bare ERROR; the next async command waits for it [seed]."""
import binascii

from ..errors import EBUSY, ECONNRESET, EIO, ATError, ATTimeout, LinkError, ModemError
from .base import Dialect, ints, unquote

_FORMAT = {"push": 2, "hex": 0, "buffer": 5}
_CALL_MS = 150000
CALL_RETRIES = 2
_OPEN_MS = 60000
_CLOSE_MS = 60000
_SEND_MS = 12000 + 3000  # the module itself gives up after 12 s [seed]


class L610(Dialect):
    NAME = "L610"
    MODEL = b"L610"
    IDS = (1, 2, 3, 4, 5, 6)
    MAX_SEND = 2048
    MAX_READ = 1500
    BOOT_URCS = (b"AT command ready",)
    URC_PREFIXES = (
        b"+MIPOPEN:", b"+MIPCLOSE:", b"+MIPSTAT:", b"+MIPCALL:", b"+MIPREAD:",
        b"+MIPXOFF:", b"+MIPXON:", b"+MIPRTCP:", b"+MIPRUDP:", b"+MIPODM:",
        b"+MIPPUSH:", b"+MIPSEND:", b"+MIPDNS:", b"+SIM READY", b"+CGREG:", b"+CEREG:",
    )
    HEADER_PREFIXES = (b"+MIPDATA:",)

    def __init__(self, modem):
        super().__init__(modem)
        self.fmt = None  # the module keeps IPRFMT across power-off: unknown until we set it
        self.async_error = None
        self.call = None
        self.dns = None

    def install(self, engine):
        super().install(engine)
        self.engine = engine
        if self.fmt == 2:
            engine.inline_prefix = b"+MIPR"

    # ---------------------------------------------------------------- engine surface
    def inline(self, partial):
        """IPRFMT 2: `+MIPRTCP: <id>,<len>,` / `+MIPRUDP: <ip>,<port>,<id>,<len>,` then raw."""
        udp = partial.startswith(b"+MIPRUDP:")
        if not (udp or partial.startswith(b"+MIPRTCP:")):
            return False
        f = partial[9:].split(b",")
        want = 5 if udp else 3
        if len(f) < want:
            return None
        try:
            sid, n = int(f[want - 3]), int(f[want - 2])
        except ValueError:
            return False
        if not 0 <= n <= 4096:
            return False
        s = self.sock(sid)
        if udp:
            try:
                s.rx_addr = (f[0].strip().decode(), int(f[1]))
            except ValueError:
                pass
        return s, n

    def header(self, line):
        """`+MIPDATA: <id>,<len>` then len raw bytes (IPRFMT 5 read)."""
        try:
            sid, n = ints(line[9:])[:2]
        except ValueError:
            return None
        if not 0 <= n <= 4096:
            return None
        return self.sock(sid), n

    def socket_urc(self, line):
        if line.startswith(b"+MIPRTCP:") or line.startswith(b"+MIPRUDP:"):
            return self._hex_data(line)
        if line == b"ERROR" or line.startswith(b"+CME ERROR"):
            self.async_error = line  # an async command failed after its OK [seed]
            return
        head = line[: line.find(b":") + 1]
        if head == b"+MIPCALL:":
            body = line[9:].strip()
            self.call = body
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
        if s is None:
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
            else:
                s.on_closed(None)
        elif head == b"+MIPCLOSE:":
            s.close_done = True
            kind = f[-1] if len(f) >= 2 else 0
            if s.closing or kind == 0:
                s.on_closed(None)
            else:
                s.on_closed(LinkError(ECONNRESET, "connection lost (%s)" % line.decode()))

    def _hex_data(self, line):
        """IPRFMT 0: `+MIPRTCP: <id>,<left>,<HEX>` / `+MIPRUDP: <ip>,<port>,<id>,<left>,<HEX>`."""
        udp = line.startswith(b"+MIPRUDP:")
        f = line[9:].split(b",")
        want = 5 if udp else 3
        if len(f) != want:
            return
        try:
            data = binascii.unhexlify(f[-1].strip())
            s = self.sock(int(f[want - 3]))
            left = int(f[want - 2])
            if udp:
                s.rx_addr = (f[0].strip().decode(), int(f[1]))
        except ValueError:
            return
        s.rx_write(memoryview(data))
        if left == 0:  # <left> counts what is still queued: a datagram ends at 0
            s.rx_end()

    # ---------------------------------------------------------------- async commands
    def _async(self, cmd, done, timeout_ms):
        """Send an async command and wait for its result URC; the answer line or None."""
        self.async_error = None
        self.m.command(cmd, timeout_ms=min(5000, timeout_ms))
        self.m.wait_for(lambda: done() or self.async_error is not None, timeout_ms, cmd.decode())
        return self.async_error

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        m = self.m
        if apn is not None:
            step("pdp", lambda: m.command(b'AT+CGDCONT=1,"IP","%s"' % apn.encode()))
        c = step("dial state", lambda: m.command(b"AT+MIPCALL?", prefix=b"+MIPCALL:"))
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
                err = step("dial", lambda: self._async(cmd, lambda: self.call is not None, min(timeout_ms, _CALL_MS)))
            except ModemError as e:  # ERROR, or no +MIPCALL in time: resend
                err = str(e).encode()
            if err is None and self.call not in (None, b"0"):
                return self.call.decode()
            answer = err or b"+MIPCALL: 0"
        raise ATError(cmd.decode(), answer.decode() + " (after %d tries)" % (1 + CALL_RETRIES))

    def detach(self):
        self.call = None
        self._async(b"AT+MIPCALL=0", lambda: self.call is not None, 40000)

    # ---------------------------------------------------------------- sockets
    def ensure_format(self, mode):
        want = _FORMAT[mode]
        if self.fmt == want:
            return
        for s in self.socks.values():
            if s.mode != mode and s.mode in _FORMAT and s.opened:
                raise ModemError(
                    EBUSY,
                    "the L610's receive format is one setting for the whole module: socket %d "
                    "is open in %r mode, so %r cannot be used until it closes" % (s.id, s.mode, mode),
                )
        self.m.command(b'AT+GTSET="IPRFMT",%d' % want)
        self.fmt = want
        self.engine.inline_prefix = b"+MIPR" if want == 2 else b""

    def open(self, sock, host, port, timeout_ms):
        if sock.tls is not None:
            self.tls_unsupported()
        proto = 0 if sock.stream else 1
        if sock.mode == "transparent":
            cmd = b'AT+MIPODM=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        else:
            self.ensure_format(sock.mode)
            cmd = b'AT+MIPOPEN=%d,,"%s",%d,%d' % (sock.id, host.encode(), port, proto)
        err = self._async(cmd, lambda: sock.opened is not None, min(timeout_ms, _OPEN_MS))
        if err is not None or not sock.opened:
            answer = err or sock.open_answer
            raise self.open_failed(cmd.decode(), answer.decode())

    def resume(self, sock):
        """ATO: CONNECT, and the UART carries the socket again [seed]."""
        c = self.m.command(b"ATO", prompt=b"CONNECT", on_connect=lambda: self.m.enter_data(sock),
                           timeout_ms=30000, check=False)
        if c.result != b"CONNECT":
            raise ATError("ATO", (c.result or b"no answer").decode())

    def terminator(self, sock):
        return b"\r\nNO CARRIER\r\n\r\n+MIPSTAT: %d,1\r\n" % sock.id

    def max_send(self, sock):
        free = sock.free
        return min(self.MAX_SEND, free) if free else self.MAX_SEND

    def send(self, sock, mv, peer=None):
        if sock.xoff:
            try:
                self.m.wait_for(lambda: not sock.xoff or sock.ended(), self.m.flow_wait_ms, "+MIPXON")
            except ATTimeout:
                raise self.flow_timeout(sock, "+MIPXOFF without +MIPXON")
            if sock.ended():
                raise sock._error or LinkError(ECONNRESET, "socket %d closed while flowed off" % sock.id)
        n = len(mv)
        cmd = b"AT+MIPSEND=%d,%d" % (sock.id, n)
        c = self.m.command(
            cmd, prefix=(b"+MIPPUSH:", b"+MIPSEND:"), prompt=b">", payload=mv,
            need=b"+MIPSEND:", timeout_ms=_SEND_MS, check=False,
        )
        conf = c.first(b"+MIPSEND")
        push = c.first(b"+MIPPUSH")
        if c.ok() and conf is not None:
            try:
                f = ints(conf)
                if len(f) >= 3:
                    sock.free = f[2]
                ok = f[1] in (0, 1) and (push is None or ints(push)[1] == 0)
            except (ValueError, IndexError):
                ok = False
            if ok:
                return n
        answer = b" ".join(c.lines + [c.result or b"no answer"]).decode()
        raise ATError(cmd.decode(), answer + " (0 of %d bytes confirmed)" % n, EIO)

    def read(self, sock, n):
        cmd = b"AT+MIPREAD=%d,%d" % (sock.id, min(n, self.MAX_READ))
        notes = sock.notes
        c = self.m.command(cmd, prefix=b"+MIPDATA:", check=False)
        got = 0
        if c.ok() and c.lines:
            try:
                got = ints(c.lines[0][9:])[1]
            except (ValueError, IndexError):
                pass
        if got < min(n, self.MAX_READ):
            sock.drained(notes)
        return got

    def close(self, sock):
        """Always wait for +MIPCLOSE: the next async command must not find the module busy."""
        sock.closing = True
        sock.close_done = False
        self._async(b"AT+MIPCLOSE=%d" % sock.id, lambda: sock.close_done, _CLOSE_MS)

    def resolve(self, host):
        self.dns = None
        cmd = b'AT+MIPDNS="%s"' % host.encode()
        c = self.m.command(cmd, prefix=b"+MIPDNS:", timeout_ms=30000)
        line = c.lines[0] if c.lines else None
        if line is None:
            self.m.wait_for(lambda: self.dns is not None, 30000, cmd.decode())
            line = self.dns or b""
        f = line[8:].split(b",")
        return [unquote(x).decode() for x in f[1:]]

    def link_error(self, why):
        return LinkError(ECONNRESET, why)
