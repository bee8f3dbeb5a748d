"""The emulator as a Python API: a virtual NM28 or L610 on a pseudo-terminal."""
from __future__ import annotations

import os
import random
from typing import Optional, Tuple

from . import variants
from .config import Config
from .l610 import L610
from .line import Line
from .module import Module
from .nm28 import NM28
from .quectel import Quectel

DIALECTS = {"nm28": NM28, "l610": L610, "quectel": Quectel}


class Emulator:
    """Start with `start()` (or `with`), connect a serial port to `path`, inject faults.

    serve=(host, port) also puts the line on TCP (`serve_address`; pyserial `socket://`).
    The line has one host at a time: while a TCP client is connected the module's output
    goes to it alone, otherwise to the pseudo-terminal; input from either reaches the module.

    firmware= picks the answer forms of a real firmware (variants.FIRMWARE: l610 manual,
    g510, g24; nm28 manual, hm609; default manual); push_trailer=False, echo_sticks=True and
    model=b"..." are quirks of their own, combinable with any of them (variants.py)."""

    def __init__(
        self,
        dialect: str = "nm28",
        baud: Optional[int] = None,
        serve: Optional[Tuple[str, int]] = None,
        log: Optional[str] = None,
        **settings,
    ):
        if dialect not in DIALECTS:
            raise ValueError("dialect must be one of %s" % ", ".join(DIALECTS))
        self.dialect = dialect
        self.config = Config(**settings)
        variants.check(dialect, self.config.firmware)
        self._baud, self._serve, self._log = baud, serve, log
        self.line: Optional[Line] = None
        self.module: Optional[Module] = None

    def start(self) -> "Emulator":
        self.line = Line(self._feed, self._baud, self._serve, self._log)
        mod = DIALECTS[self.dialect](self.config, self.line.write, self.line.wait_room)
        mod.rate_changed = self.line.set_baud
        self.module = mod
        return self

    @property
    def mod(self) -> Module:
        if self.module is None:
            raise RuntimeError("start() the emulator first")
        return self.module

    @property
    def ln(self) -> Line:
        if self.line is None:
            raise RuntimeError("start() the emulator first")
        return self.line

    def _feed(self, data: bytes) -> None:
        self.mod.feed(data)

    def stop(self) -> None:
        if self.module is not None:
            with self.module.lock:
                self.module.power_off()
            self.module.sched.stop()
        if self.line is not None:
            self.line.close()

    def __enter__(self) -> "Emulator":
        return self.start() if self.line is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def path(self) -> str:
        return self.ln.path

    @property
    def serve_address(self):
        return self.ln.serve_address

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Until the module has booted and everything it said has left the line."""
        import time

        deadline = time.monotonic() + timeout
        while not (self.mod.ready and self.ln.pending() == 0):
            if time.monotonic() > deadline:
                raise TimeoutError("emulator did not become idle")
            time.sleep(0.005)

    # ---------------------------------------------------------------- transcript
    def transcript(self, direction: Optional[str] = None) -> bytes:
        """Bytes on the line: '<' host to module, '>' module to host, None both in order."""
        return self.ln.transcript.text(direction)

    def clear_transcript(self) -> None:
        self.ln.transcript.clear()

    # ---------------------------------------------------------------- faults
    def drop_socket(self, sid: int) -> None:
        """The network breaks under socket sid: the peer gets a reset, the host a URC."""
        with self.mod.lock:
            sock = self.mod.socks.get(sid)
            if sock is None or sock.dead:
                raise ValueError("socket %d is not open" % sid)
            self.mod.sock_lost(sock, peer_closed=False)

    def reboot(self) -> None:
        """The module resets: boot URCs, echo on, sockets and PDP context gone."""
        with self.mod.lock:
            self.mod.boot()

    def power_off(self) -> None:
        with self.mod.lock:
            self.mod.power_off()

    def power_on(self) -> None:
        with self.mod.lock:
            self.mod.boot()

    def inject(self, data: bytes) -> None:
        """Arbitrary bytes on the module's transmit line, between whatever else it sends."""
        self.ln.write(data)

    def noise(self, n: int, seed: Optional[int] = None) -> bytes:
        data = bytes(random.Random(seed).getrandbits(8) for _ in range(n))
        self.inject(data)
        return data

    def fail_command(self, prefix: str, action: str = "error", count: Optional[int] = None) -> None:
        """Answer commands starting with prefix (e.g. "AT+MIPOPEN=") with ERROR or not at all."""
        if action not in ("error", "silent"):
            raise ValueError("action is 'error' or 'silent'")
        with self.mod.lock:
            self.mod.faults.append([prefix.upper(), action, count])

    def refuse_dial(self, count: int = 1) -> None:
        """The network refuses the next count dials (a wrong APN, a rejected PDP context):
        each answered in the firmware's form (variants.py, dial_refused_by_error)."""
        mod = self.mod
        if not hasattr(mod, "dial_refusals"):
            raise NotImplementedError("only the l610 emulator refuses dials")
        with mod.lock:
            setattr(mod, "dial_refusals", count)

    def tls_state(self) -> dict:
        """The L610's module-wide TLS state (AT+GTSSL*): mode, version, trust (files
        uploaded since power-on), uploads (since start(), kept across reboots) and error
        (what AT+GTSSLERR? answers)."""
        hook = getattr(self.mod, "tls_state", None)
        if hook is None:
            raise NotImplementedError("only the l610 emulator has module-wide TLS state")
        with self.mod.lock:
            return hook()

    def clear_faults(self) -> None:
        with self.mod.lock:
            self.mod.faults.clear()
        self.chunk_output(0)

    def chunk_output(self, size: int, delay: float = 0.0) -> None:
        """Split everything the module sends into chunks of size bytes, delay seconds apart."""
        self.ln.chunk_size = size
        self.ln.chunk_delay = delay

    def hold_flow(self, sid: int, on: bool = True) -> None:
        """Flow control held off: the network stops taking socket sid's data."""
        with self.mod.lock:
            sock = self.mod.socks.get(sid)
            if sock is None:
                raise ValueError("socket %d is not open" % sid)
            hook = getattr(self.module, "hold_flow", None)
            if hook is not None:
                hook(sock, on)
            else:
                sock.hold = on
                self.mod.cond.notify_all()

    def set_registration(self, stat: Optional[int]) -> None:
        """Force the network registration state (0 lost, 1 home, 2 searching, 5 roaming); None: normal."""
        with self.mod.lock:
            self.mod.reg_forced = stat
            self.mod.registration_changed()

    def open_ids(self):
        with self.mod.lock:
            return sorted(self.mod.socks)
