"""atmodem: TCP, UDP and TLS sockets through AT-command cellular modules (Yuge NM28,
Fibocom L610), on MicroPython and CPython alike."""
from . import hal
from .errors import ATError, ATTimeout, ConnectError, LinkError, ModemError
from .modem import Modem
from .socket import Socket
from .states import AF_INET, SOCK_DGRAM, SOCK_STREAM

__version__ = "0.1.0"
__all__ = [
    "hal", "Modem", "Socket", "TLS", "Recovery", "Policy", "Reconnecting", "AF_INET",
    "SOCK_STREAM", "SOCK_DGRAM", "ModemError", "ATError", "ATTimeout", "ConnectError", "LinkError",
]

# Loaded on first use: a board that never needs them does not pay for them in RAM.
_LAZY = {"TLS": "tls", "Recovery": "recovery", "Policy": "recovery", "Reconnecting": "reconnect"}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is not None:
        return getattr(__import__("atmodem." + mod, None, None, [name]), name)
    # MicroPython asks here first for `from atmodem import aio`: import the submodule.
    try:
        return __import__("atmodem." + name, None, None, [name])
    except ImportError as err:
        if ("atmodem." + name) not in str(err):
            raise  # the submodule exists but something it imports does not: say that
        raise AttributeError("module 'atmodem' has no attribute %r" % name)
