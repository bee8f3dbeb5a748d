"""Firmware variants: every answer form that differs between the manuals and what real
firmware shows (/work/notes/real-modules-research.md), in one place per dialect.

A module asks its forms object (`module.fw`) for each such line; the dialect code holds the
mechanics (sockets, timing, state) and never tests a variant's name. `manual` is the
readings in docs/nm28.md, docs/l610.md and docs/quectel.md, byte for byte; each variant is a small subclass
that overrides only the forms it changes. The orthogonal quirks (`push_trailer`,
`echo_sticks`, `model`) are settings of their own, combinable with any variant.

    Emulator("l610", firmware="g510", push_trailer=False)
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Type

from .parsing import CME_TEXT


class Forms:
    """What both dialects share: error lines, boot URCs, the orthogonal quirks."""

    name = "manual"
    boot_urcs: tuple = ()

    def __init__(self, cfg):
        self.trailer = b"\r\n" if cfg.push_trailer else b""  # after pushed data
        self.echo_sticks = bool(cfg.echo_sticks)
        model = cfg.model
        self.model = model.encode("utf-8") if isinstance(model, str) else model

    def error_line(self, cmee: int, code: int) -> str:
        if cmee == 2:
            return "+CME ERROR: " + CME_TEXT.get(code, "unknown")
        if cmee == 1:
            return "+CME ERROR: %d" % code
        return "ERROR"


# ---------------------------------------------------------------- Fibocom L610 (+MIP*)
class L610Manual(Forms):
    """docs/l610.md."""

    boot_urcs = ("AT command ready",)
    open_result_first = False  # AT+MIPOPEN: OK now, +MIPOPEN: <id>,<st> later
    # a dial the network refuses (Emulator.refuse_dial): OK, later +MIPCALL: 0
    dial_refused_by_error = False
    tight: Sequence[str] = ()  # tags written without the space after the colon

    def tag(self, name: str) -> str:
        return name + (":" if name in self.tight else ": ")

    def id_list(self, ids) -> str:
        return ",".join(str(i) for i in ids) if ids else "0"

    def call_result(self, ip: str) -> str:
        return "+MIPCALL: %s" % ip

    def call_state(self, ip: Optional[str], dialling: bool) -> str:
        return "+MIPCALL: 1,%s" % ip if ip else "+MIPCALL: 0"

    def push_line(self, sid: int, st: int, acked: int) -> str:
        return self.tag("+MIPPUSH") + "%d,%d" % (sid, st)

    def send_line(self, sid: int, st: int, free: int) -> str:
        return self.tag("+MIPSEND") + "%d,%d,%d" % (sid, st, free)

    def close_line(self, sid: int, acked: int, ctype: int) -> str:
        return self.tag("+MIPCLOSE") + "%d,%d" % (sid, ctype)

    def ack_line(self, sid: int, acked: int) -> Optional[str]:
        """The notice that sent data was acknowledged; None: this firmware sends none."""
        return None

    def read_answer(self, sid: int, data: bytes) -> bytes:
        return b"\r\n+MIPDATA: %d,%d\r\n" % (sid, len(data)) + data + b"\r\nOK\r\n"


class G510(L610Manual):
    """The G24/G510/G610 lineage the +MIP set comes from."""

    name = "g510"
    boot_urcs = ("Wait...AT command ready",)  # G5X0
    open_result_first = True  # G610-A50: +MIPOPEN: <id>,1 then OK
    # `ERROR: <n>` at once, `+MIPCALL: 0` shortly after, busy until then (G610's comment in
    # DecodeRecvPPPStt; RTT and ONEOS pause before they redial)
    dial_refused_by_error = True

    def call_result(self, ip: str) -> str:
        return "+MIPCALL: 1,%s" % ip  # RUST parser, RTT's read of AT+MIPCALL?

    def call_state(self, ip: Optional[str], dialling: bool) -> str:
        return "+MIPCALL: 2" if dialling else super().call_state(ip, dialling)  # RUST, SMDI

    def push_line(self, sid: int, st: int, acked: int) -> str:
        return self.tag("+MIPPUSH") + "%d,%d,%d" % (sid, st, acked)  # G610 FAE log, G24

    def close_line(self, sid: int, acked: int, ctype: int) -> str:
        return self.tag("+MIPCLOSE") + "%d,%d,%d" % (sid, acked, ctype)  # G610

    def ack_line(self, sid: int, acked: int) -> Optional[str]:
        return self.tag("+MIPSTAT") + "%d,0,%d" % (sid, acked)  # G24 p.3-400, G5X0

    def read_answer(self, sid: int, data: bytes) -> bytes:
        return super().read_answer(sid, data) if data else b"\r\nOK\r\n"  # RYAT (L710)

    def error_line(self, cmee: int, code: int) -> str:
        return "ERROR: %d" % code  # G24's extended error; G610


class G24(G510):
    """The old Motorola G24 spellings on top of g510."""

    name = "g24"
    tight = ("+MIPSEND", "+MIPPUSH", "+MIPCLOSE", "+MIPSTAT")  # G24 p.4-31

    def id_list(self, ids) -> str:
        """As in the manual's log, `2,3,4, 5, 6`: a space after every comma past the second."""
        if not ids:
            return "0"
        words = [str(i) for i in ids]
        return ", ".join([",".join(words[:3])] + words[3:])


