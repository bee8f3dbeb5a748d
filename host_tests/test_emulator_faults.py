"""Each fault the emulator injects shows up on the line the way SPEC.md describes."""
from __future__ import annotations

import socket
import threading

import pytest

from host_tests.emu_helpers import WORDS, free_port
from tools import loopback
from atmodem.dialects import names

DIALECTS = names()
GUARD = 0.2


@pytest.fixture(params=DIALECTS)
def online(request, emulator, chat):
    """(words, emulator, chat) with the module attached and echo off."""
    w = WORDS[request.param]
    emu = emulator(request.param, guard_time=GUARD)
    c = chat(emu)
    w.online(c)
    return w, emu, c


def test_drop_socket_reports_link_loss_and_resets_peer(online):
    w, emu, c = online
    seen = []
    ready, done = threading.Event(), threading.Event()

    def handler(conn):
        ready.set()
        try:
            seen.append(conn.recv(10))
        except ConnectionResetError:
            seen.append("reset")
        done.set()

    with loopback.TcpServer(handler) as srv:
        w.open_tcp(c, srv.port)
        ready.wait(5)
        emu.drop_socket(1)
        c.expect(w.closed())
        done.wait(5)
    assert seen == ["reset"]


def test_peer_close_after_data(online):
    w, emu, c = online

    def handler(conn):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    with loopback.TcpServer(handler) as srv:
        w.open_tcp(c, srv.port)
        c.expect(w.pushed(b"bye") + w.closed())


def test_connection_refused(online):
    w, emu, c = online
    w.open_refused(c, free_port())


def test_transparent_peer_close_gives_no_carrier(online):
    w, emu, c = online

    def handler(conn):
        conn.sendall(conn.recv(5))
        conn.shutdown(socket.SHUT_WR)

    with loopback.TcpServer(handler) as srv:
        w.transparent(c, srv.port)
        c.send(b"hello")
        c.expect(b"hello\r\nNO CARRIER\r\n" + w.closed())
        c.cmd("AT")  # back in command mode


def test_plus_plus_plus_followed_by_data_is_data(online, echo_server):
    w, emu, c = online
    w.transparent(c, echo_server.port)
    c.silent(GUARD * 1.5)
    c.send(b"+++")
    c.send(b"abc")
    c.expect(b"+++abc")
    c.send(b"x+++y\r\nOK\r\n")  # no guard before: plain data
    c.expect(b"x+++y\r\nOK\r\n")
    c.silent(GUARD * 1.5)


def test_reboot(online, echo_server):
    w, emu, c = online
    w.open_tcp(c, echo_server.port)
    emu.reboot()
    w.after_reboot(c)


def test_inject_and_noise(online):
    w, emu, c = online
    emu.inject(b"\r\n+FAKE: 1\r\n")
    c.expect(b"\r\n+FAKE: 1\r\n")
    junk = emu.noise(64, seed=7)
    c.expect(junk)
    c.cmd("AT")


def test_command_answered_with_error_then_normal(online):
    w, emu, c = online
    emu.fail_command("AT+CSQ", "error", count=1)
    c.cmd("AT+CSQ", b"\r\nERROR\r\n")
    c.cmd("AT+CSQ", b"\r\n+CSQ: 31,99\r\n\r\nOK\r\n")


def test_command_never_answered(online):
    w, emu, c = online
    emu.fail_command("AT+CSQ", "silent")
    c.send(b"AT+CSQ\r")
    c.silent(0.3)
    c.cmd("AT")
    emu.clear_faults()
    c.cmd("AT+CSQ", b"\r\n+CSQ: 31,99\r\n\r\nOK\r\n")


def test_chunked_output(online, echo_server):
    w, emu, c = online
    emu.chunk_output(1, 0.0005)
    emu.clear_transcript()
    w.open_tcp(c, echo_server.port)
    w.send(c, b"0123456789")
    c.expect(w.pushed(b"0123456789"))
    out = [d for _, k, d in emu.line.transcript.entries if k == ">"]
    assert out and all(len(d) == 1 for d in out)


def test_cme_errors_and_unknown_commands(online):
    w, emu, c = online
    num, verbose = w.refused_codes
    c.cmd(w.refused, b"\r\nERROR\r\n")
    c.cmd("AT+CMEE=1")
    c.cmd(w.refused, b"\r\n+CME ERROR: %s\r\n" % num)
    c.cmd("AT+CMEE=2")
    c.cmd(w.refused, b"\r\n+CME ERROR: %s\r\n" % verbose)
    c.cmd("AT+NOSUCH", b"\r\nERROR\r\n")
    c.cmd("HELLO", b"\r\nERROR\r\n")
    c.cmd('AT+CGDCONT=1,"IP,"x', b"\r\n+CME ERROR: Incorrect parameters\r\n")


def test_bad_bytes_from_host_never_break_the_module(online):
    w, emu, c = online
    c.send(bytes(range(256)) + b"\r")  # two lines: the CR at 13 splits it
    c.send(b"A" * 10000 + b"\r")  # longer than any command
    c.expect(b"\r\nERROR\r\n" * 3)
    c.cmd("AT")


