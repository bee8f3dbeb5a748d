"""The driver end to end against the emulator: each scenario on CPython (pyserial) and on
the micropython binary (its unix port on the pseudo-terminal), on both dialects."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings, strategies as st

import atmodem
from host_tests import scenarios
from host_tests.emu_helpers import free_port, wait_for
from tools import loopback
from atmodem.dialects import identify, load, names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
RUNTIMES = ["cpython", "micropython"]
DIALECTS = names()
MODES = ["push", "hex", "buffer"]


def run_scenario(emu, runtime, dialect, name, own_process=False, **kw):
    """own_process: CPython runs the scenario as its own program, as a user's would. In this
    process it shares the GIL with the emulator's threads and pytest's heap with every
    collection pass, which is not the driver's doing; timing scenarios must not measure it."""
    skip_unless_able(dialect, kw.get("mode"))
    if runtime == "cpython" and not own_process:
        guard = kw.pop("guard_ms", 1000)
        m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect=dialect, guard_ms=guard)
        m.start()
        m.attach(apn="cmnet")
        try:
            return scenarios.ALL[name](m, **kw)
        finally:
            m.close()
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "host_tests")
    interpreter = sys.executable if runtime == "cpython" else MICROPYTHON
    args = [interpreter, os.path.join(ROOT, "host_tests", "mp_run.py"), emu.path, dialect, name]
    args += ["%s=%s" % kv for kv in kw.items()]
    env = {"MICROPYPATH": path + ":.frozen", "PYTHONPATH": path}
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0 and "PASS" in r.stdout, r.stdout + r.stderr
    return r.stdout


def skip_unless_able(dialect, mode=None, tls=False, server=False):
    """Skip what the module cannot do (its dialect's capability flags say so)."""
    d = load(dialect)
    if mode not in (None, "default") and mode not in d.MODES:
        pytest.skip("the %s has no %s mode" % (d.NAME, mode))
    if tls and not d.TLS:
        pytest.skip("the %s does no TLS in the module" % d.NAME)
    if server and not d.SERVER:
        pytest.skip("the %s has no server sockets" % d.NAME)


@pytest.fixture(scope="module")
def udp_echo_m():
    with loopback.UdpEcho() as s:
        yield s


@pytest.mark.parametrize("mode", MODES)
def test_one_mebibyte_tcp_echo(emulator, runtime, dialect, mode, tcp_echo):
    run_scenario(emulator(dialect), runtime, dialect, "echo_stream", port=tcp_echo.port, mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_one_mebibyte_udp_echo(emulator, runtime, dialect, mode, udp_echo_m):
    run_scenario(emulator(dialect), runtime, dialect, "echo_udp", port=udp_echo_m.port, mode=mode)


def test_all_sockets_at_once_interleaved(emulator, runtime, dialect, tcp_echo):
    run_scenario(emulator(dialect), runtime, dialect, "many_sockets", port=tcp_echo.port)


@pytest.mark.parametrize("mode", ["push", "buffer"])
def test_responses_in_one_byte_chunks(emulator, runtime, dialect, mode, tcp_echo):
    emu = emulator(dialect)
    emu.chunk_output(1)
    run_scenario(emu, runtime, dialect, "echo_stream", port=tcp_echo.port, mode=mode, size=20000)


@pytest.mark.parametrize("mode", MODES)
def test_peer_close_after_data(emulator, runtime, dialect, mode):
    def bye(conn):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    with loopback.TcpServer(bye) as srv:
        run_scenario(emulator(dialect), runtime, dialect, "peer_close", port=srv.port, mode=mode)


def test_connection_refused(emulator, runtime, dialect):
    run_scenario(emulator(dialect), runtime, dialect, "refused", port=free_port())


def test_timeouts(emulator, runtime, dialect):
    with loopback.TcpServer(lambda conn: conn.recv(1)) as srv:
        run_scenario(emulator(dialect), runtime, dialect, "timeouts", port=srv.port)


def test_bad_input_is_refused(emulator, runtime, dialect, tcp_echo):
    emu = emulator(dialect)
    run_scenario(emu, runtime, dialect, "bad_input", port=tcp_echo.port)
    assert b"evil" not in emu.transcript("<") and b"CFUN=0" not in emu.transcript("<")


def test_resolve_and_readline(emulator, runtime, dialect, tcp_echo):
    run_scenario(emulator(dialect), runtime, dialect, "resolve", port=tcp_echo.port)


# ---------------------------------------------------------------- CPython-only details


def modem(emu, dialect=None):
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect=dialect)
    m.start()
    m.attach(apn="cmnet")
    return m


