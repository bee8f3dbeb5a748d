"""A wire between two TCP endpoints (a Pico UART port and an emulator's served line): bytes
flow both ways unchanged. Each side paces its own end: the emulator at the baud rate in
wall time, the Pico runner at the baud rate in emulated time."""
from __future__ import annotations

import socket
import threading
import time
from typing import List, Tuple


def _connect(address: Tuple[str, int], timeout: float = 10.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.create_connection(address, timeout=timeout)
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return s
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Wire:
    def __init__(self, a: Tuple[str, int], b: Tuple[str, int]):
        self.socks = [_connect(a), _connect(b)]
        self.moved = [0, 0]  # bytes a->b, b->a
        self._threads: List[threading.Thread] = []
        for i in (0, 1):
            t = threading.Thread(target=self._pump, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, i: int) -> None:
        src, dst = self.socks[i], self.socks[1 - i]
        while True:
            try:
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
            except OSError:
                return
            self.moved[i] += len(data)

    def close(self) -> None:
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
