"""The L610's TLS (+GTSSL*, docs/l610-tls.md). Its settings are one for the whole module
and read at each open; its trust list lives in RAM (every boot starts without one) and
grows with each upload. Loaded when a TLS socket opens, let go after."""
from ..command import Command
from .parse import lead_ints

_MEANINGS = {
    -19: "the uploaded CA is not a PEM certificate",
    -11: "the certificate check failed: the CA, the server's name or its validity dates (the module's clock)",
}


def check(d, tls):
    """What the L610 cannot do with tls, before anything reaches it."""
    if tls.client_cert is not None:
        raise NotImplementedError("mutual TLS on the L610: no public source documents how its client "
                                  "certificate and key are given (docs/l610-tls.md)")
    if tls.ciphers is not None or tls.ignore_time:
        raise NotImplementedError("the L610 has no known setting for %s (docs/l610-tls.md)"
                                  % ("ciphers" if tls.ciphers is not None else "ignore_time: set the module's clock"))
    if tls.version not in (None, "all", "1.2"):
        raise ValueError("the L610 does TLS 1.2 (AT+GTSSLVER=4), not %r" % tls.version)
    if tls.verify and not isinstance(tls.ca, bytes):
        raise ValueError("the L610 keeps no certificate files: give ca= the CA's PEM, which atmodem "
                         "uploads once after each boot of the module")


def setup(d, tls):
    """A flow before a TLS open: the module's settings as tls wants them, and its CA in the
    module's trust list unless it went there since the module's boot."""
    st = d.tls_now  # [mode, version, uploaded PEMs], as the module has them since its boot
    if st[1] != 4:
        yield Command(b"AT+GTSSLVER=4")
        st[1] = 4
    mode = 1 if tls.verify else 0
    if st[0] != mode:
        yield Command(b"AT+GTSSLMODE=%d" % mode)
        st[0] = mode
    if tls.verify and tls.ca not in st[2]:
        cmd = b'AT+GTSSLFILE="TRUSTFILE",%d' % len(tls.ca)
        yield Command(cmd, prompt=b">", payload=tls.ca, timeout_ms=10000)
        st[2].append(tls.ca)


def failure(d):
    """A flow after a TLS open failed: what the module says of it, for the error."""
    c = yield Command(b"AT+GTSSLERR?", prefix=b"+GTSSLERR:", check=False)
    f = lead_ints(c.first(b"+GTSSLERR") or b"") if c.ok() else []
    if not f or not f[0]:
        return ""
    return " (TLS error %d: %s)" % (f[0], _MEANINGS.get(f[0], "the handshake failed"))