@pytest.mark.parametrize("d", DIALECTS)
def test_dialect_is_identified(emulator, d):
    m = modem(emulator(d))
    assert type(m.dialect) is load(d) and identify(m.model.encode()) == d, m.model
    m.close()


def test_urcs_arrive_inside_command_responses(emulator, tcp_echo):
    """Data for socket A lands while socket B's commands are answered: nothing is lost."""
    emu = emulator("nm28")
    m = modem(emu, "nm28")
    a, b = m.socket(), m.socket()
    for s in (a, b):
        s.settimeout(10)
        s.connect(("127.0.0.1", tcp_echo.port))
    a.sendall(b"for a " * 200)
    emu.inject(b'\r\n+IPURC: "recv",1,6\r\nfor b \r\n')  # a push URC in the middle of anything
    b.sendall(b"x")
    assert a.read(1200) == b"for a " * 200
    assert b.read(7) == b"for b x"
    m.close()


def test_push_overflow_is_an_error_never_silent_loss(emulator, tcp_echo):
    """Push mode, a 2 KiB ring, 5000 bytes written before reading: what arrives while the
    program is inside sendall cannot all be held. The data that fit, then ENOBUFS. (A ring
    smaller than one pushed payload, 1460 bytes, holds none of it: see the next test.)"""
    emu = emulator("nm28")
    m = modem(emu, "nm28")
    s = m.socket(mode="push", rxbuf=2048)
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    data = os.urandom(5000)
    s.sendall(data)
    # However slow the machine, the whole echo is on the line before the program is busy
    # again: the driver meets it inside a command, not between the program's reads.
    pushed = lambda: sum(int(n) for n in re.findall(rb'\+IPURC: "recv",\d+,(\d+)\r\n', emu.transcript(">")))
    wait_for(lambda: pushed() >= len(data), "the echo on the line")
    s.sendall(b"!")
    got = b""
    with pytest.raises(OSError) as e:
        while True:
            chunk = s.recv(100)
            assert chunk
            got += chunk
    assert e.value.errno == 105 and "did not fit" in str(e.value)
    assert data.startswith(got) and len(got) >= 1460
    m.close()


def test_a_push_payload_larger_than_the_ring_is_an_error_never_a_partial_delivery(emulator, tcp_echo):
    """A 1 KiB ring cannot stage a 1460-byte payload to check its framing: nothing of it is
    delivered unverified, and the error says what to change."""
    m = modem(emulator("nm28"), "nm28")
    s = m.socket(mode="push", rxbuf=1024)
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    s.sendall(os.urandom(1460))
    with pytest.raises(OSError) as e:
        s.recv(100)
    assert e.value.errno == 105 and "larger than its rxbuf (1024 bytes)" in str(e.value)
    m.close()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_default_mode_small_ring_loses_nothing(emulator, tcp_echo, dialect):
    """The default mode: the module holds what the 1 KiB ring cannot, however much the
    program writes before it reads."""
    m = modem(emulator(dialect), dialect)
    s = m.socket(rxbuf=1024)
    assert s.mode == "buffer"
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    data = os.urandom(20000)
    s.sendall(data)
    assert s.read(len(data)) == data
    m.close()


def test_connect_before_attach_says_so(emulator):
    m = atmodem.Modem(atmodem.hal.open_serial(emulator("l610").path))
    m.start()
    with pytest.raises(OSError, match="attach"):
        m.socket().connect(("127.0.0.1", 9))
    m.close()


