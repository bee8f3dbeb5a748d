"""A Raspberry Pi Pico on the host: MicroPython's rp2 firmware in the rp2040js emulator
(runner.mjs), its flash image (flash.py), raw REPL (repl.py) and UART wiring (wire.py)."""
from .board import Pico, firmware_paths, runner_ready
from .repl import PicoError, RawRepl
from .wire import Wire

__all__ = ["Pico", "PicoError", "RawRepl", "Wire", "firmware_paths", "runner_ready"]
