"""MicroPython's RPI_PICO firmware rebuilt with atmodem frozen into it, or with MicroPython's own
`tls` (mbedtls), for what those cost on the Pico (tools.bench_pico --firmware):

    ./run python -m tools.pico.firmware --src MICROPYTHON_TREE --variant frozen --out DIR

MICROPYTHON_TREE is MicroPython's source at the firmware's commit (v1.28.0, e0e9fbb1) with the
submodules the rp2 port builds from (lib/pico-sdk, lib/tinyusb, lib/mbedtls,
lib/micropython-lib) and mpy-cross built; arm-none-eabi-gcc and cmake on PATH (Debian:
gcc-arm-none-eabi, libnewlib-arm-none-eabi). CI has neither the tree nor a network to fetch
it, so the figures this gives are recorded in docs/development.md, not tested.

Variants: `frozen` (the stock board plus the repository's manifest.py), `tls` (the stock
board plus MicroPython's tls module: the RPI_PICO build has none; a Pico W's has), and
`frozen-tls` (both). Each is the stock RPI_PICO board otherwise: same pins, flash layout and
filesystem offset, so tools/pico/flash.py images mount unchanged."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import List

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VARIANTS = ("frozen", "tls", "frozen-tls")
NEEDED = ("lib/pico-sdk/pico_sdk_init.cmake", "lib/tinyusb/src/tusb.h", "lib/mbedtls/library/ssl_tls.c",
          "lib/micropython-lib/python-stdlib/abc/manifest.py", "mpy-cross/build/mpy-cross")


def board_dir(src: str, variant: str, where: str) -> str:
    """The RPI_PICO board's files, with the variant's additions, in where/ATMODEM_<VARIANT>."""
    stock = os.path.join(src, "ports", "rp2", "boards", "RPI_PICO")
    board = os.path.join(where, "ATMODEM_" + variant.upper().replace("-", "_"))
    if os.path.isdir(board):
        shutil.rmtree(board)
    shutil.copytree(stock, board)
    name = "Raspberry Pi Pico (atmodem %s)" % variant
    with open(os.path.join(board, "mpconfigboard.h"), "r+") as f:
        text = f.read().replace('"Raspberry Pi Pico"', '"%s"' % name)
        if "tls" in variant:
            # the port turns tls on only with a network stack; mbedtls is built for every board
            text += "#define MICROPY_PY_SSL (1)\n"
        f.seek(0)
        f.write(text)
        f.truncate()
    if "frozen" in variant:
        with open(os.path.join(board, "manifest.py"), "w") as f:
            f.write('include("$(PORT_DIR)/boards/manifest.py")\ninclude(%r)\n' % os.path.join(ROOT, "manifest.py"))
        with open(os.path.join(board, "mpconfigboard.cmake"), "a") as f:
            f.write("set(MICROPY_FROZEN_MANIFEST ${MICROPY_BOARD_DIR}/manifest.py)\n")
    return board


def build(src: str, variant: str, out: str, jobs: int = 2) -> str:
    """Configures and builds one variant; returns the path of its firmware.bin (copied to
    out/micropython-1.28.0-rpi_pico-atmodem-<variant>.bin)."""
    src = os.path.abspath(src)
    missing = [p for p in NEEDED if not os.path.exists(os.path.join(src, p))]
    if missing:
        raise FileNotFoundError("the MicroPython tree at %s lacks %s (submodules, and `make -C mpy-cross`)"
                                % (src, ", ".join(missing)))
    for tool in ("arm-none-eabi-gcc", "cmake", "make"):
        if not shutil.which(tool):
            raise FileNotFoundError("%s is not on PATH" % tool)
    if variant not in VARIANTS:
        raise ValueError("variant must be one of %s, not %r" % (", ".join(VARIANTS), variant))
    os.makedirs(out, exist_ok=True)
    out = os.path.abspath(out)
    work = os.path.join(out, "build-" + variant)
    board = board_dir(src, variant, out)
    port = os.path.join(src, "ports", "rp2")
    run(["cmake", "-S", port, "-B", work, "-DMICROPY_BOARD_DIR=" + board, "-DPICO_BUILD_DOCS=0",
         "-DPICO_NO_PICOTOOL=1"])
    run(["make", "-C", work, "-j%d" % jobs])
    target = os.path.join(out, "micropython-1.28.0-rpi_pico-atmodem-%s.bin" % variant)
    shutil.copyfile(os.path.join(work, "firmware.bin"), target)
    return target


def run(cmd: List[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd[:2]), (r.stdout + r.stderr)[-4000:]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True, help="MicroPython's source tree (v1.28.0 with submodules)")
    p.add_argument("--variant", choices=VARIANTS, action="append", help="default: all three")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "firmware"))
    a = p.parse_args(argv)
    for v in a.variant or VARIANTS:
        print(build(a.src, v, a.out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