def test_an_id_the_module_holds_behind_atmodems_back_is_reconciled_not_refused(emulator, tcp_echo):
    """A Quectel answers an open on a taken id with +QIOPEN: <id>,563 after its OK: atmodem
    asks the module which ids are open, closes the one nobody owns and opens again, as it
    does for the NM28's "operation not allowed"."""
    m = atmodem.Modem(atmodem.hal.open_serial(emulator("quectel").path), dialect="quectel")
    m.start()
    m.attach(apn="cmnet")
    taken = m.dialect.IDS[0]  # the id atmodem claims first
    m.command('AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,0' % (taken, tcp_echo.port))
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    s.sendall(b"on a free id")
    assert s.read(12) == b"on a free id"
    assert m.open_sockets() == [s.link.id]  # the stray id was closed, the module agrees
    s.close()
    m.close()


def test_l610_receive_format_is_shared(emulator, tcp_echo):
    m = modem(emulator("l610"), "l610")
    a = m.socket(mode="push")
    a.connect(("127.0.0.1", tcp_echo.port))
    with pytest.raises(OSError, match="receive format"):
        m.socket(mode="buffer").connect(("127.0.0.1", tcp_echo.port))
    a.close()
    b = m.socket(mode="buffer")
    b.connect(("127.0.0.1", tcp_echo.port))
    b.close()
    m.close()


def test_tls_the_module_cannot_do_is_refused_before_it_reaches_the_module(emulator, certs):
    """The L610 takes its CA as PEM (it keeps no files) and does TLS in push and hex mode;
    the NM28 documents no upload, so it takes file names. Each refusal says why."""
    pem = open(certs.dir + "/ca.crt", "rb").read()
    m = modem(emulator("l610"), "l610")
    with pytest.raises(NotImplementedError, match="mutual TLS on the L610"):
        m.socket(tls=atmodem.TLS(ca=pem, client_cert=pem, client_key=pem))
    with pytest.raises(ValueError, match="keeps no certificate files"):
        m.socket(tls=atmodem.TLS(ca="ca.crt"))
    with pytest.raises(ValueError, match="push and hex mode, not 'buffer'"):
        m.socket(mode="buffer", tls=atmodem.TLS(ca=pem))
    with pytest.raises(ValueError, match="TLS 1.2"):
        m.socket(tls=atmodem.TLS(ca=pem, version="1.1"))
    assert m.socket(tls=atmodem.TLS(ca=pem)).mode == "push"  # the default mode it does TLS in
    m.close()
    m = modem(emulator("nm28"), "nm28")
    with pytest.raises(NotImplementedError, match="no command that stores a certificate"):
        m.socket(tls=atmodem.TLS(ca=pem))
    m.close()
    with pytest.raises(ValueError, match="must be PEM"):
        atmodem.TLS(ca=b"MIIBszCCAVmgAwIBAgIUX")  # bare Base64: the module would fail every open


def test_command_errors_name_the_command_and_answer(emulator):
    emu = emulator("nm28")
    m = modem(emu, "nm28")
    emu.fail_command("AT+IPOPEN=", "error")
    with pytest.raises(atmodem.ATError) as e:
        m.socket().connect(("127.0.0.1", 9))
    assert "AT+IPOPEN=0" in str(e.value) and "ERROR" in str(e.value)
    m.close()


def test_silent_module_times_out_with_the_command_named(emulator):
    emu = emulator("l610")
    m = modem(emu, "l610")
    emu.fail_command("AT+MIPOPEN=", "silent")
    s = m.socket()
    s.settimeout(0.5)
    with pytest.raises(OSError) as e:
        s.connect(("127.0.0.1", 9))
    assert e.value.errno == 110 and "AT+MIPOPEN=1" in str(e.value)
    m.close()


