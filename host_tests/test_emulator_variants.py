"""Firmware variants of the virtual modules (tools/emulator/variants.py), byte for byte.

One test per form a variant changes, from /work/notes/real-modules-research.md. `manual`
(the default) is what test_emulator_manuals.py replays; the last tests here check that
naming it is the same as not naming it, and how a wrong name is refused."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from host_tests.emu_helpers import L610Words, NM28Words, free_port
from tools import loopback
from tools.emulator import Emulator
from atmodem.dialects import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IP = b"10.166.80.147"
GBK_YUGE = "域格".encode("gbk")  # b"\xd3\xf2\xb8\xf1": not UTF-8
GBK_FIBOCOM = "广和通".encode("gbk")


def l610_online(chat, emu, fmt=2):
    """Echo off, a receive format, dialled: the g510 lineage's `+MIPCALL: 1,<ip>`."""
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd('AT+GTSET="IPRFMT",%d' % fmt)
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n\r\n+MIPCALL: 1," + IP + b"\r\n")
    return c


def g510_open(c, port, sid=1, proto=0):
    c.cmd('AT+MIPOPEN=%d,,"127.0.0.1",%d,%d' % (sid, port, proto), b"\r\n+MIPOPEN: %d,1\r\n\r\nOK\r\n" % sid)


# ---------------------------------------------------------------- L610 g510
def test_g510_boot_banner(emulator, chat):
    emu = emulator("l610", firmware="g510", boot_delay=0.3, sim_delay=0.2)
    c = chat(emu, drain=False)
    c.expect(b"\r\nWait...AT command ready\r\n")
    c.expect(b"\r\n+SIM READY\r\n")


def test_g510_dial_result_and_dial_in_progress(emulator, chat):
    """`+MIPCALL: 1,<ip>` as the result; `AT+MIPCALL?` says 2 while the dial runs, and a
    second dial then is refused (the module is busy)."""
    emu = emulator("l610", firmware="g510", async_delay=0.5)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd("AT+MIPCALL?", b"\r\n+MIPCALL: 0\r\n\r\nOK\r\n")
    c.cmd('AT+MIPCALL=1,"cmnet"')
    c.cmd("AT+MIPCALL?", b"\r\n+MIPCALL: 2\r\n\r\nOK\r\n")
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nERROR: 3\r\n")
    c.expect(b"\r\n+MIPCALL: 1," + IP + b"\r\n", timeout=5)
    c.cmd("AT+MIPCALL?", b"\r\n+MIPCALL: 1," + IP + b"\r\n\r\nOK\r\n")
    c.cmd("AT+MIPCALL=0", b"\r\nOK\r\n\r\n+MIPCALL: 0\r\n")
    c.cmd("AT+MIPCALL?", b"\r\n+MIPCALL: 0\r\n\r\nOK\r\n")


def test_g510_refused_dial_is_error_then_mipcall_0(emulator, chat):
    """A dial the network refuses: `ERROR: <n>` at once, `+MIPCALL: 0` shortly after, and
    the module refuses a dial until then; the manual's module says OK, then `+MIPCALL: 0`."""
    emu = emulator("l610", firmware="g510", async_delay=0.3)
    emu.refuse_dial(1)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nERROR: 148\r\n")
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nERROR: 3\r\n")  # busy: the late line has not come
    c.expect(b"\r\n+MIPCALL: 0\r\n", timeout=5)
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n")
    c.expect(b"\r\n+MIPCALL: 1," + IP + b"\r\n", timeout=5)
    emu = emulator("l610")
    emu.refuse_dial(1)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n\r\n+MIPCALL: 0\r\n")
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n\r\n+MIPCALL: " + IP + b"\r\n")


def test_g510_open_result_before_ok(emulator, chat, echo_server):
    c = l610_online(chat, emulator("l610", firmware="g510"))
    c.cmd('AT+MIPOPEN=1,,"127.0.0.1",%d,0' % echo_server.port, b"\r\n+MIPOPEN: 1,1\r\n\r\nOK\r\n")
    c.cmd('AT+MIPOPEN=2,,"127.0.0.1",%d,0' % free_port(), b"\r\n+MIPOPEN: 2,0\r\n\r\nOK\r\n")
    c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE: 1\r\n\r\nOK\r\n")


