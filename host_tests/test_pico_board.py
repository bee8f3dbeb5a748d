"""boards/rpi_pico as it would be flashed (tools.deploy --board rpi_pico --mpy): the package
as armv6m .mpy in /lib, main.py, config.py and atmodem_app.py at the root, on MicroPython's
rp2 firmware. The board boots, main.py runs on UART0 (GP0/GP1) wired to the emulated module,
and prints the echo; only site_config.py (the echo server's address) is added."""
from __future__ import annotations

import os

import pytest

from host_tests.emu_helpers import WORDS

from host_tests.pico_helpers import emulator_for
from host_tests.test_boards import leave_in_a_data_session
from tools import loopback
from tools.pico import Pico, flash
from atmodem.dialects import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def board_files(site_config: bytes) -> dict:
    files = flash.package_files()
    for name, where in (("main.py", "rpi_pico"), ("config.py", "rpi_pico"), ("atmodem_app.py", "")):
        with open(os.path.join(ROOT, "boards", where, name), "rb") as f:
            files["/" + name] = f.read()
    files["/site_config.py"] = site_config
    return files


@pytest.mark.parametrize("dialect,data_session", [(d, False) for d in names()] + [(d, True) for d in names()])
def test_pico_board_example_as_flashed(dialect, data_session):
    """data_session: the module is still in the transparent session of a program that ran
    before the board reset; the example must escape it, not press the power key."""
    with loopback.echo_server() as srv:
        image = flash.image(board_files(b"HOST = 'localhost'\nPORT = %d\n" % srv.port))
        emu = emulator_for(dialect, baud=115200)
        try:
            if data_session:  # on the pseudo-terminal, before the Pico takes the line over TCP
                leave_in_a_data_session(emu, srv.port)
            addr = emu.serve_address
            assert addr is not None
            with Pico(image=image, uart0="connect:%s:%d" % addr[:2]) as pico:
                out = pico.repl.read_until(b">>> ", timeout=60).decode()
        finally:
            emu.stop()
    assert "module: %s" % WORDS[dialect].model.decode() in out, out
    assert "echo: b'hello from atmodem\\n'" in out, out
    assert "Traceback" not in out, out
    if data_session:
        assert "power key" not in out and emu.mod.data_sock is None, out
