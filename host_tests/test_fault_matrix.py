"""Fault matrix: each fault the emulator can inject, on both dialects, through the driver.
For each: bounded time, no crash, the error the user sees, and the bytes delivered are
exactly a prefix of what was sent (never reordered, duplicated or corrupted)."""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

import atmodem
from host_tests.emu_helpers import WORDS
from host_tests.test_driver import modem
from tools import loopback
from atmodem.dialects import names

DIALECTS = names()


class RecordingSink(loopback.SinkServer):
    """A sink that keeps what it got, to check it is a prefix of what was sent."""

    def __init__(self):
        self.data = bytearray()
        super().__init__()

    def _sink(self, conn):
        while True:
            d = conn.recv(65536)
            if not d:
                return
            with self.cond:
                self.data += d
                self.received += len(d)
                self.cond.notify_all()


def test_link_drop_mid_send(emulator, dialect):
    """The link breaks while a 400 kB transfer is under way (injected once 20 kB arrived)."""
    emu = emulator(dialect)
    m = modem(emu, dialect)
    data = os.urandom(400_000)
    with RecordingSink() as sink:
        s = m.socket()
        s.settimeout(20)
        s.connect(("127.0.0.1", sink.port))
        t0 = time.monotonic()
        sent = 0
        dropped = False
        with pytest.raises(OSError) as e:
            for i in range(0, len(data), 4096):
                if sink.received > 20_000 and not dropped:
                    emu.drop_socket(s.id)
                    dropped = True
                s.sendall(data[i : i + 4096])
                sent = i + 4096
        assert time.monotonic() - t0 < 30
        confirmed = sent + getattr(e.value, "sent")
        assert confirmed < len(data) and "closed" in str(e.value)
        time.sleep(0.2)  # let the sink finish reading what the network carried
        assert data.startswith(bytes(sink.data)) and len(sink.data) <= confirmed
    m.close()


@pytest.mark.parametrize("fault", ["drop", "reboot"])
@pytest.mark.parametrize("mode", ["push", "buffer"])
def test_fault_mid_receive(emulator, dialect, fault, mode):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    stop = threading.Event()

    def slow_source(conn):
        for _ in range(200):
            if stop.is_set():
                return
            conn.sendall(os.urandom(4096))
            time.sleep(0.002)

    got = bytearray()
    with loopback.TcpServer(slow_source) as srv:
        s = m.socket(mode=mode, rxbuf=65536)
        s.settimeout(20)
        s.connect(("127.0.0.1", srv.port))
        inject = (lambda: emu.drop_socket(s.id)) if fault == "drop" else emu.reboot
        injected = False
        t0 = time.monotonic()
        err = None
        try:
            while True:
                if not injected and len(got) > 30_000:
                    inject()  # mid-transfer: the source is still sending
                    injected = True
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except OSError as e:
            err = e
        stop.set()
        assert time.monotonic() - t0 < 30 and injected, err
    assert len(got) > 30_000
    if fault == "reboot":
        assert err is not None and "rebooted" in str(err)
        m.ensure_up()
        assert m.state == "ready"
        assert m.attach() and m.state == "attached"
    else:
        assert err is None  # the module reports the drop as the end of the stream
    m.close()


def test_received_bytes_are_a_prefix_when_the_link_drops(emulator, dialect):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    payload = os.urandom(300_000)
    with loopback.TcpServer(lambda conn: conn.sendall(payload)) as srv:
        s = m.socket(rxbuf=65536)
        s.settimeout(20)
        s.connect(("127.0.0.1", srv.port))
        got = bytearray()
        dropped = False
        while True:
            if len(got) > 20_000 and not dropped:
                emu.drop_socket(s.id)
                dropped = True
            d = s.recv(8192)
            if not d:
                break
            got += d
    assert payload.startswith(bytes(got))
    m.close()


