"""The host helpers: native .mpy builds, the demo's command line."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools import build_mpy

ROOT = build_mpy.ROOT


def test_native_architectures_compile(tmp_path):
    for arch in ("xtensawin", "armv6m"):
        sizes = build_mpy.build(str(tmp_path / arch), arch, skip=build_mpy.BOARD_SKIP)
        assert sizes and all(v > 0 for v in sizes.values())


@pytest.mark.parametrize("args,says", [
    (["--echo", "nope"], "--echo"),
    (["--echo", "host:abc"], "--echo"),
    (["--echo", "host:70000"], "--echo"),
    (["--size", "-5"], "--size"),
    (["--baud", "0"], "--baud"),
    (["--port", "/dev/atmodem-no-such-port"], "/dev/atmodem-no-such-port"),
])
def test_demo_answers_bad_arguments_without_a_traceback(args, says):
    r = subprocess.run([sys.executable, "-m", "tools.demo", "--quiet"] + args,
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode != 0 and says in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_demo_help_promises_no_echo_server_for_a_real_module():
    r = subprocess.run([sys.executable, "-m", "tools.demo", "--help"], capture_output=True, text=True, cwd=ROOT)
    echo_help = " ".join(r.stdout.split("  --echo", 1)[1].split("  --baud")[0].split())
    assert "default: a loopback one" not in echo_help and "--port" in echo_help, echo_help


def test_manifest_freezes_every_board_file():
    """manifest.py (for freezing) names every file of lib/atmodem a board imports: a new
    module left out would be missing from a frozen firmware."""
    calls = {}

    def package(name, files=(), base_path=".", opt=None):
        calls[name] = (sorted(files), base_path)

    def metadata(**kw):
        calls["metadata"] = kw

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "manifest.py")) as f:
        exec(f.read(), {"package": package, "metadata": metadata})
    files, base = calls["atmodem"]
    lib = os.path.join(root, base, "atmodem")
    want = sorted(os.path.relpath(os.path.join(d, f), lib).replace(os.sep, "/")
                  for d, _, fs in os.walk(lib) for f in fs if f.endswith(".py"))
    want = [f for f in want if f not in ("hal/pyserial_port.py", "errors_cpython.py", "hal/unix_port.py")]
    assert files == want
    with open(os.path.join(lib, "__init__.py")) as f:
        assert '__version__ = "%s"' % calls["metadata"]["version"] in f.read()
