"""Each board's main.py runs unmodified on the micropython binary against the emulator,
with a fake machine module whose UART is the emulator's pseudo-terminal."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tools import loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


@pytest.mark.parametrize("board", ["esp32_devkitc", "rpi_pico"])
@pytest.mark.parametrize("dialect", ["nm28", "l610"])
def test_board_example_runs_unmodified(tmp_path, emulator, board, dialect):
    app = tmp_path / "app"
    app.mkdir()
    for name in ("main.py", "config.py"):
        shutil.copy(os.path.join(ROOT, "boards", board, name), app / name)
    shutil.copy(os.path.join(ROOT, "boards", "atmodem_app.py"), app / "atmodem_app.py")
    emu = emulator(dialect)
    with loopback.echo_server() as srv:
        (app / "site_config.py").write_text("HOST = 'localhost'\nPORT = %d\n" % srv.port)
        env = {
            "MICROPYPATH": ":".join([str(app), os.path.join(ROOT, "lib"), os.path.join(ROOT, "host_tests", "fake_machine"), ".frozen"]),
            "ATMODEM_FAKE_UART": emu.path,
        }
        r = subprocess.run([MP, str(app / "main.py")], env=env, capture_output=True, text=True, timeout=60, cwd=str(app))
    assert "echo: b'hello from atmodem\\n'" in r.stdout, r.stdout + r.stderr
    assert dialect.upper() in r.stdout
