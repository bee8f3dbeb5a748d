"""Real MicroPython clients over atmodem, run by the micropython binary:
micropython host_tests/mp_clients.py <tty> <dialect> <case> <port> [size]
The socket module they import is the modem's (sys.modules["socket"] = modem.sockets())."""
import hashlib
import os
import sys

import atmodem

path, dialect, case, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
size = int(sys.argv[5]) if len(sys.argv) > 5 else 1 << 20
m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
m.attach(apn="cmnet")
sys.modules["socket"] = m.sockets()

import requests  # noqa: E402  (MicroPython's own, frozen in the binary)


def hexdigest(h):
    import binascii

    return binascii.hexlify(h.digest()).decode()


def get(kind, scheme="http"):
    r = requests.get("%s://localhost:%d/%s/%d" % (scheme, port, kind, size))
    assert r.status_code == 200, r.status_code
    want = r.headers.get("X-SHA256") or r.headers.get("x-sha256")
    h = hashlib.sha256()
    got = 0
    while True:
        d = r.raw.read(4096)
        if not d:
            break
        h.update(d)
        got += len(d)
    r.close()
    assert got == size, (got, size)
    assert hexdigest(h) == want, "body differs"


def post(chunked, scheme="http"):
    body = os.urandom(size)
    want = "%d %s" % (size, hexdigest(hashlib.sha256(body)))
    url = "%s://localhost:%d/sha256" % (scheme, port)
    if chunked:
        def pieces():
            for i in range(0, size, 8192):
                yield body[i : i + 8192]

        r = requests.post(url, data=pieces())
    else:
        r = requests.post(url, data=body)
    assert r.status_code == 200, r.status_code
    assert r.text == want, (r.text, want)
    r.close()


CASES = {
    "get_length": lambda: get("bytes"),
    "get_chunked": lambda: get("chunked"),
    "post_length": lambda: post(False),
    "post_chunked": lambda: post(True),
    "https_get": lambda: get("bytes", "https"),
    "https_post": lambda: post(False, "https"),
}
CASES[case]()
m.close()
print("PASS")
