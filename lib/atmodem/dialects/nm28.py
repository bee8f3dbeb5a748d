"""Yuge NM28: the +IP* command set (SPEC.md, NM28 section)."""
import binascii

from ..errors import EIO, ECONNRESET, ATError, LinkError, ModemError
from ..socket import CLOSING
from .base import Dialect, ints, last_int, unquote

_MODE = {"buffer": 0, "push": 1, "hex": 1, "transparent": 2}
_OPEN_MS = 60000  # the manual gives none; the L610's figure
_CMD_MS = 5000


class NM28(Dialect):
    NAME = "NM28"
    MODEL = b"NM28"
    TLS = True
    IDS = (0, 1, 2, 3, 4, 5, 6, 7)
    MAX_SEND = 1460
    HEX_SEND = 1024  # 2048 hex characters
    MAX_READ = 1500
    BOOT_URCS = (b"RDY",)
    URC_PREFIXES = (
        b"+IPURC:", b"IPREAD:", b"+IPREAD:", b"+IPOPEN:", b"+SSLIPOPEN:",
        b"+SSLOPEN:", b"+SSLURC:", b"+SSLREAD:", b"+CGREG:", b"+CEREG:",
    )
    HEADER_PREFIXES = (b'+IPURC: "recv",', b'+SSLURC: "recv",', b"+IPRD:", b"+SSLRECV:")

    # ---------------------------------------------------------------- engine surface
    def header(self, line):
        """+IPURC: "recv",<id>,<len>[,"<ip>",<port>] and +IPRD: <id>,<len>[,"<ip>",<port>]."""
        if line.startswith((b'+IPURC: "recv"', b'+SSLURC: "recv"')):
            body = line[line.index(b",") + 1 :]
        else:
            body = line[line.index(b":") + 1 :]
        f = body.split(b",")
        try:
            sid, n = int(f[0]), int(f[1])
        except (ValueError, IndexError):
            return None
        if not 0 <= n <= 4096:
            return None
        s = self.sock(sid)
        if len(f) >= 4 and s is not None:
            try:
                s.rx_addr = (unquote(f[2]).decode(), int(f[3]))
            except ValueError:
                pass
        return s, n

    def socket_urc(self, line):
        if line.startswith((b"+IPOPEN:", b"+SSLOPEN:", b"+SSLIPOPEN:")):
            try:
                sid, err = ints(line[line.index(b":") + 1 :])
            except ValueError:
                return
            s = self.socks.get(sid)
            if s is not None:
                s.on_open(err == 0, line)
        elif line.startswith((b"IPREAD:", b"+IPREAD:", b"+SSLREAD:")):
            s = self.socks.get(last_int(line))
            if s is not None:
                s.data_waiting()
        elif line.startswith(b'+IPURC: "incoming",'):
            # +IPURC: "incoming",<new id>,<listener id>,"<ip>",<port>
            f = line[19:].split(b",")
            try:
                sid, lid, addr = int(f[0]), int(f[1]), (unquote(f[2]).decode(), int(f[3]))
            except (ValueError, IndexError):
                return
            lsock = self.socks.get(lid)
            old = self.socks.get(sid)
            # The id of a socket we are closing is free on the module as soon as it said
            # +IPCLOSE, which may be in the same chunk as this URC.
            if lsock is not None and lsock.listening and (old is None or old.state == CLOSING):
                self.socks[sid] = lsock.incoming(sid, addr)
        elif line.startswith((b'+IPURC: "closed"', b'+SSLURC: "closed"')):
            s = self.socks.get(last_int(line))
            if s is not None:
                # The NM28 says "closed" for a peer close and a lost link alike: end of stream.
                s.on_closed(None)

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        m = self.m
        if apn is not None:
            step("pdp", lambda: m.command(b'AT+CGDCONT=1,"IP","%s"' % apn.encode()))
        for attempt in range(3):  # as the L610's MIPCALL: 150 s, resend twice [decision]
            try:
                step("activate", lambda: m.command(b"AT+CGACT=1,1", timeout_ms=min(timeout_ms, 150000)))
                break
            except ModemError:
                if attempt == 2:
                    raise
        c = step("address", lambda: m.command(b"AT+CGPADDR=1", prefix=b"+CGPADDR:"))
        f = c.first(b"+CGPADDR").split(b",")
        ip = unquote(f[-1]).decode()
        if ip in ("", "0.0.0.0"):
            raise ATError("AT+CGPADDR=1", c.lines[0].decode() if c.lines else "no address")
        return ip

    def detach(self):
        self.m.command(b"AT+CGACT=0,1", timeout_ms=40000)

    # ---------------------------------------------------------------- sockets
    def open(self, sock, host, port, timeout_ms):
        if sock.tls is not None:
            for name, value in sock.tls.settings():
                self.m.command(b'AT+SSLCFG="%s",%d,%s' % (name, sock.id, value))
            timeout_ms = max(timeout_ms, (sock.tls.negotiate_timeout + 30) * 1000)
        kind = b"TCP" if sock.stream else b"UDP"
        cmd = b'AT+IPOPEN=%d,"%s","%s",%d,0,%d' % (
            sock.id, kind, host.encode(), port, 1 if sock.tls else 0
        )
        self.m.command(cmd)
        self.m.wait_for(lambda: sock.opened is not None, timeout_ms, cmd.decode())
        if not sock.opened:
            why = sock.open_answer.decode()
            if sock.tls is not None:
                why += (" (TLS handshake or certificate check failed: check ca=, the server's"
                        " name and validity dates, client_cert=/client_key=, the module's clock)")
            raise self.open_failed(cmd.decode(), why)
        if sock.mode == "transparent":
            self.resume(sock)
        else:
            self.m.command(b"AT+IPSWTMD=%d,%d" % (sock.id, _MODE[sock.mode]))

    def resume(self, sock):
        """AT+IPSWTMD=<id>,2 answers CONNECT and the UART carries the socket [src]."""
        cmd = b"AT+IPSWTMD=%d,2" % sock.id
        c = self.m.command(cmd, prompt=b"CONNECT", on_connect=lambda: self.m.enter_data(sock), check=False)
        if c.result != b"CONNECT":
            if sock.ended():
                return  # the peer closed first: its data came as push URCs, then the end
            raise ATError(cmd.decode(), (c.result or b"no answer").decode())

    def terminator(self, sock):
        tag = b"+SSLURC" if sock.tls else b"+IPURC"
        return b'\r\nNO CARRIER\r\n\r\n%s: "closed",%d\r\n' % (tag, sock.id)

    def listen(self, sock):
        """TCP LISTENER (listen) or UDP SERVICE (bind) on lport [SPEC: Quectel pattern]."""
        kind = b"TCP LISTENER" if sock.stream else b"UDP SERVICE"
        cmd = b'AT+IPOPEN=%d,"%s","0.0.0.0",0,%d,0' % (sock.id, kind, sock.lport)
        # A module may announce a first client before the listener's own +IPOPEN.
        sock.listening = sock.stream
        self.m.command(cmd)
        self.m.wait_for(lambda: sock.opened is not None, _OPEN_MS, cmd.decode())
        if not sock.opened:
            sock.listening = False
            raise self.open_failed(cmd.decode(), sock.open_answer.decode() + " (port in use?)")
        sock.service = not sock.stream
        # Accepted clients take the listener's mode [SPEC].
        self.m.command(b"AT+IPSWTMD=%d,%d" % (sock.id, _MODE[sock.mode]))

    def max_send(self, sock):
        return self.HEX_SEND if sock.mode == "hex" else self.MAX_SEND

    def send(self, sock, mv, peer=None):
        """SEND FAIL while the socket is up means a full send buffer (the NM28's flow
        control): retry the same bytes for up to the flow wait, then close with an error."""
        clock = self.m.clock
        deadline = clock.ticks_add(clock.ticks_ms(), self.m.flow_wait_ms)
        while True:
            try:
                return self._send_once(sock, mv, peer)
            except ATError as err:
                if b"SEND FAIL" not in err.answer.encode() or sock.ended():
                    raise
                if clock.ticks_diff(deadline, clock.ticks_ms()) <= 0:
                    raise self.flow_timeout(sock, "SEND FAIL (send buffer full)")
                self.m.idle(200)

    def _send_once(self, sock, mv, peer):
        n = len(mv)
        to = b',"%s",%d' % (peer[0].encode(), peer[1]) if peer is not None else b""
        if sock.mode == "hex":
            cmd = b'AT+IPSENDEX=%d,"%s"%s' % (sock.id, binascii.hexlify(mv), to)
            c = self.m.command(cmd, prefix=b"SEND ", check=False)
        else:
            cmd = b"AT+IPSEND=%d,%d%s" % (sock.id, n, to)
            c = self.m.command(
                cmd, prefix=(b"NETWRITE:", b"SSLNETWRITE:", b"SEND "), prompt=b"CONNECT",
                payload=mv, check=False,
            )
        if c.ok() and b"SEND SUCCESS" in c.lines:
            return n
        answer = (c.lines[-1] if c.lines else c.result or b"no answer").decode()
        name = cmd[: cmd.index(b",")].decode() if sock.mode == "hex" else cmd.decode()
        raise ATError(name, answer + " (0 of %d bytes confirmed)" % n, EIO)

    def read(self, sock, n):
        """Buffer mode: fetch up to n held bytes into the socket; return how many came."""
        cmd = b"AT+IPRD=%d,%d" % (sock.id, min(n, self.MAX_READ))
        notes = sock.notes
        c = self.m.command(cmd, prefix=(b"+IPRD:", b"+SSLRECV:"), check=False)
        if not c.ok():
            sock.drained(notes)  # the module has nothing (or forgot the id)
            return 0
        got = 0
        for line in c.lines:
            try:
                got = ints(line[line.index(b":") + 1 :].split(b',"')[0])[1]
            except (ValueError, IndexError):
                pass
        if got < min(n, self.MAX_READ):
            sock.drained(notes)
        return got

    def close(self, sock):
        self.m.command(b"AT+IPCLOSE=%d" % sock.id, prefix=b"+IPCLOSE:", timeout_ms=_CMD_MS, check=False)

    def resolve(self, host):
        c = self.m.command(b'AT+IPDNSR="%s"' % host.encode(), prefix=b"+IPDNSR:", timeout_ms=30000)
        return [unquote(line[line.index(b":") + 1 :]).decode() for line in c.lines]

    def link_error(self, why):
        return LinkError(ECONNRESET, why)

