"""Fibocom L610: the +MIP* command set, receive formats, flow control, transparent
mode (docs/l610.md), TLS in the module with AT+GTSSL* (docs/l610-tls.md)."""
from __future__ import annotations

import binascii
import ssl

from . import netconn
from .module import Module
from .parsing import CmdError, num, text_arg
from .sock import Sock
from .variants import L610Manual

HEX_CHUNK = 1024  # bytes per +MIPRTCP line in IPRFMT 0
RAW_CHUNK = 1460

# AT+MIPOPEN's last field [docs/l610-tls.md: RUST, SMDI, ALI]
PROTO_TCP, PROTO_UDP, PROTO_TLS = 0, 1, 2
# AT+GTSSLERR? codes of a failed TLS open [docs/l610-tls.md, SMDI's groups]
SSLERR_HANDSHAKE = -7  # the handshake failed (and any other failure of a TLS open)
SSLERR_VERIFY = -11  # the server's certificate did not verify: CA, name or dates
SSLERR_TRUST = -19  # the trust list is empty or holds a file that is not PEM [SMDI]
TRUST_MIN, TRUST_MAX = 4, 8192  # AT+GTSSLFILE lengths [SMDI's size range]
PEM_MARK = b"-----BEGIN CERTIFICATE-----"


class TlsSetup:
    """The module-wide AT+GTSSL* settings as one open takes them (a snapshot, so that
    later commands do not change a handshake under way)."""

    def __init__(self, mode: int, version: int, trust):
        self.mode, self.version, self.trust = mode, version, list(trust)

    def context(self) -> ssl.SSLContext:
        if self.mode == 1:
            # A file that is not PEM fails the opens while no PEM one is there; a real L610
            # took a good upload after a bad one and opened (docs/l610-tls.md, SMDI)
            cadata = [f.decode("latin-1") for f in self.trust if PEM_MARK in f]  # str: PEM (bytes: DER)
            if not cadata:
                raise netconn.OpenFailed(SSLERR_TRUST, "no PEM trust file")
        else:
            cadata = []
        try:
            return netconn.trust_context(self.mode == 1, cadata, tls12_min=self.version == 4)
        except (ssl.SSLError, ValueError) as e:
            raise netconn.OpenFailed(SSLERR_TRUST, "unreadable trust file: %s" % e)


