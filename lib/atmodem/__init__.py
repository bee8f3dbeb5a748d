"""atmodem: TCP, UDP and TLS sockets through AT-command cellular modules (Yuge NM28,
Fibocom L610), on MicroPython and CPython alike."""
from . import hal
from .errors import ATError, ATTimeout, ConnectError, LinkError, ModemError
from .modem import Modem
from .reconnect import Reconnecting
from .recovery import Policy, Recovery
from .socket import AF_INET, SOCK_DGRAM, SOCK_STREAM, Socket
from .tls import TLS

__version__ = "0.1.0"
__all__ = [
    "hal", "Modem", "Socket", "TLS", "Recovery", "Policy", "Reconnecting", "AF_INET", "SOCK_STREAM", "SOCK_DGRAM",
    "ModemError", "ATError", "ATTimeout", "ConnectError", "LinkError",
]
