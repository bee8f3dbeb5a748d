"""Benchmarks: ./run python -m tools.bench [--quick]

1. Throughput per dialect and mode as a fraction of the UART line rate (8N1: baud/10 bytes
   per second each way), emulator paced at 115200 and 921600 baud, download (module to host)
   and upload, on CPython through pyserial; buffer is the default mode.
   Push back-pressure: holds and the largest burst after asking the module to hold.
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
from atmodem.dialects import load, names  # noqa: E402

MODES = ("push", "hex", "buffer", "transparent")
TLS_MODES = ("push", "buffer", "transparent")
L610_TLS_MODES = ("push", "hex")  # the modes the L610 does TLS in (docs/l610-tls.md)
QUECTEL_TLS_MODES = ("buffer",)  # docs/quectel.md


def modes_of(dialect):
    """The bench's modes the module has (the NM28 and L610 have hex; a Quectel does not)."""
    return [m for m in MODES if m in load(dialect).MODES]


def modem_on(emu, dialect, baud=115200):
    """The port at the emulator's pace: the driver times its reads by the baud rate."""
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path, baudrate=baud), dialect=dialect, guard_ms=250)
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
    # the NM28 names the file it stores; the L610 is given the CA, uploaded once per boot
    pem = atmodem.TLS(ca=ca.cert_pem.bytes())  # uploaded by atmodem (once per boot, or once ever)
    return {"nm28": (atmodem.TLS(ca="ca.crt"), ctx), "l610": (pem, ctx), "quectel": (pem, ctx)}


def throughput(bauds, sizes):
    print("throughput as a fraction of the UART line rate (baud/10 bytes/s each way)")
    print("%-6s %-7s %-20s %10s %10s" % ("module", "baud", "mode", "download", "upload"))
    rows = [(d, mode, False) for d in names() for mode in modes_of(d)]
    rows += [("nm28", mode, True) for mode in TLS_MODES] + [("l610", mode, True) for mode in L610_TLS_MODES]
    rows += [("quectel", mode, True) for mode in QUECTEL_TLS_MODES]
    with tempfile.TemporaryDirectory() as cert_dir:
        tls = tls_setup(cert_dir)
        for baud in bauds:
            size = sizes[baud]
            for dialect, mode, use_tls in rows:
                with Emulator(dialect, baud=baud, async_delay=0.005, guard_time=0.2, cert_dir=cert_dir) as emu:
                    emu.wait_idle()
                    m = modem_on(emu, dialect, baud)
                    line = baud / 10
                    d = download(m, mode, size, tls[dialect] if use_tls else None) / line
                    u = upload(m, mode, size, tls[dialect] if use_tls else None) / line
                    m.close()
                name = mode + (" (default)" if mode == "buffer" else "") + (" TLS" if use_tls else "")
                print("%-6s %-7d %-20s %10.3f %10.3f" % (dialect, baud, name, d, u), flush=True)


