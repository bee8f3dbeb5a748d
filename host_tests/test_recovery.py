"""The recovery ladder on a fake clock with scripted modules: which rung works, and the
spacing of power cuts (>= 300 s, longer after 5 in a row) [L610 manual §3.4]."""
from __future__ import annotations

import pytest

import atmodem
from atmodem.hal.pins import Power
from host_tests.fakes import FakeClock, ScriptedUART, basic_answers


class FakePin:
    def __init__(self, clock):
        self.clock = clock
        self.changes = []

    def value(self, v):
        self.changes.append((self.clock.t, v))


def modem_with(respond, clock):
    pin = FakePin(clock)
    m = atmodem.Modem(ScriptedUART(clock, respond), "nm28", clock=clock, power=Power(power_key=pin))
    return m, pin


def registered_module(reg_after_cfun=False):
    state = {"reg": 0 if reg_after_cfun else 1}

    def extra(data):
        if data == b"AT+CFUN=1\r":
            state["reg"] = 1
        if data == b"AT+CGREG?\r":
            return b"\r\n+CGREG: 0,%d\r\n\r\nOK\r\n" % state["reg"]
        return None

    return basic_answers(extra)


def test_an_answering_registered_module_needs_only_a_retry():
    clock = FakeClock()
    m, pin = modem_with(registered_module(), clock)
    assert atmodem.Recovery(m).recover() == "retry"
    assert pin.changes[1:] == []  # (the initial level only) no power cut


def test_an_unregistered_module_is_sent_searching_again_with_cfun():
    clock = FakeClock()
    m, pin = modem_with(registered_module(reg_after_cfun=True), clock)
    r = atmodem.Recovery(m, atmodem.Policy(retries=1))
    assert r.recover() == "cfun"
    sent = [d for _, d in m.uart.writes]  # pyright: ignore[reportAttributeAccessIssue] (a ScriptedUART)
    assert sent.index(b"AT+CFUN=4\r") < sent.index(b"AT+CFUN=1\r")
    assert r.last_cut is None


def test_power_cuts_are_spaced_300_s_and_longer_after_five_in_a_row():
    clock = FakeClock()
    m, pin = modem_with(lambda data: b"", clock)  # a module that never answers
    r = atmodem.Recovery(m, atmodem.Policy(retries=1, sync_s=1, register_s=5))
    for _ in range(8):
        with pytest.raises(OSError):
            r.recover()
    cuts = [t for t, rung in r.log if rung == "power"]
    assert len(cuts) == 8
    gaps = [b - a for a, b in zip(cuts, cuts[1:])]
    assert all(g >= 300_000 for g in gaps), gaps
    assert all(g >= 600_000 for g in gaps[4:]), gaps  # after 5 cuts in a row: doubled
    presses = [t for t, v in pin.changes if v == 1]
    assert len(presses) >= 8  # the power key really was pressed for each power-on


def test_no_wait_policy_says_when_the_next_cut_is_allowed():
    clock = FakeClock()
    m, pin = modem_with(lambda data: b"", clock)
    r = atmodem.Recovery(m, atmodem.Policy(retries=1, sync_s=1, register_s=5, wait=False))
    with pytest.raises(OSError):
        r.recover()
    with pytest.raises(OSError, match="next power cycle allowed in"):
        r.recover()


def test_without_pins_the_ladder_stops_with_a_clear_error():
    clock = FakeClock()
    m = atmodem.Modem(ScriptedUART(clock, lambda d: b""), "nm28", clock=clock)
    with pytest.raises(OSError, match="no power key or reset pin"):
        atmodem.Recovery(m, atmodem.Policy(retries=1, sync_s=1)).recover()


def test_cpwroff_then_one_second_before_power_is_cut():
    clock = FakeClock()
    m, pin = modem_with(registered_module(), clock)
    m.start()
    m.power_off()
    t_cmd = [t for t, d in m.uart.writes if d == b"AT+CPWROFF\r"][0]  # pyright: ignore[reportAttributeAccessIssue] (a ScriptedUART)
    assert clock.t - t_cmd >= 1000 and m.state == "off"
