"""What atmodem costs on a microcontroller: ./run python -m tools.bench_pico [--size KiB]

Runs on MicroPython's own rp2 firmware in an emulated Raspberry Pi Pico (tools/pico), the
module emulated at 921600 baud on UART1. Figures are the Pico's (125 MHz, emulated cycles):
per KiB received (download) and sent (upload), in the default, push and transparent modes,
the microseconds of CPU (the core not sleeping: interrupts included), the share of the CPU
that is while the line runs, heap allocated, and throughput as a fraction of the line rate;
then free heap after import + a started modem + 4 sockets, and the import time."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lib"), ROOT]

from tools import loopback  # noqa: E402
from tools.emulator import Emulator  # noqa: E402
from tools.pico import Pico, flash  # noqa: E402
from atmodem.dialects import names  # noqa: E402

BAUD = 921600
MODES = ("default", "push", "transparent")
DIALECTS = tuple(names())


def image(frozen: bool = False) -> bytes:
    """The bench's modules, and the package unless the firmware has it frozen in."""
    here = os.path.join(ROOT, "tools", "pico")
    tools = [os.path.join(here, n) for n in ("mcu_bench.py", "mcu_profile.py", "mcu_tls.py")]
    return flash.image(flash.with_modules(tools, base={} if frozen else None))


def on_board(pico: Pico, dialect: str, call: str, port: int, baud: int = BAUD) -> List[str]:
    """mcu_bench.<call> after a soft reset, UART1 wired to a fresh emulated module: its
    RESULT line's fields."""
    return results(board_output(pico, dialect, call, port, baud))[0]


def results(text: str) -> List[List[str]]:
    return [line.split()[1:] for line in text.splitlines() if line.startswith("RESULT")]


def board_output(pico: Pico, dialect: str, call: str, port: int, baud: int = BAUD, **emulator) -> str:
    with Emulator(dialect, baud=baud, serve=("127.0.0.1", 0), async_delay=0.005, guard_time=0.2, **emulator) as emu:
        addr = emu.serve_address
        assert addr is not None
        pico.repl.soft_reset()
        with pico.wire(1, (addr[0], addr[1])):
            code = call % port if call.startswith("import ") else "import mcu_bench\nmcu_bench." + call % port
            return pico.repl.exec(code, timeout=600)


def round_trip_rows(pico: Pico, measured, dialects=DIALECTS) -> None:
    """What the module's answer time allows in default mode, and how near the rows came: a
    read of MAX_READ bytes is one round trip, a send of MAX_SEND two (its prompt, its
    result)."""
    line_of = {(d, m, direction): float(r[5]) for d, m, direction, r in measured}
    for dialect in dialects:
        with loopback.echo_server() as echo:
            mean_us, best_us, read, send = (int(x) for x in on_board(pico, dialect, "round_trip(%r, %%d, %d)" % (dialect, BAUD), echo.port)[1:])
        lat = mean_us / 1e6
        bps = BAUD / 10
        down_limit = read / (read + lat * bps)
        up_limit = send / (send + 2 * lat * bps)
        down = line_of.get((dialect, "default", "down"))
        up = line_of.get((dialect, "default", "up"))
        print("%-6s round trip %.2f ms (best %.2f; an AT's answer as the Pico sees it): a %d-byte read allows %.3f "
              "of the line, default down reached %s; a %d-byte send (two round trips) allows %.3f, up reached %s"
              % (dialect, mean_us / 1000, best_us / 1000, read, down_limit,
                 "%.3f = %.2f of that" % (down, down / down_limit) if down else "-", send, up_limit,
                 "%.3f = %.2f of that" % (up, up / up_limit) if up else "-"), flush=True)


def idle_rows(pico: Pico, seconds: int = 10, dialects=DIALECTS) -> List[Tuple[str, str, str, float]]:
    """mcu_bench.idle for each module, blocking and asyncio, without and with a URC every
    second (a registration report, which every module sends)."""
    import threading

    out = []
    for dialect in dialects:
        for how in ("blocking", "asyncio"):
            for urcs in (False, True):
                with loopback.echo_server() as echo, Emulator(dialect, baud=BAUD, serve=("127.0.0.1", 0),
                                                             async_delay=0.005, guard_time=0.2) as emu:
                    addr = emu.serve_address
                    assert addr is not None
                    stop = threading.Event()

                    def talk(chunk: bytes) -> None:
                        if urcs and b"ready" in chunk and not stop.is_set():
                            threading.Thread(target=_urc_every_second, args=(emu, stop), daemon=True).start()

                    pico.repl.soft_reset()
                    try:
                        with pico.wire(1, (addr[0], addr[1])):
                            text = pico.repl.exec("import mcu_bench\nmcu_bench.idle(%r, %d, %d, %r, %d)"
                                                  % (dialect, echo.port, BAUD, how, seconds), 120 + 4 * seconds, talk)
                    finally:
                        stop.set()
                share = float([ln.split() for ln in text.splitlines() if ln.startswith("RESULT")][0][3])
                row = (dialect, how, "a URC every second" if urcs else "nothing arriving", share)
                print("%-6s idle %-9s %-19s %8.2f%% of the CPU" % (row[0], row[1], row[2], share * 100), flush=True)
                out.append(row)
    return out


