"""Every program in examples/ runs unmodified against the emulator, on CPython and on the
micropython binary, with loopback servers standing in for the internet: they cannot rot."""
from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
from typing import Sequence

import pytest

from host_tests.emu_helpers import WORDS, free_port
from host_tests.mqtt_publisher import Publisher
from host_tests.test_mqtt import Lines, broker, mplibs  # noqa: F401  (fixtures: mosquitto, umqtt)
from host_tests.test_server_sockets import connect_when_listening
from tools import loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
RUNTIMES = ["cpython", "micropython"]


def example_command(name: str, runtime: str, args: list, extra_path: Sequence[str] = ()) -> tuple:
    """(command, environment) that run examples/name on runtime."""
    path = os.path.join(EXAMPLES, name)
    if runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=":".join([os.path.join(ROOT, "lib")] + list(extra_path)))
        cmd = [sys.executable, path]
    else:
        env = {"MICROPYPATH": ":".join([os.path.join(ROOT, "lib")] + list(extra_path) + [".frozen"])}
        cmd = [MP, "-X", "heapsize=8M", path]
    return cmd + [str(a) for a in args], env


def run_example(name: str, runtime: str, args: list, extra_path: Sequence[str] = ()) -> str:
    cmd, env = example_command(name, runtime, args, extra_path)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=EXAMPLES)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_every_example_is_tested():
    tested = {"http_get.py", "mqtt_publish.py", "ntp_time.py", "asyncio_echo.py", "http_requests.py",
              "mqtt_subscribe.py", "tcp_server.py"}
    assert {f for f in os.listdir(EXAMPLES) if f.endswith(".py")} == tested


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_http_get(emulator, dialect, runtime):
    emu = emulator(dialect)
    srv = loopback.HttpServer()
    try:
        out = run_example("http_get.py", runtime, [emu.path, "127.0.0.1", srv.port, "/bytes/3000"])
    finally:
        srv.close()
    assert "module: %s" % WORDS[dialect].model.decode() in out, out
    assert "status: HTTP/1.0 200 OK" in out or "status: HTTP/1.1 200 OK" in out, out
    assert "body: 3000 bytes" in out, out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mqtt_publish(emulator, dialect, runtime, broker, mplibs):  # noqa: F811
    """QoS 1: each "published" line comes after the broker's PUBACK for it."""
    emu = emulator(dialect)
    out = run_example("mqtt_publish.py", runtime, [emu.path, "127.0.0.1", broker], [mplibs])
    assert [ln for ln in out.splitlines() if ln.startswith("published")] == ["published 0", "published 1",
                                                                            "published 2"], out


