"""The serial line between host and module: a raw pseudo-terminal, optionally the same
line on a TCP port, with 8N1 baud pacing, chunking faults and a transcript.

The line has one host at a time. While a TCP client is connected to the served port, the
module's output goes to that client only; otherwise it goes to the pseudo-terminal. Input
from either side reaches the module. So a served line works alone at any volume with
nobody on the pseudo-terminal, and a pseudo-terminal left unread never stalls the module
once a TCP client is there (a newer client replaces an older one)."""
from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty
from typing import Callable, List, Optional, Tuple

# Bytes the module may hold for the host before its network readers stop reading
# (back-pressure to the peer instead of unbounded memory).
OUT_LIMIT = 16384


class Pacer:
    """Holds a byte stream to N baud, 10 bits a byte, against the wall clock.

    A chunk goes out when the line is free, as a UART starts sending at once, and keeps the
    line busy for its line time: the next waits for that. Chunks are about 1 ms of line time,
    so a receiver sees bytes at most that much early. While the line stays busy, sleep
    overshoot is paid back (the schedule is kept, with a little catch-up), so a long
    transfer runs at the line rate; after the line was idle the schedule restarts at now,
    so idle time is never banked into a burst faster than a real UART."""

    def __init__(self, baud: Optional[int]):
        self.baud = baud
        self._next = 0.0

    def idle(self) -> None:
        """The sender has nothing queued. The schedule stands: what went out last is still
        on the wire until its line time is over; after that the line is free at once."""

    def wait(self, nbytes: int) -> None:
        """Until the line is free for the next nbytes (then send them at once)."""
        if not self.baud:
            return
        now = time.monotonic()
        if self._next > now:
            if self._next - now > 0.0002:
                time.sleep(self._next - now)
            start = self._next  # a late wake-up is made up on the next chunk
        else:
            start = now  # the line was free: idle time is never banked
        self._next = start + nbytes * 10.0 / self.baud

    def slice(self) -> int:
        """Bytes to move at once: about 1 ms of line time."""
        return max(16, self.baud // 10000) if self.baud else 65536


class Transcript:
    def __init__(self, path: Optional[str]):
        self.t0 = time.monotonic()
        self.entries: List[Tuple[float, str, bytes]] = []
        self._lock = threading.Lock()
        self._file = open(path, "w", encoding="utf-8") if path else None
        self.keep = True

    def add(self, direction: str, data: bytes) -> None:
        t = time.monotonic() - self.t0
        with self._lock:
            if self.keep:
                self.entries.append((t, direction, data))
            if self._file:
                self._file.write("%10.6f %s %r\n" % (t, direction, data))
                self._file.flush()

    def text(self, direction: Optional[str] = None) -> bytes:
        with self._lock:
            return b"".join(d for _, k, d in self.entries if direction is None or k == direction)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def close(self) -> None:
        if self._file:
            self._file.close()
            self._file = None


class Line:
    """Host-facing end. `feed` receives what the host wrote; `write` queues module output."""

    def __init__(
        self,
        feed: Callable[[bytes], None],
        baud: Optional[int] = None,
        serve: Optional[Tuple[str, int]] = None,
        log: Optional[str] = None,
    ):
        self._feed = feed
        self.transcript = Transcript(log)
        self._rx_pacer = Pacer(baud)
        self._tx_pacer = Pacer(baud)
        self._out = bytearray()
        self._cond = threading.Condition()
        self._closed = False
        self._inflight = 0
        self.chunk_size = 0
        self.chunk_delay = 0.0
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)  # a pty nobody reads must not stall the line
        self.path = os.ttyname(self._slave)
        self._client: Optional[socket.socket] = None
        self._server: Optional[socket.socket] = None
        self.serve_address: Optional[Tuple[str, int]] = None
        self._wake_r, self._wake_w = os.pipe()
        self._threads = [
            threading.Thread(target=self._read_pty, daemon=True),
            threading.Thread(target=self._write_loop, daemon=True),
        ]
        if serve is not None:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(serve)
            self._server.listen(1)
            self.serve_address = self._server.getsockname()
            self._threads.append(threading.Thread(target=self._accept_loop, daemon=True))
        for t in self._threads:
            t.start()

    def set_baud(self, baud: int) -> None:
        """The module's AT+IPR: a paced line runs at the new rate from now (an unpaced one
        stays unpaced: a pseudo-terminal has no rate)."""
        for p in (self._rx_pacer, self._tx_pacer):
            if p.baud:
                p.baud = baud

    # -- host -> module

    def _take_input(self, data: bytes) -> None:
        step = self._rx_pacer.slice()
        for i in range(0, len(data), step):
            part = data[i : i + step]
            self._rx_pacer.wait(len(part))
            self.transcript.add("<", part)
            self._feed(part)

    def _read_pty(self) -> None:
        while not self._closed:
            r, _, _ = select.select([self.master, self._wake_r], [], [], 0)
            if not r:
                self._rx_pacer.idle()
                r, _, _ = select.select([self.master, self._wake_r], [], [])
            if self._closed or self._wake_r in r:
                return
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            if data:
                self._take_input(data)

    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            old, self._client = self._client, client
            if old is not None:
                old.close()
            threading.Thread(target=self._read_client, args=(client,), daemon=True).start()

    def _read_client(self, client: socket.socket) -> None:
        while not self._closed:
            try:
                data = client.recv(4096)
            except OSError:
                data = b""
            if not data:
                break
            self._take_input(data)
        if self._client is client:  # gone: the pty is the host again
            self._client = None
            client.close()

    # -- module -> host
    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._cond:
            self._out += data
            self._cond.notify_all()

    def pending(self) -> int:
        """Bytes not yet handed to the pseudo-terminal (queued or being written)."""
        return len(self._out) + self._inflight

    def wait_room(self, timeout: float = 1.0) -> bool:
        """Block a network reader while the host is behind (never called by the command path)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._out) < OUT_LIMIT or self._closed, timeout)

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                if not self._out:
                    self._tx_pacer.idle()
                self._cond.wait_for(lambda: self._out or self._closed)
                if self._closed:
                    return
                n = self._tx_pacer.slice()
                if self.chunk_size:
                    n = min(n, self.chunk_size)
                part = bytes(self._out[:n])
                del self._out[:n]
                self._inflight = len(part)
                self._cond.notify_all()
            self._tx_pacer.wait(len(part))
            self.transcript.add(">", part)
            if not self._deliver(part):
                return
            self._inflight = 0
            if self.chunk_size and self.chunk_delay:
                time.sleep(self.chunk_delay)

    def _deliver(self, part: bytes) -> bool:
        """To the connected TCP client, else to the pseudo-terminal; False once closed."""
        view = memoryview(part)
        while view:
            if self._closed:
                return False
            client = self._client
            if client is not None:
                try:
                    client.sendall(view)
                    return True
                except OSError:
                    if self._client is client:
                        self._client = None
                    continue
            try:
                view = view[os.write(self.master, view) :]
            except BlockingIOError:
                # nobody reads the pty: wait for room, or for a TCP client to take over
                select.select([], [self.master], [], 0.05)
            except OSError:
                return False
        return True

    def close(self) -> None:
        self._closed = True
        with self._cond:
            self._cond.notify_all()
        os.write(self._wake_w, b"x")
        for t in self._threads[:2]:
            t.join(timeout=2)
        if self._server is not None:
            self._server.close()
        if self._client is not None:
            self._client.close()
        for fd in (self.master, self._slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.transcript.close()
