"""The socket lifecycle, model-checked (hypothesis' stateful testing) against the emulator:
random sequences of sockets opened to good, refused, unresolvable and silent peers, sends,
reads, closes, transparent sessions, and faults (a dropped socket, a module reboot, ERROR or
silence for a command, the host program restarting with a fresh Modem on the same module).

After every step: nothing is open on the module that atmodem does not know of (its sockets,
or ids it holds in doubt), no socket atmodem thinks alive is gone from the module, and while
the module has a free id a new socket opens.

    ATMODEM_MODEL_EXAMPLES=200 ./run test host_tests/test_table_model.py   # a longer run
"""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import atmodem
from host_tests.emu_helpers import free_port
from tools import loopback
from tools.emulator import Emulator

EXAMPLES = int(os.environ.get("ATMODEM_MODEL_EXAMPLES", "5"))
STEPS = int(os.environ.get("ATMODEM_MODEL_STEPS", "14"))
GUARD_MS = 250


class Silent(loopback.TcpServer):
    """Accepts and never says a word (until the client goes)."""

    def __init__(self) -> None:
        super().__init__(loopback.swallow)


class Peers:
    """One set of loopback peers for all examples (servers are cheap to keep)."""

    def __init__(self) -> None:
        self.echo = loopback.echo_server()
        self.silent = Silent()
        self.refused = free_port()

    def address(self, kind: str):
        if kind == "good":
            return ("127.0.0.1", self.echo.port)
        if kind == "silent":
            return ("127.0.0.1", self.silent.port)
        if kind == "refused":
            return ("127.0.0.1", self.refused)
        return ("no-such-host.invalid", 80)

    def close(self) -> None:
        self.echo.close()
        self.silent.close()


PEERS = None


def peers() -> Peers:
    global PEERS
    if PEERS is None:
        PEERS = Peers()
    return PEERS


