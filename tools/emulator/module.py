"""What both virtual modules share: AT line handling, echo, errors, the common 3GPP
commands, payload prompts, data (transparent) mode with the `+++` guard time, the sockets'
network threads, timers and fault hooks. A dialect subclasses `Module` and adds its words;
the answer forms that differ between firmware come from `self.fw` (variants.py).

Concurrency: one re-entrant lock (`self.lock`, with `self.cond` on it) guards all module
state. The line's reader thread, the network threads and the timer thread take it; nothing
blocks while holding it except through `self.cond.wait`.
"""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Dict, List, Optional

from . import netconn, variants
from .config import Config  # noqa: F401  (re-exported: emulator.py, tests)
from .parsing import CmdError, _nothing, num, parse_args, text_arg
from .sock import Sock
from .timers import Scheduler

CMD, PAYLOAD, DATA = 0, 1, 2
LINE_MAX = 4400  # longest command line: AT+IPSENDEX with 2048 hex chars and a peer address


class Module:
    MANUFACTURER = ""
    MODEL = ""
    REVISION = ""
    IDS = range(0)
    DIALECT = ""  # its key in variants.FIRMWARE

    def __init__(self, cfg: Config, line_write: Callable[[bytes], None], wait_room: Callable):
        self.cfg = cfg
        self.fw = variants.forms(self.DIALECT, cfg)  # the firmware's answer forms
        self.MODEL = self.MODEL if self.fw.model is None else self.fw.model
        self.write = line_write
        self.wait_line_room = wait_room
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.sched = Scheduler(self.lock)
        self.gen = 0
        self.faults: List[list] = []  # [prefix, action, remaining or None]
        self.socks: Dict[int, Sock] = {}
        self.reg_forced: Optional[int] = None
        self.powered = True
        self.responding = False
        self.handlers: Dict[str, Callable] = {
            "": lambda k, a: self.ok(),
            "E": self.at_echo,
            "I": self.at_ati,
            "+CMEE": self.at_cmee,
            "+CGMI": lambda k, a: self.info(self.MANUFACTURER),
            "+CGMM": lambda k, a: self.info(self.MODEL),
            "+CGMR": lambda k, a: self.info(self.REVISION),
            "+CGSN": lambda k, a: self.info(self.IMEI),
            "+CIMI": lambda k, a: self.info("460001234567890"),
            "+CPIN": self.at_cpin,
            "+CSQ": self.at_csq,
            "+CGREG": lambda k, a: self.at_creg("+CGREG", k, a),
            "+CEREG": lambda k, a: self.at_creg("+CEREG", k, a),
            "+CGDCONT": self.at_cgdcont,
            "+CFUN": self.at_cfun,
            "+CPWROFF": self.at_cpwroff,
            "+IPR": self.at_ipr,
        }
        self.ipr = 115200  # the rate AT+IPR set (V.250); the line's pacing follows it
        self.rate_changed: Optional[Callable[[int], None]] = None
        self.IMEI = "86%013d" % (abs(hash(self.MODEL)) % 10**13)
        self.csq = (31, 99)
        self.apn = ""
        self.pin_tries = 3  # the SIM's own count: it survives power-off
        with self.lock:
            self.boot()

    # ---------------------------------------------------------------- power and boot
    def boot(self) -> None:
        """Power-on state: echo on, no PDP context, no sockets, boot URCs after boot_delay."""
        self.gen += 1
        for s in list(self.socks.values()):
            s.kill(abort=True)
        self.socks.clear()
        self.echo = True
        self.cmee = 0
        self.creg_n = {"+CGREG": 0, "+CEREG": 0}
        self.mode = CMD
        self.linebuf = bytearray()
        self.payload = bytearray()
        self.payload_need = 0
        self.payload_done: Callable[[bytes], None] = _nothing
        self.data_sock: Optional[Sock] = None
        self.esc = b""
        self.last_rx = 0.0
        self.cfun = 1
        self.ip: Optional[str] = None
        self.ready = False
        self.powered = True
        now = time.monotonic()
        self.sim_at = now + self.cfg.boot_delay + self.cfg.sim_delay
        self.reg_at = self.sim_at + self.cfg.reg_delay
        self.pin_ok = self.cfg.sim_pin is None  # a SIM with a PIN asks for it at every power-on
        self.reset_dialect()
        self.later(self.cfg.boot_delay, self._booted)

    def reset_dialect(self) -> None:
        pass

    def _booted(self) -> None:
        self.ready = True
        for urc in self.fw.boot_urcs:
            self.urc(urc)
        self.later(max(0.0, self.sim_at - time.monotonic()), self.sim_became_ready)

    def sim_became_ready(self) -> None:
        pass

    def later(self, delay: float, fn: Callable, *args) -> None:
        """Run fn after delay unless the module rebooted in between."""
        gen = self.gen

        def run():
            if self.gen == gen and self.powered:
                fn(*args)

        self.sched.at(delay, run)

    def sim_ready(self) -> bool:
        return time.monotonic() >= self.sim_at

    def reg_stat(self) -> int:
        if self.reg_forced is not None:
            return self.reg_forced
        if self.cfun != 1 or not self.sim_ready() or not self.pin_ok:
            return 0
        return 1 if time.monotonic() >= self.reg_at else 2

    # ---------------------------------------------------------------- output
    def out(self, data: bytes) -> None:
        self.write(data)

    def urc(self, text) -> None:
        self.resp(text)

    def resp(self, text) -> None:
        if isinstance(text, str):
            text = text.encode("latin-1")
        self.write(b"\r\n" + text + b"\r\n")

    def ok(self) -> None:
        self.resp("OK")

    def info(self, *lines) -> None:
        for line in lines:
            self.resp(line)
        self.ok()

    def error(self, code: int = 100) -> None:
        self.resp(self.fw.error_line(self.cmee, code))

    # ---------------------------------------------------------------- input
    def feed(self, data: bytes) -> None:
        with self.lock:
            if not self.powered or not self.ready:
                return
            i, n = 0, len(data)
            while i < n:
                if self.mode == PAYLOAD:
                    i = self._payload_in(data, i)
                elif self.mode == DATA:
                    self._data_in(data[i:])
                    return
                else:
                    i = self._cmd_in(data, i)

    def _cmd_in(self, data: bytes, i: int) -> int:
        j = data.find(b"\r", i)
        end = len(data) if j < 0 else j + 1
        seg = data[i:end]
        if self.echo:
            self.out(seg)
        self.linebuf += seg
        if j >= 0:
            line, self.linebuf = bytes(self.linebuf[:-1]), bytearray()
            self.execute(line)
        elif len(self.linebuf) > LINE_MAX:
            self.linebuf = bytearray(b"\0")  # keep failing until the CR: too long
        return end

    def execute(self, raw: bytes) -> None:
        raw = raw.strip(b"\n \0") if not raw.startswith(b"\0") else b"\0"
        if not raw:
            return
        if raw[:2].upper() != b"AT" or any(c < 0x20 or c > 0x7E for c in raw):
            self.resp("ERROR")
            return
        text = raw.decode("ascii")
        for rule in self.faults:
            if text.upper().startswith(rule[0]) and rule[2] != 0:
                if rule[2] is not None:
                    rule[2] -= 1
                if rule[1] == "error":
                    self.resp("ERROR")
                return
        body = text[2:]
        if body[:1] in ("+", "&", "^"):
            k = len(body)
            for c in "=?":
                p = body.find(c)
                if 0 <= p < k:
                    k = p
            name, rest = body[:k].upper(), body[k:]
            if rest.startswith("=?"):
                kind, argtext = "test", ""
            elif rest.startswith("="):
                kind, argtext = "set", rest[1:]
            elif rest == "?":
                kind, argtext = "read", ""
            elif rest == "":
                kind, argtext = "exec", ""
            else:
                self.resp("ERROR")
                return
        else:
            name, kind, argtext = body[:1].upper(), "exec", body[1:]
        handler = self.handlers.get(name)
        if handler is None:
            self.resp("ERROR")
            return
        try:
            if name.isalpha() or name == "":
                args = [argtext]
            else:
                args = parse_args(argtext) if kind == "set" else []
            handler(kind, args)
        except CmdError as e:
            self.error(e.code)

    # ---------------------------------------------------------------- payload prompts
    def expect_payload(self, n: int, done: Callable[[bytes], None]) -> None:
        """After a prompt: the next n bytes from the host are data, not commands."""
        self.mode = PAYLOAD
        self.payload = bytearray()
        self.payload_need = n
        self.payload_done = done
        token = object()
        self.payload_token = token
        self.later(self.cfg.payload_timeout, self._payload_timeout, token)

    def _payload_timeout(self, token) -> None:
        if self.mode == PAYLOAD and self.payload_token is token:
            self._finish_payload()

    def _payload_in(self, data: bytes, i: int) -> int:
        take = min(self.payload_need - len(self.payload), len(data) - i)
        self.payload += data[i : i + take]
        if len(self.payload) >= self.payload_need:
            self._finish_payload()
        return i + take

    def _finish_payload(self) -> None:
        data, done = bytes(self.payload), self.payload_done
        self.mode, self.payload, self.payload_done = CMD, bytearray(), _nothing
        done(data)

    # ---------------------------------------------------------------- data mode
    def enter_data(self, sock: Sock) -> None:
        """The UART carries this socket's bytes; held data is delivered first."""
        self.mode = DATA
        self.data_sock = sock
        sock.transparent = True
        sock.buffered = False
        self.esc = b""
        self.last_rx = time.monotonic()
        if sock.rx_len():
            data, _ = sock.take(sock.rx_len())
            self.out(data)
        self.cond.notify_all()

    def _data_in(self, chunk: bytes) -> None:
        now = time.monotonic()
        sock = self.data_sock
        if sock is None:
            return
        quiet = now - self.last_rx >= self.cfg.guard_time
        self.last_rx = now
        cand = self.esc + chunk
        if (self.esc or quiet) and len(cand) <= 3 and cand == b"+" * len(cand):
            self.esc = cand
            if cand == b"+++":
                self.later(self.cfg.guard_time, self._guard_after, now)
            return
        self.esc = b""
        while sock.tx_len >= self.cfg.send_buffer and not sock.dead and self.mode == DATA:
            # The UART is the bottleneck of the host, like RTS/CTS: stop reading it.
            self.cond.wait(0.5)
        if not sock.dead and self.mode == DATA:
            sock.queue(cand)

    def _guard_after(self, stamp: float) -> None:
        if self.mode == DATA and self.esc == b"+++" and self.last_rx == stamp:
            self.esc = b""
            self.leave_data()
            self.ok()

    def leave_data(self) -> None:
        sock = self.data_sock
        self.mode = CMD
        self.data_sock = None
        if sock is not None:
            sock.buffered = True
            self.left_data(sock)
        self.cond.notify_all()

    def left_data(self, sock: Sock) -> None:
        pass

    # ---------------------------------------------------------------- sockets
    def free_ids(self) -> List[int]:
        return [i for i in self.IDS if i not in self.socks]

    def connect_async(self, sock: Sock, done: Callable) -> None:
        """Open sock on the host network in a thread; done(err, why) runs under the lock."""
        gen = self.gen

        def work():
            try:
                conn = self.open_conn(sock)
                err, why = 0, ""
            except netconn.OpenFailed as e:
                conn, err, why = None, e.code, str(e)
            time.sleep(self.cfg.async_delay)
            with self.lock:
                if self.gen != gen or sock.dead or self.socks.get(sock.id) is not sock:
                    if conn is not None:
                        conn.close()
                    return
                if conn is not None:
                    sock.start(conn)
                else:
                    del self.socks[sock.id]
                    sock.dead = True
                done(err, why)

        netconn.spawn(work)

    def open_conn(self, sock: Sock) -> netconn.Conn:
        if self.reg_stat() not in (1, 5):
            raise netconn.OpenFailed(netconn.ERR_CONNECT, "not registered")
        if sock.kind == "UDP":
            return netconn.open_udp(sock.host, sock.rport, sock.lport, self.cfg.listen_host)
        if sock.tls:
            return netconn.connect_tls(
                sock.host, sock.rport, self.tls_settings(sock.id), self.cfg.cert_dir, sock.lport
            )
        return netconn.connect_tcp(sock.host, sock.rport, self.cfg.connect_timeout, sock.lport)

    def tls_settings(self, sid: int) -> netconn.TlsSettings:
        raise netconn.OpenFailed(netconn.ERR_TLS, "no TLS on this module")

    def sock_rx(self, sock: Sock, data: bytes, addr) -> None:
        if sock.transparent and self.data_sock is sock:
            self.out(data)
        elif sock.buffered:
            sock.keep(data, addr)
            self.data_waiting(sock)
        else:
            self.push_data(sock, data, addr)

    def sock_lost(self, sock: Sock, peer_closed: bool) -> None:
        """The peer closed or the link broke: the id stays taken until the host closes it."""
        was_data = self.data_sock is sock and self.mode == DATA
        sock.kill(abort=not peer_closed)
        if was_data:
            self.mode = CMD
            self.data_sock = None
            self.resp("NO CARRIER")
        self.report_closed(sock)

    def close_sock(self, sock: Sock) -> None:
        sock.kill()
        self.socks.pop(sock.id, None)
        if self.data_sock is sock:
            self.data_sock = None
            self.mode = CMD

    def tx_drained(self, sock: Sock) -> None:
        pass

    def send_room(self, sock: Sock, cap: int) -> bool:
        """Whether sock's send buffer takes more data (holds less than cap), after waiting up
        to send_wait for the network to make room: a full buffer refuses data after a moment
        (the NM28's and Quectel's SEND FAIL)."""
        if sock.tx_len >= cap:
            self.cond.wait_for(lambda: sock.tx_len < cap or sock.dead, self.cfg.send_wait)
        return not sock.dead and sock.tx_len < cap

    def push_held(self, sock: Sock, limit: int) -> None:
        """A socket that left buffer mode pushes what it held (limit bytes a push), before
        anything newer."""
        while not sock.buffered and not sock.transparent and sock.rx_len():
            data, addr = sock.take(limit)
            self.push_data(sock, data, addr)

    def accept_loop(self, lsock: Sock, accepted: Callable) -> None:
        """A TCP listener's thread: each client goes to accepted(client, addr) under the lock
        (which announces it or refuses it); a client of a closed listener is closed."""
        listener = lsock.listener
        assert listener is not None
        while True:
            try:
                client, addr = listener.accept()
            except OSError:
                return
            with self.lock:
                if lsock.dead:
                    client.close()
                    continue
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                accepted(client, addr)

    # Dialect hooks
    def push_data(self, sock: Sock, data: bytes, addr) -> None:
        raise NotImplementedError

    def data_waiting(self, sock: Sock) -> None:
        raise NotImplementedError

    def report_closed(self, sock: Sock) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- common commands
    def at_echo(self, kind, args) -> None:
        v = args[0] or "0"
        if v not in ("0", "1"):
            raise CmdError(50)
        self.echo = v == "1" or self.fw.echo_sticks
        self.ok()

    def at_ati(self, kind, args) -> None:
        self.info(self.MANUFACTURER, self.MODEL, "Revision: " + self.REVISION)

    def at_cmee(self, kind, args) -> None:
        if kind == "read":
            return self.info("+CMEE: %d" % self.cmee)
        if kind == "test":
            return self.info("+CMEE: (0-2)")
        self.cmee = num(args[0], 0, 2)
        self.ok()

    def at_cpin(self, kind, args) -> None:
        """3GPP TS 27.007 +CPIN: READY, or SIM PIN until AT+CPIN="<pin>"; three wrong PINs
        and the SIM wants its PUK (which the emulator never accepts)."""
        if kind not in ("read", "set"):
            raise CmdError(4)
        if not self.sim_ready():
            raise CmdError(14)
        tries = self.pin_tries
        if kind == "read":
            return self.info("+CPIN: " + ("READY" if self.pin_ok else "SIM PIN" if tries else "SIM PUK"))
        if self.pin_ok:
            raise CmdError(3)
        if not tries:
            raise CmdError(12)
        if not args or str(args[0]) != self.cfg.sim_pin:
            self.pin_tries = tries - 1
            raise CmdError(16)
        self.pin_ok = True
        self.reg_at = time.monotonic() + self.cfg.reg_delay
        self.ok()

    def at_ipr(self, kind, args) -> None:
        """ITU-T V.250 +IPR: the UART rate, from after this command's OK."""
        if kind == "read":
            return self.info("+IPR: %d" % self.ipr)
        if kind == "test":
            return self.info("+IPR: (),(9600,19200,38400,57600,115200,230400,460800,921600)")
        try:
            rate = int(args[0])
        except (IndexError, ValueError):
            raise CmdError(50)
        if rate not in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600):
            raise CmdError(50)
        self.ok()
        self.ipr = rate
        if self.rate_changed is not None:
            self.rate_changed(rate)

    def at_csq(self, kind, args) -> None:
        if kind == "test":
            return self.info("+CSQ: (0-31,99),(0-7,99)")
        self.info("+CSQ: %d,%d" % (self.csq if self.cfun == 1 else (99, 99)))

    def at_creg(self, name: str, kind, args) -> None:
        if kind == "read":
            return self.info("%s: %d,%d" % (name, self.creg_n[name], self.reg_stat()))
        if kind == "test":
            return self.info("%s: (0-2)" % name)
        self.creg_n[name] = num(args[0], 0, 2)
        self.ok()

    def registration_changed(self) -> None:
        for name, n in self.creg_n.items():
            if n:
                self.urc("%s: %d" % (name, self.reg_stat()))

    def at_cgdcont(self, kind, args) -> None:
        if kind == "read":
            return self.info('+CGDCONT: 1,"IP","%s"' % self.apn)
        if kind != "set" or len(args) < 3:
            raise CmdError(50)
        num(args[0], 1, 15)
        if text_arg(args[1]).upper() not in ("IP", "IPV6", "IPV4V6"):
            raise CmdError(50)
        self.apn = text_arg(args[2], allow_empty=True)
        self.ok()

    def at_cfun(self, kind, args) -> None:
        if kind == "read":
            return self.info("+CFUN: %d" % self.cfun)
        if kind == "test":
            return self.info("+CFUN: (0,1,4)")
        v = num(args[0], 0, 4)
        if v not in (0, 1, 4):
            raise CmdError(50)
        if v != 1:
            self.ip = None
            for s in list(self.socks.values()):
                if not s.dead:
                    self.sock_lost(s, peer_closed=False)
        elif self.cfun != 1:
            self.reg_at = time.monotonic() + self.cfg.reg_delay
        self.cfun = v
        self.ok()

    def at_cpwroff(self, kind, args) -> None:
        self.ok()
        self.power_off()

    def power_off(self) -> None:
        self.gen += 1
        for s in list(self.socks.values()):
            s.kill(abort=True)
        self.socks.clear()
        self.powered = False