def tls_rows(pico: Pico, size: int, dialects=DIALECTS) -> None:
    """A TLS connection's cost on the board and a download through it: the module's TLS on each
    module, and MicroPython's own tls over a plain atmodem socket where the firmware has tls
    (tools/pico/firmware.py --variant tls). An ECDSA P-256 CA and server certificate for
    localhost (trustme's default)."""
    import ssl
    import tempfile

    import trustme

    pico.repl.soft_reset()
    has_tls = "yes" in pico.repl.exec("try:\n import tls\n print('yes')\nexcept ImportError:\n print('no')")
    ca = trustme.CA()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(ctx)
    pem = ca.cert_pem.bytes()
    der = ssl.PEM_cert_to_DER_cert(pem.decode())
    cases = [(d, "module", "ca.crt" if d == "nm28" else pem) for d in dialects]
    if has_tls:
        cases += [(d, "micropython", der) for d in dialects]
    print("\nTLS on the board (%d KiB download after each handshake; the module's handshake is the emulator's,"
          " on the host: its time is the AT conversation's, not a real module's)" % (size // 1024))
    print("%-6s %-22s %12s %12s %12s %12s" % ("module", "TLS connection", "connect ms", "CPU ms", "heap alloc", "heap held"))
    with tempfile.TemporaryDirectory() as cert_dir:
        ca.cert_pem.write_to_path(os.path.join(cert_dir, "ca.crt"))  # the NM28's stored file
        for dialect, how, cert in cases:
            label = "module" if how == "module" else "micropython"
            with loopback.source_server(size, tls=ctx) as src:
                out = results(board_output(pico, dialect, "import mcu_tls\nmcu_tls.connect(%r, %r, %s, %%d, %d, %d, %r)"
                                           % (dialect, how, repr(cert).replace("%", "%%"), BAUD, size, label), src.port, cert_dir=cert_dir))
            for _, _, which, mode, t_us, cpu_us, alloc, held in out[:2]:
                print("%-6s %-22s %12.0f %12.0f %12s %12s" % (dialect, "%s %s (%s)" % (label, which, mode),
                                                              int(t_us) / 1000, int(cpu_us) / 1000, alloc, held), flush=True)
            row = out[2]
            print_row(dialect, "  %s TLS" % label, "down", row)
    if not has_tls:
        print("(this firmware has no tls module, as MicroPython's RPI_PICO build: "
              "tools/pico/firmware.py --variant tls builds one for the comparison)")


def _urc_every_second(emu: Emulator, stop) -> None:
    while not stop.wait(1.0):
        emu.inject(b"\r\n+CGREG: 1\r\n")


def import_ms(pico: Pico) -> float:
    pico.repl.soft_reset()
    out = pico.repl.exec("import time\nt = time.ticks_us()\nimport atmodem\nprint(time.ticks_diff(time.ticks_us(), t))")
    return int(out.split()[-1]) / 1000


def firmware_floor(pico: Pico, nbytes: int = 60000) -> Tuple[float, float, float]:
    """mcu_bench.firmware_floor with the host streaming straight into UART1."""
    import socket
    import threading

    pico.repl.soft_reset()
    host = socket.create_connection(pico.address("uart1"))

    seen = bytearray()

    def stream(chunk: bytes) -> None:
        seen.extend(chunk)
        if b"ready" in seen and not sent:
            sent.append(1)
            threading.Thread(target=host.sendall, args=(bytes(nbytes),), daemon=True).start()

    sent: List[int] = []
    try:
        out = pico.repl.exec("import mcu_bench\nmcu_bench.firmware_floor(%d, %d)" % (BAUD, nbytes), 60, stream)
    finally:
        host.close()
    fields = [line.split() for line in out.splitlines() if line.startswith("RESULT")][0]
    return float(fields[2]), float(fields[3]), float(fields[4])


def rows(size: int, pico: Pico, baud: int = BAUD, dialects=DIALECTS, modes=MODES) -> List[Tuple[str, str, str, List[str]]]:
    result = []
    for dialect in dialects:
        for mode in modes:
            with loopback.source_server(size) as src:
                down = on_board(pico, dialect, "download(%r, %r, %%d, %d, %d)" % (dialect, mode, size, baud), src.port, baud)
            with loopback.SinkServer() as sink:
                up = on_board(pico, dialect, "upload(%r, %r, %%d, %d, %d)" % (dialect, mode, size, baud), sink.port, baud)
            for row in ((dialect, mode, "down", down), (dialect, mode, "up", up)):
                print_row(*row)
                result.append(row)
    return result


def print_row(dialect: str, mode: str, direction: str, r: List[str]) -> None:
    actual, _, us, share, heap, frac, stalls = r
    name = mode if mode == actual else "%s (%s)" % (mode, actual)
    note = "" if stalls == "0" else "  %s overruns" % stalls
    print("%-6s %-16s %-4s %10s %9.0f%% %11s %10s%s" % (dialect, name, direction, us, float(share) * 100, heap, frac, note), flush=True)


def firmware_has_atmodem() -> bool:
    """Whether the firmware (ATMODEM_PICO_FIRMWARE) has atmodem frozen in: then the flash
    image leaves the package out."""
    with Pico(image=image(frozen=True)) as board:
        return "yes" in board.repl.exec("try:\n import atmodem\n print('yes')\nexcept ImportError:\n print('no')")


def mcu_costs(size_kib: int = 64, pico: Optional[Pico] = None, frozen: bool = False) -> None:
    """The MCU rows of tools.bench. frozen: the firmware has atmodem frozen in."""
    size = size_kib * 1024
    print("\nMCU: MicroPython 1.28 rp2 firmware%s on an emulated Pico (RP2040, 125 MHz), UART1 at %d baud, "
          "%d KiB per row (figures in Pico time)" % (" with atmodem frozen in" if frozen else "", BAUD, size_kib))
    print("%-6s %-16s %-4s %10s %10s %11s %10s" % ("module", "mode", "dir", "CPU us/KiB", "CPU share", "heap B/KiB", "line rate"))
    own = pico is None
    board = Pico(image=image(frozen)).start() if pico is None else pico
    try:
        measured = rows(size, board)
        round_trip_rows(board, measured)
        idle_rows(board)
        tls_rows(board, size)
        free: Dict[str, int] = {}
        for dialect in DIALECTS:
            with loopback.echo_server() as echo:
                free[dialect] = int(on_board(board, dialect, "footprint(%r, %%d, %d)" % (dialect, BAUD), echo.port)[1])
        print("free heap after import atmodem + start + attach + 4 sockets: %s"
              % ", ".join("%d bytes (%s)" % (v, k.upper()) for k, v in free.items()))
        print("import atmodem: %.0f ms" % import_ms(board))
        busy, idle, read = firmware_floor(board)
        line = 1024 * 10e6 / BAUD
        print("firmware alone, per KiB received at %d baud: UART.readinto %.0f us; RX interrupts %.0f us while "
              "the CPU works, %.0f us while it sleeps (each wakes it): %.0f-%.0f%% of the CPU before any driver code"
              % (BAUD, read, busy, idle, (busy + read) / line * 100, (idle + read) / line * 100))
    finally:
        if own:
            board.stop()


def profile(size_kib: int, cases=(("nm28", "default"), ("l610", "default"), ("nm28", "push"), ("l610", "push"), ("nm28", "transparent")), top: int = 12) -> None:
    """Where the cycles and the heap go while receiving (tools/pico/mcu_profile.py): one run
    timing each function, one counting its heap (per call)."""
    size = size_kib * 1024
    with Pico(image=image()) as board:
        for dialect, mode in cases:
            runs = {}
            for kind in ("time", "heap"):
                with loopback.source_server(size) as src:
                    out = board_output(board, dialect, "download(%r, %r, %%d, %d, %d, %r)" % (dialect, mode, size, BAUD, kind), src.port)
                runs[kind] = {f[1]: f[2:] for f in (line.split() for line in out.splitlines()) if f[0] == "PROFILE"}
            print("\nprofile: %s %s download at %d baud, per KiB received (Pico time; heap from a second run)" % (dialect, mode, BAUD))
            print("%-34s %9s %12s %12s %12s" % ("function", "calls", "self us", "self B/call", "self B"))
            rows = sorted(runs["time"].items(), key=lambda kv: -float(kv[1][1]))
            for name, (calls, us, _) in rows[:top]:
                per_call = float(runs["heap"].get(name, ["0", "0", "0"])[2])
                print("%-34s %9s %12s %12.0f %12.0f" % (name, calls, us, per_call, per_call * float(calls)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=64, help="KiB per row (default 64)")
    p.add_argument("--profile", action="store_true", help="per-function cycles and heap while receiving")
    p.add_argument("--tls", action="store_true", help="only the TLS rows")
    p.add_argument("--firmware", help="another RPI_PICO firmware: tools/pico/firmware.py builds one with atmodem "
                   "frozen in, or with MicroPython's tls for the TLS comparison")
    a = p.parse_args(argv)
    if a.firmware:
        os.environ["ATMODEM_PICO_FIRMWARE"] = os.path.abspath(a.firmware)
    frozen = firmware_has_atmodem()
    if a.profile:
        profile(a.size)
    elif a.tls:
        with Pico(image=image(frozen)) as board:
            tls_rows(board, a.size * 1024)
    else:
        mcu_costs(a.size, frozen=frozen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
