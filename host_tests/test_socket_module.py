"""modem.sockets() as a library's `socket` module (README: Libraries written for the `socket`
module), on CPython and on the micropython binary through the emulator: the names
micropython-lib's and CPython's clients use, create_connection, socket.timeout, the calls
ntptime makes against a loopback NTP server, and giving it to one library only."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from host_tests.test_examples import NtpServer
from tools import loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")


def run(emu, runtime, dialect, case, port):
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "host_tests")
    interpreter = sys.executable if runtime == "cpython" else MICROPYTHON
    args = [interpreter, os.path.join(ROOT, "host_tests", "mp_dropin.py"), emu.path, dialect, case, str(port)]
    env = {"MICROPYPATH": path + ":.frozen", "PYTHONPATH": path}
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr
    return r.stdout.split("PASS", 1)[1].strip()


@pytest.mark.parametrize("case", ["names", "create_connection", "recv_timeout", "one_library"])
def test_drop_in(emulator, runtime, dialect, tcp_echo, case):
    assert run(emulator(dialect), runtime, dialect, case, tcp_echo.port)


def test_ntptime_calls_get_the_servers_time(emulator, runtime, dialect):
    srv = NtpServer()
    try:
        assert run(emulator(dialect), runtime, dialect, "ntp", srv.port) == str(NtpServer.UNIX)
    finally:
        srv.close()
    assert srv.requests and len(srv.requests[0]) == 48 and srv.requests[0][:1] == b"\x1b"


def test_cpython_timeout_is_the_socket_modules(emulator, tcp_echo):
    """In this process: the drop-in's timeout is CPython's socket.timeout, and a recv timeout
    raises it."""
    import socket

    import atmodem

    m = atmodem.Modem(atmodem.hal.open_serial(emulator("nm28").path), dialect="nm28")
    m.attach(apn="cmnet")
    try:
        sm = m.sockets()
        assert sm.timeout is socket.timeout is TimeoutError
        before = sys.modules["socket"]
        s = sm.create_connection(("127.0.0.1", tcp_echo.port), 0.2)
        with pytest.raises(socket.timeout):
            s.recv(1)
        s.close()
        assert sys.modules["socket"] is before
    finally:
        m.close()


def test_the_tls_shim_leaves_other_sockets_to_the_tls_they_had(emulator, certs):
    """install_tls() replaces tls/ussl for libraries that wrap a socket; a socket that is not
    the modem's (here a host socket) is wrapped by the module it replaced, with the same
    context settings, and an atmodem socket gets TLS in the module (its link has the TLS)."""
    import socket as host_socket
    import sys

    import atmodem
    from tools import loopback

    saved = {k: sys.modules.get(k) for k in ("tls", "ussl")}
    m = atmodem.Modem(atmodem.hal.open_serial(emulator("l610").path), dialect="l610")
    try:
        m.attach(apn="cmnet")
        shim = m.sockets().install_tls()
        assert sys.modules["tls"] is shim and sys.modules["ussl"] is shim and sys.modules["ssl"] is not shim
        with loopback.echo_server(certs.server_context("good")) as srv:
            ctx = shim.SSLContext(shim.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cafile=certs.dir + "/ca.crt")
            plain = host_socket.create_connection(("localhost", srv.port))
            wrapped = ctx.wrap_socket(plain, server_hostname="localhost")
            wrapped.sendall(b"host")
            assert wrapped.recv(4) == b"host" and type(wrapped).__name__ == "SSLSocket"
            wrapped.close()
            s = m.sockets().socket()
            s.settimeout(30)
            s.connect(("127.0.0.1", srv.port))
            s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"module")
            assert s.read(6) == b"module" and s.link.tls is not None and s.link.tls.verify
            s.close()
    finally:
        m.close()
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
