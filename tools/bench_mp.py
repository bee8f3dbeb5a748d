"""Runs under the micropython binary (started by tools/bench.py):
micropython tools/bench_mp.py <tty> <dialect> <mode> <port> <size>
Receives size bytes from a source server and prints heap bytes allocated and VM CPU time
per received KiB (MICROPYTHON-NOTES.md: gc.mem_alloc with gc disabled, /proc/self/stat)."""
import gc
import sys

import atmodem


def cpu_ticks():
    with open("/proc/self/stat") as f:
        fields = f.read().split(")")[-1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, 1/100 s


def main(path, dialect, mode, port, size):
    m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
    m.start()
    m.attach(apn="cmnet")
    s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=16384)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    buf = bytearray(4096)
    s.send(b"g")
    got = 0
    # Warm up: the first KiB pays for one-off allocations (method caches, the first URC).
    got += s.recv_into(buf)
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    c0 = cpu_ticks()
    start = got
    while got < size:
        n = s.recv_into(buf)
        if not n:
            break
        got += n
    c1 = cpu_ticks()
    a1 = gc.mem_alloc()
    gc.enable()
    kib = (got - start) / 1024
    print("RESULT %d %.0f %.1f" % (got, (a1 - a0) / kib, (c1 - c0) * 10000 / kib))
    s.close()
    m.close()


main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