def test_noise_between_and_inside_responses(emulator, dialect):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    rnd = random.Random(5)
    stop = threading.Event()

    def noise():
        while not stop.is_set():
            # binary noise, with line ends, but not forming an AT answer of its own
            junk = bytes(rnd.choice(b"xyz\x00\x7f\xfe\r\n;:,!") for _ in range(rnd.randrange(1, 24)))
            emu.inject(junk)
            time.sleep(0.003)

    t = threading.Thread(target=noise, daemon=True)
    with loopback.echo_server() as srv:
        s = m.socket()
        s.settimeout(20)
        s.connect(("127.0.0.1", srv.port))
        t.start()
        try:
            for _ in range(30):
                d = os.urandom(2000)
                s.sendall(d)
                assert s.read(len(d)) == d
            assert m.command(b"AT+CSQ", prefix=b"+CSQ:").ok()
        finally:
            stop.set()
    m.close()


def test_command_answered_with_error(emulator, dialect):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    with loopback.echo_server() as srv:
        s = m.socket()
        s.settimeout(20)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"first ")
        emu.fail_command(WORDS[dialect].send_cmd, "error", count=1)
        with pytest.raises(atmodem.ATError) as e:
            s.sendall(b"refused")
        assert getattr(e.value, "sent") == 0 and "ERROR" in str(e.value) and "0 of 7 bytes confirmed" in str(e.value)
        s.sendall(b"second")
        assert s.read(12) == b"first second"
    m.close()


def test_command_never_answered(emulator, dialect):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    emu.fail_command("AT+CSQ", "silent", count=1)
    t0 = time.monotonic()
    with pytest.raises(atmodem.ATTimeout) as e:
        m.command(b"AT+CSQ", prefix=b"+CSQ:", timeout_ms=1500)
    assert 1.4 < time.monotonic() - t0 < 5 and e.value.errno == 110 and "AT+CSQ" in str(e.value)
    assert m.command(b"AT+CSQ", prefix=b"+CSQ:").lines == [b"+CSQ: 31,99"]
    m.close()


def test_a_close_never_answered_does_not_hold_the_next_connect(emulator, dialect):
    """A close the module never answered (not even its OK) may never have reached it: the
    next connect asks the module rather than wait out the close's own bound (60 s on the
    L610), and succeeds within its timeout. Found by the lifecycle model."""
    emu = emulator(dialect)
    m = modem(emu, dialect)
    with loopback.echo_server() as srv:
        s = m.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", srv.port))
        emu.fail_command(WORDS[dialect].close_cmd, "silent", count=1)
        s.close()
        t0 = time.monotonic()
        s2 = m.socket()
        s2.settimeout(5)
        s2.connect(("127.0.0.1", srv.port))
        s2.sendall(b"after")
        assert s2.read(5) == b"after" and time.monotonic() - t0 < 5
    m.close()


@pytest.mark.parametrize("mode", ["push", "buffer"])
def test_one_byte_chunks_with_delays(emulator, dialect, mode):
    emu = emulator(dialect)
    m = modem(emu, dialect)
    emu.chunk_output(1, 0.0002)
    with loopback.echo_server() as srv:
        s = m.socket(mode=mode)
        s.settimeout(30)
        s.connect(("127.0.0.1", srv.port))
        d = os.urandom(3000)
        s.sendall(d)
        assert s.read(len(d)) == d
    m.close()


def test_flow_wait_is_the_manuals_thirty_seconds(emulator):
    from host_tests.fakes import FakeClock, ScriptedUART

    assert atmodem.Modem(ScriptedUART(FakeClock(), lambda d: b"")).flow_wait_ms == 30000  # [seed: 30 s]


