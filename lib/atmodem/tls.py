"""TLS in the module: the options a program gives a socket (socket(tls=atmodem.TLS(...))).
Each dialect writes them in its module's words and refuses what its module cannot do
(Dialect.tls_mode), before anything reaches the module."""
from .compat import cold

VERSIONS = (None, "all", "ssl3", "1.0", "1.1", "1.2")


def _cert(value, what):
    """A certificate or key as PEM (bytes, or str that starts like one), with the CR LF line
    ends the L610 counts [docs/l610-tls.md]; or the name of a file stored on the module."""
    if isinstance(value, str) and not value.startswith("-----BEGIN"):
        cold("texts", "check_text", value, what)
        return value
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError("%s must be PEM bytes or a file name on the module, not %r" % (what, type(value)))
    if b"-----BEGIN " not in value or b"-----END " not in value:
        # bare Base64 uploads but fails every later open (GTSSLERR -19) [docs/l610-tls.md]
        raise ValueError("%s must be PEM, from its -----BEGIN line to its -----END line" % what)
    lines = bytes(value).replace(b"\r", b"").strip().split(b"\n")
    return b"\r\n".join(lines) + b"\r\n"


class TLS:
    """Server verification is on unless verify=False is said explicitly.

    ca, client_cert, client_key: PEM (bytes, or a str that starts with -----BEGIN), which
    atmodem puts on a module that takes uploads (the L610, after each of its boots: it keeps
    none), or the name of a file already stored on the module (the NM28: Yuge documents no
    upload). version: None/"all", "ssl3", "1.0", "1.1", "1.2". ciphers: a suite id (NM28
    manual: 0x003D ...) or None for all. ignore_time: accept certificates outside their
    validity dates. negotiate_timeout: seconds the module may take for the handshake.
    """

    def __init__(self, ca=None, verify=True, version=None, ciphers=None, client_cert=None,
                 client_key=None, ignore_time=False, negotiate_timeout=300):
        if version not in VERSIONS:
            raise ValueError("version must be one of %s" % ", ".join(str(v) for v in VERSIONS))
        if verify and not ca:
            raise ValueError(
                "verify=True needs ca= (the CA certificate: PEM, or its file name on the module); "
                "pass verify=False to connect without checking the server"
            )
        if (client_cert is None) != (client_key is None):
            raise ValueError("client_cert and client_key go together")
        if ciphers is not None and not 0 <= ciphers <= 0xFFFF:
            raise ValueError("ciphers is a 16-bit suite id, e.g. 0x003D")
        if not 10 <= negotiate_timeout <= 300:
            raise ValueError("negotiate_timeout must be 10-300 s (the module's range)")
        self.ca = None if ca is None else _cert(ca, "ca")
        self.verify = verify
        self.version = version
        self.ciphers = ciphers
        self.client_cert = None if client_cert is None else _cert(client_cert, "client_cert")
        self.client_key = None if client_key is None else _cert(client_key, "client_key")
        self.ignore_time = ignore_time
        self.negotiate_timeout = negotiate_timeout

    def uploads(self):
        """The options given as PEM (they must be put on the module)."""
        return [v for v in (self.ca, self.client_cert, self.client_key) if isinstance(v, bytes)]
