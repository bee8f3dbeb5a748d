"""A `tls` / `ssl` / `ussl` module for libraries written for one (requests, umqtt): wrapping
an atmodem socket gives TLS in the module (Socket.start_tls); any other socket (Wi-Fi, the
host's) goes to the module it replaces, so the rest of the program keeps MicroPython's (or
CPython's) TLS. Loaded by modem.sockets().install_tls()."""
import binascii
import sys

from .tls import TLS

CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2
PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
# CPython's ssl is a whole API its own libraries use: there the shim is only tls and ussl
NAMES = ("tls", "ussl") if sys.implementation.name != "micropython" else ("tls", "ssl", "ussl")


def _pem(data):
    """cadata as PEM: MicroPython's tls takes DER too."""
    if isinstance(data, str):
        data = data.encode()
    if b"-----BEGIN" in data:
        return bytes(data)
    b64 = binascii.b2a_base64(data).replace(b"\n", b"")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def _read(path):
    with open(path, "rb") as f:
        return f.read()


class SSLContext:
    """tls.SSLContext: verify_mode, load_verify_locations, load_cert_chain, wrap_socket."""

    def __init__(self, shim, protocol):
        self._shim = shim
        self.protocol = protocol
        self.verify_mode = shim.CERT_REQUIRED if protocol == shim.PROTOCOL_TLS_CLIENT else shim.CERT_NONE
        self._ca = None
        self._chain = None
        self._calls = []  # replayed on the replaced module's context, for its sockets

    def load_verify_locations(self, cafile=None, cadata=None):
        self._ca = _pem(cadata if cadata is not None else _read(cafile))
        self._calls.append(("load_verify_locations", (cafile, cadata)))

    def load_cert_chain(self, certfile, keyfile=None):
        self._chain = (certfile, keyfile)
        self._calls.append(("load_cert_chain", (certfile, keyfile)))

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        if not self._shim.ours(sock):
            real = self._shim.real.SSLContext(self.protocol)
            real.verify_mode = self.verify_mode
            for name, args in self._calls:
                getattr(real, name)(*args)
            return real.wrap_socket(sock, server_side=server_side, server_hostname=server_hostname)
        if server_side:
            raise NotImplementedError("TLS in the module is for clients")
        verify = self.verify_mode != self._shim.CERT_NONE
        cert, key = self._chain if self._chain else (None, None)
        tls = TLS(ca=(self._ca or self._shim.ca) if verify else None, verify=verify, client_cert=cert, client_key=key)
        return sock.start_tls(tls, server_hostname)


class TLSModule:
    CERT_NONE = CERT_NONE
    CERT_OPTIONAL = CERT_OPTIONAL
    CERT_REQUIRED = CERT_REQUIRED
    PROTOCOL_TLS_CLIENT = PROTOCOL_TLS_CLIENT
    PROTOCOL_TLS_SERVER = PROTOCOL_TLS_SERVER

    def __init__(self, real, ca=None):
        self.real = real  # the module replaced, for sockets that are not atmodem's
        for name in ("CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED", "PROTOCOL_TLS_CLIENT", "PROTOCOL_TLS_SERVER"):
            if hasattr(real, name):  # its values (CPython's differ): its contexts get them
                setattr(self, name, getattr(real, name))
        # when a library asks to verify and names no CA: PEM, or a file name on the module
        self.ca = ca if ca is None or (isinstance(ca, str) and not ca.startswith("-----BEGIN")) else _pem(ca)
        self.__name__ = "tls"

    def __getattr__(self, name):  # the rest of the replaced module (SSLError, ...)
        if self.real is None:
            raise AttributeError(name)
        return getattr(self.real, name)

    def ours(self, sock):
        return hasattr(sock, "start_tls") and hasattr(sock, "link")

    def SSLContext(self, protocol=None):
        return SSLContext(self, self.PROTOCOL_TLS_CLIENT if protocol is None else protocol)

    def wrap_socket(self, sock, server_side=False, key=None, cert=None, cert_reqs=None, cadata=None,
                    server_hostname=None, do_handshake=True, keyfile=None, certfile=None, ca_certs=None, **kw):
        """MicroPython's tls.wrap_socket (cert_reqs defaults to CERT_NONE there too)."""
        if not self.ours(sock):
            if self.real is None:
                raise OSError("no TLS module to wrap a socket that is not atmodem's")
            args = dict(kw, server_side=server_side, server_hostname=server_hostname)
            for name, value in (("key", key), ("cert", cert), ("cert_reqs", cert_reqs), ("cadata", cadata),
                                ("keyfile", keyfile), ("certfile", certfile), ("ca_certs", ca_certs)):
                if value is not None:
                    args[name] = value
            return self.real.wrap_socket(sock, **args)
        ctx = SSLContext(self, self.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = self.CERT_NONE if cert_reqs is None else cert_reqs
        if cadata is not None or ca_certs is not None:
            ctx.load_verify_locations(ca_certs, cadata)
        if cert is not None or certfile is not None:
            ctx.load_cert_chain(cert or certfile, key or keyfile)
        return ctx.wrap_socket(sock, server_side, do_handshake, server_hostname)


def install(ca=None):
    """Put the shim in sys.modules as tls, ssl and ussl (each wrapping what was there)."""
    real = None
    for name in ("tls", "ssl", "ussl"):
        mod = sys.modules.get(name)
        if mod is not None and not isinstance(mod, TLSModule):
            real = mod
            break
    if real is None:
        for name in ("tls", "ssl", "ussl"):
            try:
                real = __import__(name)
                break
            except ImportError:
                pass
    shim = TLSModule(real, ca)
    for name in NAMES:
        sys.modules[name] = shim  # pyright: ignore[reportArgumentType]
    return shim
