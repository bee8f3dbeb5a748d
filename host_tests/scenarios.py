"""Driver scenarios run unchanged by CPython (pytest, pyserial) and by the micropython
binary (host_tests/mp_run.py on the emulator's pseudo-terminal). MicroPython subset only.

Each takes a started, attached Modem and the loopback ports the harness made, and raises
AssertionError (or the driver's error) when the user-visible behaviour is wrong."""
import os

import atmodem


def _check(got_mv, n, pending):
    """Compare n received bytes with the oldest sent-and-not-yet-echoed pieces."""
    off = 0
    while off < n:
        head = pending[0]
        k = min(len(head), n - off)
        # in small pieces: the harness must not be what exhausts a board's fragmented heap
        for j in range(0, k, 256):
            w = min(256, k - j)
            if bytes(got_mv[off + j : off + j + w]) != bytes(head[j : j + w]):
                raise AssertionError("echoed bytes differ from what was sent")
        off += k
        if k == len(head):
            pending.pop(0)
        else:
            pending[0] = memoryview(head)[k:]


def make_tls(ca="", verify=1, ignore_time=0, client=0, ca_pem=""):
    """An atmodem.TLS from the harness's plain arguments (the runner passes strings/ints);
    ca_pem: the path of a PEM file whose bytes are given (a module that takes uploads), and
    then client= gives the client certificate and key beside it as PEM too."""
    if ca_pem:
        with open(ca_pem, "rb") as f:
            ca = f.read()
    if not ca and verify:
        return None
    extra = {"client_cert": "client.crt", "client_key": "client.key"} if client else {}
    if client and ca_pem:
        d = ca_pem[: ca_pem.rfind("/") + 1]
        for k in ("client_cert", "client_key"):
            with open(d + extra[k], "rb") as f:
                extra[k] = f.read()
    return atmodem.TLS(ca=ca or None, verify=bool(verify), ignore_time=bool(ignore_time), **extra)


def echo_stream(m, port, mode="push", size=1 << 20, chunk=4096, window=8192, host="127.0.0.1", rxbuf=16384, **tls):
    """size random bytes through a TCP echo server; every byte back, in order."""
    s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=rxbuf, tls=make_tls(**tls))
    s.settimeout(30)
    s.connect((host, port))
    pending = []
    buf = bytearray(4096)
    mv = memoryview(buf)
    sent = got = 0
    while got < size:
        if sent < size and sent - got < window:
            piece = os.urandom(min(chunk, size - sent))
            s.sendall(piece)
            pending.append(piece)
            sent += len(piece)
            continue
        n = s.recv_into(buf)
        if not n:
            raise AssertionError("end of stream after %d of %d bytes" % (got, size))
        _check(mv, n, pending)
        got += n
    s.close()
    return got


