"""attach(pin=) for a SIM that asks for its PIN, and set_baudrate (AT+IPR), against the
emulator (3GPP TS 27.007 +CPIN, ITU-T V.250 +IPR), on every dialect."""
from __future__ import annotations

import pytest

import atmodem
from atmodem.dialects import names


def modem(emu, **kw):
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), **kw)
    m.start()
    return m


@pytest.mark.parametrize("dialect", names())
def test_a_sim_with_a_pin_attaches_with_it(emulator, dialect):
    emu = emulator(dialect, sim_pin="4321")
    m = modem(emu)
    assert m.attach(apn="cmnet", pin="4321")
    assert emu.transcript("<").count(b'AT+CPIN="4321"') == 1
    m.close()


@pytest.mark.parametrize("dialect", names())
def test_a_sim_with_a_pin_and_none_given_says_so(emulator, dialect):
    emu = emulator(dialect, sim_pin="4321")
    m = modem(emu)
    with pytest.raises(OSError) as e:
        m.attach(apn="cmnet", timeout=5)
    assert "asks for its PIN" in str(e.value) and "attach(pin=" in str(e.value)
    m.close()


@pytest.mark.parametrize("dialect", names())
def test_a_wrong_pin_is_entered_once_never_again(emulator, dialect):
    emu = emulator(dialect, sim_pin="4321")
    m = modem(emu)
    with pytest.raises(OSError) as e:
        m.attach(apn="cmnet", pin="1111", timeout=5)
    assert "refused the PIN" in str(e.value) and "incorrect password" in str(e.value)
    assert emu.transcript("<").count(b"AT+CPIN=") == 1
    assert emu.mod.pin_tries == 2  # one try spent, two left for the user
    m.close()


@pytest.mark.parametrize("pin", ["12", "123456789", "12a4", 1234])
def test_a_malformed_pin_is_refused_before_the_module_hears_it(emulator, pin):
    emu = emulator("nm28")
    m = modem(emu)
    before = emu.transcript("<")
    with pytest.raises(ValueError):
        m.attach(apn="cmnet", pin=pin)
    assert emu.transcript("<") == before
    m.close()


@pytest.mark.parametrize("dialect", names())
def test_set_baudrate_moves_both_ends(emulator, dialect, echo_server):
    emu = emulator(dialect)
    m = modem(emu)
    m.set_baudrate(921600)
    assert emu.mod.ipr == 921600 and m.uart.baudrate == 921600
    m.attach(apn="cmnet")
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", echo_server.port))
    s.sendall(b"at the new rate")
    assert s.read(15) == b"at the new rate"
    s.close()
    m.close()


@pytest.mark.parametrize("baud", [0, 12345, 115200.0, True, "9600"])
def test_set_baudrate_refuses_a_rate_the_module_has_not(emulator, baud):
    emu = emulator("l610")
    m = modem(emu)
    before = emu.transcript("<")
    with pytest.raises(ValueError):
        m.set_baudrate(baud)
    assert emu.transcript("<") == before
    m.close()


def test_set_baudrate_with_a_socket_open_is_refused(emulator, echo_server):
    emu = emulator("nm28")
    m = modem(emu)
    m.attach(apn="cmnet")
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", echo_server.port))
    with pytest.raises(OSError) as e:
        m.set_baudrate(921600)
    assert "sockets open" in str(e.value)
    s.close()
    m.close()
