"""Yuge NM28: the +IP* command set (docs/nm28.md). Operations are flows on links."""
import binascii

from ..command import Command
from ..compat import cold, const
from ..errors import EIO, ATError, ModemError, text
from ..flow import Until
from .ipfamily import IpFamily, Switch, switched
from .parse import last_int, lead_ints, unquote

_MODE = {"buffer": 0, "push": 1, "hex": 1, "transparent": 2}
_CMD_MS = const(5000)
_STATE_CLOSED = const(0)


class Context:
    """The NM28's own state for one connection."""

    def __init__(self):
        self.switch_error = None  # how the switch into data mode after the open failed


class NM28(IpFamily):
    NAME = "NM28"
    IDS = (0, 1, 2, 3, 4, 5, 6, 7)
    MODES = ("buffer", "push", "hex", "transparent")
    TLS = True
    SERVER = True
    MAX_SEND = 1460
    HEX_SEND = 1024  # 2048 hex characters
    MAX_READ = 1500
    MAX_DATAGRAM = 1460
    READ = b"AT+IPRD=%d,%d"
    SWITCH = b"AT+IPSWTMD=%d,%d"
    CLOSE = b"AT+IPCLOSE=%d"
    CLOSE_PREFIX = b"+IPCLOSE:"
    STATE = b"AT+IPSTATE=2,0"
    STATE_PREFIX = b"+IPSTATE:"
    Context = Context
    BOOT_URCS = (b"RDY",)
    URC_PREFIXES = (
        b"+IPURC:", b"IPREAD:", b"+IPREAD:", b"+IPOPEN:", b"+SSLIPOPEN:",
        b"+SSLOPEN:", b"+SSLURC:", b"+SSLREAD:", b"+CGREG:", b"+CEREG:",
    )
    URCS = (
        (b"+IPOPEN:", "_u_open"), (b"+SSLOPEN:", "_u_open"), (b"+SSLIPOPEN:", "_u_open"),
        (b"IPREAD:", "_u_read"), (b"+IPREAD:", "_u_read"), (b"+SSLREAD:", "_u_read"),
        (b'+IPURC: "incoming",', "_u_incoming"),
        (b'+IPURC: "closed"', "_u_closed"), (b'+SSLURC: "closed"', "_u_closed"),
    )
    HEADERS = (
        (b'+IPURC: "recv",', "_h_push"), (b'+SSLURC: "recv",', "_h_push"),
        (b"+IPRD:", "_h_read"), (b"+SSLRECV:", "_h_read"), (b"IPREAD:", "_h_waiting"),
    )
    PAYLOADS = ((b'+IPURC: "recv",', 0, 1, False), (b'+SSLURC: "recv",', 0, 1, False),
                (b"+IPRD:", 0, 1, False), (b"+SSLRECV:", 0, 1, False))
    SEND = b"AT+IPSEND=%d,%d"
    SEND_PROMPT = b"CONNECT"
    HEADER_FRAGMENTS = (b'"recv",', b"PRD:", b"LRECV:")

    # ---------------------------------------------------------------- lines read in place
    def _h_waiting(self, buf, s, i, e):
        """IPREAD: <id>: the module holds data for it (it says so once, until drained)."""
        self._p = i
        return self.data_waiting(self.num(buf, e))

    def _h_push(self, buf, s, i, e):
        """+IPURC: "recv",<id>,<len>[,"<ip>",<port>]: data pushed for a socket: <len> raw
        bytes follow the line."""
        self._p = i
        return self._payload(buf, s, e, True, self.num(buf, e))

    def _h_read(self, buf, s, i, e):
        """+IPRD: <id>,<len>[,"<ip>",<port>]: a read's answer: <len> raw bytes follow the line."""
        self._p = i
        return self._payload(buf, s, e, False, self.num(buf, e))

    # ---------------------------------------------------------------- URCs
    def _u_open(self, line):
        """+IPOPEN: <id>,<err> (+SSLOPEN / +SSLIPOPEN for TLS): the open's result, 0 ok."""
        f = lead_ints(line[line.index(b":") + 1 :])
        k = self.links.get(f[0]) if len(f) >= 2 else None
        if k is not None:
            k.on_open(f[1] == 0, line)
            if f[1] == 0 and k.inbox.want_hold:
                self.m.pump.switch_due()  # close the open window at once

    def _u_read(self, line):
        """IPREAD: <id>: data waiting in the module (buffer mode)."""
        if not self.data_waiting(last_int(line)):
            self.doubt = True

    # ---------------------------------------------------------------- bearer
    def attach(self, apn, user, password, timeout_ms, step):
        """Once registered the NM28 has its LTE default bearer; AT+CGACT=1,1 makes sure."""
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

    # ---------------------------------------------------------------- links
    def open(self, link, host, port):
        """Up to the OK of the open; +IPOPEN / +SSLOPEN comes later."""
        link.ctx = Context()
        if link.tls is not None:
            for name, value in cold("dialects.nm28_tls", "settings", link.tls):
                yield Command(b'AT+SSLCFG="%s",%d,%s' % (name, link.id, value))
        kind = b"TCP" if link.stream else b"UDP"
        link.open_cmd = b'AT+IPOPEN=%d,"%s","%s",%d,0,%d' % (link.id, kind, host.encode(), port, 1 if link.tls else 0)
        # The module opens in direct mode: buffer mode switches as soon as it is open (the
        # pump does it, ahead of anything else), and what it pushes meanwhile is kept.
        link.inbox.want_hold = link.mode == "buffer"
        yield Command(link.open_cmd)

    def tls_mode(self, tls, mode, default):
        cold("dialects.nm28_tls", "check", tls)
        return default if mode is None else mode

    def open_timeout(self, link, timeout_ms):
        if link.tls is not None:
            return max(timeout_ms, (link.tls.negotiate_timeout + 30) * 1000)
        return timeout_ms

    def opened(self, link):
        """The module answered the open: fail, or finish (transparent: enter data mode)."""
        if not link.opened:
            why = text(link.open_answer)
            if link.tls is not None:
                why += (" (TLS handshake or certificate check failed: check ca=, the server's"
                        " name and validity dates, client_cert=/client_key=, the module's clock)")
            raise self.open_failed(text(link.open_cmd), why)
        ib = link.inbox
        line = self.m.line
        if link.mode == "transparent":
            # Data mode starts at CONNECT, which comes after whatever the module pushed
            # since the open: it is issued in the background, and if the link fills up
            # before CONNECT, connect() returns and the program's reads let it through.
            link.entering = True
            yield Switch(link, self, False, True, lambda: self.m.mode.enter(link, self.terminator(link)))
            yield Until(lambda: not link.entering or line.blocked(), 30000)
            if link.ctx.switch_error is not None:
                raise link.ctx.switch_error
        elif ib.want_hold:
            # Buffer mode: the pump switches at once; wait for it unless the link fills
            # first (a server that speaks first), so the module holds what follows.
            yield Until(lambda: ib.held or ib.switch_errors or ib.ended() or line.blocked(), 5000)

    def resume(self, link):
        """AT+IPSWTMD=<id>,2 answers CONNECT and the UART carries the link."""
        cmd = b"AT+IPSWTMD=%d,2" % link.id
        c = yield Command(cmd, prompt=b"CONNECT", on_connect=lambda: self.m.mode.enter(link, self.terminator(link)),
                          check=False)
        if c.result != b"CONNECT":
            if link.ended():
                return  # the peer closed first: its data came as push URCs, then the end
            raise ATError(text(cmd), text(c.result or b"no answer"))

    def terminator(self, link):
        tag = b"+SSLURC" if link.tls else b"+IPURC"
        return b'\r\nNO CARRIER\r\n\r\n%s: "closed",%d\r\n' % (tag, link.id)

    def listen(self, link):
        """TCP LISTENER (listen) or UDP SERVICE (bind) on lport (the Quectel pattern)."""
        link.ctx = Context()
        kind = b"TCP LISTENER" if link.stream else b"UDP SERVICE"
        cmd = b'AT+IPOPEN=%d,"%s","0.0.0.0",0,%d,0' % (link.id, kind, link.lport)
        # A module may announce a first client before the listener's own +IPOPEN.
        link.listening = link.stream
        link.inbox.want_hold = link.mode == "buffer"
        yield Command(cmd)
        yield Until(lambda: link.opened is not None, 60000, text(cmd))
        if not link.opened:
            link.listening = False
            raise self.open_failed(text(cmd), text(link.open_answer) + " (port in use?)")
        link.service = not link.stream
        # Accepted clients take the listener's mode.
        yield Command(b"AT+IPSWTMD=%d,%d" % (link.id, _MODE[link.mode]))
        link.inbox.held = link.mode == "buffer"

    def command_done(self, c):
        k = c.link
        if c.data:  # into data mode after an open
            k.entering = False
            if c.result != b"CONNECT" and not k.ended():
                k.ctx.switch_error = ATError(text(c.text), text(c.result or b"no answer"))
                k.inbox.error = k.ctx.switch_error
            return
        switched(self, c)

    def max_send(self, link):
        return self.HEX_SEND if link.mode == "hex" else self.MAX_SEND

    def max_datagram(self, link):
        return self.HEX_SEND if link.mode == "hex" else self.MAX_DATAGRAM  # IPSENDEX: 2048 hex chars

    def send_now(self, link, mv):
        return None if link.mode == "hex" else self._send_cmd(link, mv, None)

    def _send_cmd(self, link, mv, peer):
        text = None
        if peer is not None:
            text = self.SEND % (link.id, len(mv)) + b',"%s",%d' % (peer[0].encode(), peer[1])
        return self.send_command(link, text, mv, (b"NETWRITE:", b"SSLNETWRITE:", b"SEND "), self.SEND_PROMPT,
                                 None, _CMD_MS, self._scan)

    def scan_send(self, c, buf, s, e):
        """NETWRITE (the module took the bytes) and SEND SUCCESS read in place; SEND FAIL
        is kept as a line (sent() and errors read it)."""
        if buf.startswith(b"SEND SUCCESS", s, e) and e - s == 12:
            c.conf = True
            return True
        return buf.startswith(b"NETWRITE:", s, e) or buf.startswith(b"SSLNETWRITE:", s, e)

    def _send_once(self, link, mv, peer):
        n = len(mv)
        if link.mode == "hex":
            to = b',"%s",%d' % (peer[0].encode(), peer[1]) if peer is not None else b""
            cmd = b'AT+IPSENDEX=%d,"%s"%s' % (link.id, binascii.hexlify(mv), to)
            c = yield Command(cmd, prefix=b"SEND ", check=False)
            if c.ok() and b"SEND SUCCESS" in c.lines:
                return n
            answer = c.lines[-1] if c.lines else c.result or b"no answer"
            name = "AT+IPSENDEX=%d,<%d bytes as hex>%s" % (link.id, n, text(to))
            raise ATError(name, text(answer) + " (0 of %d bytes confirmed)" % n, EIO)
        c = yield self._send_cmd(link, mv, peer)
        return self.sent(link, c, n)

    def resolve(self, host):
        c = yield Command(b'AT+IPDNSR="%s"' % host.encode(), prefix=b"+IPDNSR:", timeout_ms=30000, check=False)
        if not c.ok() or not c.lines:
            raise self.dns_failed(host, text(c.result or b"no answer"))
        return [text(unquote(line[line.index(b":") + 1 :])) for line in c.lines]
