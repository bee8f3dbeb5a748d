"""Every file in lib/ compiles with mpy-cross and the package imports under micropython."""
from __future__ import annotations

import os
import subprocess

from tools import build_mpy

ROOT = build_mpy.ROOT


def test_every_lib_file_compiles_with_mpy_cross(tmp_path):
    sizes = build_mpy.build(str(tmp_path), skip=())
    assert len(sizes) == len(list(build_mpy.sources()))


def test_package_imports_from_mpy_under_micropython(tmp_path):
    build_mpy.build(str(tmp_path))
    code = (
        "import sys, atmodem, atmodem.hal.unix_port, atmodem.dialects.nm28, atmodem.dialects.l610\n"
        "lazy = [m for m in ('atmodem.tls', 'atmodem.recovery', 'atmodem.reconnect') if m in sys.modules]\n"
        "print(atmodem.SOCK_STREAM, lazy, atmodem.TLS.__name__, atmodem.Recovery.__name__)\n"
        "from atmodem import aio, Reconnecting\n"
        "print(hasattr(atmodem, 'nosuch'), aio.open_connection.__name__, Reconnecting.__name__)\n"
    )
    r = subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "micropython"), "-c", code],
        env={"MICROPYPATH": str(tmp_path) + ":.frozen"}, capture_output=True, text=True, timeout=30,
    )
    assert r.stdout.split("\n")[:2] == ["1 [] TLS Recovery", "False open_connection Reconnecting"], r.stdout + r.stderr



def test_package_json_lists_every_board_file():
    from tools import package_json

    with open(os.path.join(ROOT, "package.json")) as f:
        assert f.read() == package_json.text(), "run: ./run python -m tools.package_json"
