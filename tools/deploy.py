"""Put atmodem, a board's configuration and its example main.py on a board with mpremote.

    ./run python -m tools.deploy --board esp32_devkitc --port /dev/ttyUSB0
    ./run python -m tools.deploy --board rpi_pico --port /dev/ttyACM0 --mpy   # precompiled
    ./run python -m tools.deploy --board rpi_pico --dry-run                   # show the command

--mpy compiles the package with mpy-cross for the board's architecture first (smaller, no
compile step on the board). The board then runs main.py at reset."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools import build_mpy  # noqa: E402

BOARDS = {"esp32_devkitc": "xtensawin", "rpi_pico": "armv6m"}
MKDIR_LIB = "import os\ntry:\n os.mkdir('/lib')\nexcept OSError:\n pass"


def command(board: str, port: str, package_dir: str) -> list:
    """The mpremote invocation: one connection, steps chained with '+'."""
    bdir = os.path.join(ROOT, "boards", board)
    steps = [
        ["exec", MKDIR_LIB],
        ["cp", "-r", os.path.join(package_dir, "atmodem"), ":/lib/"],
        ["cp", os.path.join(ROOT, "boards", "atmodem_app.py"), ":/atmodem_app.py"],
        ["cp", os.path.join(bdir, "config.py"), ":/config.py"],
        ["cp", os.path.join(bdir, "main.py"), ":/main.py"],
        ["reset"],
    ]
    cmd = [shutil.which("mpremote") or "mpremote", "connect", port]
    for i, step in enumerate(steps):
        if i:
            cmd.append("+")
        cmd += step
    return cmd


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--board", choices=sorted(BOARDS), required=True)
    p.add_argument("--port", default="auto", help="serial port of the board (mpremote's 'auto' by default)")
    p.add_argument("--mpy", action="store_true", help="copy .mpy compiled for the board instead of .py")
    p.add_argument("--dry-run", action="store_true", help="print the mpremote command, run nothing")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        package_dir = os.path.join(ROOT, "lib")
        if a.mpy:
            sizes = build_mpy.build(tmp, BOARDS[a.board], skip=("hal/pyserial_port.py", "hal/unix_port.py"))
            print("compiled for %s: %d bytes of .mpy" % (BOARDS[a.board], sum(sizes.values())))
            package_dir = tmp
        cmd = command(a.board, a.port, package_dir)
        print(" ".join(c if " " not in c and "\n" not in c else repr(c) for c in cmd))
        if a.dry_run:
            return 0
        return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
