"""Issue 9, the receive path under load, on CPython and the micropython binary, both
modules: a server that speaks first, a program that writes ahead, a program that pauses.
Nothing may be lost in the default mode; push mode keeps up by asking the module to hold."""
from __future__ import annotations

import hashlib

import pytest

from host_tests.test_driver import DIALECTS, RUNTIMES, run_scenario
from tools import loopback

MIB = 1 << 20
MODES = ["buffer", "push", "hex", "transparent"]


def result_of(out) -> str:
    """What a scenario returned: the value on CPython, the PASS line under micropython."""
    if isinstance(out, str) and out.startswith(("PASS", "\n")) or isinstance(out, str) and "PASS " in out:
        return out.split("PASS ", 1)[1].strip()
    return str(out)


def expected(srv) -> str:
    return "%d %s" % (len(srv.data), hashlib.sha256(srv.data).hexdigest())


@pytest.mark.parametrize("mode", MODES)
def test_a_server_that_speaks_first_mebibyte_unpaced(emulator, runtime, dialect, mode):
    with loopback.speaker(MIB) as srv:
        out = run_scenario(emulator(dialect), runtime, dialect, "speaks_first", port=srv.port, mode=mode)
        assert result_of(out) == expected(srv)


@pytest.mark.parametrize("mode", MODES)
def test_a_server_that_speaks_first_256_kib_at_921600(emulator, dialect, mode):
    with loopback.speaker(MIB // 4) as srv:  # 2.8 s of a saturated line per mode
        out = run_scenario(emulator(dialect, baud=921600), "micropython", dialect, "speaks_first", port=srv.port, mode=mode)
        assert result_of(out) == expected(srv)


# Push mode holds only if the hold reaches the module before more than the ring's free room
# arrives (README, push): the unpaced emulator outruns a program starved of CPU, so that one
# runs alone. The default mode is lossless however slow the program: it runs beside the rest.
@pytest.mark.parametrize("mode", ["buffer", pytest.param("push", marks=pytest.mark.serial)])
def test_writing_256k_before_reading_the_echo(emulator, runtime, dialect, mode, tcp_echo):
    run_scenario(emulator(dialect), runtime, dialect, "write_ahead", port=tcp_echo.port, mode=mode)


def test_a_program_that_pauses_six_seconds_while_64k_arrive(emulator, runtime, dialect):
    with loopback.speaker(64 * 1024) as srv:  # 5.7 s of the line at 115200: it all waits for the program
        out = run_scenario(emulator(dialect), runtime, dialect, "pause_while_arriving", port=srv.port, seconds=6)
        assert result_of(out) == expected(srv)


@pytest.mark.parametrize("mode", ["buffer", "push", "hex"])
def test_datagrams_whole_or_emsgsize(emulator, runtime, dialect, mode, udp_echo):
    out = run_scenario(emulator(dialect), runtime, dialect, "datagrams", port=udp_echo.port, mode=mode)
    # the NM28's hex send (AT+IPSENDEX) carries at most 2048 hex characters
    assert result_of(out) == str(2048 if dialect == "l610" else 1024 if mode == "hex" else 1460)


def test_datagrams_that_do_not_fit_are_dropped_and_counted(emulator, runtime, dialect):
    with loopback.UdpFlood() as flood:
        out = run_scenario(emulator(dialect), runtime, dialect, "datagram_drops", port=flood.port)
    kept, dropped = (int(x) for x in result_of(out).split())
    assert kept >= 2 and dropped > 0


def test_stream_calls_as_micropython_makes_them(emulator, runtime, dialect, tcp_echo):
    run_scenario(emulator(dialect), runtime, dialect, "stream_contract", port=tcp_echo.port)


def test_select_poll_with_no_service_running(emulator, dialect, tcp_echo):
    """select.poll takes MicroPython stream objects (CPython's needs a file descriptor)."""
    run_scenario(emulator(dialect), "micropython", dialect, "poll_without_a_service", port=tcp_echo.port)
