"""The emulated Pico as a Python object: starts tools/pico/runner.mjs (Node + rp2040js) with
MicroPython's rp2 firmware and a flash image, and gives its REPL and UART ports.

    with Pico(image=flash.image(files)) as pico:
        with pico.wire(1, emu.serve_address):     # UART1 (GP4/GP5) <-> the emulator's line
            print(pico.repl.exec("import atmodem"))

The firmware and boot ROM come from ../shared/rp2040/ beside the repository, or from
$ATMODEM_PICO_FIRMWARE and $ATMODEM_PICO_BOOTROM."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Dict, List, Optional, Tuple

from .repl import PicoError, RawRepl
from .wire import Wire

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "rp2040")
FIRMWARE = "micropython-1.28.0-rpi_pico.bin"
BOOTROM = "rp2040-b1-bootrom.bin"


def firmware_paths() -> Tuple[str, str]:
    """(firmware, boot ROM). Raises FileNotFoundError naming what is missing and how to point
    at it: a test tier that needs them must fail, not skip, when they are absent."""
    fw = os.environ.get("ATMODEM_PICO_FIRMWARE") or os.path.join(SHARED, FIRMWARE)
    rom = os.environ.get("ATMODEM_PICO_BOOTROM") or os.path.join(SHARED, BOOTROM)
    missing = [p for p in (fw, rom) if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            "the emulated Pico needs MicroPython's RPI_PICO firmware and the RP2040 boot ROM; "
            "missing: %s (set ATMODEM_PICO_FIRMWARE and ATMODEM_PICO_BOOTROM to use others)" % ", ".join(missing)
        )
    return fw, rom


def runner_ready() -> None:
    """The runner's npm package must be installed (./run does: npm ci in tools/pico)."""
    if not shutil.which("node"):
        raise FileNotFoundError("node is not on PATH: the Pico runner needs Node 18 or later")
    if not os.path.isdir(os.path.join(HERE, "node_modules", "rp2040js")):
        raise FileNotFoundError("rp2040js is not installed: run `npm ci` in %s (./run does it)" % HERE)


class Pico:
    """One emulated board. uart0/uart1: runner specs ("listen:0" or "connect:HOST:PORT")."""

    def __init__(self, image: Optional[bytes] = None, uart0: str = "listen:0", uart1: str = "listen:0",
                 verbose: bool = False):
        self.image = image
        self.specs = {"uart0": uart0, "uart1": uart1}
        self.verbose = verbose
        self.proc: Optional[subprocess.Popen] = None
        self.ports: Dict[str, int] = {}
        self._repl: Optional[RawRepl] = None
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self._stderr: List[str] = []

    def start(self) -> "Pico":
        fw, rom = firmware_paths()
        runner_ready()
        cmd = ["node", os.path.join(HERE, "runner.mjs"), "--firmware", fw, "--bootrom", rom,
               "--uart0", self.specs["uart0"], "--uart1", self.specs["uart1"]]
        if self.image is not None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pico-")
            path = os.path.join(self._tmp.name, "flash.img")
            with open(path, "wb") as f:
                f.write(self.image)
            cmd += ["--fs", path]
        if self.verbose:
            cmd.append("--verbose")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._collect, args=(self.proc.stderr,), daemon=True).start()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(5)
            raise PicoError("the Pico runner did not start: %s" % "".join(self._stderr)[-2000:])
        self.ports = json.loads(line)
        return self

    def _collect(self, stream) -> None:
        for line in stream:
            self._stderr.append(line)

    @property
    def log(self) -> str:
        """What the runner wrote on stderr (rp2040js warnings with --verbose, errors)."""
        return "".join(self._stderr)

    def address(self, name: str) -> Tuple[str, int]:
        return ("127.0.0.1", self.ports[name])

    @property
    def repl(self) -> RawRepl:
        if self._repl is None:
            self._repl = RawRepl(self.address("repl"))
        return self._repl

    def wire(self, uart: int, peer: Tuple[str, int]) -> Wire:
        """Relay UART<uart> (a listening port) to a TCP peer such as an emulator's served line."""
        return Wire(self.address("uart%d" % uart), peer)

    def stop(self) -> None:
        if self._repl is not None:
            self._repl.close()
            self._repl = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            for s in (self.proc.stdin, self.proc.stdout):
                if s is not None:
                    s.close()
            self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Pico":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
