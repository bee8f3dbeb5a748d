"""The data-mode escape state machine on a fake clock with a scripted module."""
from __future__ import annotations

import pytest

import atmodem
from atmodem.socket import OPEN
from host_tests.fakes import FakeClock, ScriptedUART, basic_answers, install


def modem_in_data_mode(behaviour):
    """behaviour(state, data) -> (new_state, answer); state is 'data' or 'command'."""
    clock = FakeClock()
    st = {"mode": "command"}

    def extra(data):
        if st["mode"] == "data":
            st["mode"], answer = behaviour(data)
            return answer
        return None

    uart = ScriptedUART(clock, basic_answers(extra))
    m = atmodem.Modem(uart, "nm28", clock=clock)
    m.start()
    s = m.socket(mode="transparent")
    install(m, s, 0)
    m.mode.enter(s.link, m.dialect.terminator(s.link))
    st["mode"] = "data"
    m.line.write(b"payload")  # the last byte the host wrote
    return m, s, uart, clock


def test_guard_is_measured_from_the_last_byte_written():
    m, s, uart, clock = modem_in_data_mode(lambda d: ("command", b"\r\nOK\r\n") if d == b"+++" else ("data", b""))
    t_payload = uart.writes[-1][0]
    m.run(m.data.escape())
    t_plus = [t for t, d in uart.writes if d == b"+++"][0]
    assert t_plus - t_payload >= 1000
    assert m.mode.link is None and s.link.suspended and m.state == "ready"


def test_lost_ok_is_found_by_probing_with_at():
    def module(data):
        if data == b"+++":
            return "command", b""  # it left data mode but the OK never arrived
        return "data", b""

    m, s, uart, clock = modem_in_data_mode(module)
    m.run(m.data.escape())
    sent = [d for _, d in uart.writes]
    assert sent[-2:] == [b"+++", b"AT\r"]
    assert m.mode.link is None and s.link.suspended


def test_a_module_that_never_leaves_data_mode_ends_in_a_known_failure():
    m, s, uart, clock = modem_in_data_mode(lambda d: ("data", b""))
    with pytest.raises(OSError, match="could not leave data mode"):
        m.run(m.data.escape())
    sent = [d for _, d in uart.writes]
    sent = sent[sent.index(b"payload") + 1 :]
    assert sent == [b"+++", b"AT\r"] * 3
    assert m.mode.state == "unknown"
    assert m.mode.link is s.link  # still the socket's: nothing pretends otherwise


def test_data_before_the_ok_still_reaches_the_socket():
    def module(data):
        if data == b"+++":
            return "command", b"late data\r\n\r\nOK\r\n"
        return "data", b""

    m, s, uart, clock = modem_in_data_mode(module)
    m.run(m.data.escape())
    assert bytes(s.link.inbox.ring.read(100)) == b"late data\r\n"
