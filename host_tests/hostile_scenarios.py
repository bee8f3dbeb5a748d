"""Scenarios against the hostile module (host_tests/hostile_module.py), run unchanged by
CPython and the micropython binary through host_tests/hostile_run.py. MicroPython subset.

Each takes a started, attached Modem (or None, with path and kind, when it is about
start() itself: OWN_MODEM) and raises AssertionError when what the program sees is wrong.
The module misbehaves as the test set it up to; the scripted peer reacts to what a
scenario sends (test_hostile.py says how)."""
import atmodem

HOST = "10.9.8.7"  # the module has no network: every address connects
PORT = 7
GBK = b"\xc1\xac\xbd\xd3\xca\xa7\xb0\xdc"  # 连接失败, "connect failed", as a Chinese firmware says it
GOOD = b"good bytes, before the damaged payload"  # what the peer sends before the damage
OWN_MODEM = ("gbk_model", "echo_stuck", "adopt_pyserial", "l610_dial_error")


def pattern(n, seed=0):
    return bytes([(i * 7 + seed) & 0xFF for i in range(n)])


def _now_ms():
    import time

    ticks = getattr(time, "ticks_ms", None)  # MicroPython; CPython has monotonic
    return ticks() if ticks is not None else int(time.monotonic() * 1000)


def _since_ms(t):
    import time

    diff = getattr(time, "ticks_diff", None)
    return diff(_now_ms(), t) if diff is not None else _now_ms() - t


def _modem(path, dialect):
    return atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)


def _connect(m, mode=None, timeout=5):
    s = m.socket(mode=mode)
    s.settimeout(timeout)
    s.connect((HOST, PORT))
    return s


def _echo(s, data):
    s.sendall(data)
    got = s.read(len(data))
    assert got == data, "echo: sent %r, got %r" % (data, got)


def _raises(fn, exc, what):
    try:
        fn()
    except exc as e:
        return e
    raise AssertionError("%s: no %s" % (what, exc.__name__))


# ---------------------------------------------------------------- L610: opens that go wrong


def _failed_open(m, timeout):
    s = m.socket()
    s.settimeout(timeout)
    t0 = _now_ms()
    try:
        s.connect((HOST, PORT))
    except OSError as e:
        return e, _since_ms(t0), s
    raise AssertionError("the open succeeded although the module said otherwise")


def _next_connect_at_once(m):
    t0 = _now_ms()
    s = _connect(m, timeout=10)
    took = _since_ms(t0)
    assert took < 2000, "the next connect took %d ms" % took
    _echo(s, b"the next connect works")
    s.close()
    return took


def l610_open_stat_fails(m):
    """OK, then +MIPSTAT: <id>,1: the open failed; the error comes at once, not at 65 s."""
    e, took, _ = _failed_open(m, 10)
    assert took < 2000, "the failed open took %d ms to report (%s)" % (took, e)
    return "%d %d" % (took, _next_connect_at_once(m))


def l610_open_never_answered(m):
    """OK, then nothing: ETIMEDOUT after the socket's 3 s and a bounded close."""
    e, took, s = _failed_open(m, 3)
    assert e.errno == 110, "errno %r: %s" % (e.errno, e)
    assert took < 15000, "connect with settimeout(3) returned after %d ms" % took
    return "%d %d %d" % (took, s.id, _next_connect_at_once(m))


def l610_open_error_gbk(m):
    """OK, then +CME ERROR: <GBK bytes>: an OSError that shows the bytes escaped."""
    e, took, _ = _failed_open(m, 5)
    msg = str(e)
    assert "\\xc1\\xac" in msg, "the GBK answer is not shown escaped (errno %r after %d ms): %r" % (e.errno, took, msg)
    return "%d %d" % (took, _next_connect_at_once(m))


def l610_ack_mid_download(m, mode="buffer"):
    """+MIPSTAT: <id>,0,<acked> (an acknowledgement) in the middle of a 500-byte download."""
    s = _connect(m, mode)
    s.sendall(b"download 500")
    got = s.read(500)
    want = pattern(500)
    assert got == want, "%d of 500 bytes, intact: %s" % (len(got), got == want[: len(got)])
    _echo(s, b"still open after the acknowledgement")
    s.close()
    return len(got)


def l610_dial_error(m, path, kind, fails=1):
    """The first `fails` dials end in an error and a late `+MIPCALL: 0`: attach() works
    (after raising once when all its dials fail), and the bearer stays up."""
    import time

    m = _modem(path, kind)
    try:
        m.start()
        t0 = _now_ms()
        if fails >= 3:
            e = _raises(lambda: m.attach(apn="cmnet"), OSError, "attach with every dial refused")
            assert "ERROR" in str(e) and "3 tries" in str(e), str(e)
        ip = m.attach(apn="cmnet")
        took = _since_ms(t0)
        assert ip == "10.166.80.147", ip
        time.sleep(0.5)  # a late +MIPCALL: 0 would be read by the next operation
        s = _connect(m)
        _echo(s, b"after a refused dial")
        s.close()
        assert m.ip == ip, "the bearer was taken for lost: m.ip is %r" % (m.ip,)
    finally:
        m.close()
    return took