def test_socket_over_tcp_exposed_line(tcp_echo):
    from tools.emulator import Emulator

    with Emulator("nm28", serve=("127.0.0.1", 0), async_delay=0.005) as emu:
        emu.wait_idle()
        url = "socket://%s:%d" % tuple(emu.serve_address or ())[:2]
        m = atmodem.Modem(atmodem.hal.open_serial(url))
        m.start()
        m.attach()
        s = m.socket()
        s.settimeout(10)
        s.connect(("127.0.0.1", tcp_echo.port))
        s.sendall(b"over tcp")
        assert s.read(8) == b"over tcp"
        m.close()


def test_module_state_machine(emulator):
    m = atmodem.Modem(atmodem.hal.open_serial(emulator("nm28").path))
    seen = [m.state]
    m.start()
    seen.append(m.state)
    m.attach(progress=lambda step: seen.append(m.state))
    seen.append(m.state)
    assert seen[0] == "off" and seen[1] == "ready" and seen[-1] == "attached"
    assert "sim_ready" in seen and "registered" in seen
    m.close()


@pytest.mark.parametrize("d", DIALECTS)
def test_echo_left_on_still_works(emulator, tcp_echo, d):
    """After a module reset echo is back on; the engine drops our own echo."""
    m = modem(emulator(d), d)
    m.command(b"ATE1")
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    s.sendall(b"echo is on " * 300)
    assert s.read(3300) == b"echo is on " * 300
    m.close()


@pytest.mark.parametrize("d", DIALECTS)
@pytest.mark.parametrize("mode", MODES)
def test_reboot_delivers_received_data_then_raises(emulator, d, mode):
    skip_unless_able(d, mode)
    emu = emulator(d)
    m = modem(emu, d)
    arrived = threading.Event()

    def talk(conn):
        conn.sendall(b"before the reboot")
        arrived.wait(5)

    with loopback.TcpServer(talk) as srv:
        s = m.socket(mode=mode)
        s.settimeout(10)
        s.connect(("127.0.0.1", srv.port))
        if mode != "buffer":
            m.until(lambda: len(s.link.inbox) == 17, 5000, "data")
        emu.reboot()
        got = b""
        with pytest.raises(OSError) as e:
            while True:
                chunk = s.recv(100)
                assert chunk, "end of stream instead of an error"
                got += chunk
        arrived.set()
    assert "rebooted" in str(e.value)
    assert b"before the reboot".startswith(got) and (mode == "buffer" or got == b"before the reboot")
    assert m.state == "off"
    m.close()


def test_write_after_the_peer_closed_behaves_like_tcp(emulator):
    """One write after the peer's FIN is taken (TLS close_notify does it), the next fails."""
    m = modem(emulator("l610"), "l610")

    def bye(conn):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    with loopback.TcpServer(bye) as srv:
        s = m.socket()
        s.settimeout(10)
        s.connect(("127.0.0.1", srv.port))
        assert s.read(10) == b"bye"
        assert s.write(b"close_notify") == 12
        with pytest.raises(OSError) as e:
            s.write(b"more")
        assert e.value.errno == 107
    m.close()


def test_data_waiting_urc_during_a_short_read_is_not_lost():
    """IPREAD arriving in the same chunk as a short AT+IPRD answer: more data is waiting."""
    from atmodem.socket import OPEN
    from host_tests.fakes import FakeClock, ScriptedUART, basic_answers, install

    reads = [b"\r\n+IPRD: 0,3\r\nabc\r\nOK\r\n\r\nIPREAD: 0\r\n", b"\r\n+IPRD: 0,3\r\ndef\r\nOK\r\n"]

    def extra(data):
        if data.startswith(b"AT+IPRD=0,"):
            return reads.pop(0) if reads else b"\r\n+IPRD: 0,0\r\n\r\nOK\r\n"
        return None

    clock = FakeClock()
    m = atmodem.Modem(ScriptedUART(clock, basic_answers(extra)), "nm28", clock=clock)
    m.start()
    s = m.socket(mode="buffer")
    install(m, s, 0)
    s.link.data_waiting()
    s.settimeout(5)
    assert s.read(6) == b"abcdef"


