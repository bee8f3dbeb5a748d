"""CPython only (errors.py loads it there): an atmodem error is also the built-in OSError
subclass its errno stands for, so `except socket.timeout` and `except BlockingIOError` work
as they do with CPython's own sockets. MicroPython has no such classes."""
from .errors import ECONNREFUSED, ECONNRESET, EAGAIN, ETIMEDOUT, _FIT

_BUILTIN = {
    ETIMEDOUT: TimeoutError,
    EAGAIN: BlockingIOError,
    ECONNRESET: ConnectionResetError,
    ECONNREFUSED: ConnectionRefusedError,
}
_variants = {}


def _new(cls, *args):
    """ModemError(ETIMEDOUT, ...) is an instance of a class that is both that ModemError
    subclass and TimeoutError (one class per pair, made once)."""
    code = getattr(cls, "ERRNO", None) or (args[0] if args else None)
    base = _BUILTIN.get(code)
    if base is not None and not issubclass(cls, base):
        key = (cls, base)
        v = _variants.get(key)
        if v is None:
            v = _variants[key] = type(cls.__name__, (cls, base), {"__module__": cls.__module__})
        cls = v
    return OSError.__new__(cls, *args)


def fit(modem_error):
    modem_error.__new__ = _new
    _FIT.append(True)
