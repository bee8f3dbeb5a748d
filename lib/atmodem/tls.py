"""TLS options for an NM28 socket, written as AT+SSLCFG for the socket's context."""
from .compat import cold

_VERSIONS = {None: 4, "all": 4, "ssl3": 0, "1.0": 1, "1.1": 2, "1.2": 3}


class TLS:
    """Server verification is on unless verify=False is said explicitly.

    ca, client_cert, client_key: file names stored on the module (AT+SSLCFG looks them up).
    version: None/"all", "1.0", "1.1", "1.2". ciphers: a suite id of the manual (0x003D ...)
    or None for all. ignore_time: accept certificates outside their validity dates.
    """

    def __init__(self, ca=None, verify=True, version=None, ciphers=None, client_cert=None,
                 client_key=None, ignore_time=False, negotiate_timeout=300):
        if version not in _VERSIONS:
            raise ValueError("version must be one of %s" % ", ".join(str(v) for v in _VERSIONS))
        if verify and not ca:
            raise ValueError(
                "verify=True needs ca= (the CA certificate's file name on the module); "
                "pass verify=False to connect without checking the server"
            )
        if (client_cert is None) != (client_key is None):
            raise ValueError("client_cert and client_key go together")
        for value, what in ((ca, "ca"), (client_cert, "client_cert"), (client_key, "client_key")):
            if value is not None:
                cold("texts", "check_text", value, what)
        if ciphers is not None and not 0 <= ciphers <= 0xFFFF:
            raise ValueError("ciphers is a 16-bit suite id, e.g. 0x003D")
        if not 10 <= negotiate_timeout <= 300:
            raise ValueError("negotiate_timeout must be 10-300 s (the module's range)")
        self.ca = ca
        self.verify = verify
        self.version = version
        self.ciphers = 0xFFFF if ciphers is None else ciphers
        self.client_cert = client_cert
        self.client_key = client_key
        self.ignore_time = ignore_time
        self.negotiate_timeout = negotiate_timeout

    def settings(self):
        """(name, quoted value) pairs for AT+SSLCFG="<name>",<ctx>,<value>."""
        level = 0 if not self.verify else (2 if self.client_cert else 1)
        out = [
            (b"sslversion", b'"%d"' % _VERSIONS[self.version]),
            (b"ciphersuite", b'"0X%04X"' % self.ciphers),
            (b"seclevel", b'"%d"' % level),
            (b"ignorelocaltime", b'"%d"' % (1 if self.ignore_time else 0)),
            (b"negotiatetime", b'"%d"' % self.negotiate_timeout),
        ]
        for name, value in ((b"cacert", self.ca), (b"clientcert", self.client_cert), (b"clientkey", self.client_key)):
            if value:
                out.append((name, b'"%s"' % value.encode()))
        return out
