"""Quectel EC200U / BG96: the AT+QI* TCP/IP set (contexts, DNS, buffer, push and
transparent access modes, listeners), AT+QSSL* TLS with real handshakes, and the UFS file
store of AT+QF* that holds its certificates (docs/quectel.md).

Ids 0..11 are one pool for plain and TLS sockets. A socket the peer closed (or the network
broke) stays taken, state 4 "closing", until AT+QICLOSE / AT+QSSLCLOSE.
"""
from __future__ import annotations

import copy
import os
import ssl
import tempfile
import time
from typing import Dict, Optional

from . import netconn
from .module import DATA, Module
from .parsing import CmdError, QStr, num, text_arg
from .sock import Sock
from .variants import QUECTEL_TEXT, QuectelManual

BUFFER, PUSH, TRANSPARENT = 0, 1, 2  # <access_mode>
IDS = range(0, 12)
SSL_CONTEXTS = range(0, 6)  # <sslctxID>
PUSH_MAX = 1500  # bytes per +QIURC: "recv" (one datagram is one URC, cut beyond this)
READ_MAX = 1500  # AT+QIRD / AT+QSSLRECV <len>
SEND_MAX = 1460  # AT+QISEND / AT+QSSLSEND <len>
SEND_CAP_FACTOR = 5  # the send buffer: 5x Config.send_buffer, 10240 [EC200U-AN 2.4.10 <Freesize>]
DNS_TTL = 600
AT_PORT = "uart1"  # the <at_port> of AT+QISTATE: the emulator is a UART
FILE_MAX = 1 << 20
TYPES = ("TCP", "UDP", "TCP LISTENER", "UDP SERVICE")
STATE = {"opening": 1, "open": 2, "listening": 3, "closed": 4}

# Result codes (docs/quectel.md's list); which one where is our reading where marked
E_PARAM = 552  # a QI/QSSL command's parameter is wrong (CME 50 of the parser)
E_NO_SOCKET = 552  # the id names no socket of this command set [decision]
E_NOT_ALLOWED = 572  # e.g. AT+QIRD on a socket not in buffer mode [decision]
E_CLOSED = 567  # AT+QISEND on a socket the peer closed
E_IN_USE = 563
E_NO_PDP = 561  # the context is not active: QIACT fails, QIOPEN/QIDNSGIP find no bearer [decision]
E_DNS = 565
E_DNS_BUSY = 564
F_NOT_FOUND, F_EXISTS, F_TIMEOUT = 405, 407, 421  # AT+QF* file codes
# netconn's failure codes as +QIOPEN reports them [decision, but 566 for a refused connect]
OPEN_CODE = {
    netconn.ERR_CONNECT: 566,
    netconn.ERR_DNS: 565,
    netconn.ERR_TIMEOUT: 569,
    netconn.ERR_BIND: 556,
}

QICFG = {  # AT+QICFG names: (defaults, (lo, hi) of each value)
    "dataformat": ([0, 0], (0, 1)),  # send, receive: 1 is hex (stored, not emulated)
    "viewmode": ([0], (0, 1)),  # 1: push header and data on one line, comma between
    "transpktsize": ([1024], (1, 1460)),
    "transwaittm": ([2], (0, 20)),
    "passiveclosed": ([0], (0, 1)),
}
SSL_RANGES = {
    "sslversion": (0, 4),
    "ciphersuite": (0, 0xFFFF),
    "seclevel": (0, 2),
    "ignorelocaltime": (0, 1),
    "negotiatetime": (10, 300),
    "sni": (0, 1),
}
SSL_FILES = ("cacert", "clientcert", "clientkey")


def ufs_name(arg) -> str:
    """`"UFS:ca.pem"` (or `"ca.pem"`) -> `ca.pem`."""
    name = text_arg(arg)
    if name[:4].upper() == "UFS:":
        name = name[4:]
    if not name:
        raise CmdError(50)
    return name


def checksum(data: bytes) -> int:
    """AT+QFUPL's <checksum>: the XOR of the data's 16-bit big-endian words (an odd last
    byte is the high half of a word)."""
    c = 0
    for i in range(0, len(data), 2):
        c ^= (data[i] << 8) | (data[i + 1] if i + 1 < len(data) else 0)
    return c