def test_send_prompt_times_out_and_sends_what_it_has(emulator, chat, echo_server):
    from host_tests.emu_helpers import L610Words

    w = L610Words()
    emu = emulator("l610", payload_timeout=0.3)
    c = chat(emu)
    w.online(c)
    w.open_tcp(c, echo_server.port)
    c.cmd("AT+MIPSEND=1,10", b"\r\n>")
    c.send(b"abcd")
    c.expect(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n" + w.pushed(b"abcd"))


def test_l610_flow_control(emulator, chat, echo_server):
    from host_tests.emu_helpers import L610Words

    w = L610Words()
    emu = emulator("l610")
    c = chat(emu)
    w.online(c)
    w.open_tcp(c, echo_server.port)
    emu.hold_flow(1)
    c.expect(b"\r\n+MIPXOFF: 1\r\n")
    c.cmd("AT+MIPSEND=1,15", b"\r\n>")
    c.send(b"held back data!")
    c.expect(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,1,2033\r\n\r\nOK\r\n")
    c.silent(0.2)  # the network takes nothing while held
    emu.hold_flow(1, False)
    c.expect(b"\r\n+MIPXON: 1\r\n" + w.pushed(b"held back data!"))


def test_l610_send_buffer_full_raises_xoff(emulator, chat):
    from host_tests.emu_helpers import L610Words

    w = L610Words()
    emu = emulator("l610")
    c = chat(emu)
    w.online(c)
    with loopback.TcpServer(lambda conn: conn.recv(1) and threading.Event().wait(5)) as srv:
        w.open_tcp(c, srv.port)
        emu.module.socks[1].hold = True  # the network stalls without the XOFF shortcut
        c.cmd("AT+MIPSEND=1,2048", b"\r\n>")
        c.send(b"z" * 2048)
        c.expect(b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,0\r\n\r\nOK\r\n\r\n+MIPXOFF: 1\r\n")


def test_nm28_full_send_buffer_refuses_data(emulator, chat):
    from host_tests.emu_helpers import NM28Words

    w = NM28Words()
    emu = emulator("nm28")
    c = chat(emu)
    w.online(c)
    with loopback.echo_server() as srv:
        w.open_tcp(c, srv.port)
        emu.hold_flow(1)
        for _ in range(6):
            w.send(c, b"q" * 1460)
        c.cmd("AT+IPSEND=1,10", b"\r\nNETWRITE: 1,10\r\n\r\nCONNECT\r\n")
        c.send(b"0123456789")
        c.expect(b"\r\nSEND FAIL\r\n\r\nOK\r\n")


def test_l610_second_async_command_is_error(emulator, chat, echo_server):
    emu = emulator("l610", async_delay=0.3)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd('AT+MIPCALL=1,"cmnet"')
    c.cmd('AT+MIPOPEN=1,,"127.0.0.1",%d,0' % echo_server.port, b"\r\nERROR\r\n")
    c.expect(b"\r\n+MIPCALL: 10.166.80.147\r\n")
    c.cmd('AT+MIPOPEN=1,,"127.0.0.1",%d,0' % echo_server.port, b"\r\nOK\r\n\r\n+MIPOPEN: 1,1\r\n")


def test_sim_not_ready_and_registration(emulator, chat):
    emu = emulator("nm28", sim_delay=0.4)
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd("AT+CMEE=2")
    c.cmd("AT+CPIN?", b"\r\n+CME ERROR: SIM busy\r\n")
    c.cmd("AT+CGREG?", b"\r\n+CGREG: 0,0\r\n\r\nOK\r\n")
    c.silent(0.45)
    c.cmd("AT+CPIN?", b"\r\n+CPIN: READY\r\n\r\nOK\r\n")
    c.cmd("AT+CEREG?", b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
    c.cmd("AT+CGREG=1")
    emu.set_registration(0)
    c.expect(b"\r\n+CGREG: 0\r\n")
    c.cmd("AT+CGACT=1,1", b"\r\n+CME ERROR: no network service\r\n")
    emu.set_registration(5)
    c.expect(b"\r\n+CGREG: 5\r\n")
    c.cmd("AT+CGACT=1,1")


def test_escape_hold_and_resume(online):
    """Data arriving in command mode is kept: NM28 announces it (IPREAD) and delivers it on
    re-entry with AT+IPSWTMD=<id>,2; the L610 delivers it after ATO."""
    w, emu, c = online
    with loopback.SinkServer() as srv:
        w.transparent(c, srv.port)
        c.silent(GUARD * 1.5)
        c.send(b"+++")
        c.silent(GUARD * 0.5)
        c.expect(b"\r\nOK\r\n", timeout=GUARD * 5)
        c.cmd("AT")  # command mode
        srv.clients[0].sendall(b"while away")
        w.back_to_data(c, b"while away")
        c.send(b"back")
        assert srv.wait(4, 5)  # in data mode again: the bytes go to the peer
        c.silent(0.1)


def test_close_sends_what_the_module_accepted_then_fin(online):
    """SEND SUCCESS then an immediate close: the peer still gets every byte, then EOF."""
    w, emu, c = online
    got = []
    done = threading.Event()

    def handler(conn):
        data = b""
        while True:
            d = conn.recv(65536)
            if not d:
                break
            data += d
        got.append(data)
        done.set()

    with loopback.TcpServer(handler) as srv:
        w.open_tcp(c, srv.port)
        for _ in range(4):
            w.send(c, b"z" * 1000)
        w.close(c)
        assert done.wait(5)
    assert got == [b"z" * 4000]
