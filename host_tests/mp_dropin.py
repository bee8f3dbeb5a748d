"""modem.sockets() as a library's `socket` module, under the micropython binary or CPython:
micropython host_tests/mp_dropin.py <tty> <dialect> <case> <port>
(CPython: PYTHONPATH=lib:host_tests python host_tests/mp_dropin.py ...)"""
import struct
import sys

import atmodem

NAMES = ("socket", "getaddrinfo", "AF_INET", "SOCK_STREAM", "SOCK_DGRAM", "IPPROTO_TCP",
         "IPPROTO_UDP", "IPPROTO_IP", "SOL_SOCKET", "SO_REUSEADDR", "TCP_NODELAY", "error",
         "create_connection", "timeout", "gaierror", "inet_aton", "inet_ntoa", "inet_pton",
         "inet_ntop", "setdefaulttimeout", "getdefaulttimeout")


def names(sm, port):
    missing = [n for n in NAMES if not hasattr(sm, n)]
    assert not missing, missing
    assert issubclass(sm.timeout, OSError) and issubclass(sm.gaierror, OSError)
    assert sm.error is OSError and sm.__name__ == "socket"
    assert (sm.IPPROTO_IP, sm.IPPROTO_TCP, sm.IPPROTO_UDP) == (0, 6, 17)
    assert sm.inet_aton("192.168.1.20") == b"\xc0\xa8\x01\x14"
    assert sm.inet_ntoa(b"\x7f\x00\x00\x01") == "127.0.0.1"
    assert sm.inet_pton(sm.AF_INET, "10.0.0.255") == b"\x0a\x00\x00\xff"
    assert sm.inet_ntop(sm.AF_INET, b"\x0a\x00\x00\xff") == "10.0.0.255"
    for bad in ("1.2.3", "1.2.3.256", "a.b.c.d", ""):
        try:
            sm.inet_aton(bad)
        except OSError:
            pass
        else:
            raise AssertionError("inet_aton(%r) took it" % bad)
    try:
        sm.inet_pton(10, "::1")
    except OSError:
        pass
    else:
        raise AssertionError("inet_pton took IPv6")
    assert sm.getdefaulttimeout() is None
    sm.setdefaulttimeout(2.5)
    assert sm.getdefaulttimeout() == 2.5
    s = sm.socket(sm.AF_INET, sm.SOCK_DGRAM)
    assert s.gettimeout() == 2.5
    s.close()
    try:
        sm.getaddrinfo("no-such-host.invalid", 80)
    except sm.gaierror:
        pass
    else:
        raise AssertionError("an unknown name resolved")
    return "names"


def create_connection(sm, port):
    s = sm.create_connection(("127.0.0.1", port), 10)
    assert s.gettimeout() == 10
    s.sendall(b"hello drop-in")
    got = b""
    while len(got) < 13:
        got += s.recv(13 - len(got))
    s.close()
    assert got == b"hello drop-in", got
    return "echoed"


def recv_timeout(sm, port):
    s = sm.create_connection(("127.0.0.1", port), 0.3)
    try:
        s.recv(10)  # the echo server says nothing until it is sent something
    except sm.timeout as err:
        assert isinstance(err, OSError)
        if sys.implementation.name != "micropython":
            import socket

            assert isinstance(err, socket.timeout) and isinstance(err, TimeoutError)
    else:
        raise AssertionError("recv returned")
    s.close()
    return "timed out"


def ntp(sm, port):
    """The calls micropython-lib's ntptime makes, in its order (its port is 123)."""
    host = "127.0.0.1"
    query = bytearray(48)
    query[0] = 0x1B
    addr = sm.getaddrinfo(host, port)[0][-1]
    s = sm.socket(sm.AF_INET, sm.SOCK_DGRAM)
    try:
        s.settimeout(5)
        s.sendto(query, addr)
        msg = s.recv(48)
    finally:
        s.close()
    return struct.unpack("!I", msg[40:44])[0] - 2208988800


def one_library(sm, port):
    before = sys.modules.get("socket")
    lib = sm.load("dropin_client")
    assert sys.modules.get("socket") is before, "load() left sys.modules['socket'] changed"
    assert sys.modules.get("usocket") is None
    assert lib.socket is sm
    assert lib.echo("127.0.0.1", port, b"one library") == b"one library"
    try:
        sm.load("dropin_client")
    except ValueError:
        pass
    else:
        raise AssertionError("load() imported a module twice")
    import socket  # the program's own, untouched

    assert socket is not sm
    lib.socket = socket  # a library imported with the program's socket: install_into() it
    assert sm.install_into(lib) is lib and lib.socket is sm
    assert sys.modules.get("socket") is not sm
    return "one library"


CASES = {"names": names, "create_connection": create_connection, "recv_timeout": recv_timeout,
         "ntp": ntp, "one_library": one_library}

path, dialect, case, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
m.attach(apn="cmnet")
try:
    result = CASES[case](m.sockets(), port)
finally:
    m.close()
print("PASS", result)
