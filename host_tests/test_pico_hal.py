"""atmodem.hal's machine.UART port on MicroPython's real rp2 firmware (emulated Pico), with
the host as the other end of UART1 at 921600 baud. Times are the Pico's (ticks_us follows
emulated cycles). These are the places where the firmware differs from a naive reading of
the machine.UART docs, and from the fake machine module the unix-port tests use."""
from __future__ import annotations

import socket
import threading
import time
from typing import Iterator

import pytest

from host_tests.pico_helpers import pico  # noqa: F401
from tools.pico import Pico

SETUP = """
import gc, time, atmodem
p = atmodem.hal.open_serial(1, 921600)
buf = bytearray(4096)
def timed(f, *a):
    t = time.ticks_us()
    r = f(*a)
    return r, time.ticks_diff(time.ticks_us(), t)
def settled(f, *a):
    gc.collect()  # a collection the REPL's own compiling left due is not the port's time
    return timed(f, *a)
"""


@pytest.fixture(scope="module")
def board(pico: Pico) -> Iterator[tuple]:
    """The board with a port open on UART1, and the host's end of the wire."""
    pico.repl.soft_reset()
    pico.repl.exec(SETUP)
    host = socket.create_connection(pico.address("uart1"))
    host.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    yield pico, host
    host.close()


def values(pico: Pico, expr: str) -> list:
    """The board's values of expr (a tuple of ints and bools) as ints."""
    return [int(x == "True") if x in ("True", "False") else int(x) for x in pico.repl.exec("print(*(%s))" % expr).split()]


def test_readinto_gives_what_has_arrived_at_once(board):
    """machine.UART.readinto(buf) waits timeout_char (>= 1 ms) for more when fewer bytes
    than len(buf) are there; the port asks for exactly what has arrived."""
    pico, host = board
    host.sendall(b"x" * 100)
    time.sleep(0.2)
    n, us = values(pico, "settled(p.readinto, buf)")
    assert n == 100
    assert us < 600, "readinto took %d us for 100 waiting bytes" % us


def test_nothing_there_is_zero_and_wait_times_out(board):
    pico, host = board
    n, us = values(pico, "settled(p.readinto, buf)")
    assert n == 0 and us < 600
    ready, us = values(pico, "timed(p.wait, 200)")
    assert ready == 0 and 200000 <= us < 260000


def test_wait_wakes_when_a_byte_arrives(board):
    pico, host = board

    def later() -> None:
        time.sleep(0.3)
        host.sendall(b"!")

    t = threading.Thread(target=later)
    t.start()
    out = values(pico, "timed(p.wait, 5000) + (p.readinto(buf),)")
    t.join()
    assert out[0] == 1 and out[1] < 2000000 and out[2] == 1


def test_write_returns_while_the_bytes_leave_and_drain_waits_for_the_last(board):
    """With the firmware's 256-byte default TX buffer a 2 KiB payload (the largest a send
    command carries) blocks for its whole line time (22 ms at 921600), during which the
    driver reads nothing; the port's TX buffer takes it at once. drain() (UART.flush)
    returns once the last byte has left."""
    pico, host = board
    w, d = values(pico, "timed(p.write, bytes(2048))[1], timed(p.drain)[1]")
    got = b""
    host.settimeout(5)
    while len(got) < 2048:
        got += host.recv(65536)
    assert got == bytes(2048)
    line_us = 2048 * 10 * 1e6 / 921600
    assert w < 8000, "write blocked %d us" % w
    assert w + d >= line_us * 0.95, "drain returned before the bytes could have left"
