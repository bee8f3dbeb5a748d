"""Put atmodem, a board's configuration and its example main.py on a board with mpremote.

    ./run python -m tools.deploy --board esp32_devkitc --port /dev/ttyUSB0
    ./run python -m tools.deploy --board rpi_pico --port /dev/ttyACM0 --mpy   # precompiled
    ./run python -m tools.deploy --board rpi_pico --dry-run                   # show the command

--mpy compiles the package with mpy-cross for the board's architecture first (smaller, no
compile step on the board) into build/deploy-<arch>/, which stays: the printed command can be
pasted later. The board then runs main.py at reset."""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools import build_mpy  # noqa: E402

BOARDS = {"esp32_devkitc": "xtensawin", "rpi_pico": "armv6m"}
# One line: mpremote sends it as typed, and a shell line cannot hold a newline unquoted.
MKDIR_LIB = 'import os;"lib" in os.listdir("/") or os.mkdir("/lib")'



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
    package_dir = os.path.join(ROOT, "lib")
    if a.mpy:
        arch = BOARDS[a.board]
        package_dir = os.path.join(ROOT, "build", "deploy-" + arch)
        shutil.rmtree(package_dir, ignore_errors=True)  # no stale .mpy of a removed module
        sizes = build_mpy.build(package_dir, arch, skip=build_mpy.BOARD_SKIP)
        print("compiled for %s into %s: %d bytes of .mpy" % (arch, package_dir, sum(sizes.values())))
    cmd = command(a.board, a.port, package_dir)
    print(shlex.join(cmd))
    if a.dry_run:
        return 0
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
