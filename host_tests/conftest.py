"""Shared fixtures: emulators, loopback servers, a serial chat helper and test certificates."""
from __future__ import annotations

import os
import sys
import time

import pytest
import serial

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for p in (ROOT, os.path.join(ROOT, "lib")):
    if p not in sys.path:
        sys.path.insert(0, p)

from tools.emulator import Emulator  # noqa: E402
from tools import loopback  # noqa: E402
from atmodem.dialects import names  # noqa: E402


class Chat:
    """Talks to the emulator through pyserial and checks its answers byte for byte."""

    def __init__(self, url: str):
        self.ser = serial.serial_for_url(url, 115200, timeout=0.05)
        self.buf = bytearray()
        self.echo = True

    def _fill(self, until, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("timed out; have %r" % bytes(self.buf))
            self.buf += self.ser.read(max(1, self.ser.in_waiting))

    def expect(self, expected: bytes, timeout: float = 5.0) -> None:
        self._fill(lambda: len(self.buf) >= len(expected), timeout)
        got = bytes(self.buf[: len(expected)])
        del self.buf[: len(expected)]
        assert got == expected, "expected %r, got %r" % (expected, got)

    def until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        """Everything up to and including marker."""
        self._fill(lambda: marker in self.buf, timeout)
        i = self.buf.index(marker) + len(marker)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def read_exactly(self, n: int, timeout: float = 10.0) -> bytes:
        self._fill(lambda: len(self.buf) >= n, timeout)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def send(self, data: bytes) -> None:
        self.ser.write(data)

    def cmd(self, line: str, answer: bytes = b"\r\nOK\r\n", timeout: float = 5.0) -> None:
        """Send an AT line and expect its echo (when on) followed by answer exactly."""
        raw = line.encode() + b"\r"
        self.send(raw)
        self.expect((raw if self.echo else b"") + answer, timeout)
        if line.upper() in ("ATE0", "ATE1"):
            self.echo = line.upper() == "ATE1"

    def silent(self, seconds: float) -> None:
        """Assert the module says nothing for a while (a guard time, or a dropped command)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.buf += self.ser.read(max(1, self.ser.in_waiting))
        assert not self.buf, "unexpected %r" % bytes(self.buf)

    def close(self) -> None:
        self.ser.close()


@pytest.fixture
def emulator():
    """Factory: emulator(dialect, **settings) -> started Emulator, stopped after the test."""
    made = []

    def make(dialect: str = "nm28", **settings) -> Emulator:
        settings.setdefault("async_delay", 0.005)
        emu = Emulator(dialect, **settings).start()
        made.append(emu)
        return emu

    yield make
    for emu in made:
        emu.stop()


@pytest.fixture
def chat():
    """Factory: chat(emulator_or_url) -> Chat with echo state tracked."""
    made = []

    def make(target, drain: bool = True) -> Chat:
        """drain: wait out the boot URCs and discard them (most tests start after boot)."""
        if isinstance(target, str):
            return Chat(target)
        c = Chat(target.path)
        if drain:
            target.wait_idle()
            c.ser.reset_input_buffer()
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def echo_server():
    with loopback.echo_server() as s:
        yield s


@pytest.fixture
def echo_server2():
    with loopback.echo_server() as s:
        yield s


@pytest.fixture
def udp_echo():
    with loopback.UdpEcho() as s:
        yield s


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A test CA, another CA, server certificates (good, expired, wrong name) and a client
    certificate, written into one directory the emulator uses as --cert-dir."""
    from host_tests import tlsfixtures

    return tlsfixtures.make(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(params=["cpython", "micropython"])
def runtime(request):
    """Each scenario on CPython (pyserial) and on the micropython binary."""
    return request.param


@pytest.fixture(params=names())
def dialect(request):
    return request.param


@pytest.fixture(scope="module")
def tcp_echo():
    with loopback.echo_server() as s:
        yield s
