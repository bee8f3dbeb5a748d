"""Compile lib/atmodem to .mpy with mpy-cross: python -m tools.build_mpy [--out DIR] [--arch ARCH]

Prints each file's size and the total; a file that does not compile fails the build."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")


# Never on a board: CPython's port and error classes; the unix port's tty (BOARD_SKIP)
CPYTHON_ONLY = ("hal/pyserial_port.py", "errors_cpython.py")
BOARD_SKIP = CPYTHON_ONLY + ("hal/unix_port.py",)


def mpy_cross() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return here if os.path.exists(here) else (shutil.which("mpy-cross") or "mpy-cross")


def sources():
    for dirpath, _, files in os.walk(os.path.join(LIB, "atmodem")):
        for f in sorted(files):
            if f.endswith(".py"):
                yield os.path.relpath(os.path.join(dirpath, f), LIB)


def build(out: str, arch: str | None = None, skip=CPYTHON_ONLY, lines: bool = False) -> dict:
    """Compile every file; returns {relative .mpy path: size}. Raises on a compile error.
    Without lines, tracebacks name functions but no line numbers: the code loaded into a
    board's RAM is about 7% smaller."""
    sizes = {}
    for rel in sources():
        if any(rel.endswith(s) for s in skip):
            continue  # CPython-only: never on a board
        target = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # The embedded source name is the module's dotted name, a string the board interns
        # anyway: a path would be one more string per module in RAM. Tracebacks name it.
        name = rel[:-3].replace("/", ".")
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        cmd = [mpy_cross(), "-o", target, "-s", name]
        if not lines:
            cmd += ["-X", "no-source-lines"]
        if arch:
            cmd += ["-march=" + arch]
        cmd.append(rel)
        r = subprocess.run(cmd, cwd=LIB, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("mpy-cross failed on %s:\n%s" % (rel, r.stderr))
        sizes[os.path.relpath(target, out)] = os.path.getsize(target)
    return sizes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=os.path.join(ROOT, "build", "mpy"))
    p.add_argument("--arch", help="e.g. xtensawin (ESP32), armv6m (RP2040); default bytecode only")
    p.add_argument("--lines", action="store_true", help="keep source line numbers (tracebacks with lines; more RAM)")
    a = p.parse_args(argv)
    sizes = build(a.out, a.arch, lines=a.lines)
    for k, v in sorted(sizes.items()):
        print("%7d  %s" % (v, k))
    print("%7d  total (%s)" % (sum(sizes.values()), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
