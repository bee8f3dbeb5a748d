"""asyncio on both runtimes: three sockets echo concurrently with one service task."""
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