# ---------------------------------------------------------------- framing


def framing(m, mode="buffer", kind="longer", says_reboot=1):
    """The peer sends GOOD, then a damaged payload (test_hostile.damaged says how):
    GOOD or a prefix of it, then EPROTO naming the socket within 3 s; the modem and a
    second socket go on. Kind "banner": the module rebooted inside the payload; the
    error says so (unless says_reboot=0), and after attach() a new socket works."""
    a = _connect(m, mode)
    b = _connect(m, mode)
    sid = a.id
    _echo(b, b"b before the damage")
    _echo(a, b"a before the damage")
    t0 = _now_ms()
    a.sendall(b"damage " + kind.encode())
    got = b""
    err = None
    try:
        while True:
            d = a.recv(100)
            if not d:
                raise AssertionError("end of stream, not an error, after %r" % got)
            got += d
    except OSError as e:
        err = e
    took = _since_ms(t0)
    msg = str(err)
    assert GOOD.startswith(got), "recv returned bytes never sent before the damage: %r" % got
    assert took < 3000, "the error came %d ms after the damage (%s)" % (took, msg)
    if kind == "banner":
        assert m.reboots == 1, "m.reboots == %d: the reboot was not noticed (%s)" % (m.reboots, msg)
        assert m.command("AT").ok()
        m.attach(apn="cmnet")
        e = _raises(lambda: b.recv(10), OSError, "the other socket after the reboot")
        assert e.errno == 104 and "reboot" in str(e), "the other socket: %r %s" % (e.errno, e)
        c = _connect(m, mode)
        _echo(c, b"a new socket after the reboot")
        c.close()
        assert "reboot" in msg or not says_reboot, "the socket's error does not say the module rebooted: %r" % msg
    else:
        assert err.errno == 71, "errno %r, not EPROTO: %s" % (err.errno, msg)
        assert "framing error" in msg and ("socket %d" % sid) in msg, msg
        assert m.command("AT").ok()
        _echo(b, b"b after the damage, intact")
        b.close()
    a.close()
    return "%d %d %d %s" % (len(got), took, err.errno, msg)


def reboot_during_command(m):
    """The module reboots while a command with prefix "" waits for its answer."""
    t0 = _now_ms()
    e = _raises(lambda: m.command("AT+X", prefix="", timeout_ms=4000), OSError, "AT+X across a reboot")
    took = _since_ms(t0)
    assert "reboot" in str(e) and took < 2000, "after %d ms: %s" % (took, e)
    assert m.reboots == 1, "m.reboots == %d: the reboot was not noticed" % m.reboots
    assert m.command("AT").ok()
    m.attach(apn="cmnet")
    s = _connect(m)
    _echo(s, b"a new socket after the reboot")
    s.close()
    return took


# ---------------------------------------------------------------- text that is not UTF-8


def gbk_model(m, path, kind, model=None):
    """AT+CGMM answers GBK bytes and the model name (model; the dialect's name in capitals
    when not given): start() identifies the module."""
    name = model or kind.upper()
    m = _modem(path, None)  # the driver tells the module by its model name
    try:
        model = m.start()
        assert isinstance(model, str) and name in model and "\\x" in model, repr(model)
        assert m.dialect.NAME.lower() == kind, m.dialect.NAME
        assert m.model == model
    finally:
        m.close()
    return model


def gbk_texts(m):
    """A command's error text and a timed-out answer line in GBK: readable OSErrors."""
    e = _raises(lambda: m.command("AT+X"), OSError, "AT+X answered +CME ERROR")
    assert "AT+X" in str(e) and "\\xc1\\xac" in str(e), repr(str(e))
    e = _raises(lambda: m.command("AT+Y", prefix="+Y:", timeout_ms=500), OSError, "AT+Y never ends")
    assert e.errno == 110 and "AT+Y" in str(e) and "\\xc1\\xac" in str(e), "%r %r" % (e.errno, str(e))
    assert m.command("AT").ok()
    return "ok"


# ---------------------------------------------------------------- echo that never turns off


def echo_stuck(m, path, kind):
    m = _modem(path, kind)
    try:
        m.start()
        m.attach(apn="cmnet")
        s = _connect(m)
        _echo(s, b"echo is stuck on, data is not " * 20)
        s.close()
        assert m.command("AT").ok()
        assert m.reboots == 0, "m.reboots == %d: echoes taken for a reset" % m.reboots
        about = [w for w in m.warnings if "echo" in w]
        assert len(about) == 1, "warnings: %r" % (m.warnings,)
    finally:
        m.close()
    return "ok"


