"""Yuge NM28: the +IP* command set, SSL contexts, listeners (docs/nm28.md)."""
from __future__ import annotations

import binascii
import socket
from typing import Optional

from . import netconn
from .module import Module
from .parsing import CmdError, num, text_arg
from .sock import Sock
from .variants import NM28Manual

MODE_BUFFER, MODE_DIRECT, MODE_TRANSPARENT = 0, 1, 2
STATE_CODE = {"opening": 1, "open": 2, "listening": 3, "closed": 0}
TYPES = ("TCP", "UDP", "TCP LISTENER", "UDP SERVICE")
TLS_NAMES = (
    "sslversion",
    "ciphersuite",
    "seclevel",
    "cacert",
    "clientcert",
    "clientkey",
    "ignorelocaltime",
    "negotiatetime",
)
TLS_RANGES = {
    "sslversion": (0, 4),
    "ciphersuite": (0, 0xFFFF),
    "seclevel": (0, 2),
    "ignorelocaltime": (0, 1),
    "negotiatetime": (10, 300),
}
PUSH_MAX = 1460  # bytes per "recv" URC
SEND_CAP_FACTOR = 4  # NM28 send buffer: 4x the configured size (our decision)


class NM28(Module):
    fw: "NM28Manual"  # the firmware variant's answer forms (variants.py)
    MANUFACTURER = "Yuge"
    MODEL = "NM28"
    REVISION = "NM28_V1.0.0_EMU"
    IDS = range(0, 8)
    DIALECT = "nm28"  # answer forms: self.fw, variants.NM28Manual and its variants

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.handlers.update(
            {
                "+CGACT": self.at_cgact,
                "+CGPADDR": self.at_cgpaddr,
                "+IPOPEN": self.at_ipopen,
                "+IPCLOSE": self.at_ipclose,
                "+IPSWTMD": self.at_ipswtmd,
                "+IPSEND": self.at_ipsend,
                "+IPSENDEX": self.at_ipsendex,
                "+IPRD": self.at_iprd,
                "+IPSTATE": self.at_ipstate,
                "+IPDNSR": self.at_ipdnsr,
                "+SSLCFG": self.at_sslcfg,
            }
        )

    def reset_dialect(self) -> None:
        self.bearer_dropped = False  # by the host, with AT+CGACT=0,1
        self.modes = {i: MODE_DIRECT for i in self.IDS}
        self.tls = {i: netconn.TlsSettings() for i in self.IDS}

    def tls_settings(self, sid: int) -> netconn.TlsSettings:
        return self.tls[sid]

    def _pfx(self, sock: Sock, plain: str, ssl: str) -> str:
        return ssl if sock.tls else plain

    def _sock(self, arg, states=("open",)) -> Sock:
        sock = self.socks.get(num(arg, 0, 7))
        if sock is None or sock.state not in states:
            raise CmdError(3)
        return sock

    # ---------------------------------------------------------------- bearer
    def bearer_ip(self) -> Optional[str]:
        """The LTE default bearer comes with registration (docs/nm28.md, data bearer)
        unless the host dropped it."""
        if self.ip is None and not self.bearer_dropped and self.reg_stat() in (1, 5):
            self.ip = self.cfg.local_ip
        return self.ip

    def at_cfun(self, kind, args) -> None:
        super().at_cfun(kind, args)
        if self.cfun != 1:
            self.bearer_dropped = False  # the next attach brings a new default bearer

    def at_cgact(self, kind, args) -> None:
        if kind == "read":
            return self.info("+CGACT: 1,%d" % (1 if self.bearer_ip() else 0))
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        state, cid = num(args[0], 0, 1), num(args[1], 1, 15)
        if cid != 1:
            raise CmdError(50)
        if state:
            if self.reg_stat() not in (1, 5):
                raise CmdError(30)
            self.bearer_dropped = False
            self.ip = self.cfg.local_ip
        else:
            self.bearer_dropped = True
            self.ip = None
            for s in list(self.socks.values()):
                if not s.dead:
                    self.sock_lost(s, peer_closed=False)
        self.ok()

    def at_cgpaddr(self, kind, args) -> None:
        if kind not in ("set", "exec"):
            raise CmdError(50)
        if kind == "set" and num(args[0], 1, 15) != 1:
            raise CmdError(50)
        self.info('+CGPADDR: 1,"%s"' % (self.bearer_ip() or "0.0.0.0"))

    # ---------------------------------------------------------------- open and close
    def at_ipopen(self, kind, args) -> None:
        if kind == "test":
            return self.info(
                '+IPOPEN: (0-7),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                '"IP_address/domain_name",<remote_port>,<local_port>,(0-1)'
            )
        if kind == "read":
            return self.ok()
        if kind != "set" or len(args) != 6:
            raise CmdError(50)
        sid = num(args[0], 0, 7)
        kind_ = text_arg(args[1]).upper()
        host = text_arg(args[2], allow_empty=True)
        rport, lport, ssl = num(args[3], 0, 65535), num(args[4], 0, 65535), num(args[5], 0, 1)
        if kind_ not in TYPES or (ssl and kind_ != "TCP"):
            raise CmdError(50)
        if sid in self.socks:
            raise CmdError(3)
        if kind_ in ("TCP", "UDP") and (not host or not rport):
            raise CmdError(50)
        if kind_.endswith(("LISTENER", "SERVICE")) and not lport:
            raise CmdError(50)
        tag = self.fw.open_tag(bool(ssl))
        if self.bearer_ip() is None:
            self.ok()  # the open itself fails: no bearer to carry it
            return self.later(self.cfg.async_delay, self.urc, "%s: %d,%d" % (tag, sid, netconn.ERR_CONNECT))
        sock = Sock(self, sid, kind_, host, rport, lport)
        sock.tls = bool(ssl)
        sock.buffered = self.modes[sid] == MODE_BUFFER
        self.socks[sid] = sock
        self.ok()
        if kind_ == "TCP LISTENER":
            return self._listen(sock)
        if kind_ == "UDP SERVICE":
            try:
                sock.start(netconn.open_udp(None, 0, lport, self.cfg.listen_host))
                sock.state = "listening"
                err = 0
            except netconn.OpenFailed as e:
                del self.socks[sid]
                err = e.code
            return self.later(self.cfg.async_delay, self.urc, "%s: %d,%d" % (tag, sid, err))
        self.connect_async(sock, lambda err, why: self.urc("%s: %d,%d" % (tag, sid, err)))

    def _listen(self, sock: Sock) -> None:
        try:
            sock.listener = netconn.listen_tcp(sock.lport, self.cfg.listen_host)
        except netconn.OpenFailed as e:
            del self.socks[sock.id]
            return self.later(self.cfg.async_delay, self.urc, "+IPOPEN: %d,%d" % (sock.id, e.code))
        sock.state = "listening"

        def opened():
            self.urc("+IPOPEN: %d,0" % sock.id)
            # clients are announced after the open
            netconn.spawn(self.accept_loop, sock, lambda client, addr: self._accepted(sock, client, addr))

        self.later(self.cfg.async_delay, opened)

    def _accepted(self, lsock: Sock, client: socket.socket, addr) -> None:
        free = self.free_ids()
        if not free:
            client.close()  # no free id: the module refuses the client
            return
        sock = Sock(self, free[0], "TCP", addr[0], addr[1], lsock.lport)
        sock.buffered = self.modes[lsock.id] == MODE_BUFFER
        self.modes[sock.id] = self.modes[lsock.id]
        self.socks[sock.id] = sock
        sock.start(netconn.Conn(client))
        self.urc('+IPURC: "incoming",%d,%d,"%s",%d' % (sock.id, lsock.id, addr[0], addr[1]))

    def at_ipclose(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPCLOSE: (0-7)")
        if kind == "read":
            return self.ok()
        sid = num(args[0], 0, 7)
        sock = self.socks.get(sid)
        if sock is None:
            raise CmdError(self.fw.close_missing)
        self.close_sock(sock)
        self.modes[sid] = MODE_DIRECT
        self.info("+IPCLOSE: %d" % sid)

    # ---------------------------------------------------------------- modes
    def at_ipswtmd(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPSWTMD: (0-7),(0-2)")
        if kind == "read":
            return self.ok()
        if len(args) != 2:
            raise CmdError(50)
        sid, mode = num(args[0], 0, 7), num(args[1], 0, 2)
        sock = self.socks.get(sid)
        if mode == MODE_TRANSPARENT:
            if sock is None or sock.state != "open" or sock.kind not in ("TCP", "UDP"):
                raise CmdError(3)  # a listener or a bound UDP service has no one stream
            self.modes[sid] = mode
            self.resp("CONNECT")
            return self.enter_data(sock)
        self.modes[sid] = mode
        if sock is not None:
            sock.transparent = False
            sock.buffered = mode == MODE_BUFFER
            self.cond.notify_all()
        self.ok()
        # Switching to direct mode pushes what was held, before anything newer.
        if sock is not None:
            self.push_held(sock, PUSH_MAX)

    def left_data(self, sock: Sock) -> None:
        sock.notified = False
        sock.transparent = False

    # ---------------------------------------------------------------- send
    def _peer(self, sock: Sock, args, first: int):
        if sock.kind == "UDP SERVICE":
            if len(args) != first + 2:
                raise CmdError(50)
            return (text_arg(args[first]), num(args[first + 1], 1, 65535))
        if len(args) != first:
            raise CmdError(50)
        return None

    def at_ipsend(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPSEND:(0-7),(0-1460)")
        if kind == "read":
            return self.ok()
        if len(args) < 2:
            raise CmdError(50)
        sock = self._sock(args[0], ("open", "listening"))
        n = num(args[1], 1, 1460)
        addr = self._peer(sock, args, 2)
        if sock.kind == "TCP LISTENER":
            raise CmdError(3)
        notice = self.fw.write_notice(sock.tls, sock.id, n)
        if notice:
            self.resp(notice)
        self.resp("CONNECT")
        self.expect_payload(n, lambda data: self._sent(sock, data, addr))

    def _sent(self, sock: Sock, data: bytes, addr) -> None:
        # A full send buffer (slow or held network) refuses data after a moment.
        if not data or not self.send_room(sock, SEND_CAP_FACTOR * self.cfg.send_buffer):
            self.resp("SEND FAIL")
        else:
            sock.queue(data, addr)
            self.resp("SEND SUCCESS")
        self.ok()

    def at_ipsendex(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPSENDEX:(0-7),(hexstring)")
        if kind == "read":
            return self.ok()
        if len(args) < 2:
            raise CmdError(50)
        sock = self._sock(args[0], ("open", "listening"))
        hexs = text_arg(args[1])
        addr = self._peer(sock, args, 2)
        if len(hexs) > 2048 or len(hexs) % 2:
            raise CmdError(50)
        try:
            data = binascii.unhexlify(hexs)
        except (binascii.Error, ValueError):
            raise CmdError(50)
        self._sent(sock, data, addr)

    # ---------------------------------------------------------------- receive
    def push_data(self, sock: Sock, data: bytes, addr) -> None:
        if sock.dead and sock.id not in self.socks:
            return
        tag = self._pfx(sock, "+IPURC", "+SSLURC")
        if sock.kind.startswith("UDP"):
            data = data[:PUSH_MAX]  # one datagram is one URC; beyond 1460 it is cut [decision]
        for i in range(0, len(data), PUSH_MAX):
            part = data[i : i + PUSH_MAX]
            head = '%s: "recv",%d,%d' % (tag, sock.id, len(part))
            if sock.kind == "UDP SERVICE":
                head += ',"%s",%d' % addr
            self.out(b"\r\n" + head.encode() + b"\r\n" + part + self.fw.trailer)

    def data_waiting(self, sock: Sock) -> None:
        if not sock.notified:
            sock.notified = True
            self.urc(self.fw.read_notice(sock.tls, sock.id))

    def at_iprd(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPRD: (0-7),(0-1500)")
        if kind == "read":
            return self.ok()
        if len(args) != 2:
            raise CmdError(50)
        sid, n = num(args[0], 0, 7), num(args[1], 0, 1500)
        sock = self.socks.get(sid)
        if sock is None:
            raise CmdError(3)
        data, addr = sock.take(n)
        head = "%s: %d,%d" % (self._pfx(sock, "+IPRD", "+SSLRECV"), sid, len(data))
        if addr is not None:
            head += ',"%s",%d' % addr
        self.out(b"\r\n" + head.encode() + b"\r\n" + data + b"\r\nOK\r\n")
        if not sock.rx_len():
            sock.notified = False
        self.cond.notify_all()

    def report_closed(self, sock: Sock) -> None:
        self.urc('%s: "closed",%d' % (self._pfx(sock, "+IPURC", "+SSLURC"), sock.id))

    # ---------------------------------------------------------------- queries
    def at_ipstate(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPSTATE:(1-2),(0-7)")
        if kind == "read":
            ids = list(self.IDS)
        else:
            if len(args) != 2:
                raise CmdError(50)
            t, sid = num(args[0], 1, 2), num(args[1], 0, 7)
            ids = [sid] if t == 1 else list(self.IDS)
        lines = []
        for i in ids:
            s = self.socks.get(i)
            if s is None:
                lines.append("+IPSTATE: 0,TCP,,0,0,0,0")  # free slots read like this in the manual
            else:
                st = STATE_CODE.get(s.state, 0)
                lines.append(
                    "+IPSTATE: %d,%s,%s,%d,%d,%d,%d"
                    % (i, s.kind, s.host, s.rport, s.lport, st, self.modes[i])
                )
        self.info(*lines)

    def at_ipdnsr(self, kind, args) -> None:
        if kind == "test":
            return self.info("+IPDNSR:<Address>")
        if kind == "read":
            return self.ok()
        name = text_arg(args[0])
        if self.bearer_ip() is None:
            raise CmdError(3)
        ips = netconn.resolve_all(name)
        if not ips:
            raise CmdError(100)
        self.info(*['+IPDNSR: "%s"' % ip for ip in ips])

    def at_sslcfg(self, kind, args) -> None:
        if kind == "test":
            return self.info("+SSLCFG:(params_name),(sslctxID),(value)")
        if kind == "read":
            return self.ok()
        if len(args) not in (2, 3):
            raise CmdError(50)
        name = text_arg(args[0]).lower()
        ctx = num(args[1], 0, 7)
        if name not in TLS_NAMES:
            raise CmdError(50)
        settings = self.tls[ctx]
        if len(args) == 2:
            v = getattr(settings, name)
            shown = ("0X%04X" % v) if name == "ciphersuite" else v
            return self.info('+SSLCFG: "%s",%d,%s' % (name, ctx, shown if name not in ("cacert", "clientcert", "clientkey") else '"%s"' % v))
        if name in TLS_RANGES:
            lo, hi = TLS_RANGES[name]
            setattr(settings, name, num(args[2], lo, hi))
        else:
            setattr(settings, name, text_arg(args[2], allow_empty=True))
        self.ok()
