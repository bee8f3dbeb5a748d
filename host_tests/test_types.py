"""pyright: lib/ against the MicroPython stubs of both boards, host code against CPython."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
PYRIGHT = os.path.join(VENV, "bin", "pyright")


def pyright(*args, min_files=10):
    r = subprocess.run([PYRIGHT, "--outputjson", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = json.loads(r.stdout)
    problems = ["%s:%d %s" % (d["file"], d["range"]["start"]["line"] + 1, d["message"])
                for d in out["generalDiagnostics"] if d["severity"] == "error"]
    assert not problems, "\n".join(problems)
    assert out["summary"]["filesAnalyzed"] >= min_files, out["summary"]  # it really looked


@pytest.mark.parametrize("board", ["rp2-rpi-pico", "esp32"])
def test_lib_against_micropython_stubs(board):
    stubs = os.path.join(VENV, "typings", board)
    assert os.path.isdir(stubs), "./run installs the stubs into " + stubs
    config = {  # paths are relative to the config file, which lives in .venv/
        "include": ["../lib/atmodem"],
        "exclude": ["../lib/atmodem/hal/pyserial_port.py", "../lib/atmodem/errors_cpython.py"],
        "stubPath": "typings/" + board,
        "typeCheckingMode": "basic",
        "reportMissingModuleSource": False,
    }
    path = os.path.join(VENV, "pyright-%s.json" % board)
    with open(path, "w") as f:
        json.dump(config, f)
    pyright("-p", path, min_files=15)


def test_host_code_against_cpython():
    pyright("-p", os.path.join(ROOT, "pyrightconfig.json"), "--pythonpath", os.path.join(VENV, "bin", "python"))
