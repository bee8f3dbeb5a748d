"""A Quectel's TLS (AT+QSSL*, docs/quectel.md, TLS). An SSL context (0-5) holds a set of
settings, written when a socket needs them and kept until the module's next boot; the
certificates are files in the module's flash, named by a digest of their PEM, so that one
already stored is never uploaded again (flash wear). Loaded when a TLS socket opens."""
import binascii
import hashlib

from ..command import Command
from ..errors import EIO, EMFILE, ATError, ModemError, text

_VERSIONS = {None: 4, "all": 4, "ssl3": 0, "1.0": 1, "1.1": 2, "1.2": 3}
_CONTEXTS = 6
_UPLOAD_MS = 30000


def check(d, tls, mode):
    """What a Quectel cannot do with tls, before anything reaches it."""
    if mode != "buffer":
        raise ValueError("a Quectel does TLS in buffer mode: no source shows how it would hold a "
                         "pushed TLS socket's data back (docs/quectel.md, TLS), so %r could lose data" % mode)


def file_name(pem):
    """The module's file for pem: named by its digest, so a stored one is the same bytes."""
    return b"atm%s.pem" % binascii.hexlify(hashlib.sha256(pem).digest()[:6])


def stored(d, pem):
    """A flow: the name of pem's file on the module, uploaded (AT+QFUPL) unless it is there."""
    name = file_name(pem)
    if name in d.tls_files:
        return name
    c = yield Command(b'AT+QFLST="%s"' % name, prefix=b"+QFLST:", check=False)
    size = -1
    for line in c.lines if c.ok() else ():
        f = line.split(b",")
        try:
            size = int(f[-1])
        except ValueError:
            pass
    if size != len(pem):
        if size >= 0:  # a broken upload left part of it
            yield Command(b'AT+QFDEL="%s"' % name, check=False)
        cmd = b'AT+QFUPL="%s",%d,60' % (name, len(pem))
        c = yield Command(cmd, prefix=b"+QFUPL:", prompt=b"CONNECT", payload=pem, timeout_ms=_UPLOAD_MS)
        f = (c.first(b"+QFUPL") or b"").split(b",")
        if f[0].strip() != b"%d" % len(pem):
            raise ATError(text(cmd), "the module stored %s of %d bytes" % (text(f[0]) or "none", len(pem)), EIO)
    d.tls_files.add(name)
    return name


def settings(d, tls):
    """A flow: the (name, value) settings for tls, its certificates stored on the module."""
    files = []
    for v in (tls.ca, tls.client_cert, tls.client_key):
        if isinstance(v, bytes):
            v = yield from stored(d, v)
        elif v is not None:
            v = v.encode()
        files.append(v)
    level = 0 if not tls.verify else 2 if tls.client_cert else 1
    out = [
        (b"sslversion", b"%d" % _VERSIONS[tls.version]),
        (b"ciphersuite", b"0X%04X" % (0xFFFF if tls.ciphers is None else tls.ciphers)),
        (b"seclevel", b"%d" % level),
        # firmware that ignores the dates by default exists [docs/quectel.md]: always say it
        (b"ignorelocaltime", b"%d" % (1 if tls.ignore_time else 0)),
        (b"negotiatetime", b"%d" % tls.negotiate_timeout),
        (b"sni", b"1"),  # without it, hosts that share an address fail their check
    ]
    for name, v in zip((b"cacert", b"clientcert", b"clientkey"), files):
        if v is not None:
            out.append((name, b'"%s"' % v))
    return out


def setup(d, link):
    """A flow before a TLS open: the SSL context for link's settings (written unless the
    module has them since its boot); returns its number."""
    want = yield from settings(d, link.tls)
    have = d.tls_ctx
    used = set(k.ctx.ssl for k in d.links.values() if k is not link and k.ctx is not None and k.ctx.ssl >= 0)
    pick = -1
    for i in range(_CONTEXTS):
        if have[i] == want:
            return i
        if pick < 0 and i not in used:
            pick = i
    if pick < 0:
        raise ModemError(EMFILE, "the %s's %d SSL contexts are in use by sockets with other TLS settings"
                         % (d.NAME, _CONTEXTS))
    have[pick] = None  # until every setting is in
    for name, value in want:
        yield Command(b'AT+QSSLCFG="%s",%d,%s' % (name, pick, value), check=name != b"sni")
    have[pick] = want
    return pick
