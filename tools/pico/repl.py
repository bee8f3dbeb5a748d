"""MicroPython's raw REPL over a TCP stream (the runner's USB CDC bridge): run code, soft reset,
collect what the board prints. mpremote does the same over `socket://`; this one is small
and lets a test follow output and deadlines."""
from __future__ import annotations

import socket
import time
from typing import Callable, Optional, Tuple


class PicoError(Exception):
    """The board raised, or did not answer in time. The message holds what it printed."""


class RawRepl:
    def __init__(self, address: Tuple[str, int], connect_timeout: float = 10.0):
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self.sock = socket.create_connection(address, timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.raw = False

    # ---------------------------------------------------------------- bytes
    def _read_until(self, marker: bytes, timeout: float, on_output: Optional[Callable[[bytes], None]] = None) -> bytes:
        deadline = time.monotonic() + timeout
        seen = 0
        while marker not in self.buf:
            if on_output is not None and len(self.buf) > seen:
                on_output(bytes(self.buf[seen:]))
                seen = len(self.buf)
            left = deadline - time.monotonic()
            if left <= 0:
                raise PicoError("no %r from the board in %.0f s; it printed %r" % (marker, timeout, bytes(self.buf[-2000:])))
            self.sock.settimeout(min(left, 0.5))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise PicoError("the board's REPL closed; it printed %r" % bytes(self.buf[-2000:]))
            self.buf += data
        i = self.buf.index(marker) + len(marker)
        out = bytes(self.buf[:i])
        if on_output is not None and i > seen:
            on_output(out[seen:])
        del self.buf[:i]
        return out

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        """Everything up to and including marker (for output outside the raw REPL, e.g. main.py)."""
        return self._read_until(marker, timeout)

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    # ---------------------------------------------------------------- raw REPL
    def enter(self, timeout: float = 10.0) -> None:
        """Interrupt whatever runs and enter the raw REPL."""
        self.write(b"\r\x03\x03")
        time.sleep(0.05)
        self.buf.clear()
        self.write(b"\x01")
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout)
        self.raw = True

    def soft_reset(self, timeout: float = 20.0) -> None:
        """Ctrl-D at the raw prompt: a fresh heap and interpreter, back at the raw prompt."""
        if not self.raw:
            self.enter()
        self.write(b"\x04")
        self._read_until(b"soft reboot\r\n", timeout)
        self._read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout)

    def exec(self, code: str, timeout: float = 60.0, on_output: Optional[Callable[[bytes], None]] = None) -> str:
        """Run code; its printed output, or PicoError with the traceback and the output."""
        if not self.raw:
            self.enter()
        data = code.encode()
        for i in range(0, len(data), 256):
            self.write(data[i : i + 256])
        self.write(b"\x04")
        ok = self._read_until(b"OK", 10.0)
        if not ok.endswith(b"OK"):
            raise PicoError("raw REPL refused the code: %r" % ok)
        try:
            out = self._read_until(b"\x04", timeout, on_output)[:-1]
        except PicoError:
            self.write(b"\x03\x03")  # stop it; the next call enters the raw REPL afresh
            self.raw = False
            raise
        err = self._read_until(b"\x04", 10.0)[:-1]
        self._read_until(b">", 10.0)
        text = out.decode("utf-8", "replace")
        if err:
            raise PicoError("%s\n--- output before it:\n%s" % (err.decode("utf-8", "replace"), text[-3000:]))
        return text

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