class SslSettings(netconn.TlsSettings):
    """One AT+QSSLCFG context; its certificates are names in the module's file store.
    An open takes a snapshot (with the files as they are then)."""

    def __init__(self) -> None:
        super().__init__()
        self.sni = 0  # default 0, ignorelocaltime 1 [EG800K-report]
        self.ignorelocaltime = 1
        self.files: Dict[str, bytes] = {}

    def snapshot(self, files: Dict[str, bytes]) -> "SslSettings":
        s = copy.copy(self)
        s.files = dict(files)
        return s

    def _file(self, name: str) -> bytes:
        key = name[4:] if name[:4].upper() == "UFS:" else name
        if not key or key not in self.files:
            raise netconn.OpenFailed(netconn.ERR_CERT, "no file %r in UFS" % name)
        return self.files[key]

    def load_trust(self, ctx: ssl.SSLContext, cert_dir: Optional[str]) -> None:
        data = self._file(self.cacert)
        try:
            if b"-----BEGIN" in data:
                ctx.load_verify_locations(cadata=data.decode("latin-1"))
            else:
                ctx.load_verify_locations(cadata=data)  # DER
        except (ssl.SSLError, ValueError) as e:
            raise netconn.OpenFailed(netconn.ERR_CERT, "unreadable CA file %r: %s" % (self.cacert, e))

    def load_identity(self, ctx: ssl.SSLContext, cert_dir: Optional[str]) -> None:
        cert, key = self._file(self.clientcert), self._file(self.clientkey)
        paths = []
        try:
            for data in (cert, key):  # OpenSSL loads a chain from files only
                fd, path = tempfile.mkstemp(suffix=".pem")
                paths.append(path)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            ctx.load_cert_chain(paths[0], paths[1])
        except (ssl.SSLError, ValueError) as e:
            raise netconn.OpenFailed(netconn.ERR_CERT, "unusable client certificate or key: %s" % e)
        finally:
            for p in paths:
                os.unlink(p)


class QSock(Sock):
    """A Quectel socket: its context, access mode, and for TLS its SSL context."""

    def __init__(self, m, sid, kind, host, rport, lport, ctx=1, access=BUFFER, server=0):
        super().__init__(m, sid, kind, host, rport, lport)
        self.ctx = ctx
        self.access = access
        self.server = server  # <serverID> of AT+QISTATE
        self.buffered = access == BUFFER
        self.received = 0  # bytes ever received (AT+QIRD=<id>,0)
        self.quiet = False  # its loss is reported otherwise (pdpdeact, NO CARRIER)
        self.ssl_ctx = 0
        self.ssl_setup: Optional[SslSettings] = None

    def remote_ip(self) -> str:
        """The peer's address (a name given to the open is shown resolved)."""
        conn = self.conn
        if conn is not None and not self.dead and not self.kind.endswith(("LISTENER", "SERVICE")):
            try:
                return str(conn.sock.getpeername()[0])
            except OSError:
                pass
        return self.host

    def start(self, conn: netconn.Conn) -> None:
        try:
            self.bound = int(conn.sock.getsockname()[1])  # kept for AT+QISTATE after a close
        except OSError:
            pass
        super().start(conn)

    def local_port(self) -> int:
        return getattr(self, "bound", self.lport)


