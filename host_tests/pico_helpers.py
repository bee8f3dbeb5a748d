"""The emulated-Pico tier's harness: a board booted once per test module, a flash image with
the package (.mpy for armv6m), scenarios.py and the Pico-side entry scripts, and a scenario
run on machine.UART(1) wired to a fresh emulator.

The firmware must be there: without it these tests fail (never skip), naming the files and
the variables that point elsewhere (ATMODEM_PICO_FIRMWARE, ATMODEM_PICO_BOOTROM)."""
from __future__ import annotations

import functools
import os
import socket
import threading
from contextlib import ExitStack
from typing import Callable, Dict, Iterator, Optional

import pytest

from tools import loopback
from tools.emulator import Emulator
from tools.pico import Pico, flash

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "host_tests")
BAUD = 921600
GUARD_TIME = 0.2  # the emulator's +++ guard; the driver waits a little longer
GUARD_MS = 250
PROBE = 0x40068000  # the runner's probe registers (tools/pico/machine.mjs)


@functools.lru_cache(maxsize=None)
def scenario_image() -> bytes:
    """atmodem, scenarios.py and the entry scripts, compiled for armv6m, in /lib."""
    scripts = ["scenarios.py", "pico_run.py", "pico_scenarios.py"]
    return flash.image(flash.with_modules([os.path.join(HERE, s) for s in scripts]))


@pytest.fixture(scope="module")
def pico() -> Iterator[Pico]:
    """One board for the module: each scenario starts with a soft reset."""
    with Pico(image=scenario_image()) as board:
        yield board


def emulator_for(dialect: str, baud: int = BAUD, **settings) -> Emulator:
    settings.setdefault("async_delay", 0.005)
    settings.setdefault("guard_time", GUARD_TIME)
    return Emulator(dialect, baud=baud, serve=("127.0.0.1", 0), **settings).start()


def probe(pico: Pico, word: int) -> int:
    out = pico.repl.exec("import machine\nprint(machine.mem32[%d])" % (PROBE + 4 * word))
    return int(out.split()[-1])


def uart1_stalls(pico: Pico) -> int:
    """Characters that were due while UART1's RX FIFO was full: a real wire loses them."""
    return probe(pico, 4)


def run_scenario(pico: Pico, emu: Emulator, dialect: str, name: str, baud: int = BAUD,
                 timeout: float = 120.0, on_output: Optional[Callable[[str], None]] = None, **kw) -> str:
    """scenarios.ALL[name] (or pico_scenarios.ALL) on the board; its output, which ends in PASS."""
    kw.setdefault("guard_ms", GUARD_MS)
    pico.repl.soft_reset()
    stalls = uart1_stalls(pico)
    args = "".join(", %s=%r" % kv for kv in kw.items())
    seen = []

    def watch(chunk: bytes) -> None:
        seen.append(chunk.decode("utf-8", "replace"))
        if on_output is not None:
            on_output("".join(seen))

    addr = emu.serve_address
    assert addr is not None
    with pico.wire(1, (addr[0], addr[1])):
        out = pico.repl.exec("import pico_run\npico_run.main(%r, %r, baud=%d%s)" % (dialect, name, baud, args),
                             timeout, watch)
    assert "PASS" in out, out
    assert uart1_stalls(pico) == stalls, "the driver fell so far behind that a real UART would have overrun"
    return out


@pytest.fixture
def peers() -> Iterator[Dict[str, int]]:
    """Loopback peers by name, for the scenarios' port arguments."""
    ready = threading.Event()
    data_conns = []

    def bye(conn: socket.socket, what: bytes) -> None:
        conn.sendall(what)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    def data_peer(conn: socket.socket) -> None:
        data_conns.append(conn)
        ready.set()
        loopback.echo(conn)

    def trigger(conn: socket.socket) -> None:
        """Tells the data peer to send while the driver is in command mode."""
        conn.recv(1)
        ready.wait(5)
        data_conns[0].sendall(b"while suspended")
        conn.sendall(b"ok")
        conn.recv(1)

    with ExitStack() as stack:
        servers = {
            "echo": loopback.echo_server(),
            "udp": loopback.UdpEcho(),
            "bye": loopback.TcpServer(lambda c: bye(c, b"bye")),
            "bye300": loopback.TcpServer(lambda c: bye(c, b"bye" * 100)),
            "data": loopback.TcpServer(data_peer),
            "talk": loopback.TcpServer(trigger),
        }
        for s in servers.values():
            stack.enter_context(s)
        yield {k: s.port for k, s in servers.items()}
