"""On the emulated Pico (tools/bench_pico.py puts it in /lib): what a TLS connection costs the
board, the module's TLS (atmodem.TLS) beside MicroPython's own tls over a plain atmodem socket
(only in a firmware that has tls: tools/pico/firmware.py builds one).

Each connection: its Pico time from socket() to connected, the CPU the core spent (busy, not
sleeping), the heap allocated on the way (collector off) and the heap it still holds once
collected; then a download through it, metered as mcu_bench's rows."""
import gc
import time

import atmodem

from mcu_bench import MASK, Meter, arrived, busy_us, modem

RECORD = 16384  # tools/loopback.py source_server's chunk: one TLS record each


def _connect(m, how, ca, port):
    if how == "module":
        s = m.socket(tls=atmodem.TLS(ca=ca))
        s.settimeout(60)
        s.connect(("localhost", port))
        return s, s
    import tls

    plain = m.socket()
    plain.settimeout(60)
    plain.connect(("localhost", port))
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    ctx.load_verify_locations(ca)  # positional only in the C module
    return ctx.wrap_socket(plain, server_hostname="localhost"), plain


def connect(dialect, how, ca, port, baud, size, label):
    """Two connections' costs (RESULT tls ...: the first imports what TLS needs and, where the
    module is given the CA, uploads it; the second is what each reconnect costs), then size
    bytes downloaded through the second (RESULT row, as mcu_bench.download prints). ca: PEM
    or a file name for the module, DER for MicroPython's tls."""
    m = modem(dialect, baud)
    for which in ("first", "again"):
        s, plain = _handshake(m, how, ca, port, label, which)
        if which == "first":
            s.close()
    buf = bytearray(4096)
    meter = Meter()
    # MicroPython's tls reads a whole record (the server's are 16 KiB) before it returns the
    # first byte: the clock starts after the first record, as it starts after the first
    # read for the module's TLS
    warm = RECORD if how == "micropython" else 1
    got = 0
    while got < warm:
        got += s.readinto(buf)
    meter.mark_heap()
    meter.start()
    early = arrived(m, plain)
    first = got
    while got < size:
        n = s.readinto(buf)
        if not n:
            break
        got += n
    meter.result(got - first, baud, plain.mode, early)
    s.close()
    m.close()


def _handshake(m, how, ca, port, label, which):
    gc.collect()
    free0 = gc.mem_free()
    gc.disable()
    a0 = gc.mem_alloc()
    b0, t0 = busy_us(), time.ticks_us()
    s, plain = _connect(m, how, ca, port)
    s.write(b"g")  # MicroPython's tls completes its handshake on the first write
    elapsed = time.ticks_diff(time.ticks_us(), t0)
    busy = (busy_us() - b0) & MASK
    allocated = gc.mem_alloc() - a0
    gc.enable()
    gc.collect()
    print("RESULT tls %s %s %s %d %d %d %d" % (label, which, plain.mode, elapsed, busy, allocated, free0 - gc.mem_free()))
    return s, plain
