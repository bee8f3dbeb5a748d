"""asyncio on both runtimes (CPython and the micropython binary), both modules: the same flows
as the blocking API, driven by one reader task; the loop is never held; cancellation is safe."""
from __future__ import annotations

import pytest

from host_tests.test_driver import DIALECTS, RUNTIMES, run_scenario
from tools import loopback


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_three_connections_concurrently(emulator, runtime, dialect):
    with loopback.echo_server() as srv:
        run_scenario(emulator(dialect), runtime, dialect, "aio_three", port=srv.port)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_micropython_asyncio_streams_take_the_socket(emulator, dialect):
    with loopback.echo_server() as srv:
        run_scenario(emulator(dialect), "micropython", dialect, "aio_native_streams", port=srv.port)


def gap_of(out) -> int:
    return int(str(out).split("PASS", 1)[-1].split()[0]) if "PASS" in str(out) else int(out)


@pytest.mark.serial  # a 20 ms bound on the wall clock: alone, not beside other workers
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_ticker_never_waits_while_others_attach_open_and_echo(emulator, runtime, dialect, tcp_echo):
    """A task that wants to run every 10 ms, while others bring the modem up with the
    module's async results 2 s late, open four sockets and echo 64 KiB through each at once:
    the loop is never held for more than 20 ms. The program runs in its own process, as a
    user's does (see run_scenario). On CPython the time the OS let the process sleep past a
    timer is not counted (see scenarios.aio_ticker); a block in a system call still is."""
    emu = emulator(dialect, async_delay=2.0)
    out = run_scenario(emu, runtime, dialect, "aio_ticker", own_process=True, port=tcp_echo.port, path=emu.path,
                       kind=dialect)
    assert gap_of(out) <= 20, "the loop held the ticker %s ms (held, raw: %s)" % (gap_of(out), out)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_id_at_once_in_the_default_mode(emulator, runtime, dialect, tcp_echo):
    """Eight concurrent connections on the NM28 (the L610 has six ids: six)."""
    run_scenario(emulator(dialect), runtime, dialect, "aio_many", port=tcp_echo.port)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_cancelled_open_send_and_read_leave_the_modem_working(emulator, runtime, dialect, tcp_echo):
    silent = loopback.TcpServer(loopback.swallow)
    with silent:
        run_scenario(emulator(dialect, async_delay=1.0), runtime, dialect, "aio_cancel", port=tcp_echo.port,
                     silent_port=silent.port)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_tasks_sending_on_one_socket_at_once(emulator, runtime, dialect, tcp_echo):
    """Each send's command is the socket's own only while that send holds it."""
    run_scenario(emulator(dialect), runtime, dialect, "aio_writers_on_one_socket", port=tcp_echo.port)
