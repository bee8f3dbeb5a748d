"""Benchmarks: ./run python -m tools.bench [--quick]

1. Throughput per dialect and mode as a fraction of the UART line rate (8N1: baud/10 bytes
   per second each way), emulator paced at 115200 and 921600 baud, download (module to host)
   and upload, on CPython through pyserial.
2. Under the micropython binary (unpaced emulator): heap bytes allocated and VM CPU time per
   received KiB, per dialect and mode.
3. The .mpy size of the package (what goes on a board).
4. On the MCU: MicroPython's rp2 firmware in an emulated Pico (tools/bench_pico.py), CPU,
   heap and line rate per KiB at 921600 baud, free heap and import time."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lib"), ROOT]

import atmodem  # noqa: E402
from tools import bench_pico, build_mpy, loopback  # noqa: E402
from tools.emulator import Emulator  # noqa: E402

MODES = ("push", "hex", "buffer", "transparent")
TLS_MODES = ("push", "buffer", "transparent")


def modem_on(emu, dialect):
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect=dialect, guard_ms=250)
    m.start()
    m.attach(apn="cmnet")
    return m


def download(m, mode, size, tls=None):
    with loopback.source_server(size, tls=tls and tls[1]) as src:
        s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=32768, tls=tls and tls[0])
        s.settimeout(120)
        s.connect(("localhost", src.port))
        buf = bytearray(8192)
        s.send(b"g")
        t0 = time.monotonic()
        got = first = 0
        while got < size:
            n = s.recv_into(buf)
            if not n:
                raise RuntimeError("short download: %d of %d" % (got, size))
            got += n
        dt = time.monotonic() - t0
        s.close()
        return (got - first) / dt


def upload(m, mode, size, tls=None):
    with loopback.SinkServer(tls=tls and tls[1]) as sink:
        s = m.socket(atmodem.SOCK_STREAM, mode=mode, tls=tls and tls[0])
        s.settimeout(120)
        s.connect(("localhost", sink.port))
        data = os.urandom(size)
        t0 = time.monotonic()
        s.sendall(data)
        if not sink.wait(size, 120):
            raise RuntimeError("sink got %d of %d" % (sink.received, size))
        dt = time.monotonic() - t0
        s.close()
        return size / dt


def tls_setup(cert_dir):
    """A CA and a server certificate for localhost (trustme); the module trusts ca.crt."""
    import ssl

    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(os.path.join(cert_dir, "ca.crt"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(ctx)
    return atmodem.TLS(ca="ca.crt"), ctx


def throughput(bauds, sizes):
    print("throughput as a fraction of the UART line rate (baud/10 bytes/s each way)")
    print("%-6s %-7s %-16s %10s %10s" % ("module", "baud", "mode", "download", "upload"))
    rows = [(d, mode, False) for d in ("nm28", "l610") for mode in MODES]
    rows += [("nm28", mode, True) for mode in TLS_MODES]
    with tempfile.TemporaryDirectory() as cert_dir:
        tls = tls_setup(cert_dir)
        for baud in bauds:
            size = sizes[baud]
            for dialect, mode, use_tls in rows:
                with Emulator(dialect, baud=baud, async_delay=0.005, guard_time=0.2, cert_dir=cert_dir) as emu:
                    emu.wait_idle()
                    m = modem_on(emu, dialect)
                    line = baud / 10
                    d = download(m, mode, size, tls if use_tls else None) / line
                    u = upload(m, mode, size, tls if use_tls else None) / line
                    m.close()
                name = mode + (" TLS" if use_tls else "")
                print("%-6s %-7d %-16s %10.3f %10.3f" % (dialect, baud, name, d, u), flush=True)


def micropython_costs(size):
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    print("\nmicropython binary, %d KiB received per row (unpaced emulator)" % (size // 1024))
    print("%-6s %-8s %16s %16s" % ("module", "mode", "heap B/KiB", "VM CPU us/KiB"))
    env = {"MICROPYPATH": os.path.join(ROOT, "lib")}
    for dialect in ("nm28", "l610"):
        for mode in MODES:
            with loopback.source_server(size) as src, Emulator(dialect, async_delay=0.005) as emu:
                emu.wait_idle()
                r = subprocess.run(
                    [mp, "-X", "heapsize=96M", os.path.join(ROOT, "tools", "bench_mp.py"), emu.path, dialect, mode, str(src.port), str(size)],
                    env=env, capture_output=True, text=True, timeout=300,
                )
            line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
            if not line:
                print("%-6s %-8s failed: %s" % (dialect, mode, (r.stdout + r.stderr)[-300:]))
                continue
            _, got, heap, cpu = line[0].split()
            print("%-6s %-8s %16s %16s" % (dialect, mode, heap, cpu), flush=True)


def mpy_size():
    """All board files, and what `import atmodem` with one module's dialect loads."""
    with tempfile.TemporaryDirectory() as out:
        sizes = build_mpy.build(out, skip=("hal/pyserial_port.py", "hal/unix_port.py"))
    total = sum(sizes.values())
    print("\npackage for a board (.mpy, bytecode, all files but the CPython and unix ports): %d bytes (%.1f KiB)"
          % (total, total / 1024))
    optional = ("aio.mpy", "tls.mpy", "recovery.mpy", "reconnect.mpy", "socket_module.mpy")
    for dialect, other in (("nm28", "l610"), ("l610", "nm28")):
        used = sum(v for k, v in sizes.items() if not k.endswith(("dialects/%s.mpy" % other,) + optional))
        print("loaded by `import atmodem` + a socket with the %s dialect: %d bytes (%.1f KiB)"
              % (dialect.upper(), used, used / 1024))
    extra = sum(v for k, v in sizes.items() if k.endswith(optional))
    print("loaded on first use (TLS, Recovery, Reconnecting, sockets(), aio): %d bytes" % extra)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller transfers")
    p.add_argument("--skip-throughput", action="store_true", help="only the micropython and size figures")
    a = p.parse_args(argv)
    sizes = {115200: 16384, 921600: 131072} if a.quick else {115200: 49152, 921600: 393216}
    if not a.skip_throughput:
        throughput((115200, 921600), sizes)
    micropython_costs(1 << 20)
    mpy_size()
    bench_pico.mcu_costs(32 if a.quick else 64)
    return 0


if __name__ == "__main__":
    sys.exit(main())