class G24Old(G24):
    """The first G24 manuals' printed forms (2007, 2008, G24-L) on top of g24."""

    name = "g24-old"

    def id_list(self, ids) -> str:
        return " ".join(str(i) for i in ids) if ids else "0"  # G24-L p.3-278, G24 p.3-395

    def push_line(self, sid: int, st: int, acked: int) -> str:
        return self.tag("+MIPPUSH") + "%d" % st  # G24 p.4-31: `+MIPPUSH:0`

    def send_line(self, sid: int, st: int, free: int) -> str:
        return self.tag("+MIPSEND") + "%d,%d" % (sid, free)  # G24 p.4-31: `+MIPSEND:1,1497`


# ---------------------------------------------------------------- Yuge NM28 (+IP*)
class NM28Manual(Forms):
    """docs/nm28.md."""

    boot_urcs = ("RDY",)
    close_missing = 3  # CME code when AT+IPCLOSE names an id that is not open

    def open_tag(self, ssl: bool) -> str:
        return "+SSLOPEN" if ssl else "+IPOPEN"

    def write_notice(self, ssl: bool, sid: int, n: int) -> Optional[str]:
        """The line before CONNECT in AT+IPSEND; None: this firmware writes none."""
        return "%s: %d,%d" % ("SSLNETWRITE" if ssl else "NETWRITE", sid, n)

    def read_notice(self, ssl: bool, sid: int) -> str:
        return ("+SSLREAD: %d" if ssl else "IPREAD: %d") % sid


class HM609(NM28Manual):
    """The +IP set as the HM609A drivers see it (and the manual's own §2.1 spelling)."""

    name = "hm609"
    close_missing = 913  # HM609A_Tcp_Off() takes a `913` answer as "closed"

    def open_tag(self, ssl: bool) -> str:
        return "+SSLIPOPEN" if ssl else "+IPOPEN"

    def write_notice(self, ssl: bool, sid: int, n: int) -> Optional[str]:
        return None  # the drivers wait for CONNECT alone

    def read_notice(self, ssl: bool, sid: int) -> str:
        return "+SSLREAD: %d" % sid if ssl else "+IPREAD: %d" % sid


