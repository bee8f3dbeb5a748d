"""Clients nobody here wrote, under the micropython binary, through the emulator:
MicroPython's own requests (frozen in the binary) over modem.sockets(), http and https
(MicroPython's tls layered on the modem socket: the answer for the L610)."""
from __future__ import annotations

import os
import subprocess

import pytest

from tools import loopback
from atmodem.dialects import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
DIALECTS = names()
MIB = 1 << 20


def run_client(emu, dialect, case, port, size=MIB):
    r = subprocess.run(
        [MP, "-X", "heapsize=8M", os.path.join(ROOT, "host_tests", "mp_clients.py"), emu.path, dialect, case, str(port), str(size)],
        env={"MICROPYPATH": os.path.join(ROOT, "lib") + ":.frozen"}, capture_output=True, text=True, timeout=240,
    )
    return r


@pytest.fixture(scope="module")
def http():
    with loopback.HttpServer() as s:
        yield s


@pytest.fixture(scope="module")
def https(certs):
    with loopback.HttpServer(certs.server_context("good")) as s:
        yield s


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", ["get_length", "post_length", "post_chunked"])
def test_requests_one_mebibyte(emulator, http, dialect, case):
    r = run_client(emulator(dialect), dialect, case, http.port)
    assert "PASS" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("dialect", DIALECTS)
def test_requests_cannot_read_a_chunked_response_itself(emulator, http, dialect):
    """The binary's requests raises for chunked responses before reading the body: its own
    limitation, not the socket's (this test says so if a newer requests lifts it)."""
    r = run_client(emulator(dialect), dialect, "get_chunked", http.port)
    assert "Unsupported Transfer-Encoding: chunked" in r.stdout + r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", ["https_get", "https_post"])
def test_https_with_micropython_tls_over_the_modem_socket(emulator, https, dialect, case):
    r = run_client(emulator(dialect), dialect, case, https.port, size=256 * 1024)
    assert "PASS" in r.stdout, r.stdout + r.stderr
