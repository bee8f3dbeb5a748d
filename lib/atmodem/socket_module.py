"""modem.sockets(): the names libraries written for the `socket` module use, over the modem.
Loaded only when sockets() is called. MicroPython cannot make module objects, so this is an
object; load() and install_into() give it to one library and leave sys.modules alone
(install_tls() is the one call that changes it: tls and ussl, for libraries' TLS)."""
import sys

from .checks import check_timeout
from .errors import EHOSTUNREACH, EINVAL, ModemError, Timeout
from .states import AF_INET, SOCK_DGRAM, SOCK_STREAM

try:
    _timeout = TimeoutError  # CPython: socket.timeout; every atmodem timeout is one
except NameError:  # MicroPython: what a socket's (or a command's) timeout raises
    _timeout = Timeout

_DEFAULT = object()  # create_connection without a timeout: the default one


class gaierror(ModemError):
    """The module could not resolve a name (errno EHOSTUNREACH)."""


def _bad(what, value):
    return ModemError(EINVAL, "illegal IP address passed to %s: %r" % (what, value))


def _ipv4_only(af):
    if af != AF_INET:
        raise ModemError(97, "address family %r: only AF_INET (the modules have no IPv6)" % (af,))


class SocketModule:
    AF_INET = AF_INET
    SOCK_STREAM = SOCK_STREAM
    SOCK_DGRAM = SOCK_DGRAM
    SOL_SOCKET = 1
    SO_REUSEADDR = 2
    IPPROTO_IP = 0
    IPPROTO_TCP = 6
    IPPROTO_UDP = 17
    TCP_NODELAY = 1
    SHUT_RD = 0
    SHUT_WR = 1
    SHUT_RDWR = 2
    has_ipv6 = False
    error = OSError
    timeout = _timeout
    gaierror = gaierror

    def __init__(self, modem):
        self.modem = modem
        self.__name__ = "socket"
        self._default = None  # for new sockets: setdefaulttimeout

    def install_tls(self, ca=None):
        """tls, ssl and ussl in sys.modules become a shim: libraries that wrap an atmodem
        socket (requests' https, umqtt's ssl) get TLS in the module; every other socket
        keeps the TLS it had. ca: the CA (PEM) when a library asks to verify and names none."""
        from .tls_shim import install

        return install(ca)

    def socket(self, af=AF_INET, type=SOCK_STREAM, proto=0, mode=None, tls=None, rxbuf=4096):
        s = self.modem.socket(type, mode=mode, tls=tls, rxbuf=rxbuf, af=af)
        s.settimeout(self._default)
        return s

    def getaddrinfo(self, host, port, af=0, type=0, proto=0, flags=0):
        if isinstance(port, str) and port.isdigit():
            port = int(port)
        try:
            return self.modem.getaddrinfo(host, port, af, type, proto, flags)
        except ModemError as err:
            if err.errno == EHOSTUNREACH:
                raise gaierror(EHOSTUNREACH, err.message)
            raise

    def create_connection(self, address, timeout=_DEFAULT, source_address=None, all_errors=False):
        """A connected SOCK_STREAM socket to (host, port), as CPython's."""
        if source_address is not None:
            raise ModemError(EINVAL, "create_connection: no source_address (the module picks it)")
        if timeout is not _DEFAULT:
            check_timeout(timeout)
        err = None
        for af, kind, proto, _, addr in self.getaddrinfo(address[0], address[1], 0, SOCK_STREAM):
            s = self.socket(af, kind, proto)
            try:
                if timeout is not _DEFAULT:
                    s.settimeout(timeout)
                s.connect(addr)
                return s
            except OSError as e:
                err = e
                s.close()
        raise err if err is not None else gaierror(EHOSTUNREACH, "no address for %r" % (address[0],))

    def setdefaulttimeout(self, seconds):
        self._default = check_timeout(seconds)

    def getdefaulttimeout(self):
        return self._default

    def inet_aton(self, ip):
        parts = ip.split(".") if isinstance(ip, str) else ()
        if len(parts) != 4:
            raise _bad("inet_aton", ip)
        out = bytearray(4)
        for i in range(4):
            p = parts[i]
            if not p.isdigit() or len(p) > 3 or int(p) > 255:
                raise _bad("inet_aton", ip)
            out[i] = int(p)
        return bytes(out)

    def inet_ntoa(self, packed):
        if not isinstance(packed, (bytes, bytearray)) or len(packed) != 4:
            raise _bad("inet_ntoa", packed)
        return "%d.%d.%d.%d" % (packed[0], packed[1], packed[2], packed[3])

    def inet_pton(self, af, ip):
        _ipv4_only(af)
        return self.inet_aton(ip)

    def inet_ntop(self, af, packed):
        _ipv4_only(af)
        return self.inet_ntoa(packed)

    # ---------------------------------------------------------------- one library
    def load(self, name):
        """Import module `name` (dotted: "umqtt.simple") with `socket` and `usocket` bound to
        this object during that import only; returns the module. sys.modules["socket"] is
        what it was before, for every other module."""
        mods = sys.modules
        if name in mods:
            raise ValueError("%s is imported already, with the socket module it had: load() it "
                             "first, or install_into() it" % name)
        saved = [(k, mods.get(k)) for k in ("socket", "usocket")]
        for k, _ in saved:
            mods[k] = self  # pyright: ignore[reportArgumentType]
        try:
            __import__(name)
            return mods[name]
        finally:
            for k, v in saved:
                if v is None:
                    mods.pop(k, None)
                else:
                    mods[k] = v

    def install_into(self, module, name="socket"):
        """A library already imported: its global `name` (the socket module it imported,
        `import usocket as socket` too) becomes this object; returns the module."""
        if not hasattr(module, name):
            raise ValueError("%r has no global %r to replace" % (module, name))
        setattr(module, name, self)
        return module
