"""What goes on the emulated Pico's flash: a littlefs image of the files a test needs, laid
out as MicroPython's rp2 port mounts it (RPI_PICO: 352 blocks of 4096 bytes at 0xa0000).
The flash is read-only under rp2040js, so the image is built on the host."""
from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Dict, Iterable, Optional

from tools import build_mpy

BLOCK_SIZE = 4096
BLOCK_COUNT = 352
FS_OFFSET = 0xA0000
ARCH = "armv6m"
# CPython and unix-port ports never run on a board
NOT_ON_BOARD = build_mpy.BOARD_SKIP


def image(files: Dict[str, bytes]) -> bytes:
    """A littlefs image holding files ({"/lib/x.mpy": bytes, ...})."""
    from littlefs import LittleFS

    fs = LittleFS(block_size=BLOCK_SIZE, block_count=BLOCK_COUNT)
    for path, data in sorted(files.items()):
        parent = os.path.dirname(path)
        if parent and parent != "/":
            fs.makedirs(parent, exist_ok=True)
        with fs.open(path, "wb") as f:
            f.write(data)
    return bytes(fs.context.buffer)


def compile_mpy(path: str, arch: str = ARCH) -> bytes:
    """One source file as armv6m .mpy (a syntax error names the file)."""
    with tempfile.TemporaryDirectory() as out:
        target = os.path.join(out, "x.mpy")
        r = subprocess.run([build_mpy.mpy_cross(), "-march=" + arch, "-o", target, path], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("mpy-cross failed on %s:\n%s" % (path, r.stderr))
        with open(target, "rb") as f:
            return f.read()


def package_files(arch: str = ARCH) -> Dict[str, bytes]:
    """lib/atmodem as .mpy under /lib, as tools.deploy --mpy puts it on a board."""
    files = {}
    with tempfile.TemporaryDirectory() as out:
        for rel in build_mpy.build(out, arch, skip=NOT_ON_BOARD):
            with open(os.path.join(out, rel), "rb") as f:
                files["/lib/" + rel] = f.read()
    return files


def with_modules(paths: Iterable[str], where: str = "/lib", compiled: bool = True, base: Optional[Dict[str, bytes]] = None) -> Dict[str, bytes]:
    """base (default: the package) plus each source file, compiled or as source."""
    files = dict(package_files() if base is None else base)
    for p in paths:
        name = os.path.splitext(os.path.basename(p))[0]
        if compiled:
            files["%s/%s.mpy" % (where, name)] = compile_mpy(p)
        else:
            with open(p, "rb") as f:
                files["%s/%s.py" % (where, name)] = f.read()
    return files