class Lifecycle(RuleBasedStateMachine):
    dialect = "nm28"

    def __init__(self) -> None:
        super().__init__()
        self.emu = Emulator(self.dialect, async_delay=0.005, guard_time=GUARD_MS / 1000 * 0.8).start()
        self.m = self.new_modem()
        self.socks = []  # (socket, kind)
        self.silences = 0
        self.ids = len(self.m.dialect.IDS)

    def new_modem(self):
        m = atmodem.Modem(atmodem.hal.open_serial(self.emu.path), dialect=self.dialect, guard_ms=GUARD_MS,
                          auto_reattach=True)
        m.start()
        m.attach(apn="cmnet")
        return m

    def teardown(self) -> None:
        try:
            self.m.close()
        finally:
            self.emu.stop()

    # ---------------------------------------------------------------- helpers
    def live(self):
        return [(s, k) for s, k in self.socks if s.state == atmodem.socket.OPEN and not s.ended()]

    def pick(self, data, kinds=None):
        choices = [(s, k) for s, k in self.live() if kinds is None or k in kinds]
        if not choices:
            return None, None
        return data.draw(st.sampled_from(choices))

    # ---------------------------------------------------------------- the program
    @rule(kind=st.sampled_from(["good", "refused", "unresolvable", "silent"]), mode=st.sampled_from(["buffer", "push"]))
    def connect(self, kind, mode):
        s = self.m.socket(mode=mode)
        s.settimeout(5)
        armed = bool(self.emu.mod.faults)  # an ERROR or silence waits for some command
        try:
            s.connect(peers().address(kind))
        except OSError as e:
            if armed and ("ERROR" in str(e) or "no answer" in str(e)):
                return
            full = len(self.live()) >= self.ids
            if self.dialect == "l610" and "one setting for the whole module" in str(e):
                assert any(k.mode != mode for k, _ in self.live()), e  # only when mixed
                return
            assert kind in ("refused", "unresolvable") or full or "ERROR" in str(e) or "no answer" in str(e), e
            if kind == "unresolvable" and not full:
                assert "resolve" in str(e), e
            return
        assert kind in ("good", "silent"), "connected to a %s peer" % kind
        self.socks.append((s, kind))

    @rule(data=st.data(), size=st.integers(1, 3000))
    def echo(self, data, size):
        s, _ = self.pick(data, ("good",))
        if s is None:
            return
        payload = os.urandom(size)
        try:
            s.sendall(payload)
            assert s.read(size) == payload
        except OSError as e:  # a fault armed for this command: said, not silent
            assert str(e), e

    @rule(data=st.data())
    def read_silence(self, data):
        s, _ = self.pick(data, ("silent",))
        if s is None:
            return
        s.settimeout(0.1)
        try:
            s.recv(10)
            raise AssertionError("a silent peer said something")
        except OSError as e:
            assert e.errno == 110, e
        s.settimeout(5)

    @rule(data=st.data())
    def close(self, data):
        if not self.socks:
            return
        s, k = data.draw(st.sampled_from(self.socks))
        s.close()
        self.socks.remove((s, k))

    @precondition(lambda self: len(self.live()) < self.ids)
    @rule()
    def transparent_session(self):
        s = self.m.socket(mode="transparent")
        s.settimeout(5)
        try:
            s.connect(peers().address("good"))
            s.sendall(b"through the UART")
            assert s.read(16) == b"through the UART"
            s.suspend()
            self.m.command(b"AT")
        except OSError as e:
            assert str(e), e
        finally:
            s.close()
        assert self.m.mode.link is None

    # ---------------------------------------------------------------- faults
    @rule(data=st.data())
    def drop_socket(self, data):
        s, _ = self.pick(data)
        if s is None or s.id not in self.emu.open_ids():
            return
        self.emu.drop_socket(s.id)
        self.m.until(s.ended, 5000, "the dropped socket's URC")

    @rule()
    def reboot(self):
        self.emu.reboot()
        self.m.until(lambda: self.m.rebooted or self.m.state == "off", 5000, "the boot URC")

    @rule(cmd=st.sampled_from(["open", "close", "send"]))
    def error_next(self, cmd):
        self.emu.fail_command(self.prefix(cmd), "error", 1)

    @precondition(lambda self: self.silences < 1)
    @rule(cmd=st.sampled_from(["close", "send"]))
    def silence_next(self, cmd):
        self.silences += 1  # each costs a command timeout (5 s)
        self.emu.fail_command(self.prefix(cmd), "silent", 1)

    def prefix(self, cmd):
        nm28 = {"open": "AT+IPOPEN=", "close": "AT+IPCLOSE=", "send": "AT+IPSEND="}
        l610 = {"open": "AT+MIPOPEN=", "close": "AT+MIPCLOSE=", "send": "AT+MIPSEND="}
        return (nm28 if self.dialect == "nm28" else l610)[cmd]

    @rule()
    def host_restarts(self):
        """The program dies (nothing closed) and a new one starts on the same module."""
        self.m.line.port.close()
        self.m.closed = True
        self.socks = []
        self.emu.clear_faults()
        self.m = self.new_modem()

    # ---------------------------------------------------------------- the checks
    @invariant()
    def the_module_is_the_truth(self):
        m = self.m
        m.idle(30)  # URCs already on their way are heard
        module = set(self.emu.open_ids())
        d = m.dialect
        known = set(d.links) | d.dirty
        assert module <= known, "open on the module, unknown to atmodem: %s" % sorted(module - known)
        alive = {s.id for s, _ in self.live()}
        assert alive <= module, "atmodem thinks %s alive; the module has %s" % (sorted(alive), sorted(module))

    @invariant()
    def a_free_id_opens(self):
        if len(self.emu.open_ids()) >= self.ids or self.emu.mod.faults:
            return
        live = self.live()
        s = self.m.socket(mode=live[0][0].mode if live and self.dialect == "l610" else None)
        s.settimeout(5)
        s.connect(peers().address("good"))
        s.close()


class NM28Lifecycle(Lifecycle):
    dialect = "nm28"


class L610Lifecycle(Lifecycle):
    dialect = "l610"


SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


@pytest.mark.timeout(max(120, EXAMPLES * STEPS * 3))
@pytest.mark.parametrize("machine", [NM28Lifecycle, L610Lifecycle], ids=["nm28", "l610"])
def test_socket_lifecycle_model(machine):
    t0 = time.monotonic()
    machine.TestCase.settings = SETTINGS
    machine.TestCase().runTest()
    print("%s: %d examples of up to %d steps in %.1f s" % (machine.dialect, EXAMPLES, STEPS, time.monotonic() - t0))