class Quectel(Module):
    fw: "QuectelManual"  # the firmware variant's answer forms (variants.py)
    MANUFACTURER = "Quectel"
    MODEL = "EC200U"
    REVISION = "EC200UCNAAR03A15M08"
    IDS = IDS
    DIALECT = "quectel"  # answer forms: self.fw, variants.QuectelManual and its variants

    socks: Dict[int, QSock]  # type: ignore[assignment]

    def __init__(self, *a, **kw):
        # Kept across reboots (flash), lost when the emulator stops.
        self.files: Dict[str, bytes] = {}
        self.dial_refusals = 0  # the network refuses this many AT+QIACT (Emulator.refuse_dial)
        super().__init__(*a, **kw)
        self.REVISION = self.fw.revision
        qi = {
            "+QICSGP": self.at_qicsgp,
            "+QIACT": self.at_qiact,
            "+QIDEACT": self.at_qideact,
            "+QIDNSGIP": self.at_qidnsgip,
            "+QIOPEN": self.at_qiopen,
            "+QICLOSE": lambda k, a: self.at_close(k, a, False),
            "+QISTATE": lambda k, a: self.at_state(k, a, False),
            "+QISEND": lambda k, a: self.at_send(k, a, False),
            "+QIRD": lambda k, a: self.at_read(k, a, False),
            "+QISWTMD": self.at_qiswtmd,
            "+QIGETERROR": self.at_qigeterror,
            "+QICFG": self.at_qicfg,
            "+QISDE": self.at_qisde,
            "+QIDNSCFG": self.at_qidnscfg,
            "+QNTP": self.at_qntp,
            "+QSSLCFG": self.at_qsslcfg,
            "+QSSLOPEN": self.at_qsslopen,
            "+QSSLSEND": lambda k, a: self.at_send(k, a, True),
            "+QSSLRECV": lambda k, a: self.at_read(k, a, True),
            "+QSSLCLOSE": lambda k, a: self.at_close(k, a, True),
            "+QSSLSTATE": lambda k, a: self.at_state(k, a, True),
        }
        self.handlers.update({name: self._qi(fn) for name, fn in qi.items()})
        self.handlers.update(
            {
                "O": self.at_o,
                "+QFUPL": self.at_qfupl,
                "+QFLST": self.at_qflst,
                "+QFDEL": self.at_qfdel,
                "+QPOWD": self.at_qpowd,
                "+CCLK": self.at_cclk,
                "+CTZU": self.at_ctzu,
            }
        )

    def _qi(self, fn):
        """A TCP/IP or SSL command: a bad parameter is Quectel's 552."""

        def run(kind, args):
            try:
                fn(kind, args)
            except CmdError as e:
                if e.code == 50:
                    raise CmdError(E_PARAM)
                raise

        return run

    def reset_dialect(self) -> None:
        self.active: Dict[int, str] = {}  # cid -> address
        self.pdp: Dict[int, list] = {}  # AT+QICSGP, not saved: cid -> [type, apn, user, password, auth]
        self.qicfg = {k: list(v[0]) for k, v in QICFG.items()}
        self.ssl = {i: SslSettings() for i in SSL_CONTEXTS}
        self.last_err = 0
        self.dns_busy = False
        self.last_data: Optional[int] = None  # the id ATO goes back to
        self.qisde = 1  # AT+QISDE: the payload after a send prompt is echoed (with ATE1)
        self.echo_payload = False  # the payload under way is a send's
        self.dns_servers: Dict[int, list] = {}
        self.ctzu = 0

    def error(self, code: int = 100) -> None:
        if code >= 550:
            self.last_err = code
        super().error(code)

    # ---------------------------------------------------------------- boot, SIM, power
    def sim_became_ready(self) -> None:
        if self.pin_ok:
            for u in self.fw.sim_urcs:
                self.urc(u)
        else:
            self.urc("+CPIN: SIM PIN")

    def at_cpin(self, kind, args) -> None:
        was = self.pin_ok
        super().at_cpin(kind, args)
        if self.pin_ok and not was:
            for u in self.fw.sim_urcs:
                self.urc(u)

    def at_qpowd(self, kind, args) -> None:
        if kind == "set":
            num(args[0], 0, 1)
        self.ok()
        self.urc("POWERED DOWN")
        self.power_off()

    # ---------------------------------------------------------------- bearer
    def at_qicsgp(self, kind, args) -> None:
        if kind == "test":
            return self.info('+QICSGP: (1-16),(1-3),"APN","USERNAME","PASSWORD",(0-3)')
        if kind != "set" or len(args) not in (1, 3, 5, 6):
            raise CmdError(50)
        cid = self._cid(args[0])
        if len(args) == 1:
            t, apn, user, pw, auth = self.pdp.get(cid, [1, "", "", "", 0])
            return self.info('+QICSGP: %d,"%s","%s","%s",%d' % (t, apn, user, pw, auth))
        t = num(args[1], 1, 3)
        apn, user, pw = (text_arg(a, allow_empty=True) for a in (list(args[2:5]) + [QStr(""), QStr("")])[:3])
        auth = num(args[5], 0, self.fw.auth_max) if len(args) == 6 else 0
        self.pdp[cid] = [t, apn, user, pw, auth]
        self.ok()

    def _cid(self, arg) -> int:
        cid = num(arg, 1, 16)
        if cid not in self.fw.contexts:
            raise CmdError(50)
        return cid

    def _address(self, cid: int) -> str:
        if cid == 1:
            return self.cfg.local_ip
        head, _, last = self.cfg.local_ip.rpartition(".")
        return "%s.%d" % (head, (int(last) + cid - 1) % 256)

    def at_qiact(self, kind, args) -> None:
        if kind == "read":
            return self.info(
                *['+QIACT: %d,1,%d,"%s"' % (c, self.pdp.get(c, [1])[0], ip) for c, ip in sorted(self.active.items())]
            )
        if kind == "test":
            return self.info("+QIACT: (1-16)")
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        cid = self._cid(args[0])
        if cid in self.active:
            raise CmdError(E_NO_PDP)  # already active: ERROR [decision: as real modules do]
        refused = self.dial_refusals > 0
        if refused:
            self.dial_refusals -= 1

        def done():  # the answer comes when the network has answered (up to 150 s)
            if refused or self.cfun != 1 or self.reg_stat() not in (1, 5):
                return self.error(E_NO_PDP)
            self.active[cid] = self._address(cid)
            self.ip = self.active.get(1)
            self.ok()

        self.later(self.cfg.async_delay, done)

    def at_qideact(self, kind, args) -> None:
        if kind == "test":
            return self.info("+QIDEACT: (1-16)")
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        cid = self._cid(args[0])
        for s in list(self.socks.values()):  # its sockets are closed with it, ids freed
            if s.ctx == cid:
                self.close_sock(s)
        self.active.pop(cid, None)
        self.later(self.cfg.async_delay, self.ok)

    def pdp_lost(self, cid: int) -> None:
        """The network dropped context cid: one URC; its sockets are broken without their
        own "closed" (the host still closes each)."""
        if self.active.pop(cid, None) is None:
            return
        if cid == 1:
            self.ip = None
        for s in list(self.socks.values()):
            if s.ctx == cid and not s.dead:
                s.quiet = True
                self.sock_lost(s, peer_closed=False)
        self.urc('+QIURC: "pdpdeact",%d' % cid)

    def registration_changed(self) -> None:
        super().registration_changed()
        if self.reg_stat() not in (1, 5):  # out of coverage: the bearers go with it
            for cid in sorted(self.active):
                self.pdp_lost(cid)

    def at_cfun(self, kind, args) -> None:
        lost = sorted(self.active)
        if kind == "set" and args and str(args[0]).strip() in ("0", "4") and lost:
            for s in self.socks.values():
                s.quiet = True  # reported by the pdpdeact that follows the OK
        super().at_cfun(kind, args)
        if self.cfun != 1:
            for cid in lost:
                self.pdp_lost(cid)

    # ---------------------------------------------------------------- settings, clock
    def at_qisde(self, kind, args) -> None:
        if kind == "read":
            return self.info("+QISDE: %d" % self.qisde)
        if kind == "test":
            return self.info("+QISDE: (0,1)")
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        self.qisde = num(args[0], 0, 1)
        self.ok()

    def _payload_in(self, data: bytes, i: int) -> int:
        if self.echo_payload and self.qisde and self.echo:
            self.out(data[i : i + self.payload_need - len(self.payload)])
        return super()._payload_in(data, i)

    def at_qidnscfg(self, kind, args) -> None:
        if kind == "test":
            return self.info('+QIDNSCFG: (1-16),"PRIDNS","SECDNS"')
        if kind != "set" or not 1 <= len(args) <= 3:
            raise CmdError(50)
        cid = self._cid(args[0])
        if len(args) == 1:
            pri, sec = self.dns_servers.get(cid, ["8.8.8.8", "8.8.4.4"])  # [decision]
            return self.info('+QIDNSCFG: %d,"%s","%s"' % (cid, pri, sec))
        if cid not in self.active:
            raise CmdError(E_NO_PDP)  # set only while the context is active [EC200U-AN 2.4.16]
        names = [text_arg(a) for a in args[1:]]
        self.dns_servers[cid] = (names + ["0.0.0.0"])[:2]
        self.ok()

    @staticmethod
    def _clock(fmt: str) -> str:
        return time.strftime(fmt, time.gmtime()) + "+00"  # the host's clock, in UTC

    def at_qntp(self, kind, args) -> None:
        """OK, then +QNTP: 0,"<time>": the host's clock stands in for the server's."""
        if kind == "test":
            return self.info('+QNTP: (1-16),"SERVER",(1-65535),(0,1)')
        if kind != "set" or not 2 <= len(args) <= 4:
            raise CmdError(50)
        cid = self._cid(args[0])
        text_arg(args[1])
        if cid not in self.active:
            raise CmdError(E_NO_PDP)
        self.ok()
        self.later(self.cfg.async_delay, lambda: self.urc('+QNTP: 0,"%s"' % self._clock("%Y/%m/%d,%H:%M:%S")))

    def at_cclk(self, kind, args) -> None:
        if kind == "read":
            return self.info('+CCLK: "%s"' % self._clock("%y/%m/%d,%H:%M:%S"))
        if kind == "set":  # the module's clock follows the host's: accepted, not kept
            text_arg(args[0])
            return self.ok()
        raise CmdError(50)

    def at_ctzu(self, kind, args) -> None:
        if kind == "read":
            return self.info("+CTZU: %d" % self.ctzu)
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        self.ctzu = num(args[0], 0, 3)
        self.ok()

    # ---------------------------------------------------------------- DNS
    def at_qidnsgip(self, kind, args) -> None:
        if kind == "test":
            return self.info('+QIDNSGIP: (1-16),"HOSTNAME"')
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        cid, name = self._cid(args[0]), text_arg(args[1])
        if cid not in self.active:
            raise CmdError(E_NO_PDP)
        if self.dns_busy:
            raise CmdError(E_DNS_BUSY)
        self.dns_busy = True
        self.ok()
        gen = self.gen

        def work():
            ips = netconn.resolve_all(name)
            time.sleep(self.cfg.async_delay)
            with self.lock:
                if self.gen != gen:
                    return
                self.dns_busy = False
                if not ips or cid not in self.active:
                    self.last_err = E_DNS
                    return self.urc('+QIURC: "dnsgip",%d' % E_DNS)
                ttl = 0 if ips == [name] else DNS_TTL  # a literal IP: TTL 0 [EC200U-log]
                self.urc('+QIURC: "dnsgip",0,%d,%d' % (len(ips), ttl))
                for ip in ips:
                    self.urc('+QIURC: "dnsgip","%s"' % ip)

        netconn.spawn(work)

    # ---------------------------------------------------------------- open
    def at_qiopen(self, kind, args) -> None:
        if kind == "test":
            return self.info(
                '+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
                '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)'
            )
        if kind != "set" or not 5 <= len(args) <= 9:
            raise CmdError(50)
        cid, sid = self._cid(args[0]), num(args[1], 0, 11)
        type_ = text_arg(args[2]).upper()
        host = text_arg(args[3], allow_empty=True)
        rport = num(args[4], 0, 65535)
        lport = num(args[5], 0, 65535) if len(args) > 5 and args[5] != "" else 0
        access = num(args[6], 0, 2) if len(args) > 6 else BUFFER
        if len(args) > 7:
            num(args[7], 0, 11)  # EC200U: <tcp_client_maxnum> of a listener (not enforced)
        if len(args) > 8:
            num(args[8], 10, 150)  # EC200U: <connect_timeout> (Config.connect_timeout applies)
        if type_ not in TYPES:
            raise CmdError(50)
        server = type_ in ("TCP LISTENER", "UDP SERVICE")
        if server and (not lport or access == TRANSPARENT):
            raise CmdError(50)  # a server has no one stream to be transparent to
        if not server and (not host or not rport):
            raise CmdError(50)
        if sid in self.socks:
            return self._refuse("+QIOPEN", sid, access, E_IN_USE)
        if cid not in self.active:
            return self._refuse("+QIOPEN", sid, access, E_NO_PDP)
        sock = QSock(self, sid, type_, host, rport, lport, cid, access, sid if server else 0)
        self.socks[sid] = sock
        if type_ == "TCP LISTENER":
            self.ok()
            return self._listen(sock)
        if type_ == "UDP SERVICE":
            self.ok()
            try:
                sock.start(netconn.open_udp(None, 0, lport, self.cfg.listen_host))
                sock.state = "listening"
                err = 0
            except netconn.OpenFailed as e:
                del self.socks[sid]
                err = OPEN_CODE.get(e.code, 556)
            return self.later(self.cfg.async_delay, self._opened, "+QIOPEN", sid, err)
        self._connect("+QIOPEN", sock)

    def _refuse(self, tag: str, sid: int, access: int, code: int) -> None:
        if access == TRANSPARENT:
            self.last_err = code
            return self.resp("ERROR")
        self.ok()
        self.last_err = code
        self.later(self.cfg.async_delay, self.urc, "%s: %d,%d" % (tag, sid, code))

    def _opened(self, tag: str, sid: int, err: int) -> None:
        if err:
            self.last_err = err
        self.urc("%s: %d,%d" % (tag, sid, err))

    def _code(self, sock: QSock, err: int) -> int:
        if sock.tls and err in (netconn.ERR_TLS, netconn.ERR_CERT):
            return self.fw.ssl_open_failed
        return OPEN_CODE.get(err, 566)

    def _connect(self, tag: str, sock: QSock) -> None:
        """A client open: OK now and <tag>: <id>,<err> later; transparent: CONNECT (then the
        line is the connection's) or the error, when the connection is up or has failed."""
        if sock.access == TRANSPARENT:

            def entered(err, why):
                if err:  # ERROR; the code is AT+QIGETERROR's [EC200U-AN 2.4.7]
                    self.last_err = self._code(sock, err)
                    return self.resp("ERROR")
                self.resp("CONNECT")
                self.last_data = sock.id
                self.enter_data(sock)

            return self.connect_async(sock, entered)
        self.ok()
        self.connect_async(sock, lambda err, why: self._opened(tag, sock.id, self._code(sock, err) if err else 0))

    def open_conn(self, sock: Sock) -> netconn.Conn:
        setup = getattr(sock, "ssl_setup", None)
        if not sock.tls or setup is None:
            return super().open_conn(sock)
        if self.reg_stat() not in (1, 5):
            raise netconn.OpenFailed(netconn.ERR_CONNECT, "not registered")
        ctx = setup.context(None)
        return netconn.connect_tls_with(
            sock.host, sock.rport, ctx, setup.negotiatetime, sock.lport, sni=bool(setup.sni)
        )

    def _listen(self, sock: QSock) -> None:
        try:
            sock.listener = netconn.listen_tcp(sock.lport, self.cfg.listen_host)
        except netconn.OpenFailed:
            del self.socks[sock.id]
            return self.later(self.cfg.async_delay, self._opened, "+QIOPEN", sock.id, 556)
        sock.state = "listening"

        def opened():
            self.urc("+QIOPEN: %d,0" % sock.id)
            # clients are announced after the open
            netconn.spawn(self.accept_loop, sock, lambda client, addr: self._accepted(sock, client, addr))

        self.later(self.cfg.async_delay, opened)

    def _accepted(self, lsock: QSock, client, addr) -> None:
        free = self.free_ids()
        if not free:
            client.close()
            return self.urc('+QIURC: "incoming full"')
        # The module picks the id: the AN's example takes the highest [EC200U-AN 3.5.2]
        sock = QSock(self, free[-1], "TCP INCOMING", addr[0], addr[1], lsock.lport, lsock.ctx, lsock.access, lsock.id)
        self.socks[sock.id] = sock
        sock.start(netconn.Conn(client))
        self.urc('+QIURC: "incoming",%d,%d,"%s",%d' % (sock.id, lsock.id, addr[0], addr[1]))

    # ---------------------------------------------------------------- close and state
    def _sock(self, arg, tls: bool) -> QSock:
        sock = self.socks.get(num(arg, 0, 11))
        if sock is None or sock.tls != tls:
            raise CmdError(E_NO_SOCKET)
        return sock

    def at_close(self, kind, args, tls: bool) -> None:
        if kind == "test":
            return self.info("%s: (0-11),(0-65535)" % ("+QSSLCLOSE" if tls else "+QICLOSE"))
        if kind != "set" or len(args) not in (1, 2):
            raise CmdError(50)
        sid = num(args[0], 0, 11)
        if len(args) == 2:
            num(args[1], 0, 65535)  # <timeout>: the close is at once here
        sock = self.socks.get(sid)
        if sock is not None:
            if sock.tls != tls:
                raise CmdError(E_NO_SOCKET)
            self.close_sock(sock)
            if self.last_data == sid:
                self.last_data = None
        self.ok()  # an id with no socket is closed already: OK [decision]

    def _state_line(self, s: QSock) -> str:
        server = s.kind in ("TCP LISTENER", "UDP SERVICE")
        state = STATE.get(s.state, 0)
        if s.kind == "UDP SERVICE" and state == 3:
            state = 2  # a UDP SERVICE is "connected" [EC200U-AN 3.6.1]
        line = '%s: %d,"%s","%s",%d,%d,%d,%d,%d,%d,"%s"' % (
            "+QSSLSTATE" if s.tls else "+QISTATE",
            s.id,
            "SSLClient" if s.tls else s.kind,
            self.active.get(s.ctx, "0.0.0.0") if server else s.remote_ip(),  # a server: its own address
            s.rport,
            0 if s.tls else s.local_port(),  # TLS: 0 [EG800K-report]
            state,
            s.ctx,
            s.id if s.tls else s.server,  # a TLS socket's serverid is its id [EG800K-report]
            s.access,
            AT_PORT,
        )
        return line + (",%d" % s.ssl_ctx if s.tls else "")

    def at_state(self, kind, args, tls: bool) -> None:
        if kind == "test":
            return self.info("%s: (0,1),(0-16)" % ("+QSSLSTATE" if tls else "+QISTATE"))
        socks = [s for _, s in sorted(self.socks.items()) if s.tls == tls]
        if kind == "set":
            if len(args) != 2:
                raise CmdError(50)
            if num(args[0], 0, 1) == 0:
                cid = self._cid(args[1])
                socks = [s for s in socks if s.ctx == cid]
            else:
                sid = num(args[1], 0, 11)
                socks = [s for s in socks if s.id == sid]
        self.info(*[self._state_line(s) for s in socks])

    def at_qigeterror(self, kind, args) -> None:
        if kind == "test":
            return self.ok()
        self.info(self.fw.geterror_line(self.last_err, QUECTEL_TEXT.get(self.last_err, "unknown error")))

    def at_qicfg(self, kind, args) -> None:
        if kind == "test":
            return self.info(*['+QICFG: "%s"' % k for k in QICFG])
        if kind != "set" or not args:
            raise CmdError(50)
        name = text_arg(args[0]).lower()
        if name not in QICFG:
            raise CmdError(50)
        if len(args) == 1:
            return self.info('+QICFG: "%s",%s' % (name, ",".join(str(v) for v in self.qicfg[name])))
        defaults, (lo, hi) = QICFG[name]
        if len(args) != 1 + len(defaults):
            raise CmdError(50)
        self.qicfg[name] = [num(a, lo, hi) for a in args[1:]]
        self.ok()

    # ---------------------------------------------------------------- access modes
    def at_qiswtmd(self, kind, args) -> None:
        if kind == "test":
            return self.info("+QISWTMD: (0-11),(0-2)")
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        sock = self._sock(args[0], False)
        mode = num(args[1], 0, 2)
        if mode == TRANSPARENT:
            if sock.state != "open" or sock.kind not in ("TCP", "UDP", "TCP INCOMING"):
                raise CmdError(E_NOT_ALLOWED)
            sock.access = mode
            self.last_data = sock.id
            self.resp("CONNECT")
            return self.enter_data(sock)
        was = sock.access
        sock.access = mode
        sock.transparent = False
        sock.buffered = mode == BUFFER
        self.cond.notify_all()
        self.ok()
        if mode == PUSH:
            self.push_held(sock, PUSH_MAX)  # what was held goes first
        elif was != BUFFER:
            sock.notified = False
            if sock.rx_len():
                self.data_waiting(sock)

    def at_o(self, kind, args) -> None:
        """Back to the last connection that left transparent mode; none: NO CARRIER
        [EC200U-AN 1.1]."""
        sock = self.socks.get(self.last_data) if self.last_data is not None else None
        if sock is None or sock.state != "open":
            return self.resp("NO CARRIER")
        sock.access = TRANSPARENT
        self.resp("CONNECT")
        self.enter_data(sock)

    def left_data(self, sock: Sock) -> None:
        """After +++ the socket is in buffer access mode: data that arrives is announced
        and read with AT+QIRD, or delivered after ATO [EC200U-AN 1.1]."""
        sock.access = BUFFER  # type: ignore[attr-defined]
        sock.transparent = False
        sock.notified = False
        if sock.rx_len():
            self.data_waiting(sock)

    # ---------------------------------------------------------------- send
    def at_send(self, kind, args, tls: bool) -> None:
        tag = "+QSSLSEND" if tls else "+QISEND"
        if kind == "test":
            return self.info("%s: (0-11),(0-%d)" % (tag, SEND_MAX))
        if kind != "set" or len(args) < 2:
            raise CmdError(50)  # the Ctrl-Z form (no <len>) is not emulated
        sock = self._sock(args[0], tls)
        n = num(args[1], 0, SEND_MAX)
        if n == 0:
            if len(args) != 2:
                raise CmdError(50)
            acked = sock.queued - sock.tx_len  # left the module: our "acknowledged"
            return self.info("%s: %d,%d,%d" % (tag, sock.queued, acked, sock.tx_len))
        addr = None
        if sock.kind == "UDP SERVICE":
            if len(args) != 4:
                raise CmdError(50)
            addr = (text_arg(args[2]), num(args[3], 1, 65535))
            if sock.state != "listening":
                raise CmdError(E_CLOSED)
        elif len(args) != 2:
            raise CmdError(50)
        elif sock.kind == "TCP LISTENER":
            raise CmdError(E_NOT_ALLOWED)
        elif sock.state != "open":
            raise CmdError(E_CLOSED)
        self.out(b"\r\n> ")
        self.echo_payload = True
        self.expect_payload(n, lambda data: self._sent(sock, data, addr))

    def _sent(self, sock: QSock, data: bytes, addr) -> None:
        self.echo_payload = False
        # A full send buffer (slow or held network) refuses data after a moment.
        if not data or not self.send_room(sock, SEND_CAP_FACTOR * self.cfg.send_buffer):
            return self.resp("SEND FAIL")
        sock.queue(data, addr)
        self.resp("SEND OK")

    # ---------------------------------------------------------------- receive
    def _urc_tag(self, sock: Sock) -> str:
        return "+QSSLURC" if sock.tls else "+QIURC"

    def sock_rx(self, sock: Sock, data: bytes, addr) -> None:
        sock.received += len(data)  # type: ignore[attr-defined]
        super().sock_rx(sock, data, addr)

    def data_waiting(self, sock: Sock) -> None:
        if not sock.notified:
            sock.notified = True
            self.urc('%s: "recv",%d' % (self._urc_tag(sock), sock.id))

    def push_data(self, sock: Sock, data: bytes, addr) -> None:
        if sock.dead and sock.id not in self.socks:
            return
        if sock.kind.startswith("UDP"):
            data = data[:PUSH_MAX]  # one datagram is one URC [decision, as the NM28's]
        sep = b"," if self.qicfg["viewmode"][0] == 1 else b"\r\n"
        for i in range(0, len(data), PUSH_MAX):
            part = data[i : i + PUSH_MAX]
            head = '%s: "recv",%d,%d' % (self._urc_tag(sock), sock.id, len(part))
            if sock.kind == "UDP SERVICE":
                head += ',"%s",%d' % addr
            self.out(b"\r\n" + head.encode() + sep + part + self.fw.trailer)

    def at_read(self, kind, args, tls: bool) -> None:
        tag = "+QSSLRECV" if tls else "+QIRD"
        if kind == "test":
            return self.info("%s: (0-11),(0-%d)" % (tag, READ_MAX))
        if kind != "set" or len(args) not in (1, 2):
            raise CmdError(50)
        sock = self._sock(args[0], tls)
        if sock.kind == "UDP SERVICE" and len(args) == 2:
            raise CmdError(50)  # a datagram socket reads one whole datagram: no <len> [EC200U-AN 2.4.11]
        n = num(args[1], 0, READ_MAX) if len(args) == 2 else READ_MAX
        if sock.kind == "TCP LISTENER" or sock.access != BUFFER:
            raise CmdError(E_NOT_ALLOWED)
        if n == 0:
            unread = sock.rx_len()
            return self.info("%s: %d,%d,%d" % (tag, sock.received, sock.received - unread, unread))
        data, addr = sock.take(n)
        head = "%s: %d" % (tag, len(data))
        if sock.kind == "UDP SERVICE" and data:
            head += ',"%s",%d' % addr
        body = (b"\r\n" + data) if data else b""
        self.out(b"\r\n" + head.encode() + body + b"\r\n\r\nOK\r\n")
        if not sock.rx_len():
            sock.notified = False
        self.cond.notify_all()  # room again: the reader takes from the network

    def sock_lost(self, sock: Sock, peer_closed: bool) -> None:
        if self.data_sock is sock and self.mode == DATA and not self.fw.closed_after_no_carrier:
            sock.quiet = True  # type: ignore[attr-defined]  # NO CARRIER says it
        super().sock_lost(sock, peer_closed)

    def report_closed(self, sock: Sock) -> None:
        if not getattr(sock, "quiet", False):
            self.urc('%s: "closed",%d' % (self._urc_tag(sock), sock.id))

    # ---------------------------------------------------------------- TLS
    def at_qsslcfg(self, kind, args) -> None:
        if kind == "test":
            return self.info('+QSSLCFG: "%s",(0-5)' % '/'.join(list(SSL_RANGES) + list(SSL_FILES)))
        if kind != "set" or len(args) not in (2, 3):
            raise CmdError(50)
        name = text_arg(args[0])  # lower case only [TinyGSM's note]
        ctx = num(args[1], 0, 5)
        settings = self.ssl[ctx]
        if name not in SSL_RANGES and name not in SSL_FILES:
            raise CmdError(50)
        if len(args) == 2:
            v = getattr(settings, name)
            shown = "0X%04X" % v if name == "ciphersuite" else ('"%s"' % v if name in SSL_FILES else str(v))
            return self.info('+QSSLCFG: "%s",%d,%s' % (name, ctx, shown))
        if name in SSL_RANGES:
            setattr(settings, name, num(args[2], *SSL_RANGES[name]))
        else:
            setattr(settings, name, text_arg(args[2]))
        self.ok()

    def at_qsslopen(self, kind, args) -> None:
        if kind == "test":
            return self.info('+QSSLOPEN: (1-16),(0-5),(0-11),"<serveraddr>",(1-65535),(0-2)')
        if kind != "set" or len(args) not in (5, 6):
            raise CmdError(50)
        cid, sctx, sid = self._cid(args[0]), num(args[1], 0, 5), num(args[2], 0, 11)
        host, port = text_arg(args[3]), num(args[4], 1, 65535)
        access = num(args[5], 0, 2) if len(args) == 6 else BUFFER
        if sid in self.socks:
            return self._refuse("+QSSLOPEN", sid, access, E_IN_USE)
        if cid not in self.active:
            return self._refuse("+QSSLOPEN", sid, access, E_NO_PDP)
        sock = QSock(self, sid, "TCP", host, port, 0, cid, access)
        sock.tls = True
        sock.ssl_ctx = sctx
        sock.ssl_setup = self.ssl[sctx].snapshot(self.files)  # the settings and files of now
        self.socks[sid] = sock
        self._connect("+QSSLOPEN", sock)

    # ---------------------------------------------------------------- files (UFS)
    def at_qfupl(self, kind, args) -> None:
        if kind != "set" or not 2 <= len(args) <= 4:
            raise CmdError(50)
        name = ufs_name(args[0])
        size = num(args[1], 1, FILE_MAX)
        if len(args) > 2:
            num(args[2], 1, 65535)  # <timeout>: the emulator's payload timeout applies
        if len(args) > 3 and num(args[3], 0, 1):
            raise CmdError(50)  # <ackmode> 1 is not emulated
        if name in self.files:
            raise CmdError(F_EXISTS)
        self.resp("CONNECT")
        self.expect_payload(size, lambda data: self._uploaded(name, size, data))

    def _uploaded(self, name: str, size: int, data: bytes) -> None:
        if len(data) != size:
            return self.error(F_TIMEOUT)
        self.files[name] = data
        self.info("+QFUPL: %d,%x" % (size, checksum(data)))

    def at_qflst(self, kind, args) -> None:
        if kind == "test":
            return self.ok()
        pattern = "*" if kind != "set" else ufs_name(args[0])
        if pattern == "*":
            names = sorted(self.files)
        elif pattern in self.files:
            names = [pattern]
        else:
            raise CmdError(F_NOT_FOUND)
        self.info(*['+QFLST: "UFS:%s",%d' % (n, len(self.files[n])) for n in names])

    def at_qfdel(self, kind, args) -> None:
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        name = ufs_name(args[0])
        if name == "*":
            self.files.clear()
        elif self.files.pop(name, None) is None:
            raise CmdError(F_NOT_FOUND)
        self.ok()
