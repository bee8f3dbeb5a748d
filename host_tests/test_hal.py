"""The hal as a user reaches it: `atmodem.hal.pins.Power` after `import atmodem` alone, and
the unix port's answer to a baud rate the tty cannot do, on both runtimes where they apply."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
LIB = os.path.join(ROOT, "lib")


def run_mp(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([MP, "-c", code], env={"MICROPYPATH": LIB + ":.frozen"},
                          capture_output=True, text=True, timeout=30)


POWER = (
    "import atmodem\n"
    "class P:\n"
    "    def __init__(self): self.v = []\n"
    "    def value(self, v=None): self.v.append(v)\n"
    "k = P(); p = atmodem.hal.pins.Power(power_key=k)\n"
    "print('key', k.v)\n"
)


def test_power_is_reachable_after_import_atmodem_on_cpython():
    code = POWER + "import sys; print('machine' in sys.modules)\n"
    r = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=LIB),
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.split("\n")[:2] == ["key [0]", "False"], r.stdout + r.stderr


def test_power_is_reachable_after_import_atmodem_on_micropython():
    r = run_mp(POWER)
    assert r.stdout.strip() == "key [0]", r.stdout + r.stderr


def test_unix_port_refuses_a_baud_rate_the_tty_cannot_do(emulator):
    emu = emulator("nm28")
    code = (
        "import atmodem\n"
        "try:\n"
        "    atmodem.hal.open_serial(%r, baudrate=12345)\n"
        "except ValueError as e:\n"
        "    print('ValueError', e)\n" % emu.path
    )
    r = run_mp(code)
    out = r.stdout.strip()
    assert out.startswith("ValueError") and "12345" in out, r.stdout + r.stderr
    for supported in ("9600", "115200", "921600"):
        assert supported in out
    r = run_mp("import atmodem; p = atmodem.hal.open_serial(%r, baudrate=921600); print(p.baudrate)" % emu.path)
    assert r.stdout.strip() == "921600", r.stdout + r.stderr
