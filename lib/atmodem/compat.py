"""The one place where MicroPython and CPython differ: const, ticks, sleep."""
import time

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython

    def const(x):
        return x


try:
    # (pyright checks lib/ against MicroPython's stubs; the CPython fallback differs in type)
    ticks_ms = time.ticks_ms  # pyright: ignore[reportAssignmentType]
    ticks_diff = time.ticks_diff  # pyright: ignore[reportAssignmentType]
    ticks_add = time.ticks_add  # pyright: ignore[reportAssignmentType]
    sleep_ms = time.sleep_ms  # pyright: ignore[reportAssignmentType]
except AttributeError:  # CPython: a monotonic millisecond clock that never wraps
    _t0 = time.monotonic()  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_ms():
        return int((time.monotonic() - _t0) * 1000)  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_diff(a, b):
        return a - b

    def ticks_add(t, delta):
        return t + delta

    def sleep_ms(ms):
        time.sleep(ms / 1000)


MICROPYTHON = hasattr(time, "ticks_ms") and not hasattr(time, "monotonic")


def release(name):
    """Let atmodem.<name> go (MicroPython: a module's code is heap; it is imported again
    from flash, in milliseconds, the next time it is needed)."""
    if MICROPYTHON:
        import sys

        sys.modules.pop("atmodem." + name, None)
        pkg = sys.modules.get("atmodem")
        if pkg is not None and name in pkg.__dict__:
            delattr(pkg, name)


def cold(name, fn, *args):
    """atmodem.<name>.<fn>(*args) from a module used only now and then, let go after."""
    mod = __import__("atmodem." + name, None, None, [fn])
    try:
        return getattr(mod, fn)(*args)
    finally:
        release(name)


class Clock:
    """The modem's clock; tests substitute a fake with the same four methods."""

    def ticks_ms(self):
        return ticks_ms()

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def ticks_add(self, t, delta):
        return ticks_add(t, delta)

    def sleep_ms(self, ms):
        sleep_ms(ms)


if MICROPYTHON:
    import io

    # MicroPython streams (select.poll, asyncio, tls.wrap_socket) take io.IOBase subclasses
    # that define read/readinto/write/ioctl.
    StreamBase = io.IOBase
else:  # CPython's io.IOBase would close the socket from __del__: plain object instead
    StreamBase = object
