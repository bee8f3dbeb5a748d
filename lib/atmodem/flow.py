"""The steps an operation (a flow) yields to its runner. A flow is a generator: it yields a
step, the runner carries it out and sends back the result (or throws the error in), and
the flow never touches the UART or the clock. The blocking runner (Modem.run) and the
asyncio runner (aio) drive the same flows.

Steps:
- at.Command: send a command and wait for its final result (the Command comes back);
  an at.Background is only issued: its owner hears when it completes.
- Until(pred, timeout_ms, what): service the line until pred() holds; when time runs out,
  raise ATTimeout(what), or return False when what is None (a pause).
- Write(data): raw bytes to the UART (data mode, the +++ escape).
- DRAIN: until everything written has left the UART, where the port can tell.
"""
from .compat import release


class Until:
    def __init__(self, pred, timeout_ms, what=None):
        self.pred = pred
        self.timeout_ms = timeout_ms
        self.what = what


def pause(ms):
    """Service the line for ms (URCs keep flowing while a flow waits)."""
    return Until(_never, ms)


def _never():
    return False


class Write:
    def __init__(self, data):
        self.data = data


class Drain:
    pass


DRAIN = Drain()


def once(name, fn, *args):
    """The flow atmodem.<name>.<fn>(*args) of a module used only now and then (bring-up).
    On MicroPython its code is heap: the module is let go afterwards for the collector
    (imported again from flash next time, in milliseconds)."""
    mod = __import__("atmodem." + name, None, None, [fn])
    try:
        return (yield from getattr(mod, fn)(*args))
    finally:
        release(name)
