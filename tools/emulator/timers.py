"""One timer thread for a virtual module; callbacks run under the module lock."""
from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Callable


class Scheduler:
    """One timer thread; callbacks run under the module lock."""

    def __init__(self, lock: threading.RLock):
        self._lock = lock
        self._heap: list = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def at(self, delay: float, fn: Callable, *args) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), fn, args))
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cond.wait(self._heap[0][0] - now if self._heap else None)
                if self._stop:
                    return
                _, _, fn, args = heapq.heappop(self._heap)
            with self._lock:
                fn(*args)
