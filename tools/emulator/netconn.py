"""The module's view of the host network: real TCP, UDP and TLS sockets.

Each connection has a blocking reader thread and a sender thread fed by a bounded send
buffer, so a slow peer fills the module's send buffer exactly as it would on a real link
(that is what drives flow control). TLS runs over memory BIOs so that the reader and the
sender never touch one SSL object at the same time.
"""
from __future__ import annotations

import os
import socket
import ssl
import struct
import threading
from typing import Callable, Optional

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME: Python has no name for it, OpenSSL honours the bit.
_NO_CHECK_TIME = 0x200000

# `sslversion` 0-4 of AT+SSLCFG.
_TLS_VERSIONS = {
    1: ssl.TLSVersion.TLSv1,
    2: ssl.TLSVersion.TLSv1_1,
    3: ssl.TLSVersion.TLSv1_2,
}
# `ciphersuite` ids of the NM28 manual, as OpenSSL names.
_CIPHERS = {
    0x0035: "AES256-SHA",
    0x002F: "AES128-SHA",
    0x0005: "RC4-SHA",
    0x0004: "RC4-MD5",
    0x000A: "DES-CBC3-SHA",
    0x003D: "AES256-SHA256",
}


class OpenFailed(Exception):
    """An open that did not succeed; `code` is what the module reports."""

    def __init__(self, code: int, why: str):
        super().__init__(why)
        self.code = code


# Failure codes in +IPOPEN/+SSLOPEN: our decision, the manual only names 0 = success.
ERR_CONNECT = 1
ERR_DNS = 2
ERR_TIMEOUT = 3
ERR_TLS = 4
ERR_CERT = 5
ERR_BIND = 6


class TlsSettings:
    """AT+SSLCFG values for one context id, with the module's defaults."""

    def __init__(self) -> None:
        self.sslversion = 4
        self.ciphersuite = 0xFFFF
        self.seclevel = 0
        self.cacert = ""
        self.clientcert = ""
        self.clientkey = ""
        self.ignorelocaltime = 0
        self.negotiatetime = 300

    def context(self, cert_dir: Optional[str]) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.sslversion == 0:
            raise OpenFailed(ERR_TLS, "SSL 3.0 is not available on this host")
        if self.sslversion in _TLS_VERSIONS:
            v = _TLS_VERSIONS[self.sslversion]
            ctx.minimum_version = v
            ctx.maximum_version = v
            if v != ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if self.ciphersuite != 0xFFFF:
            name = _CIPHERS.get(self.ciphersuite)
            if name is None:
                raise OpenFailed(ERR_TLS, "unknown cipher suite %#x" % self.ciphersuite)
            try:
                ctx.set_ciphers(name + ":@SECLEVEL=0")
            except ssl.SSLError:
                raise OpenFailed(ERR_TLS, "cipher %s not available on this host" % name)
        if self.seclevel == 0:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            self.load_trust(ctx, cert_dir)
            if self.ignorelocaltime:
                ctx.verify_flags |= _NO_CHECK_TIME
        if self.seclevel == 2:
            self.load_identity(ctx, cert_dir)
        return ctx

    # Where the certificates come from: files in cert_dir by name here; a module with its
    # own file store (Quectel's UFS) overrides these two.
    def load_trust(self, ctx: ssl.SSLContext, cert_dir: Optional[str]) -> None:
        ctx.load_verify_locations(cafile=_cert_file(cert_dir, self.cacert))

    def load_identity(self, ctx: ssl.SSLContext, cert_dir: Optional[str]) -> None:
        ctx.load_cert_chain(_cert_file(cert_dir, self.clientcert), _cert_file(cert_dir, self.clientkey))


def _cert_file(cert_dir: Optional[str], name: str) -> str:
    if not name:
        raise OpenFailed(ERR_CERT, "no certificate file configured")
    if cert_dir is None:
        raise OpenFailed(ERR_CERT, "no --cert-dir: cannot load %r" % name)
    path = os.path.join(cert_dir, os.path.basename(name))
    if not os.path.isfile(path):
        raise OpenFailed(ERR_CERT, "certificate file %r not found" % name)
    return path