def echo_udp(m, port, mode="push", size=1 << 20, dgram=1024):
    s = m.socket(atmodem.SOCK_DGRAM, mode=mode)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    got = 0
    while got < size:
        d = os.urandom(min(dgram, size - got))
        s.send(d)
        r, addr = s.recvfrom(4096)
        if r != d:
            raise AssertionError("datagram %d came back different" % (got // dgram))
        if addr[1] != port:
            raise AssertionError("datagram from %r" % (addr,))
        got += len(r)
    s.close()
    return got


def many_sockets(m, port, mode="push", rounds=8, chunk=1500, ring=8192):
    """Every id the module has, open at once, interleaved; each stream intact."""
    socks = []
    for _ in m.dialect.IDS:
        s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=ring)
        s.settimeout(20)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    try:
        m.socket(atmodem.SOCK_STREAM).connect(("127.0.0.1", port))
        raise AssertionError("a socket beyond the module's ids was opened")
    except OSError as e:
        if "in use" not in str(e):
            raise
    expect = [[] for _ in socks]
    for _ in range(rounds):
        for i, s in enumerate(socks):
            d = os.urandom(chunk)
            s.sendall(d)
            expect[i].append(d)
        for i, s in enumerate(socks):
            want = expect[i].pop(0)
            got = s.read(len(want))
            if got != want:
                raise AssertionError("socket %d: stream differs" % s.id)
    for s in socks:
        s.close()
    return len(socks)


def read_to_end(s):
    """Everything until recv gives b'' (the peer closed)."""
    got = b""
    while True:
        d = s.recv(100)
        if not d:
            return got
        got += d


def peer_close(m, port, mode="push"):
    """The server sends b'bye' and closes: the data first, then b'' for ever."""
    s = m.socket(mode=mode)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    got = read_to_end(s)
    assert got == b"bye", got
    assert s.recv(10) == b""
    s.close()


def refused(m, port):
    s = m.socket()
    s.settimeout(10)
    try:
        s.connect(("127.0.0.1", port))
    except OSError as e:
        # the error quotes the module's answer to the open (its words are the dialect's)
        assert e.errno == 111 and "OPEN" in str(e), str(e)
        return str(e)
    raise AssertionError("connect to a closed port succeeded")


def timeouts(m, port):
    """A peer that never answers: recv times out with ETIMEDOUT, non-blocking gives EAGAIN."""
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.settimeout(0.3)
    try:
        s.recv(10)
        raise AssertionError("recv returned")
    except OSError as e:
        assert e.errno == 110, e
    s.setblocking(False)
    try:
        s.recv(10)
        raise AssertionError("recv returned")
    except OSError as e:
        assert e.errno == 11, e
    assert s.read(5) is None
    s.close()


def bad_input(m, port):
    """AT injection and out-of-range values are refused before anything is written."""
    for host in ('evil"host', "a\rAT+CFUN=0", "x\ny", "\x01"):
        try:
            m.socket().connect((host, port))
            raise AssertionError("host %r accepted" % host)
        except ValueError as e:
            assert "inject" in str(e), e
    for p in (0, 70000, -1, "80"):
        try:
            m.socket().connect(("127.0.0.1", p))
            raise AssertionError("port %r accepted" % (p,))
        except ValueError:
            pass
    try:
        m.socket(mode="turbo")
        raise AssertionError("mode accepted")
    except ValueError:
        pass


def resolve(m, port):
    infos = m.getaddrinfo("localhost", port)
    assert infos[0][4] == ("127.0.0.1", port), infos
    assert m.getaddrinfo("10.1.2.3", 5)[0][4] == ("10.1.2.3", 5)
    s = m.socket()
    s.settimeout(10)
    s.connect(infos[0][4])
    s.sendall(b"line one\nline two\n")
    assert s.readline() == b"line one\n"
    assert s.readline() == b"line two\n"
    s.close()


TRICKY = (
    bytes(range(256))
    + b"+++" + b"\r\nOK\r\n" + b"+" + b"++" + b"\r\n" + b"NO CARRIER" + b"\r\nNO CARRIER\r\n"
    + b"x" + b'\r\n+IPURC: "closed",0\r\n' + b"\r\n+MIPSTAT: 1,1\r\n" + b"\r\nERROR\r\n"
    + b"CONNECT\r\n" + b"\r\nNO CARRIER\r\n\r\n+MIPSTAT: 2,1\r\n"
)
# Not in it: NO CARRIER immediately followed by this socket's own closed URC. That exact
# sequence is how the module ends data mode (SPEC.md), so in a payload it ends it too.


def transparent_tricky(m, port, rounds=40):
    """Every byte value and the words that mean something on an AT line, through data mode."""
    s = m.socket(mode="transparent", rxbuf=16384)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    tricky = TRICKY
    term = m.dialect.terminator(s.link)  # how the module ends data mode: that ends it in data too
    while term in tricky:
        tricky = tricky.replace(term, b"\r\n")
    for _ in range(rounds):
        s.sendall(tricky)
        got = s.read(len(tricky))
        if got != tricky:
            raise AssertionError("data mode changed the bytes")
    s.close()


def transparent_cycle(m, port, talk_port):
    """Enter, leave (+++), use commands, resume with what arrived meanwhile, close; the
    UART is the data socket's while in data mode."""
    s = m.socket(mode="transparent")
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    s.sendall(b"first")
    assert s.read(5) == b"first"
    other = m.socket()
    try:
        other.connect(("127.0.0.1", port))
        raise AssertionError("a second socket got the UART")
    except OSError as e:
        assert "transparent" in str(e), e
    s.suspend()
    assert m.command(b"AT+CSQ", prefix=b"+CSQ:").ok()
    # talk_port tells the peer to send while we are in command mode
    t = m.socket()
    t.settimeout(20)
    t.connect(("127.0.0.1", talk_port))
    t.sendall(b"x")
    assert t.read(2) == b"ok"
    t.close()
    assert s.read(len(b"while suspended")) == b"while suspended"  # resumes by itself
    s.sendall(b"again")
    assert s.read(5) == b"again"
    s.close()
    assert m.mode.link is None
    m.command(b"AT")


def transparent_peer_close(m, port, echo_port):
    s = m.socket(mode="transparent")
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    got = read_to_end(s)
    assert got == b"bye" * 100, got
    assert m.mode.link is None
    s.close()
    # the modem is usable again (a small ring: a board's heap after a session is fragmented)
    assert echo_stream(m, echo_port, "push", size=4096, rxbuf=4096) == 4096


def tls_refused(m, port, host="localhost", **tls):
    """The handshake must fail with an error that names the open and the module's answer."""
    s = m.socket(tls=make_tls(**tls))
    s.settimeout(30)
    try:
        s.connect((host, port))
    except OSError as e:
        assert ("+SSLOPEN" in str(e) or "+QSSLOPEN" in str(e) or "TLS error -11" in str(e)) and "TLS" in str(e), str(e)
        return str(e)
    raise AssertionError("TLS connection accepted")


def tcp_listener(m, port, in_turn=3, at_once=2, mode="push"):
    """Serve clients one after another, then several at once: each line comes back upper."""
    srv = m.socket(mode=mode)
    srv.settimeout(30)
    srv.bind(("0.0.0.0", port))
    srv.listen()
    for _ in range(in_turn):
        conn, addr = srv.accept()
        assert addr[0] == "127.0.0.1", addr
        conn.settimeout(20)
        conn.sendall(conn.readline().upper())
        conn.close()
    conns = [srv.accept()[0] for _ in range(at_once)]
    lines = []
    for c in conns:
        c.settimeout(20)
        lines.append(c.readline())
    for c, line in zip(conns, lines):
        c.sendall(line.upper())
    for c in conns:
        c.close()
    srv.close()
    return in_turn + at_once


def udp_service(m, port, count=3, mode="buffer"):
    s = m.socket(atmodem.SOCK_DGRAM, mode=mode)
    s.settimeout(30)
    s.bind(("0.0.0.0", port))
    for _ in range(count):
        d, addr = s.recvfrom(1500)
        s.sendto(d.upper(), addr)
    s.close()


def aio_three(m, port, rounds=20, size=1000):
    """Three connections echoing at once under asyncio, one task servicing the UART."""
    import asyncio

    from atmodem import aio

    async def one(i):
        r, w = await aio.open_connection(m, "127.0.0.1", port)
        for _ in range(rounds):
            d = os.urandom(size)
            w.write(d)
            await w.drain()
            if await r.readexactly(len(d)) != d:
                raise AssertionError("connection %d: echo differs" % i)
            await asyncio.sleep(0)
        w.close()
        return i

    async def main():
        svc = aio.start(m)
        try:
            return await asyncio.gather(one(0), one(1), one(2))
        finally:
            svc.stop()

    return asyncio.run(main())


def aio_native_streams(m, port):
    """MicroPython: the socket itself is a stream asyncio.StreamReader/StreamWriter accept."""
    import asyncio

    from atmodem import aio

    async def one(i):
        s = m.socket()
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        r, w = asyncio.StreamReader(s), asyncio.StreamWriter(s, {})
        for k in range(10):
            line = b"conn %d line %d\n" % (i, k)
            w.write(line)
            await w.drain()
            got = await r.readline()
            if got != line:
                raise AssertionError("%r != %r" % (got, line))
        s.close()

    async def main():
        svc = aio.start(m)
        try:
            await asyncio.gather(one(0), one(1), one(2))
        finally:
            svc.stop()

    asyncio.run(main())


def _digest(h):
    import binascii

    return binascii.hexlify(h.digest()).decode()


def speaks_first(m, port, mode="buffer", rxbuf=4096):
    """The server sends the moment it accepts, before any mode switch could take effect
    (the NM28 opens in direct mode): every byte, in order, then the end."""
    import hashlib

    s = m.socket(mode=mode, rxbuf=rxbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    h = hashlib.sha256()
    buf = bytearray(2048)
    mv = memoryview(buf)
    got = 0
    while True:
        n = s.recv_into(buf)
        if not n:
            break
        h.update(mv[:n])
        got += n
    s.close()
    return "%d %s" % (got, _digest(h))


def write_ahead(m, port, mode="buffer", size=256 * 1024, chunk=4096):
    """Everything written before anything is read back from an echo server."""
    import hashlib

    s = m.socket(mode=mode)
    s.settimeout(60)
    s.connect(("127.0.0.1", port))
    sums = []  # a digest per chunk: a board has no room for all of it, let alone twice
    for i in range(0, size, chunk):
        piece = os.urandom(min(chunk, size - i))
        sums.append(hashlib.sha256(piece).digest())
        s.sendall(piece)
    buf = bytearray(chunk)
    for k, i in enumerate(range(0, size, chunk)):
        n = s.readinto(buf, min(chunk, size - i))
        if not n or hashlib.sha256(memoryview(buf)[:n]).digest() != sums[k]:
            raise AssertionError("the echo differs in bytes %d-%d of %d" % (i, i + chunk, size))
    s.close()
    return size


def pause_while_arriving(m, port, seconds=10, mode="buffer"):
    """The program does not call atmodem for a while as the server sends: nothing lost."""
    import hashlib
    import time

    s = m.socket(mode=mode)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    time.sleep(seconds)  # the program is busy elsewhere: nobody reads the UART
    h = hashlib.sha256()
    got = 0
    while True:
        d = s.recv(4096)
        if not d:
            break
        h.update(d)
        got += len(d)
    s.close()
    return "%d %s" % (got, _digest(h))


def datagrams(m, port, mode="buffer", flood_port=0):
    """One send is one datagram or EMSGSIZE; the largest the module takes comes back whole;
    sendall on a datagram socket is one datagram."""
    s = m.socket(atmodem.SOCK_DGRAM, mode=mode)
    big = m.dialect.max_datagram(s)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    try:
        s.send(bytes(big + 1))
        raise AssertionError("an oversize datagram was sent")
    except OSError as e:
        assert e.errno == 90 and "at most %d" % big in str(e), e
    for size in (1, 1000, big):
        d = os.urandom(size)
        assert s.send(d) == size
        r, addr = s.recvfrom(4096)
        assert r == d, "a %d-byte datagram came back as %d bytes" % (size, len(r))
    d = os.urandom(big)
    assert s.sendall(d) is None
    assert s.recv(4096) == d
    s.close()
    return big


def datagram_drops(m, port, count=20, size=1000):
    """A push-mode UDP socket with room for two datagrams, not read while many arrive:
    those that do not fit are dropped and counted; the rest are whole and in order."""
    s = m.socket(atmodem.SOCK_DGRAM, mode="push", rxbuf=2048)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.send(b"%d %d" % (count, size))  # the flood server answers with count datagrams
    got = []
    m.idle(1500)  # the program is busy: datagrams arrive meanwhile
    while True:
        try:
            d = s.recv(4096)
        except OSError as e:
            if e.errno != 110:
                raise
            break
        got.append(d)
        s.settimeout(0.5)
    dropped = s.dropped_datagrams
    s.close()
    assert dropped > 0 and len(got) + dropped <= count, (len(got), dropped)
    seqs = [int(d[:8]) for d in got]
    assert seqs == sorted(seqs) and all(len(d) == size for d in got), seqs
    return "%d %d" % (len(got), dropped)


def stream_contract(m, port):
    """MicroPython's socket and stream calls to the letter (py/stream.c, modsocket)."""
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    assert s.recv(0) == b""
    assert s.write(b"abcdef", -1) == 6  # max_len -1: all of it
    assert s.write(b"abcdef", 2) == 2
    assert s.write(b"0123456789", 3, 4) == 4  # off, len
    assert s.write(b"xyz", 5, 10) == 0  # off past the end: nothing
    assert s.read(12) == b"abcdefab3456"
    assert s.getpeername() == ("127.0.0.1", port)
    assert s.makefile("rwb") is s
    s.setsockopt(1, 2, 1)
    s.close()
    for call in (lambda: s.recv(1), lambda: s.send(b"x"), lambda: s.read(1), lambda: s.write(b"x")):
        try:
            call()
            raise AssertionError("a call on a closed socket worked")
        except OSError as e:
            assert e.errno == 9, e  # EBADF
    s.close()  # twice is fine


def poll_without_a_service(m, port):
    """A client that waits with select.poll, with no asyncio task servicing the modem:
    the poll itself services the line. Non-blocking connect: EINPROGRESS, then POLLOUT."""
    import select

    s = m.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
        raise AssertionError("a non-blocking connect finished at once")
    except OSError as e:
        assert e.errno == 115, e  # EINPROGRESS
    p = select.poll()
    p.register(s, select.POLLOUT)
    ev = p.poll(10000)
    assert ev and ev[0][1] & select.POLLOUT, ev
    s.write(b"ping")
    p.modify(s, select.POLLIN)
    ev = p.poll(10000)
    assert ev and ev[0][1] & select.POLLIN, ev
    assert s.read(4) == b"ping"
    s.close()


def transparent_udp(m, port, rounds=5):
    """A UDP socket in data mode: the UART carries the datagrams' bytes both ways."""
    s = m.socket(atmodem.SOCK_DGRAM, mode="transparent")
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    for i in range(rounds):
        d = b"datagram %d " % i + os.urandom(16)
        s.send(d)
        assert s.read(len(d)) == d, "round %d" % i
    s.close()
    assert m.mode.link is None
    m.command(b"AT")
    return rounds


def _module_ids(m):
    """What the module itself reports open, after atmodem reconciled with it."""
    return m.open_sockets()


def reconnect_same_object(m, port, refused_port):
    """The usual reconnect loop: one socket object, a refused connect, then a good one."""
    s = m.socket()
    s.settimeout(10)
    for attempt in range(2):
        try:
            s.connect(("127.0.0.1", refused_port))
            raise AssertionError("a refused port connected")
        except OSError as e:
            assert e.errno == 111 or "OPEN" in str(e), e
    s.connect(("127.0.0.1", port))
    s.sendall(b"after two refusals")
    assert s.read(18) == b"after two refusals"
    s.close()
    assert _module_ids(m) == [], _module_ids(m)
    socks = []
    for _ in m.dialect.IDS:  # no id is left taken by the refusals
        t = m.socket()
        t.settimeout(10)
        t.connect(("127.0.0.1", port))
        socks.append(t)
    for t in socks:
        t.close()
    return "ok"


def failed_switch_closes(m, port):
    """The open succeeds, the step after it fails (the harness makes AT+IPSWTMD answer
    ERROR): the error says so and the module's socket is closed, its id free again."""
    s = m.socket(mode="transparent")
    s.settimeout(10)
    try:
        s.connect(("127.0.0.1", port))
        raise AssertionError("connected although the switch failed")
    except OSError as e:
        assert "IPSWTMD" in str(e), e
    assert m.mode.link is None
    assert _module_ids(m) == [], _module_ids(m)
    return "ok"


def host_restart(m, port, path, kind, transparent=0):
    """The program dies with sockets open on the module (and, with transparent, in data
    mode): a new Modem on the same module gets back to command mode, closes them, and
    every id works again."""
    old = []
    for i in range(2):
        s = m.socket(mode="transparent" if transparent and i == 1 else None)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        old.append(s)
    m.line.port.close()  # died: nothing closed, the module keeps everything
    m.closed = True
    m2 = atmodem.Modem(atmodem.hal.open_serial(path), dialect=kind, guard_ms=m.guard_ms)
    m2.start()
    m2.attach(apn="cmnet")
    assert m2.open_sockets() == []
    socks = []
    for _ in m2.dialect.IDS:
        t = m2.socket()
        t.settimeout(10)
        t.connect(("127.0.0.1", port))
        socks.append(t)
    socks[0].sendall(b"a new life")
    assert socks[0].read(10) == b"a new life"
    m2.close()
    return len(socks)


def _now_ms():
    import time

    if hasattr(time, "ticks_ms"):
        return time.ticks_ms()
    return int(time.monotonic() * 1000)


def _since_ms(t):
    import time

    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(time.ticks_ms(), t)
    return int(time.monotonic() * 1000) - t


async def _echo_through(am, port, size, chunk=4096):
    """size random bytes through one connection, chunk by chunk, every byte checked."""
    r, w = await am.open_connection("127.0.0.1", port)
    sent = 0
    while sent < size:
        d = os.urandom(min(chunk, size - sent))
        w.write(d)
        await w.drain()
        if await r.readexactly(len(d)) != d:
            raise AssertionError("echo differs")
        sent += len(d)
    w.close()
    await w.wait_closed()
    return sent


class _RunQueueMeter:
    """The micropython binary (Linux): the ms the process was ready to run but the OS ran
    others (/proc/self/schedstat, its second field), read as over[0]. Not the loop being
    held: with two cores shared with the emulator and the servers, it is the machine."""

    def __init__(self):
        try:
            self._read()
        except OSError:
            self._read = lambda: 0  # no schedstat: nothing is discounted

    def _read(self):
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) // 1000000

    def __getitem__(self, i):
        return self._read()


def _oversleep_meter():
    """CPython: the ms the running loop's selector slept past the timeout it asked for (the
    OS woke the process late: not the loop being held), as a growing total in [0]. Elsewhere
    the ms the OS kept the process waiting to run (_RunQueueMeter)."""
    import asyncio
    import time

    over = [0.0]
    sel = getattr(asyncio.get_event_loop(), "_selector", None)
    if sel is None or not hasattr(time, "monotonic"):
        return _RunQueueMeter()
    select = sel.select

    def timed(timeout=None):
        t = time.monotonic()
        r = select(timeout)
        if timeout is not None and timeout >= 0:
            late = (time.monotonic() - t - timeout) * 1000
            if late > 0:
                over[0] += late
        return r

    sel.select = timed
    return over


def aio_ticker(m, port, path, kind, sockets=4, size=64 * 1024):
    """While tasks bring a fresh modem up (async results delayed by the harness), open
    sockets and echo through each at once, a task that wants to run every 10 ms never
    waits long. Returns "held raw": the worst gap the loop caused, in ms, and the worst gap
    as the ticker saw it. They differ on CPython only, by the time the OS let the process
    sleep past a timer (two cores also run the emulator and the servers here)."""
    import asyncio

    from atmodem import aio

    m.close()
    m2 = atmodem.Modem(atmodem.hal.open_serial(path), dialect=kind)
    gaps = [0, 0]
    done = []

    async def ticker():
        over = _oversleep_meter()
        last = _now_ms()
        seen = over[0]
        while not done:
            await asyncio.sleep(0.01)
            gap = _since_ms(last)
            last = _now_ms()
            held = gap - int(over[0] - seen)
            seen = over[0]
            if held > gaps[0]:
                gaps[0] = held
            if gap > gaps[1]:
                gaps[1] = gap

    async def work():
        am = aio.start(m2)
        try:
            await am.start()
            await am.attach(apn="cmnet")
            got = await asyncio.gather(*[_echo_through(am, port, size) for _ in range(sockets)])
            assert got == [size] * sockets, got
        finally:
            done.append(1)
            await am.close()

    async def main():
        await asyncio.gather(ticker(), work())

    asyncio.run(main())
    return "%d %d" % (gaps[0], gaps[1])


def aio_many(m, port, count=8, size=16 * 1024):
    """As many concurrent connections as the module has ids (up to count), default mode:
    every byte intact."""
    import asyncio

    from atmodem import aio

    n = min(count, len(m.dialect.IDS))

    async def main():
        am = aio.start(m)
        try:
            got = await asyncio.gather(*[_echo_through(am, port, size, 1024) for _ in range(n)])
            assert got == [size] * n, got
        finally:
            am.stop()

    asyncio.run(main())
    return n


def aio_writers_on_one_socket(m, port, writers=3, chunks=40, size=1000):
    """Tasks sending on the same socket at once (each send is one module command, in
    whatever order the lock gives them): every chunk arrives whole, none twice or lost."""
    import asyncio

    from atmodem import aio

    async def main():
        am = aio.start(m)
        try:
            s = am.socket()
            await s.connect(("127.0.0.1", port))

            async def writer(w):
                for _ in range(chunks):
                    await s.sendall(bytes((65 + w,)) * size)

            async def reader():
                got = b""
                while len(got) < writers * chunks * size:
                    got += await s.recv(4096)
                return got

            got = (await asyncio.gather(reader(), *[writer(w) for w in range(writers)]))[0]
            await s.close()
        finally:
            am.stop()
        for i in range(0, len(got), size):
            block = got[i : i + size]
            assert block == block[:1] * size, "a chunk was mixed with another at %d" % i
        for w in range(writers):
            assert got.count(bytes((65 + w,))) == chunks * size, "writer %d" % w
        return len(got)

    return asyncio.run(main())


def aio_cancel(m, port, silent_port):
    """asyncio.wait_for cancels an open (the module answers late), a send (the module
    stalls it) and a read (nothing comes) half-way; the modem works afterwards and nothing
    is left open on the module."""
    import asyncio

    from atmodem import aio

    async def main():
        am = aio.start(m)
        try:
            # an open cancelled while the module has not answered (the harness delays it)
            s = am.socket()
            try:
                await asyncio.wait_for(s.connect(("127.0.0.1", port)), 0.3)
                raise AssertionError("the open was not cancelled")
            except asyncio.TimeoutError:
                pass
            await asyncio.sleep(0.1)
            assert s.sock.state != atmodem.socket.OPEN or s.sock.id in m.dialect.links
            # a read cancelled half-way: nothing comes from a silent peer
            t = am.socket()
            t.settimeout(30)
            await t.connect(("127.0.0.1", silent_port))
            try:
                await asyncio.wait_for(t.recv(10), 0.3)
                raise AssertionError("a silent peer said something")
            except asyncio.TimeoutError:
                pass
            # a send cancelled half-way: a big one, cut off after a moment
            try:
                await asyncio.wait_for(t.sendall(os.urandom(60000)), 0.05)
            except asyncio.TimeoutError:
                pass
            await t.close()
            # the modem works afterwards: every id, an echo
            r, w = await am.open_connection("127.0.0.1", port)
            w.write(b"still working")
            await w.drain()
            assert await r.readexactly(13) == b"still working"
            w.close()
            await w.wait_closed()
            await s.close()
            assert await am.run(_ids(m)) == []
        finally:
            am.stop()

    asyncio.run(main())
    return "ok"


def bringup_released(m, port):
    """On MicroPython the bring-up code (used at start, attach and after a reboot) does not
    stay on the heap; starting again loads it again, and the modem works on."""
    import sys

    mp = sys.implementation.name == "micropython"
    assert not mp or "atmodem.bringup" not in sys.modules, "bring-up code kept after attach"
    m.start()
    assert not mp or "atmodem.bringup" not in sys.modules
    s = m.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"still up")
    assert s.read(8) == b"still up"
    s.close()
    return "released" if mp else "kept"


