"""The NM28's TLS: AT+SSLCFG for the socket's context [docs/nm28.md, SSL]. Loaded when a TLS
socket opens, let go after."""

_VERSIONS = {None: 4, "all": 4, "ssl3": 0, "1.0": 1, "1.1": 2, "1.2": 3}


def check(tls):
    """What the NM28 cannot do with tls, before anything reaches it."""
    if tls.uploads():
        raise NotImplementedError(
            "the NM28 documents no command that stores a certificate on it (docs/l610-tls.md, "
            "NM28): store it with Yuge's tools and pass its file name, e.g. ca='ca.crt'")


def settings(tls):
    """(name, quoted value) pairs for AT+SSLCFG="<name>",<ctx>,<value>."""
    level = 0 if not tls.verify else (2 if tls.client_cert else 1)
    out = [
        (b"sslversion", b'"%d"' % _VERSIONS[tls.version]),
        (b"ciphersuite", b'"0X%04X"' % (0xFFFF if tls.ciphers is None else tls.ciphers)),
        (b"seclevel", b'"%d"' % level),
        (b"ignorelocaltime", b'"%d"' % (1 if tls.ignore_time else 0)),
        (b"negotiatetime", b'"%d"' % tls.negotiate_timeout),
    ]
    for name, value in ((b"cacert", tls.ca), (b"clientcert", tls.client_cert), (b"clientkey", tls.client_key)):
        if value:
            out.append((name, b'"%s"' % value.encode()))
    return out
