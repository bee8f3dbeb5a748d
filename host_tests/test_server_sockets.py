"""TCP LISTENER and UDP SERVICE through the driver, with real loopback clients, on every module
that has server sockets."""
from __future__ import annotations

import socket
import threading
import time

import pytest

import atmodem
from host_tests.emu_helpers import free_port
from host_tests.test_driver import RUNTIMES, modem, run_scenario
from atmodem.dialects import load, names

SERVERS = [d for d in names() if load(d).SERVER]


def connect_when_listening(port, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # the module is not listening yet: a client retries


def clients(port, in_turn, at_once, errors):
    try:
        for i in range(in_turn):
            c = connect_when_listening(port)
            c.sendall(b"client %d\n" % i)
            assert c.makefile("rb").readline() == b"CLIENT %d\n" % i
            c.close()
        both = [connect_when_listening(port) for _ in range(at_once)]
        for i, c in enumerate(both):
            c.sendall(b"together %d\n" % i)
        for i, c in enumerate(both):
            assert c.makefile("rb").readline() == b"TOGETHER %d\n" % i
            c.close()
    except BaseException as e:  # reported by the test, not lost in the thread
        errors.append(e)


@pytest.mark.parametrize("dialect", SERVERS)
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["push", "buffer"])
def test_listener_three_in_turn_and_two_at_once(emulator, runtime, mode, dialect):
    port = free_port()
    errors = []
    t = threading.Thread(target=clients, args=(port, 3, 2, errors), daemon=True)
    t.start()
    run_scenario(emulator(dialect), runtime, dialect, "tcp_listener", port=port, mode=mode)
    t.join(20)
    assert not errors, errors


@pytest.mark.parametrize("dialect", SERVERS)
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["push", "buffer"])
def test_udp_service(emulator, runtime, mode, dialect):
    port = free_port()
    errors = []

    def client():
        try:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(0.2)
            for i in range(3):
                for _ in range(200):  # until the module listens and answers
                    u.sendto(b"ping %d" % i, ("127.0.0.1", port))
                    try:
                        assert u.recvfrom(100)[0] == b"PING %d" % i
                        break
                    except socket.timeout:
                        continue
                else:
                    raise AssertionError("no answer to ping %d" % i)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    run_scenario(emulator(dialect), runtime, dialect, "udp_service", port=port, mode=mode)
    t.join(20)
    assert not errors, errors


def test_l610_has_no_server_sockets(emulator):
    m = modem(emulator("l610"), "l610")
    with pytest.raises(NotImplementedError, match="L610"):
        s = m.socket()
        s.bind(("0.0.0.0", 8080))
        s.listen()
    m.close()


def test_bind_arguments_are_checked(emulator):
    m = modem(emulator("nm28"), "nm28")
    with pytest.raises(ValueError):
        m.socket().bind(("10.0.0.1", 80))
    with pytest.raises(ValueError):
        m.socket().bind(("0.0.0.0", 0))
    with pytest.raises(OSError, match="bind"):
        m.socket().listen()
    m.close()


def test_client_announced_before_the_listener_open_result(emulator):
    """Some firmware reports +IPURC "incoming" before +IPOPEN of the listener."""
    import atmodem
    from host_tests.fakes import FakeClock, ScriptedUART, basic_answers

    clock = FakeClock()

    def extra(data):
        if data.startswith(b'AT+IPOPEN=0,"TCP LISTENER"'):
            return b'\r\nOK\r\n\r\n+IPURC: "incoming",1,0,"10.9.8.7",4321\r\n\r\n+IPOPEN: 0,0\r\n'
        if data == b"AT+CGPADDR=1\r":
            return b'\r\n+CGPADDR: 1,"10.0.0.2"\r\n\r\nOK\r\n'
        if data == b"AT+CPIN?\r":
            return b"\r\n+CPIN: READY\r\n\r\nOK\r\n"
        if data == b"AT+CSQ\r":
            return b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
        if data == b"AT+CGREG?\r":
            return b"\r\n+CGREG: 0,1\r\n\r\nOK\r\n"
        return None

    m = atmodem.Modem(ScriptedUART(clock, basic_answers(extra)), "nm28", clock=clock)
    m.attach()
    srv = m.socket()
    srv.bind(("0.0.0.0", 80))
    srv.listen()
    srv.settimeout(0)
    conn, addr = srv.accept()
    assert addr == ("10.9.8.7", 4321) and conn.id == 1
