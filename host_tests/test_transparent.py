"""Transparent (data) mode on both modules and both runtimes."""
from __future__ import annotations

import socket
import threading

import pytest

from host_tests.test_driver import DIALECTS, RUNTIMES, run_scenario  # noqa: F401
from tools import loopback

GUARD = 0.2  # the emulator's guard; the driver waits a little longer (guard_ms)
GUARD_MS = 250


def emu_for(emulator, dialect):
    return emulator(dialect, guard_time=GUARD)


def test_one_mebibyte_both_ways(emulator, runtime, dialect, tcp_echo):
    run_scenario(emu_for(emulator, dialect), runtime, dialect, "echo_stream",
                 port=tcp_echo.port, mode="transparent", guard_ms=GUARD_MS)


def test_every_byte_and_at_words_intact(emulator, runtime, dialect, tcp_echo):
    run_scenario(emu_for(emulator, dialect), runtime, dialect, "transparent_tricky",
                 port=tcp_echo.port, guard_ms=GUARD_MS)


def test_enter_leave_resume_close(emulator, runtime, dialect):
    """A peer that, when told on a second connection, sends while we are in command mode."""
    peers = []
    ready = threading.Event()

    def data_peer(conn):
        peers.append(conn)
        ready.set()
        loopback.echo(conn)

    def trigger(conn):
        conn.recv(1)
        ready.wait(5)
        peers[0].sendall(b"while suspended")
        conn.sendall(b"ok")
        conn.recv(1)

    with loopback.TcpServer(data_peer) as dp, loopback.TcpServer(trigger) as tp:
        run_scenario(emu_for(emulator, dialect), runtime, dialect, "transparent_cycle",
                     port=dp.port, talk_port=tp.port, guard_ms=GUARD_MS)


def test_peer_close_in_data_mode(emulator, runtime, dialect, tcp_echo):
    def bye(conn):
        conn.sendall(b"bye" * 100)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    with loopback.TcpServer(bye) as srv:
        run_scenario(emu_for(emulator, dialect), runtime, dialect, "transparent_peer_close",
                     port=srv.port, echo_port=tcp_echo.port, guard_ms=GUARD_MS)


@pytest.mark.parametrize("d", DIALECTS)
def test_escape_right_after_a_write_waits_for_the_bytes_to_leave(emulator, tcp_echo, d):
    """At 115200 baud 8 kB take 0.7 s to cross the UART: the guard silence starts when the
    last byte has left, or the module takes +++ as data (and the AT probe goes to the peer)."""
    import os

    import atmodem

    emu = emulator(d, guard_time=GUARD, baud=115200)
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), d, guard_ms=GUARD_MS)
    m.attach()
    s = m.socket(mode="transparent", rxbuf=32768)
    s.settimeout(20)
    s.connect(("127.0.0.1", tcp_echo.port))
    data = os.urandom(8000)
    s.sendall(data)
    s.suspend()  # at once: most of data is still on its way to the module
    assert m.command(b"AT").ok()
    assert s.read(len(data)) == data
    s.sendall(b"z")
    assert s.read(1) == b"z"  # nothing was inserted into the stream (no +++, no AT)
    m.close()