# ---------------------------------------------------------------- program input


def input_checks(m):
    assert m.command("AT").ok()  # a str
    c = m.command("AT+CSQ", prefix="+CSQ:")
    assert c.ok() and c.lines and c.lines[0].startswith(b"+CSQ:"), c.lines
    assert m.command(b"AT").ok()
    s = m.socket()
    for bad in (float("nan"), float("inf")):
        _raises(lambda: s.settimeout(bad), ValueError, "settimeout(%r)" % bad)
    u = m.socket(atmodem.SOCK_DGRAM)
    _raises(lambda: u.recvfrom(-1), ValueError, "recvfrom(-1)")
    m.command("AT+MARKA", check=False)  # the test checks nothing was written up to MARKB
    long_name = ".".join(["h" * 59] * 5)  # 299 characters, every label valid
    assert len(long_name) == 299
    long_label = "l" * 64 + ".example.com"
    for host in (long_name, long_label):
        _raises(lambda: m.socket().connect((host, 80)), ValueError, "connect to %r" % host[:20])
        _raises(lambda: m.getaddrinfo(host, 80), ValueError, "getaddrinfo(%r)" % host[:20])
    m.command("AT+MARKB", check=False)
    m.close()
    for name, call in (("power_off", m.power_off), ("start", m.start),
                       ("command", lambda: m.command("AT")), ("socket", m.socket)):
        e = _raises(call, OSError, "%s() after close()" % name)
        assert e.errno == 9, "%s() after close(): errno %r (%s)" % (name, e.errno, e)
    return "ok"


def adopt_pyserial(m, path, kind, model=None):
    """CPython: a serial.Serial the program opened is adopted; a non-port says what to pass.
    model: what the module's model answer holds (the dialect's name in capitals when not given)."""
    import serial

    m = atmodem.Modem(serial.serial_for_url(path, 115200), dialect=kind)
    try:
        got = m.start()
        assert (model or kind.upper()) in got, got
    finally:
        m.close()
    e = _raises(lambda: atmodem.Modem(object()), TypeError, "Modem(object())")
    assert "open_serial" in str(e), str(e)
    return "ok"


def timeout_types(m):
    """CPython: a socket timeout is a TimeoutError (socket.timeout), EAGAIN a BlockingIOError."""
    import socket

    s = _connect(m)
    s.settimeout(0.3)
    e = _raises(lambda: s.recv(10), socket.timeout, "recv with nothing coming")
    assert isinstance(e, TimeoutError) and e.errno == 110, repr(e)
    s.setblocking(False)
    e = _raises(lambda: s.recv(10), BlockingIOError, "non-blocking recv with nothing there")
    assert e.errno == 11, repr(e)
    s.close()
    return "ok"


# ---------------------------------------------------------------- asyncio


def aio_readline_no_spin(m):
    """StreamReader.readline on a non-blocking AsyncSocket, its line 1 s away: a 10 ms
    ticker keeps ticking meanwhile."""
    import asyncio

    from atmodem import aio

    async def main():
        am = aio.start(m)
        try:
            s = am.socket()
            s.settimeout(10)
            await s.connect((HOST, PORT))
            s.setblocking(False)
            r = aio.StreamReader(s)
            ticks = [0]
            done = []

            async def ticker():
                while not done:
                    await asyncio.sleep(0.01)
                    ticks[0] += 1

            await s.sendall(b"a line in a second\n")
            task = asyncio.create_task(ticker())
            t0 = _now_ms()
            line = await asyncio.wait_for(r.readline(), 5)
            took = _since_ms(t0)
            done.append(1)
            await task
            assert line == b"here is the line\n", line
            assert took >= 800, "the line came after %d ms" % took
            assert ticks[0] >= 50, "the ticker ticked %d times in %d ms" % (ticks[0], took)
            await s.close()
            return "%d %d" % (ticks[0], took)
        finally:
            am.stop()

    return asyncio.run(main())


ALL = {
    "l610_open_stat_fails": l610_open_stat_fails,
    "l610_open_never_answered": l610_open_never_answered,
    "l610_open_error_gbk": l610_open_error_gbk,
    "l610_ack_mid_download": l610_ack_mid_download,
    "l610_dial_error": l610_dial_error,
    "framing": framing,
    "reboot_during_command": reboot_during_command,
    "gbk_model": gbk_model,
    "gbk_texts": gbk_texts,
    "echo_stuck": echo_stuck,
    "input_checks": input_checks,
    "adopt_pyserial": adopt_pyserial,
    "timeout_types": timeout_types,
    "aio_readline_no_spin": aio_readline_no_spin,
}