class Conn:
    """A connected plain TCP or UDP socket."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._send_lock = threading.Lock()

    def recv(self, n: int) -> bytes:
        return self.sock.recv(n)

    def recvfrom(self, n: int):
        return self.sock.recvfrom(n)

    def send_all(self, data: bytes, addr=None) -> None:
        with self._send_lock:
            if addr is None:
                self.sock.sendall(data)
            else:
                self.sock.sendto(data, addr)

    def abort(self) -> None:
        """Close as if the network broke: RST, no FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Wake a reader blocked in recv (it holds the socket open) without sending a FIN.
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        self.sock.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class TlsConn(Conn):
    """TLS over a plain socket through memory BIOs."""

    def __init__(
        self, sock: socket.socket, ctx: ssl.SSLContext, host: str, timeout: float, sni: bool = False
    ):
        super().__init__(sock)
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._lock = threading.Lock()
        # The name is sent (SNI) and checked when the context checks names; sni=True sends
        # it without a check too.
        hostname = host if (sni or ctx.check_hostname) else None
        self._obj = ctx.wrap_bio(self._in, self._out, server_hostname=hostname)
        sock.settimeout(timeout)
        try:
            while True:
                try:
                    self._obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush()
                    raw = sock.recv(65536)
                    if not raw:
                        raise OpenFailed(ERR_TLS, "peer closed during the TLS handshake")
                    self._in.write(raw)
            self._flush()
        except ssl.SSLCertVerificationError as e:
            raise OpenFailed(ERR_CERT, "certificate verification failed: %s" % e.verify_message)
        except ssl.SSLError as e:
            raise OpenFailed(ERR_TLS, "TLS handshake failed: %s" % e)
        except socket.timeout:
            raise OpenFailed(ERR_TIMEOUT, "TLS negotiation timed out")
        except OSError as e:  # a reset mid-handshake: the open fails, it does not hang
            raise OpenFailed(ERR_TLS, "connection lost during the TLS handshake: %s" % e)
        sock.settimeout(None)

    def _flush(self) -> None:
        data = self._out.read()
        if data:
            with self._send_lock:
                self.sock.sendall(data)

    def recv(self, n: int) -> bytes:
        while True:
            with self._lock:
                try:
                    data = self._obj.read(n)
                except ssl.SSLWantReadError:
                    data = None
                except ssl.SSLZeroReturnError:
                    return b""
                except ssl.SSLError:
                    raise ConnectionResetError("TLS error")
                pending = self._out.read()
            if pending:
                with self._send_lock:
                    self.sock.sendall(pending)
            if data is not None:
                return data
            raw = self.sock.recv(65536)
            if not raw:
                return b""
            with self._lock:
                self._in.write(raw)

    def send_all(self, data: bytes, addr=None) -> None:
        with self._lock:
            self._obj.write(data)
            out = self._out.read()
        with self._send_lock:
            self.sock.sendall(out)


def resolve(host: str) -> str:
    """The module resolves names with the host's resolver (IPv4)."""
    try:
        return str(socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
    except (socket.gaierror, UnicodeError):
        raise OpenFailed(ERR_DNS, "cannot resolve %r" % host)


def resolve_all(host: str) -> list:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    out = []
    for info in infos:
        if info[4][0] not in out:
            out.append(info[4][0])
    return out


def connect_tcp(host: str, port: int, timeout: float, lport: int = 0) -> Conn:
    ip = resolve(host)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if lport:
        try:
            s.bind(("0.0.0.0", lport))
        except OSError as e:
            s.close()
            raise OpenFailed(ERR_BIND, "cannot bind local port %d: %s" % (lport, e))
    s.settimeout(timeout)
    try:
        s.connect((ip, port))
    except socket.timeout:
        s.close()
        raise OpenFailed(ERR_TIMEOUT, "connect to %s:%d timed out" % (ip, port))
    except OSError as e:
        s.close()
        raise OpenFailed(ERR_CONNECT, "connect to %s:%d failed: %s" % (ip, port, e))
    s.settimeout(None)
    return Conn(s)


def connect_tls(host: str, port: int, settings: TlsSettings, cert_dir, lport: int = 0) -> Conn:
    ctx = settings.context(cert_dir)
    return connect_tls_with(host, port, ctx, settings.negotiatetime, lport)


def connect_tls_with(
    host: str, port: int, ctx: ssl.SSLContext, timeout: float, lport: int = 0, sni: bool = False
) -> Conn:
    """A TCP connection to host:port, then a TLS handshake with ctx (both within timeout
    each); the plain socket is closed if the handshake fails. sni: see TlsConn."""
    plain = connect_tcp(host, port, timeout, lport)
    try:
        return TlsConn(plain.sock, ctx, host, timeout, sni)
    except BaseException:
        plain.close()
        raise


def trust_context(verify: bool, cadata=(), tls12_min: bool = False) -> ssl.SSLContext:
    """A client context from CA certificates held in memory (a module's uploaded files),
    not from files: verify=False is CERT_NONE without a name check, verify=True checks
    the chain against cadata (PEM text or DER bytes, each loaded by
    load_verify_locations) and the server's name. An entry OpenSSL cannot read raises
    ssl.SSLError."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls12_min:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    for entry in cadata:
        ctx.load_verify_locations(cadata=entry)
    return ctx


def open_udp(host: Optional[str], port: int, lport: int, listen_host: str) -> Conn:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((listen_host if host is None else "0.0.0.0", lport))
        if host is not None:
            s.connect((resolve(host), port))
    except OSError as e:
        s.close()
        raise OpenFailed(ERR_BIND, "UDP socket: %s" % e)
    return Conn(s)


def listen_tcp(lport: int, listen_host: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((listen_host, lport))
        s.listen(8)
    except OSError as e:
        s.close()
        raise OpenFailed(ERR_BIND, "cannot listen on port %d: %s" % (lport, e))
    return s


def spawn(fn: Callable, *args) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t
