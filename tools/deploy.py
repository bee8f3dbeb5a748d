"""Put atmodem, a board's configuration and its example main.py on a board with mpremote.

    ./run python -m tools.deploy --board esp32_devkitc --port /dev/ttyUSB0
    ./run python -m tools.deploy --board rpi_pico --port /dev/ttyACM0 --mpy   # precompiled
    ./run python -m tools.deploy --board rpi_pico --dry-run                   # show the command

Only what runs on a board is copied: the package's modules without the CPython and unix
ports, the board's config.py and main.py, and atmodem_app.py. --mpy compiles the package with
mpy-cross for the board's architecture first (smaller, no compile step on the board) into
build/deploy-<arch>/, which stays: the printed command can be pasted later. The board then
runs main.py at reset; `mpremote connect PORT repl` shows what it prints."""
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


def board_files(ext: str) -> dict:
    """The package's files that belong on a board, by folder: {"atmodem/hal": [names]}.
    Not the CPython port (hal/pyserial_port.py, errors_cpython.py) nor the unix port's tty
    (build_mpy.BOARD_SKIP), and never __pycache__/ or anything but the modules."""
    out = {}
    for rel in build_mpy.sources():
        if any(rel.endswith(s) for s in build_mpy.BOARD_SKIP):
            continue
        folder, name = os.path.split(rel[:-3] + ext)
        out.setdefault(folder, []).append(name)
    return out


def make_dirs(folders) -> str:
    """One line (mpremote sends it as typed, and a shell line cannot hold a newline
    unquoted) that makes /lib and the package's folders where they are missing."""
    paths = ["/lib"] + ["/lib/" + f for f in sorted(folders, key=len)]
    return ("import os;[p.rsplit('/',1)[1] in os.listdir(p.rsplit('/',1)[0] or '/') or os.mkdir(p) for p in (%s)]"
            % ",".join('"%s"' % p for p in paths))


def command(board: str, port: str, package_dir: str, ext: str = ".py") -> list:
    """The mpremote invocation: one connection, steps chained with '+'."""
    bdir = os.path.join(ROOT, "boards", board)
    files = board_files(ext)
    steps = [["exec", make_dirs(files)]]
    for folder in sorted(files):
        steps.append(["cp"] + [os.path.join(package_dir, folder, n) for n in files[folder]] + [":/lib/%s/" % folder])
    steps += [
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
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be done (the mpremote command), run and write nothing")
    a = p.parse_args(argv)
    package_dir = os.path.join(ROOT, "lib")
    if a.mpy:
        arch = BOARDS[a.board]
        package_dir = os.path.join(ROOT, "build", "deploy-" + arch)
        if a.dry_run:
            print("would compile lib/atmodem for %s with mpy-cross into %s, then run:" % (arch, package_dir))
        else:
            shutil.rmtree(package_dir, ignore_errors=True)  # no stale .mpy of a removed module
            sizes = build_mpy.build(package_dir, arch, skip=build_mpy.BOARD_SKIP)
            print("compiled for %s into %s: %d bytes of .mpy" % (arch, package_dir, sum(sizes.values())))
    cmd = command(a.board, a.port, package_dir, ".mpy" if a.mpy else ".py")
    print(shlex.join(cmd))
    see = "mpremote connect %s repl" % a.port
    if a.dry_run:
        print("then, to see the example's output: %s   (Ctrl-] leaves)" % see)
        return 0
    rc = subprocess.call(cmd)
    if rc == 0:
        print("deployed; the board runs main.py now. To see its output: %s   (Ctrl-] leaves; "
              "Ctrl-D in the REPL runs main.py again)" % see)
    return rc


if __name__ == "__main__":
    sys.exit(main())
