"""boards/atmodem_app.switch_on on a fake clock: a module left in a data-mode session by the
program that ran before the board reset answers only after start()'s blind escape, and must
not get a key press (which switches a running module off on many modules); a module that is
off gets exactly one, and only once a running module would have answered."""
from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Optional

import pytest

import atmodem
from host_tests.fakes import FakeClock, basic_answers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setitem(sys.modules, "machine", types.ModuleType("machine"))  # the app imports it
    monkeypatch.syspath_prepend(os.path.join(ROOT, "boards"))
    sys.modules.pop("atmodem_app", None)
    yield importlib.import_module("atmodem_app")
    sys.modules.pop("atmodem_app", None)


class Module:
    """A module on a fake clock: 'off' (silent), 'data' (a transparent session: what is
    written goes to the peer; `+++` between two guard silences of 1 s gives OK and command
    mode) or 'command' (OK to everything, NM28 to AT+CGMM). Time passes only while the host
    waits with nothing to read."""

    GUARD_MS = 1000

    def __init__(self, clock: FakeClock, state: str):
        self.clock = clock
        self.state = state
        self.rx = bytearray()
        self.answer = basic_answers()
        self.to_peer = bytearray()  # what the data session carried
        self.last_in = -10 ** 9  # when the host last wrote
        self.escape_at: Optional[int] = None  # a +++ that may still be the escape
        self.writes = []

    def write(self, data):
        data = bytes(data)
        t = self.clock.t
        self.writes.append((t, data))
        if self.state == "data":
            self.escape_at = t if data == b"+++" and t - self.last_in >= self.GUARD_MS else None
            self.to_peer += data
        elif self.state == "command":
            self.rx += self.answer(data)
        self.last_in = t
        return len(data)

    def wait(self, timeout_ms):
        if self.rx:
            return True
        esc = self.escape_at
        if esc is not None and esc + self.GUARD_MS <= self.clock.t + timeout_ms:  # the guard after +++
            self.clock.t = max(self.clock.t, esc + self.GUARD_MS)
            self.escape_at = None
            self.state = "command"
            self.rx += b"\r\nOK\r\n"
            return True
        self.clock.t += timeout_ms
        return False

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def close(self):
        pass


class Key:
    """The board's power key: a press toggles the module (on from off, off from on)."""

    def __init__(self, module: Module):
        self.module = module
        self.presses = []  # fake-clock times

    def press_key(self, clock, off=False):
        self.presses.append(clock.t)
        clock.t += 1200
        if self.module.state == "off":
            self.module.state = "command"
            self.module.rx += b"\r\nRDY\r\n"
        else:
            self.module.state = "off"  # the harm: a running module switched off
        return True

    def reset(self, clock):
        return False


def modem_on(state):
    clock = FakeClock()
    module = Module(clock, state)
    key = Key(module)
    m = atmodem.Modem(module, clock=clock, power=key)
    return m, module, key


def test_a_module_left_in_a_data_session_is_escaped_not_switched_off(app):
    m, module, key = modem_on("data")
    assert app.switch_on(m) == "NM28"
    assert key.presses == [], "the key was pressed at %r ms: a running module switched off" % key.presses
    assert module.state == "command" and b"+++" in module.to_peer
    assert m.started


def test_the_bound_covers_start_s_blind_escape_with_a_module_that_never_answers_it(app):
    # bringup.sync: 3 ATs of 500 ms, then datamode.blind_escape: guard + 20 ms, +++, up to
    # 2 * guard + 1 s for an OK, 100 ms; then AT again (500 ms).
    m, _, _ = modem_on("off")
    assert app.answer_time(m) == pytest.approx(1.5 + 1.02 + 3.0 + 0.1 + 0.5)
    m.guard_ms = 500
    assert app.answer_time(m) == pytest.approx(1.5 + 0.52 + 2.0 + 0.1 + 0.5)


def test_a_module_that_is_off_gets_one_press_after_the_answer_time(app):
    m, module, key = modem_on("off")
    assert app.switch_on(m) == "NM28"
    assert len(key.presses) == 1, key.presses
    assert key.presses[0] >= app.answer_time(m) * 1000
    assert module.state == "command"


def test_a_module_in_command_mode_answers_at_once(app):
    m, module, key = modem_on("command")
    assert app.switch_on(m) == "NM28"
    assert key.presses == [] and module.clock.t < 1000


def test_modem_power_on_escapes_a_data_session_instead_of_pressing():
    m, module, key = modem_on("data")
    m.power_on()
    assert key.presses == [], "Modem.power_on pressed the key of a running module"
    assert module.state == "command" and m.started


def test_modem_power_on_presses_once_only_after_the_answer_time():
    from atmodem.power import answer_ms

    m, module, key = modem_on("off")
    m.power_on()
    assert len(key.presses) == 1 and key.presses[0] >= answer_ms(m), key.presses
    assert module.state == "command" and m.started


def test_modem_power_on_without_pins_says_so_at_once():
    clock = FakeClock()
    module = Module(clock, "off")
    m = atmodem.Modem(module, clock=clock)
    with pytest.raises(OSError) as e:
        m.power_on()
    assert "no power key" in str(e.value) and clock.t < 100 and module.writes == []


def test_a_short_start_timeout_still_hears_the_module_its_escape_woke():
    m, module, key = modem_on("data")
    assert m.start(timeout=2) == "NM28"  # the escape ends past 2 s; its OK is an answer
    assert key.presses == []