class L610(Module):
    fw: "L610Manual"  # the firmware variant's answer forms (variants.py)
    MANUFACTURER = "Fibocom"
    MODEL = "L610"
    REVISION = "16000.1000.00.96.20.10_EMU"
    IDS = range(1, 7)
    DIALECT = "l610"  # answer forms: self.fw, variants.L610Manual and its variants

    def __init__(self, *a, **kw):
        self.iprfmt = 0  # kept across power-off [docs/l610.md]
        self.dial_refusals = 0  # the network refuses this many dials (Emulator.refuse_dial)
        self.ssl_uploads = 0  # AT+GTSSLFILE uploads since the emulator started (tests)
        super().__init__(*a, **kw)
        self.handlers.update(
            {
                "+GTSET": self.at_gtset,
                "+MIPCALL": self.at_mipcall,
                "+MIPNTP": self.at_mipntp,
                "+CCLK": self.at_cclk,
                "+MIPOPEN": self.at_mipopen,
                "+MIPSEND": self.at_mipsend,
                "+MIPREAD": self.at_mipread,
                "+MIPCLOSE": self.at_mipclose,
                "+MIPODM": self.at_mipodm,
                "+MIPDNS": self.at_mipdns,
                "+GTSSLVER": self.at_gtsslver,
                "+GTSSLMODE": self.at_gtsslmode,
                "+GTSSLFILE": self.at_gtsslfile,
                "+GTSSLERR": self.at_gtsslerr,
                "O": self.at_o,
            }
        )

    def reset_dialect(self) -> None:
        self.busy = False  # an async command has not finished yet
        self.dialling = False  # AT+MIPCALL=1 answered OK, result not yet out
        self.odm_ids: set = set()
        # TLS: module-wide and lost at power-off [docs/l610-tls.md, "Files are not kept"]
        self.sslver = 0
        self.sslmode = 0
        self.trust: list = []  # the uploaded TRUSTFILEs, bytes, in upload order
        self.sslerr = 0  # the last failed TLS open's code (AT+GTSSLERR?), 0 after a good one

    def tls_state(self) -> dict:
        """For tests (Emulator.tls_state)."""
        return {
            "mode": self.sslmode,
            "version": self.sslver,
            "trust": len(self.trust),
            "uploads": self.ssl_uploads,
            "error": self.sslerr,
        }

    def sim_became_ready(self) -> None:
        self.urc("+SIM READY")

    def _async(self) -> None:
        """The manual's rule: a second async command before the first finished is ERROR."""
        if self.busy:
            raise CmdError(3)
        self.busy = True

    def _done(self, *urcs) -> None:
        self.busy = False
        for u in urcs:
            self.urc(u)

    def _free_line(self, tag: str) -> str:
        return "%s: %s" % (tag, self.fw.id_list(self.free_ids()))

    # ---------------------------------------------------------------- settings
    def at_gtset(self, kind, args) -> None:
        if kind != "set" or not args or text_arg(args[0]).upper() != "IPRFMT":
            raise CmdError(50)
        if len(args) == 1:
            return self.info('+GTSET: "IPRFMT",%d' % self.iprfmt)
        v = num(args[1], 0, 5)
        if v not in (0, 1, 2, 5):
            raise CmdError(50)
        self.iprfmt = v
        for s in self.socks.values():
            if not s.transparent:
                s.buffered = v == 5
        self.cond.notify_all()
        self.ok()
        # Leaving the buffer format pushes what was held, before anything newer (as the
        # NM28 does when a socket leaves buffer mode: our decision, the manual is silent).
        if v != 5:
            for s in list(self.socks.values()):
                while not s.transparent and not s.buffered and s.rx_len():
                    data, addr = s.take(RAW_CHUNK if s.kind == "TCP" else 65536)
                    self.push_data(s, data, addr)

    # ---------------------------------------------------------------- TLS settings
    def _setting(self, tag: str, attr: str, allowed, kind, args) -> None:
        if kind == "read":
            return self.info("%s: %d" % (tag, getattr(self, attr)))
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        v = num(args[0], 0, max(allowed))
        if v not in allowed:
            raise CmdError(50)
        setattr(self, attr, v)
        self.ok()

    def at_gtsslver(self, kind, args) -> None:
        self._setting("+GTSSLVER", "sslver", range(0, 5), kind, args)

    def at_gtsslmode(self, kind, args) -> None:
        self._setting("+GTSSLMODE", "sslmode", (0, 1), kind, args)

    def at_gtsslfile(self, kind, args) -> None:
        if kind == "read":
            return self.info("+GTSSLFILE: TRUSTFILE,%d" % len(self.trust))
        if kind != "set" or len(args) != 2 or text_arg(args[0]).upper() != "TRUSTFILE":
            raise CmdError(50)
        n = num(args[1], TRUST_MIN, TRUST_MAX)
        self._prompt(n, lambda data: self._trust_in(n, data))

    def _trust_in(self, n: int, data: bytes) -> None:
        if len(data) != n:  # the prompt timed out short of <len>
            return self.error(50)
        self.trust.append(data)
        self.ssl_uploads += 1
        self.ok()

    def at_gtsslerr(self, kind, args) -> None:
        if kind != "read":
            raise CmdError(50)
        self.info("+GTSSLERR: %d" % self.sslerr)

    def open_conn(self, sock: Sock) -> netconn.Conn:
        if not sock.tls:
            return super().open_conn(sock)
        setup: TlsSetup = getattr(sock, "tls_setup")  # set by _open_args
        try:
            if self.reg_stat() not in (1, 5):
                raise netconn.OpenFailed(netconn.ERR_CONNECT, "not registered")
            ctx = setup.context()
            return netconn.connect_tls_with(
                sock.host, sock.rport, ctx, self.cfg.connect_timeout, sock.lport, sni=True
            )
        except netconn.OpenFailed as e:
            code = e.code if e.code < 0 else SSLERR_VERIFY if e.code == netconn.ERR_CERT else SSLERR_HANDSHAKE
            raise netconn.OpenFailed(code, str(e))
        except OSError as e:  # a reset during the handshake: TlsConn lets it through
            raise netconn.OpenFailed(SSLERR_HANDSHAKE, "TLS handshake failed: %s" % e)

    # ---------------------------------------------------------------- bearer
    def at_mipcall(self, kind, args) -> None:
        if kind == "read":
            return self.info(self.fw.call_state(self.ip, self.dialling))
        if kind == "test":
            return self.info('+MIPCALL: (0-1),"APN","USERNAME","PASSWORD"')
        if kind != "set" or len(args) not in (1, 2, 4):
            raise CmdError(50)
        up = num(args[0], 0, 1)
        for a in args[1:]:
            text_arg(a, allow_empty=True)
        if up and self.ip:
            raise CmdError(3)
        self._async()
        if up and self.dial_refusals:
            self.dial_refusals -= 1
            self.later(self.cfg.async_delay, self._done, "+MIPCALL: 0")
            if self.fw.dial_refused_by_error:
                raise CmdError(148)
            return self.ok()
        self.ok()
        if not up:
            for s in list(self.socks.values()):
                if not s.dead:
                    self.sock_lost(s, peer_closed=False)
            self.ip = None
            return self.later(self.cfg.async_delay, self._done, "+MIPCALL: 0")
        self.dialling = True
        self.later(self.cfg.async_delay, self._dialled)

    def at_mipntp(self, kind, args) -> None:
        """AT+MIPNTP="<server>",<port>: OK, then +MIPNTP: 1 (docs/l610-tls.md, NTP); the
        host's clock stands in for the server's. Without a bearer: +MIPNTP: 0."""
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        text_arg(args[0])
        num(args[1], 1, 65535)
        self._async()
        self.ok()
        self.later(self.cfg.async_delay, self._done, "+MIPNTP: %d" % (1 if self.ip else 0))

    def at_cclk(self, kind, args) -> None:
        if kind != "read":
            raise CmdError(50)
        import time

        self.info('+CCLK: "%s+00"' % time.strftime("%y/%m/%d,%H:%M:%S", time.gmtime()))

    def _dialled(self) -> None:
        self.dialling = False
        if self.reg_stat() not in (1, 5):
            return self._done("+MIPCALL: 0")
        self.ip = self.cfg.local_ip
        self._done(self.fw.call_result(self.ip))

    # ---------------------------------------------------------------- open and close
    def _open_args(self, args, tls: bool = False):
        """tls: protocol 2 is allowed (AT+MIPOPEN; AT+MIPODM has no TLS in any source)."""
        if len(args) != 5:
            raise CmdError(50)
        sid = num(args[0], 1, 6)
        lport = num(args[1], 0, 65535) if args[1] else 0
        host = text_arg(args[2])
        rport, proto = num(args[3], 1, 65535), num(args[4], 0, PROTO_TLS if tls else PROTO_UDP)
        if self.ip is None or sid in self.socks:
            raise CmdError(3)
        sock = Sock(self, sid, "UDP" if proto == PROTO_UDP else "TCP", host, rport, lport)
        if proto == PROTO_TLS:
            sock.tls = True
            sock.tls_setup = TlsSetup(self.sslmode, self.sslver, self.trust)  # type: ignore[attr-defined]
        return sock

    def at_mipopen(self, kind, args) -> None:
        if kind == "read":
            return self.info(self._free_line("+MIPOPEN"))
        if kind == "test":
            return self.info('+MIPOPEN: (1-6),(0-65535),"(0-255).(0-255).(0-255).(0-255)",(0-65535),(0-2)')
        sock = self._open_args(args, tls=True)
        self._async()
        sock.buffered = self.iprfmt == 5
        self.socks[sock.id] = sock
        if self.fw.open_result_first:
            return self.connect_async(sock, lambda err, why: self._opened(sock, err, ok_after=True))
        self.ok()
        self.connect_async(sock, lambda err, why: self._opened(sock, err))

    def _opened(self, sock: Sock, err: int, ok_after: bool = False) -> None:
        if sock.tls:
            self.sslerr = err  # 0, or the GTSSLERR code open_conn gave the failure
        self._done("+MIPOPEN: %d,%d" % (sock.id, 0 if err else 1))
        if ok_after:
            self.ok()

    def at_mipodm(self, kind, args) -> None:
        if kind == "read":
            return self.info(self._free_line("+MIPODM"))
        if kind == "test":
            return self.info('+MIPODM: (1-6),(0-65535),"(0-255).(0-255).(0-255).(0-255)",(0-65535),(0-1)')
        sock = self._open_args(args)
        self._async()
        self.socks[sock.id] = sock
        self.ok()

        def opened(err, why):
            if err:
                return self._done("+MIPODM: %d,0" % sock.id)
            self._done("+MIPODM: %d,1" % sock.id)
            self.odm_ids.add(sock.id)
            self.enter_data(sock)

        self.connect_async(sock, opened)

    def at_o(self, kind, args) -> None:
        for sid in sorted(self.odm_ids):
            sock = self.socks.get(sid)
            if sock is not None and sock.state == "open":
                self.resp("CONNECT")
                return self.enter_data(sock)
        self.resp("NO CARRIER")

    def left_data(self, sock: Sock) -> None:
        sock.notified = True  # data held while in command mode waits for ATO, unannounced

    def at_mipclose(self, kind, args) -> None:
        if kind == "read":
            return self.info(self.fw.tag("+MIPCLOSE") + self.fw.id_list(sorted(self.socks)))
        if kind == "test":
            return self.info(self.fw.tag("+MIPCLOSE") + "(1-6)")
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        sock = self.socks.get(num(args[0], 1, 6))
        if sock is None:
            raise CmdError(3)
        self._async()
        self.ok()
        self.later(self.cfg.async_delay, self._closed, sock)

    def _closed(self, sock: Sock) -> None:
        self.close_sock(sock)
        self.odm_ids.discard(sock.id)
        self._done(self.fw.close_line(sock.id, self._acked(sock), 0))

    def report_closed(self, sock: Sock) -> None:
        self.urc(self.fw.tag("+MIPSTAT") + "%d,1" % sock.id)

    @staticmethod
    def _acked(sock: Sock) -> int:
        """Bytes of this socket the network took (our stand-in for "acknowledged")."""
        return sock.queued - sock.tx_len

    def _ack_notice(self, sock: Sock) -> None:
        """Once the data sent so far has all left: the firmware's acknowledgement notice
        (none in the manual's forms). Never inside a send's answer: it follows that."""
        acked = self._acked(sock)
        line = self.fw.ack_line(sock.id, acked)
        if not line or sock.tx_len or acked <= sock.acked_told or sock.dead or sock.transparent:
            return
        if self.responding:
            return self.later(0.01, self._ack_notice, sock)
        sock.acked_told = acked
        self.urc(line)

    # ---------------------------------------------------------------- send and flow control
    def at_mipsend(self, kind, args) -> None:
        if kind == "test":
            return self.info(self.fw.tag("+MIPSEND") + "(1-6),(1-2048)")
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        sock = self.socks.get(num(args[0], 1, 6))
        n = num(args[1], 1, 2048)
        if sock is None or sock.state != "open":
            raise CmdError(3)
        self._prompt(n, lambda data: self._sent(sock, data))

    def _prompt(self, n: int, done) -> None:
        """The `>` prompt, then the next n bytes from the host (raw, not echoed) go to
        done; a timeout gives it fewer. AT+MIPSEND and AT+GTSSLFILE."""
        self.out(b"\r\n>")
        self.expect_payload(n, done)

    def _sent(self, sock: Sock, data: bytes) -> None:
        if sock.dead or not data:
            return self.error(3)
        sock.queue(data)
        # Report the buffer as the network leaves it a moment later (2048 when idle [docs/l610.md]).
        self.responding = True
        self.cond.wait_for(lambda: sock.tx_len == 0 or sock.dead or sock.hold, 0.05)
        self.responding = False
        self.cond.notify_all()
        free = max(0, self.cfg.send_buffer - sock.tx_len)
        self.resp(self.fw.push_line(sock.id, 0, self._acked(sock)))
        self.resp(self.fw.send_line(sock.id, 1 if sock.xoff else 0, free))
        self.ok()
        if not free and not sock.xoff:
            sock.xoff = True
            self.urc("+MIPXOFF: %d" % sock.id)
        self._ack_notice(sock)

    def tx_drained(self, sock: Sock) -> None:
        self._ack_notice(sock)
        if sock.xoff and not sock.hold and sock.tx_len <= self.cfg.send_buffer // 2:
            sock.xoff = False
            self.urc("+MIPXON: %d" % sock.id)

    def hold_flow(self, sock: Sock, on: bool) -> None:
        sock.hold = on
        if on and not sock.xoff:
            sock.xoff = True
            self.urc("+MIPXOFF: %d" % sock.id)
        self.cond.notify_all()
        if not on:
            self.tx_drained(sock)

    # ---------------------------------------------------------------- receive
    def push_data(self, sock: Sock, data: bytes, addr) -> None:
        fmt = self.iprfmt
        if fmt == 1:
            return self.out(data)
        udp = sock.kind == "UDP"
        head = ("+MIPRUDP: %s,%d,%d," % (addr[0], addr[1], sock.id)) if udp else ("+MIPRTCP: %d," % sock.id)
        if fmt == 0:
            step = len(data) if udp else HEX_CHUNK  # a datagram is one URC, whole [SPEC]
            for i in range(0, len(data), max(1, step)):
                part = data[i : i + step]
                left = len(data) - i - len(part)
                self.out(b"\r\n%s%d,%s\r\n" % (head.encode(), left, binascii.hexlify(part).upper()))
            return
        step = len(data) if udp else RAW_CHUNK  # a datagram is one URC, whole [SPEC]
        for i in range(0, len(data), max(1, step)):
            part = data[i : i + step]
            self.out(b"\r\n%s%d," % (head.encode(), len(part)) + part + self.fw.trailer)

    def data_waiting(self, sock: Sock) -> None:
        if sock.transparent:
            return
        self.urc("+MIPREAD: %d,%d" % (sock.id, sock.rx_len()))

    def at_mipread(self, kind, args) -> None:
        if kind != "set" or len(args) != 2:
            raise CmdError(50)
        sid, n = num(args[0], 1, 6), num(args[1], 1, 2048)
        sock = self.socks.get(sid)
        if sock is None:
            raise CmdError(3)
        data, _ = sock.take(n)
        self.out(self.fw.read_answer(sid, data))
        self.cond.notify_all()

    def at_mipdns(self, kind, args) -> None:
        if kind != "set" or len(args) != 1:
            raise CmdError(50)
        name = text_arg(args[0])
        if self.ip is None:
            raise CmdError(3)
        ips = netconn.resolve_all(name)
        if not ips:
            raise CmdError(100)
        self.info('+MIPDNS: "%s",%s' % (name, ",".join(ips)))
