"""Checks of what a program passes in, before anything reaches the module: each failure is a
TypeError or ValueError that names the argument and what is wrong with it. These are the
small, frequent ones; texts.py has those of text that goes into a command line."""


def check_port(port, what="port", lo=1):
    if not isinstance(port, int) or isinstance(port, bool) or not lo <= port <= 65535:
        raise ValueError("%s must be an int %d-65535, got %r" % (what, lo, port))
    return port


def check_timeout(seconds, what="timeout"):
    """None (wait for ever) or a finite number >= 0 of seconds."""
    if seconds is None:
        return None
    if not isinstance(seconds, (int, float)):
        raise TypeError("%s must be None or a number of seconds, not %s" % (what, type(seconds).__name__))
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("%s must be finite, got %r" % (what, seconds))
    if seconds < 0:
        raise ValueError("%s must be None or >= 0, got %r" % (what, seconds))
    if seconds > 2000000:  # ticks_ms arithmetic wraps past 2**30 ms on a board
        raise ValueError("%s of %r s is too long (at most 2000000 s; None waits for ever)" % (what, seconds))
    return seconds


def check_size(n, what="buffer size"):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("%s must be an int, not %s" % (what, type(n).__name__))
    if n < 0:
        raise ValueError("negative %s" % what)
    return n