def backpressure(bauds, size=256 * 1024):
    """Push mode asks the module to hold when a socket's ring passes its high-water mark.
    A program writes size bytes to an echo server before reading any back; the largest
    burst is what arrived between asking the module to hold and its OK."""
    print("\npush back-pressure: %d KiB written to an echo server before reading, default 4096-byte ring"
          " (high-water mark %d)" % (size // 1024, atmodem.inbox.Inbox(None, True, 4096).hw))
    print("%-6s %-7s %8s %8s %12s %7s" % ("module", "baud", "intact", "holds", "max burst B", "lost B"))
    for baud in bauds:
        for dialect in names():
            with loopback.echo_server() as echo, Emulator(dialect, baud=baud, async_delay=0.005) as emu:
                emu.wait_idle()
                m = modem_on(emu, dialect, baud)
                s = m.socket(mode="push")
                s.settimeout(120)
                s.connect(("127.0.0.1", echo.port))
                data = os.urandom(size)
                for i in range(0, size, 4096):
                    s.sendall(data[i : i + 4096])
                try:
                    ok = s.read(size) == data
                except OSError:
                    ok = False
                ib = s.link.inbox
                print("%-6s %-7d %8s %8d %12d %7d" % (dialect, baud, ok, ib.holds, ib.max_burst, max(0, ib.lost - 1)), flush=True)
                s.close()
                m.close()


def loaded_modules(dialect):
    """The package's .mpy files a program with one socket of dialect has loaded (asked of
    the micropython binary: what import, the dialect and the socket table pull in)."""
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    code = ("import sys, atmodem\nfrom atmodem import dialects\ndialects.load(%r)\nimport atmodem.table\n"
            "print(' '.join(k for k in sys.modules if k.startswith('atmodem')))" % dialect)
    r = subprocess.run([mp, "-c", code], env={"MICROPYPATH": os.path.join(ROOT, "lib")}, capture_output=True, text=True)
    out = []
    for n in r.stdout.split():
        rel = n.replace(".", "/")
        package = os.path.isdir(os.path.join(ROOT, "lib", rel))
        out.append(rel + ("/__init__.mpy" if package else ".mpy"))
    return out


def micropython_costs(size):
    mp = os.path.join(ROOT, ".venv", "bin", "micropython")
    print("\nmicropython binary, %d KiB received per row (unpaced emulator)" % (size // 1024))
    print("%-6s %-12s %12s %16s" % ("module", "mode", "heap B/KiB", "VM CPU us/KiB"))
    env = {"MICROPYPATH": os.path.join(ROOT, "lib")}
    for dialect in names():
        for mode in modes_of(dialect):
            with loopback.source_server(size) as src, Emulator(dialect, async_delay=0.005) as emu:
                emu.wait_idle()
                r = subprocess.run(
                    [mp, "-X", "heapsize=96M", os.path.join(ROOT, "tools", "bench_mp.py"), emu.path, dialect, mode, str(src.port), str(size)],
                    env=env, capture_output=True, text=True, timeout=300,
                )
            line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
            if not line:
                print("%-6s %-12s failed: %s" % (dialect, mode, (r.stdout + r.stderr)[-300:]))
                continue
            _, got, heap, cpu = line[0].split()
            print("%-6s %-12s %12s %16s" % (dialect, mode, heap, cpu), flush=True)


def mpy_size():
    """All board files, and what `import atmodem` with one module's dialect loads."""
    with tempfile.TemporaryDirectory() as out:
        sizes = build_mpy.build(out, skip=build_mpy.BOARD_SKIP)
    total = sum(sizes.values())
    print("\npackage for a board (.mpy, bytecode, all files but the CPython and unix ports): %d bytes (%.1f KiB)"
          % (total, total / 1024))
    optional = ("aio.mpy", "tls.mpy", "recovery.mpy", "reconnect.mpy", "socket_module.mpy", "datamode.mpy")
    for dialect in names():
        used = sum(sizes.get(m, 0) for m in loaded_modules(dialect))
        print("loaded by `import atmodem` + a socket with the %s dialect: %d bytes (%.1f KiB)"
              % (dialect.upper(), used, used / 1024))
    extra = sum(v for k, v in sizes.items() if k.endswith(optional))
    print("loaded on first use (TLS, Recovery, Reconnecting, sockets(), aio, transparent mode): %d bytes" % extra)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller transfers")
    p.add_argument("--skip-throughput", action="store_true", help="only the micropython and size figures")
    a = p.parse_args(argv)
    sizes = {115200: 16384, 921600: 131072} if a.quick else {115200: 49152, 921600: 393216}
    if not a.skip_throughput:
        throughput((115200, 921600), sizes)
        backpressure((115200, 921600), 64 * 1024 if a.quick else 256 * 1024)
    micropython_costs(1 << 20)
    mpy_size()
    bench_pico.mcu_costs(32 if a.quick else 64)
    return 0


if __name__ == "__main__":
    sys.exit(main())