class NtpServer:
    """Answers every SNTP request with a fixed transmit time."""

    UNIX = 1767225600  # 2026-01-01 00:00:00 UTC

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                return
            self.requests.append(data)
            answer = bytearray(48)
            answer[0] = 0x1C  # version 3, mode 4 (server)
            answer[40:44] = struct.pack("!I", self.UNIX + 2208988800)
            self.sock.sendto(bytes(answer), addr)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ntp_time(emulator, dialect, runtime):
    emu = emulator(dialect)
    srv = NtpServer()
    try:
        out = run_example("ntp_time.py", runtime, [emu.path, "127.0.0.1", srv.port])
    finally:
        srv.close()
    assert "unix time: %d" % NtpServer.UNIX in out, out
    assert "UTC: 2026-01-01 00:00:00" in out, out
    assert srv.requests and srv.requests[0][:1] == b"\x1b" and len(srv.requests[0]) == 48


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_asyncio_echo(emulator, dialect, runtime, echo_server):
    emu = emulator(dialect)
    out = run_example("asyncio_echo.py", runtime, [emu.path, "127.0.0.1", echo_server.port])
    for n in (1, 2, 3):
        assert "task %d: echoed" % n in out, out
    assert "ticker ran" in out, out


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_http_requests(emulator, dialect, certs, scheme):
    """micropython binary only: `requests` here is MicroPython's (frozen into the binary);
    CPython has no such module (its `requests` from PyPI is another library). https: TLS in
    the module, through the shim requests' own `tls` import gets (requests does not verify)."""
    emu = emulator(dialect)
    srv = loopback.HttpServer(certs.server_context("good") if scheme == "https" else None)
    try:
        out = run_example("http_requests.py", "micropython",
                          [emu.path, "%s://localhost:%d/bytes/3000" % (scheme, srv.port)])
    finally:
        srv.close()
    if scheme == "https":  # the module's TLS opened it (MicroPython's tls would open it plain)
        sent = emu.transcript("<")
        w = WORDS[dialect]
        assert w.tls_open % srv.port in sent and w.tls_setting in sent, out
    assert "module: %s" % WORDS[dialect].model.decode() in out, out
    assert "status: 200" in out, out
    assert "body: 3000 bytes" in out, out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_mqtt_subscribe(emulator, dialect, runtime, broker, mplibs):  # noqa: F811
    """The host publishes (a plain-socket MQTT publisher, as test_mqtt.py's) once the example
    says it is subscribed; the example prints each message and stops after the third."""
    emu = emulator(dialect)
    cmd, env = example_command("mqtt_subscribe.py", runtime, [emu.path, "127.0.0.1", broker, "atmodem/sub", 3],
                               [mplibs])
    proc = subprocess.Popen(cmd, env=env, cwd=EXAMPLES, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(proc)
        out.wait("subscribed to atmodem/sub", 60)
        pub = Publisher(broker, "examples-test")
        for i in range(3):
            pub.publish("atmodem/sub", b"hello %d" % i)
        pub.close()
        for i in range(3):
            assert out.wait("message", 30) == "message %d on atmodem/sub: hello %d" % (i + 1, i), out.seen
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_server_nm28(emulator, runtime):
    """The emulated NM28's listener is a host port: a host client connects to it."""
    emu = emulator("nm28")
    port = free_port()
    result = {}

    def client():
        try:
            c = connect_when_listening(port)
            c.sendall(b"hello server\n")
            result["echo"] = c.makefile("rb").readline()
            c.close()
        except BaseException as e:  # reported by the test, not lost in the thread
            result["error"] = e

    t = threading.Thread(target=client, daemon=True)
    t.start()
    out = run_example("tcp_server.py", runtime, [emu.path, port])
    t.join(20)
    assert "error" not in result, result
    assert result.get("echo") == b"hello server\n", result
    assert "listening on port %d" % port in out, out
    assert "client from 127.0.0.1:" in out, out
    assert "echoed 13 bytes" in out, out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_tcp_server_l610_says_it_cannot(emulator, runtime):
    emu = emulator("l610")
    out = run_example("tcp_server.py", runtime, [emu.path, free_port()])  # status 0 checked there
    assert "L610: this module has no server sockets" in out, out
    assert "listening" not in out, out


def readme_block_after(marker: str) -> list:
    """The lines of the first ``` block after marker in the README."""
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    rest = text[text.index(marker):]
    start = rest.index("```\n") + 4
    return rest[start:rest.index("```", start)].strip("\n").split("\n")


def test_readme_pc_quick_start_is_what_the_example_prints(emulator):
    """README, Quick start on a PC: the command runs the example, and the output it shows has
    the example's lines (the values are a real server's and operator's)."""
    with open(os.path.join(ROOT, "README.md")) as f:
        assert "python examples/http_get.py /dev/ttyUSB0 example.org 80 /" in f.read()
    expected = readme_block_after("Set `APN` in the example to your operator's APN first.")
    emu = emulator("nm28")
    srv = loopback.HttpServer()
    try:
        out = run_example("http_get.py", "cpython", [emu.path, "127.0.0.1", srv.port, "/bytes/1256"])
    finally:
        srv.close()
    got = out.strip().split("\n")
    assert [ln.split(":")[0] for ln in got] == [ln.split(":")[0] for ln in expected], (got, expected)
    assert got[0] == expected[0] and got[-1] == expected[-1], (got, expected)
