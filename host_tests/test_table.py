"""Issue 10: the module's socket table is the truth. Ordinary failures leave nothing open on
the module that atmodem has forgotten; a new program on a module that stayed powered starts
clean; on CPython and the micropython binary, both modules."""
from __future__ import annotations

import pytest

from host_tests.emu_helpers import free_port
from host_tests.test_driver import run_scenario


def test_connect_again_on_the_same_socket_object(emulator, runtime, dialect, tcp_echo):
    emu = emulator(dialect)
    run_scenario(emu, runtime, dialect, "reconnect_same_object", port=tcp_echo.port, refused_port=free_port())
    assert emu.open_ids() == []


def test_an_error_after_a_successful_open_closes_it_on_the_module(emulator, runtime, tcp_echo):
    """NM28: the open works and AT+IPSWTMD (into data mode) fails. (The L610 has no step
    after its open: MIPODM opens straight into data mode.)"""
    emu = emulator("nm28")
    emu.fail_command("AT+IPSWTMD=0,2", "error")
    run_scenario(emu, runtime, "nm28", "failed_switch_closes", port=tcp_echo.port)
    assert emu.open_ids() == []


@pytest.mark.parametrize("transparent", [0, 1])
def test_a_new_program_on_a_module_that_stayed_powered(emulator, runtime, dialect, tcp_echo, transparent):
    emu = emulator(dialect, guard_time=0.2)
    run_scenario(emu, runtime, dialect, "host_restart", port=tcp_echo.port, path=emu.path, kind=dialect,
                 transparent=transparent, guard_ms=250)
    assert emu.open_ids() == []


def test_transparent_udp(emulator, runtime, dialect, udp_echo):
    run_scenario(emulator(dialect, guard_time=0.2), runtime, dialect, "transparent_udp", port=udp_echo.port,
                 guard_ms=250)