@pytest.mark.parametrize("hold,fails", [(2, False), (8, True)])
def test_flow_control_held_off(emulator, dialect, hold, fails):
    """With the flow wait at 4 s (the manual's is 30): held 2 s, the sender pauses and every
    byte arrives; held 8 s, after 4 s without room the socket is closed with an error and
    the sink has a prefix."""
    emu = emulator(dialect)
    m = modem(emu, dialect)
    m.flow_wait_ms = 4000
    data = os.urandom(60_000)
    with RecordingSink() as sink:
        s = m.socket()
        s.settimeout(60)
        s.connect(("127.0.0.1", sink.port))
        s.sendall(data[:1000])
        assert sink.wait(1000, 5)
        emu.hold_flow(s.id)
        threading.Timer(hold, lambda: emu.hold_flow(s.id, False) if s.id in emu.open_ids() else None).start()
        t0 = time.monotonic()
        if fails:
            with pytest.raises(OSError) as e:
                s.sendall(data[1000:])
            assert 3.5 < time.monotonic() - t0 < 8
            assert "4 s" in str(e.value) and "connection closed" in str(e.value)
            time.sleep(0.3)
            assert data.startswith(bytes(sink.data)) and len(sink.data) <= 1000 + getattr(e.value, "sent")
        else:
            s.sendall(data[1000:])
            assert hold - 1 < time.monotonic() - t0 < 4
            assert sink.wait(len(data), 10) and bytes(sink.data) == data
    m.close()


def test_sim_not_ready_for_the_first_seconds(emulator, dialect):
    emu = emulator(dialect, sim_delay=2.0)
    steps = []
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect)
    t0 = time.monotonic()
    m.attach(progress=steps.append, timeout=30)
    assert time.monotonic() - t0 >= 1.5 and m.state == "attached"
    assert steps.count("sim") >= 2  # asked again while the SIM was starting
    m.close()


def test_registration_lost_and_back(emulator, dialect):
    emu = emulator(dialect)
    emu.set_registration(2)  # searching
    threading.Timer(1.5, emu.set_registration, args=(1,)).start()
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect)
    m.attach(timeout=30)
    assert m.state == "attached"
    with loopback.echo_server() as srv:
        rc = atmodem.Reconnecting(m, ("127.0.0.1", srv.port), backoff_ms=200, attempts=50)
        s = rc.socket()
        s.sendall(b"one")
        assert s.read(3) == b"one"
        emu.set_registration(0)  # lost: the link goes, opens fail until it is back
        try:
            emu.drop_socket(s.id)
        except ValueError:
            pass  # a module that reports the bearer lost ("pdpdeact") dropped it already
        m.until(s.ended, 5000, "the module's closed URC")
        threading.Timer(1.5, emu.set_registration, args=(1,)).start()
        t0 = time.monotonic()
        s2 = rc.socket()
        assert s2 is not s and rc.failures == 0 and time.monotonic() - t0 < 20
        s2.sendall(b"two")
        assert s2.read(3) == b"two"
    m.close()


def test_reboot_with_auto_reattach(emulator, dialect):
    emu = emulator(dialect)
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect, auto_reattach=True)
    m.attach()
    with loopback.echo_server() as srv:
        rc = atmodem.Reconnecting(m, ("127.0.0.1", srv.port), backoff_ms=100, attempts=20)
        s = rc.socket()
        emu.reboot()
        with pytest.raises(OSError, match="rebooted"):
            s.recv(10)
        s2 = rc.socket()  # brought back up, attached again, reopened
        s2.sendall(b"after")
        assert s2.read(5) == b"after" and m.state == "attached"
    m.close()


def test_dial_is_retried_as_the_manual_says(emulator, dialect):
    """The first data-bearer activation fails: attach resends it and succeeds."""
    emu = emulator(dialect)
    emu.fail_command(WORDS[dialect].dial_cmd, "error", count=2)
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect)
    assert m.attach(timeout=30) == "10.166.80.147"
    m.close()


def test_attach_failure_names_the_step_and_the_answer(emulator, dialect):
    emu = emulator(dialect)
    emu.fail_command(WORDS[dialect].dial_cmd, "error")
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect)
    with pytest.raises(OSError) as e:
        m.attach(timeout=30)
    assert "attach, step" in str(e.value) and "ERROR" in str(e.value)
    m.close()
