"""A socket-module-shaped object for libraries that `import socket`."""
from .states import AF_INET, SOCK_DGRAM, SOCK_STREAM


class SocketModule:
    AF_INET = AF_INET
    SOCK_STREAM = SOCK_STREAM
    SOCK_DGRAM = SOCK_DGRAM
    SOL_SOCKET = 1
    SO_REUSEADDR = 2
    IPPROTO_TCP = 6
    TCP_NODELAY = 1
    error = OSError

    def __init__(self, modem):
        self.modem = modem
        self.timeout = None  # default for new sockets, like socket.setdefaulttimeout

    def socket(self, af=AF_INET, type=SOCK_STREAM, proto=0, mode=None, tls=None, rxbuf=4096):
        s = self.modem.socket(type, mode=mode, tls=tls, rxbuf=rxbuf, af=af)
        s.settimeout(self.timeout)
        return s

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        return self.modem.getaddrinfo(host, port, af, type, proto, flags)

    def setdefaulttimeout(self, seconds):
        self.timeout = seconds