def _ids(m):
    from atmodem import table

    return (yield from table.reconcile(m))


ALL = {
    "aio_writers_on_one_socket": aio_writers_on_one_socket,
    "bringup_released": bringup_released,
    "aio_ticker": aio_ticker,
    "aio_many": aio_many,
    "aio_cancel": aio_cancel,
    "transparent_udp": transparent_udp,
    "reconnect_same_object": reconnect_same_object,
    "failed_switch_closes": failed_switch_closes,
    "host_restart": host_restart,
    "datagrams": datagrams,
    "datagram_drops": datagram_drops,
    "stream_contract": stream_contract,
    "poll_without_a_service": poll_without_a_service,
    "speaks_first": speaks_first,
    "write_ahead": write_ahead,
    "pause_while_arriving": pause_while_arriving,
    "aio_three": aio_three,
    "aio_native_streams": aio_native_streams,
    "tcp_listener": tcp_listener,
    "udp_service": udp_service,
    "tls_refused": tls_refused,
    "transparent_tricky": transparent_tricky,
    "transparent_cycle": transparent_cycle,
    "transparent_peer_close": transparent_peer_close,
    "echo_stream": echo_stream,
    "echo_udp": echo_udp,
    "many_sockets": many_sockets,
    "peer_close": peer_close,
    "refused": refused,
    "timeouts": timeouts,
    "bad_input": bad_input,
    "resolve": resolve,
}
