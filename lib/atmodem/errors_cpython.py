"""CPython only (errors.py loads it there): an atmodem error is also the built-in OSError
subclass its errno stands for, so `except socket.timeout` and `except BlockingIOError` work
as they do with CPython's own sockets. MicroPython has no such classes."""
# errors.py hands over its errno values (importing them back would be a circle)
_BUILTIN = {}
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


def fit(modem_error, timedout, again, reset, refused):
    _BUILTIN.update({timedout: TimeoutError, again: BlockingIOError,
                     reset: ConnectionResetError, refused: ConnectionRefusedError})
    modem_error.__new__ = _new
