"""Yuge NM28: the +IP* command set (SPEC.md, NM28 section). Operations are flows."""
import binascii

from ..at import Background, Command
from ..compat import const
from ..errors import EIO, ATError, ModemError, text
from ..flow import Until, pause
from ..socket import CLOSING
from .base import Dialect, ints, last_int, unquote

_MODE = {"buffer": 0, "push": 1, "hex": 1, "transparent": 2}
_CMD_MS = const(5000)
_STATE_CLOSED = const(0)


class NM28(Dialect):
    NAME = "NM28"
    MODEL = b"NM28"
    TLS = True
    IDS = (0, 1, 2, 3, 4, 5, 6, 7)
    MAX_SEND = 1460
    HEX_SEND = 1024  # 2048 hex characters
    MAX_READ = 1500
    MAX_DATAGRAM = 1460
    READ = b"AT+IPRD=%d,%d"
    BOOT_URCS = (b"RDY",)
    URC_PREFIXES = (
        b"+IPURC:", b"IPREAD:", b"+IPREAD:", b"+IPOPEN:", b"+SSLIPOPEN:",
        b"+SSLOPEN:", b"+SSLURC:", b"+SSLREAD:", b"+CGREG:", b"+CEREG:",
    )
    HEADER_PREFIXES = (b'+IPURC: "recv",', b'+SSLURC: "recv",', b"+IPRD:", b"+SSLRECV:", b"IPREAD:")
    PAYLOAD_PREFIXES = (b'+IPURC: "recv",', b'+SSLURC: "recv",', b"+IPRD:", b"+SSLRECV:")
    HEADER_FRAGMENTS = (b'"recv",', b"PRD:", b"LRECV:")

    # ---------------------------------------------------------------- engine surface
    def header(self, buf, s, e):
        """+IPURC: "recv",<id>,<len>[,"<ip>",<port>] and +IPRD: <id>,<len>[,"<ip>",<port>],
        and the frequent IPREAD: <id>, read in place."""
        if buf[s] == 73:  # IPREAD: <id>
            self._p = s + 7
            sock = self.socks.get(self.num(buf, e))
            if sock is None:
                return False  # let the URC path note the doubt
            sock.data_waiting()
            return True
        read = buf[s + 1] == 73 and buf[s + 3] == 82 or buf[s + 1] == 83 and buf[s + 4] == 82  # +IPRD / +SSLRECV
        self._p = buf.find(b":" if read else b",", s, e) + 1
        sid = self.num(buf, e)
        n = self.num(buf, e)
        target = self.payload_target(sid, n, not read, buf, s, e)
        if target is None:
            return True
        if self._p < e:  # a bound UDP socket also names the peer
            f = bytes(buf[self._p : e]).split(b",")
            try:
                target.rx_addr = (text(unquote(f[0])), int(f[1]))
            except (ValueError, IndexError):
                pass
        if read:
            self.read_header(sid, n)
        self.engine.expect(target, n, not read)
        return True

    def socket_urc(self, line):
        if line.startswith((b"+IPOPEN:", b"+SSLOPEN:", b"+SSLIPOPEN:")):
            try:
                sid, err = ints(line[line.index(b":") + 1 :])
            except ValueError:
                return
            s = self.socks.get(sid)
            if s is not None:
                s.on_open(err == 0, line)
                if err == 0 and s.inbox.want_hold:
                    self.m.pump.switch_due()  # close the open window at once
        elif line.startswith((b"IPREAD:", b"+IPREAD:", b"+SSLREAD:")):
            s = self.socks.get(last_int(line))
            if s is not None:
                s.data_waiting()
            else:
                self.doubt = True
        elif line.startswith(b'+IPURC: "incoming",'):
            # +IPURC: "incoming",<new id>,<listener id>,"<ip>",<port>
            f = line[19:].split(b",")
            try:
                sid, lid, addr = int(f[0]), int(f[1]), (text(unquote(f[2])), int(f[3]))
            except (ValueError, IndexError):
                return
            lsock = self.socks.get(lid)
            old = self.socks.get(sid)
            # The id of a socket we are closing is free on the module as soon as it said
            # +IPCLOSE, which may be in the same chunk as this URC.
            if lsock is not None and lsock.listening and (old is None or old.state == CLOSING):
                self.dirty.discard(sid)
                self.socks[sid] = lsock.incoming(sid, addr)
            else:
                self.doubt = True
        elif line.startswith((b'+IPURC: "closed"', b'+SSLURC: "closed"')):
            s = self.socks.get(last_int(line))
            if s is not None:
                # The NM28 says "closed" for a peer close and a lost link alike: end of stream.
                s.on_closed(None)
            elif last_int(line) not in self.dirty:
                self.doubt = True

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        """Once registered the NM28 has its LTE default bearer [SPEC]; AT+CGACT=1,1 makes sure."""
        if apn is not None:
            yield from step("pdp", Command(b'AT+CGDCONT=1,"IP","%s"' % apn.encode()))
        for attempt in range(3):  # as the L610's MIPCALL: 150 s, resend twice [decision]
            try:
                yield from step("activate", Command(b"AT+CGACT=1,1", timeout_ms=min(timeout_ms, 150000)))
                break
            except ModemError:
                if attempt == 2:
                    raise
        c = yield from step("address", Command(b"AT+CGPADDR=1", prefix=b"+CGPADDR:"))
        f = (c.first(b"+CGPADDR") or b"").split(b",")
        ip = text(unquote(f[-1]))
        if ip in ("", "0.0.0.0"):
            raise ATError("AT+CGPADDR=1", c.lines[0] if c.lines else "no address")
        return ip

    def detach(self):
        yield Command(b"AT+CGACT=0,1", timeout_ms=40000)

    # ---------------------------------------------------------------- sockets
    def open(self, sock, host, port):
        """Up to the OK of the open; +IPOPEN / +SSLOPEN comes later."""
        if sock.tls is not None:
            for name, value in sock.tls.settings():
                yield Command(b'AT+SSLCFG="%s",%d,%s' % (name, sock.id, value))
        kind = b"TCP" if sock.stream else b"UDP"
        sock.open_cmd = b'AT+IPOPEN=%d,"%s","%s",%d,0,%d' % (
            sock.id, kind, host.encode(), port, 1 if sock.tls else 0
        )
        # The module opens in direct mode [SPEC]: buffer mode switches as soon as it is open
        # (the pump does it, ahead of anything else), and what it pushes meanwhile is kept.
        sock.inbox.want_hold = sock.mode == "buffer"
        yield Command(sock.open_cmd)

    def open_timeout(self, sock, timeout_ms):
        if sock.tls is not None:
            return max(timeout_ms, (sock.tls.negotiate_timeout + 30) * 1000)
        return timeout_ms

    def opened(self, sock):
        """The module answered the open: fail, or finish (transparent: enter data mode)."""
        if not sock.opened:
            why = text(sock.open_answer)
            if sock.tls is not None:
                why += (" (TLS handshake or certificate check failed: check ca=, the server's"
                        " name and validity dates, client_cert=/client_key=, the module's clock)")
            raise self.open_failed(text(sock.open_cmd), why)
        ib = sock.inbox
        line = self.m.line
        if sock.mode == "transparent":
            # Data mode starts at CONNECT, which comes after whatever the module pushed
            # since the open: it is issued in the background, and if the socket fills up
            # before CONNECT, connect() returns and the program's reads let it through.
            c = Background(b"AT+IPSWTMD=%d,2" % sock.id, self, prompt=b"CONNECT",
                           on_connect=lambda: self.m.enter_data(sock))
            c.sock = sock
            c.want = 2
            sock.entering = True
            yield c
            yield Until(lambda: not sock.entering or line.blocked(), 30000)
            if sock.switch_error is not None:
                raise sock.switch_error
        elif ib.want_hold:
            # Buffer mode: the pump switches at once; wait for it unless the socket fills
            # first (a server that speaks first), so the module holds what follows.
            yield Until(lambda: ib.held or ib.switch_errors or ib.ended() or line.blocked(), 5000)

    def resume(self, sock):
        """AT+IPSWTMD=<id>,2 answers CONNECT and the UART carries the socket [src]."""
        cmd = b"AT+IPSWTMD=%d,2" % sock.id
        c = yield Command(cmd, prompt=b"CONNECT", on_connect=lambda: self.m.enter_data(sock), check=False)
        if c.result != b"CONNECT":
            if sock.ended():
                return  # the peer closed first: its data came as push URCs, then the end
            raise ATError(text(cmd), text(c.result or b"no answer"))

    def terminator(self, sock):
        tag = b"+SSLURC" if sock.tls else b"+IPURC"
        return b'\r\nNO CARRIER\r\n\r\n%s: "closed",%d\r\n' % (tag, sock.id)

    def listen(self, sock):
        """TCP LISTENER (listen) or UDP SERVICE (bind) on lport [SPEC: Quectel pattern]."""
        kind = b"TCP LISTENER" if sock.stream else b"UDP SERVICE"
        cmd = b'AT+IPOPEN=%d,"%s","0.0.0.0",0,%d,0' % (sock.id, kind, sock.lport)
        # A module may announce a first client before the listener's own +IPOPEN.
        sock.listening = sock.stream
        sock.inbox.want_hold = sock.mode == "buffer"
        yield Command(cmd)
        yield Until(lambda: sock.opened is not None, 60000, text(cmd))
        if not sock.opened:
            sock.listening = False
            raise self.open_failed(text(cmd), text(sock.open_answer) + " (port in use?)")
        sock.service = not sock.stream
        # Accepted clients take the listener's mode [SPEC].
        yield Command(b"AT+IPSWTMD=%d,%d" % (sock.id, _MODE[sock.mode]))
        sock.inbox.held = sock.mode == "buffer"

    def switch_cmd(self):
        for s in self.socks.values():
            ib = s.inbox
            if ib.switching or ib.want_hold == ib.held or s.mode == "transparent" or not s.opened:
                continue
            if ib.ended() or ib.switch_errors >= 3 or s.listening:
                continue
            ib.switching = True
            ib.burst = 0
            c = Background(b"AT+IPSWTMD=%d,%d" % (s.id, 0 if ib.want_hold else 1), self)
            c.sock = s
            c.want = 1 if ib.want_hold else 0
            return c
        return None

    def command_done(self, c):
        if c.want == 2:  # into data mode after an open
            sock = c.sock
            sock.entering = False
            if c.result != b"CONNECT" and not sock.ended():
                sock.switch_error = ATError(text(c.text), text(c.result or b"no answer"))
                sock.inbox.error = sock.switch_error
            return
        ib = c.sock.inbox
        ib.switching = False
        if c.ok():
            ib.held = bool(c.want)
            if ib.held and ib.burst > ib.max_burst:
                ib.max_burst = ib.burst
        else:
            ib.switch_errors += 1
        if ib.want_hold != ib.held:
            self.m.pump.switch_due()

    def max_send(self, sock):
        return self.HEX_SEND if sock.mode == "hex" else self.MAX_SEND

    def max_datagram(self, sock):
        return self.HEX_SEND if sock.mode == "hex" else self.MAX_DATAGRAM  # IPSENDEX: 2048 hex chars

    def send(self, sock, mv, peer=None):
        """SEND FAIL while the socket is up means a full send buffer (the NM28's flow
        control): retry the same bytes for up to the flow wait, then close with an error."""
        m = self.m
        clock = m.clock
        deadline = clock.ticks_add(clock.ticks_ms(), m.flow_wait_ms)
        while True:
            try:
                n = yield from self._send_once(sock, mv, peer)
                return n
            except ATError as err:
                if b"SEND FAIL" not in err.answer.encode() or sock.ended():
                    raise
                if clock.ticks_diff(deadline, clock.ticks_ms()) <= 0:
                    err = yield from self.flow_timeout(sock, "SEND FAIL (send buffer full)")
                    raise err
                yield pause(200)

    def _send_once(self, sock, mv, peer):
        n = len(mv)
        to = b',"%s",%d' % (peer[0].encode(), peer[1]) if peer is not None else b""
        hexed = sock.mode == "hex"
        if hexed:
            cmd = b'AT+IPSENDEX=%d,"%s"%s' % (sock.id, binascii.hexlify(mv), to)
            c = yield Command(cmd, prefix=b"SEND ", check=False)
        else:
            cmd = b"AT+IPSEND=%d,%d%s" % (sock.id, n, to)
            c = yield self.send_command(
                sock, cmd, mv, (b"NETWRITE:", b"SSLNETWRITE:", b"SEND "), b"CONNECT", None, _CMD_MS)
        ok = c.ok() and b"SEND SUCCESS" in c.lines
        answer = b"" if ok else c.lines[-1] if c.lines else c.result or b"no answer"
        if not hexed:
            self.sent_with(sock, c)
        if ok:
            return n
        name = "AT+IPSENDEX=%d,<%d bytes as hex>%s" % (sock.id, n, text(to)) if hexed else text(cmd)
        raise ATError(name, text(answer) + " (0 of %d bytes confirmed)" % n, EIO)

    def close(self, sock):
        """A flow: True when the module confirmed the id free."""
        c = yield Command(b"AT+IPCLOSE=%d" % sock.id, prefix=b"+IPCLOSE:", timeout_ms=_CMD_MS, check=False)
        if c.ok():
            return True
        table = yield from self.table()
        return sock.id not in table

    def close_id(self, sid):
        c = yield Command(b"AT+IPCLOSE=%d" % sid, prefix=b"+IPCLOSE:", timeout_ms=_CMD_MS, check=False)
        return c.ok()

    def table(self):
        """A flow: the ids the module has open (any state but closed)."""
        c = yield Command(b"AT+IPSTATE=2,0", prefix=b"+IPSTATE:", timeout_ms=_CMD_MS)
        ids = set()
        for line in c.lines:
            f = line[line.index(b":") + 1 :].split(b",")
            try:
                if len(f) >= 6 and int(f[5]) != _STATE_CLOSED:
                    ids.add(int(f[0]))
            except ValueError:
                pass
        return ids

    def resolve(self, host):
        c = yield Command(b'AT+IPDNSR="%s"' % host.encode(), prefix=b"+IPDNSR:", timeout_ms=30000, check=False)
        if not c.ok() or not c.lines:
            raise self.dns_failed(host, text(c.result or b"no answer"))
        return [text(unquote(line[line.index(b":") + 1 :])) for line in c.lines]