# ---------------------------------------------------------------- Quectel (+QI*, +QSSL*, +QF*)
# The TCP/IP result codes (+CME ERROR: <n>, +QIOPEN: <id>,<n>, AT+QIGETERROR) and the file
# codes of AT+QF*, with the texts AT+QIGETERROR and AT+CMEE=2 give.
QUECTEL_TEXT = {
    0: "operate successfully",  # [EG800K-report]
    405: "file not found",
    407: "file already existed",
    421: "time out",
    550: "unknown error",
    551: "operation blocked",
    552: "invalid parameters",
    553: "memory not enough",
    554: "create socket failed",
    555: "operation not supported",
    556: "socket bind failed",
    557: "socket listen failed",
    558: "socket write failed",
    559: "socket read failed",
    560: "socket accept failed",
    561: "open PDP context failed",
    562: "close PDP context failed",
    563: "socket identity has been used",
    564: "DNS busy",
    565: "DNS parse failed",
    566: "socket connect failed",
    567: "socket has been closed",
    568: "operation busy",
    569: "operation timeout",
    570: "PDP context broken down",
    571: "cancel send",
    572: "operation not allowed",
    573: "APN not configured",
    574: "port busy",
}


class QuectelManual(Forms):
    """The EC200U, docs/quectel.md."""

    boot_urcs = ("RDY",)
    sim_urcs = ("+CPIN: READY", "+QIND: SMS DONE")  # once the SIM is ready
    default_model = b"EC200U"
    revision = "EC200UCNAAR03A15M08"  # [EC200U-log]
    contexts = range(1, 8)  # PDP <contextID> [EC200U-AN 2.4.3]
    auth_max = 2  # AT+QICSGP <authentication>: 0 none, 1 PAP, 2 CHAP [EC200U-AN 2.4.2]
    ssl_open_failed = 566  # every failed handshake or verification [EG800K-report]
    # The peer closed in data mode: NO CARRIER, then the "closed" URC too (unconfirmed either
    # way; the driver takes either as the end)
    closed_after_no_carrier = True

    def __init__(self, cfg):
        super().__init__(cfg)
        if self.model is None:
            self.model = self.default_model

    def geterror_line(self, code: int, text: str) -> str:
        return "+QIGETERROR: %d,%s" % (code, text)  # the EG800K's spacing [EG800K-report]

    def error_line(self, cmee: int, code: int) -> str:
        if cmee == 2 and code in QUECTEL_TEXT:
            return "+CME ERROR: " + QUECTEL_TEXT[code]
        return super().error_line(cmee, code)


class BG96(QuectelManual):
    """The BG96 (LTE-M/NB-IoT): the same AT+QI*/AT+QSSL* set; its own identity, boot URCs
    (APP RDY after RDY [TinyGSM]), 16 contexts and PAP-or-CHAP."""

    name = "bg96"
    boot_urcs = ("RDY", "APP RDY")
    sim_urcs = ("+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE")
    default_model = b"BG96"
    revision = "BG96MAR02A07M1G"
    contexts = range(1, 17)
    auth_max = 3


FIRMWARE: Dict[str, Dict[str, Type[Forms]]] = {
    "l610": {c.name: c for c in (L610Manual, G510, G24, G24Old)},
    "nm28": {c.name: c for c in (NM28Manual, HM609)},
    "quectel": {c.name: c for c in (QuectelManual, BG96)},
}


def describe() -> str:
    """`l610: manual, g510, g24, g24-old; nm28: manual, hm609; quectel: manual, bg96`"""
    return "; ".join("%s: %s" % (d, ", ".join(v)) for d, v in FIRMWARE.items())


def check(dialect: str, name: str) -> None:
    """ValueError unless name is a firmware of dialect, naming the valid ones."""
    valid = FIRMWARE.get(dialect, {})
    if name in valid:
        return
    other = [d for d, v in FIRMWARE.items() if name in v and d != dialect]
    why = "is a firmware of %s, not of %s" % (other[0], dialect) if other else "is not a firmware of %s" % dialect
    raise ValueError("%r %s; valid for %s: %s" % (name, why, dialect, ", ".join(valid)))


def forms(dialect: str, cfg) -> Forms:
    check(dialect, cfg.firmware)
    return FIRMWARE[dialect][cfg.firmware](cfg)