def test_g510_push_acked_bytes_and_ack_notice(emulator, chat, echo_server):
    """`+MIPPUSH: <id>,0,<acked>` (bytes acknowledged so far), then, once the data has all
    left, `+MIPSTAT: <id>,0,<acked>`: a notice, the socket stays open."""
    c = l610_online(chat, emulator("l610", firmware="g510"))
    g510_open(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,15", b"\r\n>")
    c.send(b"012345678901234")
    c.expect(b"\r\n+MIPPUSH: 1,0,15\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT: 1,0,15\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,15,012345678901234\r\n")
    c.cmd("AT+MIPSEND=1,5", b"\r\n>")
    c.send(b"abcde")
    c.expect(b"\r\n+MIPPUSH: 1,0,20\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT: 1,0,20\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,5,abcde\r\n")
    c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE: 1\r\n\r\nOK\r\n")  # still open after the notices


def test_g510_close_result_has_acked_bytes(emulator, chat, echo_server):
    c = l610_online(chat, emulator("l610", firmware="g510"))
    g510_open(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,4", b"\r\n>")
    c.send(b"1234")
    c.expect(b"\r\n+MIPPUSH: 1,0,4\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT: 1,0,4\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,4,1234\r\n")
    c.cmd("AT+MIPCLOSE=1", b"\r\nOK\r\n\r\n+MIPCLOSE: 1,4,0\r\n")
    g510_open(c, echo_server.port)  # a new socket on the id counts from 0
    c.cmd("AT+MIPCLOSE=1", b"\r\nOK\r\n\r\n+MIPCLOSE: 1,0,0\r\n")


def test_g510_peer_close_is_still_mipstat_1(emulator, chat):
    def bye(conn):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    c = l610_online(chat, emulator("l610", firmware="g510"))
    with loopback.TcpServer(bye) as srv:
        g510_open(c, srv.port)
        c.expect(b"\r\n+MIPRTCP: 1,3,bye\r\n\r\n+MIPSTAT: 1,1\r\n")
        c.cmd("AT+MIPCLOSE=1", b"\r\nOK\r\n\r\n+MIPCLOSE: 1,0,0\r\n")


def test_g510_read_of_an_empty_buffer_is_a_bare_ok(emulator, chat, echo_server):
    c = l610_online(chat, emulator("l610", firmware="g510"), fmt=5)
    g510_open(c, echo_server.port)
    c.cmd("AT+MIPREAD=1,100", b"\r\nOK\r\n")
    c.cmd("AT+MIPSEND=1,5", b"\r\n>")
    c.send(b"hello")
    c.expect(b"\r\n+MIPPUSH: 1,0,5\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT: 1,0,5\r\n")
    c.expect(b"\r\n+MIPREAD: 1,5\r\n")
    c.cmd("AT+MIPREAD=1,100", b"\r\n+MIPDATA: 1,5\r\nhello\r\nOK\r\n")
    c.cmd("AT+MIPREAD=1,100", b"\r\nOK\r\n")


def test_g510_errors_are_error_colon_n(emulator, chat):
    """Where the manual's module says ERROR or +CME ERROR, whatever AT+CMEE says."""
    emu = emulator("l610", firmware="g510", sim_delay=30)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd("AT+CPIN?", b"\r\nERROR: 14\r\n")
    c.cmd("AT+MIPCLOSE=1", b"\r\nERROR: 3\r\n")
    c.cmd("AT+CMEE=2")
    c.cmd('AT+MIPOPEN=9,,"127.0.0.1",80,0', b"\r\nERROR: 50\r\n")
    c.cmd("AT+CMEE=1")
    c.cmd("AT+MIPCLOSE=1", b"\r\nERROR: 3\r\n")
    c.cmd("AT+NOSUCH", b"\r\nERROR\r\n")  # not a command: no code to give


def test_g510_manual_error_forms_for_comparison(emulator, chat):
    c = chat(emulator("l610"))
    c.cmd("ATE0")
    c.cmd("AT+MIPCLOSE=1", b"\r\nERROR\r\n")
    c.cmd("AT+CMEE=1")
    c.cmd("AT+MIPCLOSE=1", b"\r\n+CME ERROR: 3\r\n")


# ---------------------------------------------------------------- L610 g24
def test_g24_no_space_after_the_colon(emulator, chat, echo_server):
    """+MIPSEND:, +MIPPUSH:, +MIPCLOSE:, +MIPSTAT: written tight; the other +MIP words
    (+MIPCALL, +MIPOPEN, +MIPRTCP) keep their space."""
    c = l610_online(chat, emulator("l610", firmware="g24"))
    g510_open(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,8", b"\r\n>")
    c.send(b"g24 form")
    c.expect(b"\r\n+MIPPUSH:1,0,8\r\n\r\n+MIPSEND:1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT:1,0,8\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,8,g24 form\r\n")
    c.cmd("AT+MIPSEND=?", b"\r\n+MIPSEND:(1-6),(1-2048)\r\n\r\nOK\r\n")
    c.cmd("AT+MIPCLOSE=1", b"\r\nOK\r\n\r\n+MIPCLOSE:1,8,0\r\n")


def test_g24_peer_close_mipstat_tight(emulator, chat):
    def bye(conn):
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    c = l610_online(chat, emulator("l610", firmware="g24"))
    with loopback.TcpServer(bye) as srv:
        g510_open(c, srv.port)
        c.expect(b"\r\n+MIPSTAT:1,1\r\n")


def test_g24_id_lists_have_spaces_after_commas(emulator, chat, echo_server):
    """The seed's log `+MIOPEN: 2,3,4, 5, 6`: a space after every comma past the second."""
    c = l610_online(chat, emulator("l610", firmware="g24"))
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 1,2,3, 4, 5, 6\r\n\r\nOK\r\n")
    c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE:0\r\n\r\nOK\r\n")
    g510_open(c, echo_server.port, 1)
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 2,3,4, 5, 6\r\n\r\nOK\r\n")
    for sid in (2, 3, 4):
        g510_open(c, echo_server.port, sid)
    c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE:1,2,3, 4\r\n\r\nOK\r\n")
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 5,6\r\n\r\nOK\r\n")


# ---------------------------------------------------------------- L610 g24-old
def test_g24_old_send_answers_and_space_separated_id_lists(emulator, chat, echo_server):
    """G24 p.4-31's `+MIPPUSH:<st>` and `+MIPSEND:<id>,<free>`; G24-L p.3-278's id lists
    separated by spaces, in both queries."""
    c = l610_online(chat, emulator("l610", firmware="g24-old"))
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 1 2 3 4 5 6\r\n\r\nOK\r\n")
    g510_open(c, echo_server.port, 1)
    g510_open(c, echo_server.port, 3)
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 2 4 5 6\r\n\r\nOK\r\n")
    c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE:1 3\r\n\r\nOK\r\n")
    c.cmd("AT+MIPSEND=1,6", b"\r\n>")
    c.send(b"oldg24")
    c.expect(b"\r\n+MIPPUSH:0\r\n\r\n+MIPSEND:1,2048\r\n\r\nOK\r\n\r\n+MIPSTAT:1,0,6\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,6,oldg24\r\n")


# ---------------------------------------------------------------- NM28 hm609
def test_hm609_ipsend_has_no_netwrite_line(emulator, chat, echo_server):
    c = chat(emulator("nm28", firmware="hm609"))
    w = NM28Words()
    w.online(c)
    w.open_tcp(c, echo_server.port)
    c.cmd("AT+IPSEND=1,10", b"\r\nCONNECT\r\n")
    c.send(b"1234567890")
    c.expect(b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    c.expect(w.pushed(b"1234567890"))


def test_hm609_close_of_an_id_not_open_is_913(emulator, chat, echo_server):
    c = chat(emulator("nm28", firmware="hm609"))
    w = NM28Words()
    w.online(c)
    c.cmd("AT+IPCLOSE=3", b"\r\nERROR\r\n")
    c.cmd("AT+CMEE=1")
    c.cmd("AT+IPCLOSE=3", b"\r\n+CME ERROR: 913\r\n")
    c.cmd("AT+CMEE=2")
    c.cmd("AT+IPCLOSE=3", b"\r\n+CME ERROR: socket not open\r\n")
    c.cmd("AT+IPSWTMD=9,0", b"\r\n+CME ERROR: Incorrect parameters\r\n")  # others: as the manual
    w.open_tcp(c, echo_server.port, 3)
    c.cmd("AT+IPCLOSE=3", b"\r\n+IPCLOSE: 3\r\n\r\nOK\r\n")
    c.cmd("AT+IPCLOSE=3", b"\r\n+CME ERROR: socket not open\r\n")


def test_hm609_buffer_mode_notice_has_a_plus(emulator, chat, echo_server):
    c = chat(emulator("nm28", firmware="hm609"))
    w = NM28Words()
    w.online(c)
    w.open_tcp(c, echo_server.port)
    c.cmd("AT+IPSWTMD=1,0")
    c.cmd('AT+IPSENDEX=1,"414243"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    c.expect(b"\r\n+IPREAD: 1\r\n")
    c.cmd("AT+IPRD=1,10", b"\r\n+IPRD: 1,3\r\nABC\r\nOK\r\n")


def test_hm609_tls_open_is_sslipopen(emulator, chat, certs):
    emu = emulator("nm28", firmware="hm609", cert_dir=certs.dir)
    c = chat(emu)
    NM28Words().online(c)
    with loopback.echo_server(certs.server_context()) as srv:
        c.cmd('AT+SSLCFG="seclevel",1,"1"')
        c.cmd('AT+SSLCFG="cacert",1,"ca.crt"')
        c.cmd('AT+IPOPEN=1,"TCP","localhost",%d,0,1' % srv.port, b"\r\nOK\r\n\r\n+SSLIPOPEN: 1,0\r\n", 10)
        c.cmd("AT+IPSEND=1,3", b"\r\nCONNECT\r\n")  # no SSLNETWRITE line either
        c.send(b"tls")
        c.expect(b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
        c.expect(b'\r\n+SSLURC: "recv",1,3\r\ntls\r\n')
        c.cmd("AT+IPCLOSE=1", b"\r\n+IPCLOSE: 1\r\n\r\nOK\r\n")
        c.cmd('AT+SSLCFG="seclevel",2,"1"')
        c.cmd('AT+SSLCFG="cacert",2,"missing.crt"')
        c.send(b'AT+IPOPEN=2,"TCP","localhost",%d,0,1\r' % srv.port)  # a failed open: same tag
        c.expect(b"\r\nOK\r\n")
        assert c.until(b"\r\n", 10) + c.until(b"\r\n", 10) == b"\r\n+SSLIPOPEN: 2,5\r\n"


# ---------------------------------------------------------------- orthogonal quirks
def test_nm28_push_without_trailer(emulator, chat, echo_server):
    """Pushed data ends with its last byte; the next line brings its own CR LF. Combined
    with hm609 to show the quirks are orthogonal to the variant."""
    c = chat(emulator("nm28", firmware="hm609", push_trailer=False))
    w = NM28Words()
    w.online(c)
    w.open_tcp(c, echo_server.port)
    c.cmd('AT+IPSENDEX=1,"313233"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    c.expect(b'\r\n+IPURC: "recv",1,3\r\n123')
    c.silent(0.2)
    c.cmd('AT+IPSENDEX=1,"34"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    c.expect(b'\r\n+IPURC: "recv",1,1\r\n4')
    c.cmd("AT", b"\r\nOK\r\n")  # the next line's own CR LF, straight after the data
    c.cmd("AT+IPSWTMD=1,0")  # buffer mode: an answer, not a push, keeps its CR LF
    c.cmd('AT+IPSENDEX=1,"35"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    c.expect(b"\r\n+IPREAD: 1\r\n")
    c.cmd("AT+IPRD=1,10", b"\r\n+IPRD: 1,1\r\n5\r\nOK\r\n")


def test_l610_push_without_trailer(emulator, chat, echo_server, udp_echo):
    c = chat(emulator("l610", push_trailer=False))
    w = L610Words()
    w.online(c)  # IPRFMT 2, the manual's dial
    w.open_tcp(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,5", b"\r\n>")
    c.send(b"01234")
    c.expect(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPRTCP: 1,5,01234")
    c.silent(0.2)
    c.cmd("AT", b"\r\nOK\r\n")
    c.cmd('AT+MIPOPEN=2,,"127.0.0.1",%d,1' % udp_echo.port, b"\r\nOK\r\n\r\n+MIPOPEN: 2,1\r\n")
    c.cmd("AT+MIPSEND=2,3", b"\r\n>")
    c.send(b"udp")
    c.expect(b"\r\n+MIPPUSH: 2,0\r\n\r\n+MIPSEND: 2,0,2048\r\n\r\nOK\r\n")
    c.expect(b"\r\n+MIPRUDP: 127.0.0.1,%d,2,3,udp" % udp_echo.port)
    c.silent(0.2)
    c.cmd('AT+GTSET="IPRFMT",0')  # hex lines are lines: they keep their CR LF
    c.cmd("AT+MIPSEND=1,2", b"\r\n>")
    c.send(b"hx")
    c.expect(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n\r\n+MIPRTCP: 1,0,6878\r\n")


@pytest.mark.parametrize("dialect", names())
def test_echo_sticks(emulator, chat, dialect):
    c = chat(emulator(dialect, echo_sticks=True))
    c.cmd("ATE0")  # echoed, OK ...
    c.echo = True  # ... and echo stays on
    c.cmd("AT")
    c.cmd("AT+CSQ", b"\r\n+CSQ: 31,99\r\n\r\nOK\r\n")
    c.cmd("ATE0")
    c.echo = True
    c.cmd("AT")


@pytest.mark.parametrize(
    "dialect,maker,model",
    [("nm28", b"Yuge", GBK_YUGE + b"NM28"), ("l610", b"Fibocom", GBK_FIBOCOM + b" L610")],
)
def test_model_bytes(emulator, chat, dialect, maker, model):
    emu = emulator(dialect, model=model)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd("AT+CGMM", b"\r\n" + model + b"\r\n\r\nOK\r\n")
    rev = emu.mod.REVISION.encode()
    c.cmd("ATI", b"\r\n%s\r\n\r\n%s\r\n\r\nRevision: %s\r\n\r\nOK\r\n" % (maker, model, rev))


def test_quirks_combine_with_a_variant(emulator, chat, echo_server):
    emu = emulator("l610", firmware="g24", push_trailer=False, echo_sticks=True, model=b"L610\xff")
    c = chat(emu)
    c.cmd("ATE0")
    c.echo = True
    c.cmd("AT+CGMM", b"\r\nL610\xff\r\n\r\nOK\r\n")
    c.cmd('AT+GTSET="IPRFMT",2')
    c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n\r\n+MIPCALL: 1," + IP + b"\r\n")
    g510_open(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,3", b"\r\n>")
    c.send(b"mix")
    c.expect(b"\r\n+MIPPUSH:1,0,3\r\n\r\n+MIPSEND:1,0,2048\r\n\r\nOK\r\n\r\n+MIPSTAT:1,0,3\r\n")
    c.expect(b"\r\n+MIPRTCP: 1,3,mix")
    c.silent(0.2)


# ---------------------------------------------------------------- manual stays the default
@pytest.mark.parametrize("dialect", names())
def test_manual_named_is_the_default(emulator, chat, echo_server, dialect):
    """The same session, firmware unnamed and firmware="manual": the same bytes."""
    from host_tests.emu_helpers import WORDS

    w = WORDS[dialect]
    seen = []
    for settings in ({}, {"firmware": "manual", "push_trailer": True, "echo_sticks": False, "model": None}):
        emu = emulator(dialect, **settings)
        c = chat(emu)
        w.online(c)
        w.open_tcp(c, echo_server.port)
        w.send(c, b"same bytes")
        c.expect(w.pushed(b"same bytes"))
        c.cmd("AT+CGMM", b"\r\n%s\r\n\r\nOK\r\n" % w.model)
        time.sleep(0.1)
        seen.append(emu.transcript())
    assert seen[0] == seen[1]


@pytest.mark.parametrize(
    "dialect,name,why",
    [
        ("nm28", "g510", "'g510' is a firmware of l610, not of nm28; valid for nm28: manual, hm609"),
        ("l610", "hm609", "'hm609' is a firmware of nm28, not of l610; valid for l610: manual, g510, g24, g24-old"),
        ("l610", "g25", "'g25' is not a firmware of l610; valid for l610: manual, g510, g24, g24-old"),
    ],
)
def test_unknown_or_foreign_firmware_is_refused(dialect, name, why):
    with pytest.raises(ValueError) as e:
        Emulator(dialect, firmware=name)
    assert str(e.value) == why


def test_command_line_firmware(tmp_path):
    """--firmware g510 on the l610 works; the help lists every name; a foreign one is refused."""
    run = lambda *a: subprocess.run([sys.executable, "-m", "tools.emulator", *a], cwd=ROOT, capture_output=True, text=True, timeout=30)  # noqa: E731
    helptext = " ".join(run("--help").stdout.split())
    assert "l610: manual, g510, g24, g24-old; nm28: manual, hm609" in helptext
    bad = run("--dialect", "nm28", "--firmware", "g24")
    assert bad.returncode == 2 and "valid for nm28: manual, hm609" in bad.stderr
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", "--dialect", "l610", "--firmware", "g510",
         "--model", r"\xb9\xe3L610", "--no-push-trailer", "--echo-sticks"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        import serial

        ser = serial.Serial(path, 115200, timeout=0.5)
        got = b""
        deadline = time.monotonic() + 10
        while not got.endswith(b"OK\r\n"):  # ask again while it boots, as a host does
            assert time.monotonic() < deadline, got
            ser.write(b"AT+CGMM\r")
            got += ser.read(200)
        assert got.endswith(b"AT+CGMM\r\r\n\xb9\xe3L610\r\n\r\nOK\r\n")
        ser.write(b"ATE0\r")
        assert ser.read(len(b"ATE0\r\r\nOK\r\n")) == b"ATE0\r\r\nOK\r\n"
        ser.write(b"AT+MIPCLOSE=1\r")  # echo stuck on; the g510 error form
        want = b"AT+MIPCLOSE=1\r\r\nERROR: 3\r\n"
        assert ser.read(len(want)) == want
        ser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