class _ChunkedUART:
    """A ScriptedUART whose port hands out at most `chunk` bytes per read."""

    def __init__(self, uart, chunk):
        self.uart, self.chunk = uart, chunk

    def readinto(self, buf):
        return self.uart.readinto(memoryview(buf)[: self.chunk])

    def __getattr__(self, name):
        return getattr(self.uart, name)


@settings(max_examples=60, deadline=None)
@given(chunk=st.integers(1, 1600), rxbuf=st.sampled_from([1500, 2000, 3001, 4096]),
       sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=8))
def test_read_answers_arrive_whole_however_the_port_cuts_them(chunk, rxbuf, sizes):
    """A read's payload goes from the port straight into the socket's ring (wrapping, or
    filling it before the payload ends): the program gets every byte, in order."""
    from atmodem.socket import OPEN
    from host_tests.fakes import FakeClock, ScriptedUART, basic_answers, install

    held = bytearray(os.urandom(9000))
    data = bytes(held)

    def extra(cmd):
        if cmd.startswith(b"AT+IPRD=0,"):
            k = min(int(cmd[10:].strip()), len(held))
            out = b"\r\n+IPRD: 0,%d\r\n" % k + bytes(held[:k]) + b"\r\nOK\r\n"
            del held[:k]
            return out
        return None

    clock = FakeClock()
    m = atmodem.Modem(_ChunkedUART(ScriptedUART(clock, basic_answers(extra)), chunk), "nm28", clock=clock)
    m.start()
    s = m.socket(mode="buffer", rxbuf=rxbuf)
    install(m, s, 0)
    s.link.data_waiting()
    s.settimeout(5)
    got = bytearray()
    i = 0
    while len(got) < len(data):
        got += s.recv(sizes[i % len(sizes)])
        i += 1
    assert got == data
    m.close()


@pytest.mark.parametrize("d", DIALECTS)
def test_a_name_that_does_not_resolve_says_so(emulator, d):
    """Not 'connection refused' with the module's raw code: the name did not resolve."""
    m = modem(emulator(d), d)
    s = m.socket()
    s.settimeout(10)
    with pytest.raises(OSError) as e:
        s.connect(("no-such-host.invalid", 80))
    assert e.value.errno == 113 and "could not resolve 'no-such-host.invalid'" in str(e.value), e.value
    m.close()


def test_a_refused_hex_send_does_not_quote_two_kilobytes_of_hex(emulator, tcp_echo):
    emu = emulator("nm28")
    m = modem(emu, "nm28")
    s = m.socket(mode="hex")
    s.settimeout(10)
    s.connect(("127.0.0.1", tcp_echo.port))
    emu.fail_command("AT+IPSENDEX", "error")
    with pytest.raises(OSError) as e:
        s.send(bytes(1024))
    assert "AT+IPSENDEX=0,<1024 bytes as hex>" in str(e.value) and len(str(e.value)) < 200, str(e.value)
    m.close()


def test_buffer_sizes_are_checked(emulator):
    m = modem(emulator("nm28"), "nm28")
    for bad in (10**9, 10, "4096"):
        with pytest.raises(ValueError, match="rxbuf"):
            m.socket(rxbuf=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rxbuf"):
        atmodem.Modem(object(), rxbuf=10**9)
    m.close()


def test_after_close_the_modem_says_so_not_pyserial(emulator):
    m = modem(emulator("l610"), "l610")
    m.close()
    for call in (lambda: m.command(b"AT"), lambda: m.socket(), lambda: m.poll(10), lambda: m.getaddrinfo("localhost", 80)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == 9 and "modem was closed" in str(e.value), e.value
    m.close()  # twice is fine


def test_bring_up_code_is_let_go_after_use_on_micropython(emulator, runtime, dialect, tcp_echo):
    """Heap on a board: start/attach code is imported when needed and released after."""
    out = run_scenario(emulator(dialect), runtime, dialect, "bringup_released", port=tcp_echo.port)
    assert ("released" in out) if runtime == "micropython" else out == "kept"
