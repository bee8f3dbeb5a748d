"""The atmodem demo: bring a module up, then open, echo and close a socket in each mode,
printing the AT conversation and the throughput.

    ./run demo                       both virtual modules (emulator + loopback echo server)
    ./run demo --dialect l610        one of them
    ./run demo --port /dev/ttyUSB0 --apn cmnet --echo tcpbin.com:4242   a real module
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

import atmodem  # noqa: E402
from atmodem.dialects import names  # noqa: E402

MODES = ("push", "hex", "buffer", "transparent")


class Transcript:
    """Prints the AT conversation one line per line; payloads are summarised."""

    def __init__(self, out, enabled: bool):
        self.out = out
        self.enabled = enabled
        self.pending = {">": b"", "<": b""}
        self.bulk = {">": 0, "<": 0}

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "!":  # the driver's own note (modem.warn)
            self.out.write("   note: %s\n" % data.decode())
            return
        if not self.enabled:
            return
        if len(data) > 200:  # a payload: say how big rather than printing it
            self.bulk[direction] += len(data)
            return
        buf = self.pending[direction] + data
        *lines, rest = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        self.pending[direction] = rest[-200:]
        for line in lines:
            if line.strip():
                self._print(direction, line)

    def _print(self, direction: str, line: bytes) -> None:
        if self.bulk[direction]:
            self.out.write("   %s [%d payload bytes]\n" % (direction, self.bulk[direction]))
            self.bulk[direction] = 0
        text = line.decode("latin-1")
        if len(text) > 96:
            text = text[:60] + "...[%d bytes]" % len(line)
        self.out.write("   %s %s\n" % ("host ->" if direction == ">" else "module<", text))


def run(port_or_path: str, dialect, apn, echo_addr, size: int, baud: int, quiet: bool, out=sys.stdout) -> None:
    tr = Transcript(out, not quiet)
    uart = atmodem.hal.open_serial(port_or_path, baudrate=baud)
    m = atmodem.Modem(uart, dialect=dialect, trace=tr)
    out.write("== bring-up\n")
    model = m.start()
    ip = m.attach(apn=apn, progress=lambda step: out.write("   -- attach: %s\n" % step))
    out.write("== %s attached, local address %s, signal %s\n" % (model, ip, m.csq))
    if echo_addr is None:
        out.write("== no --echo HOST:PORT given: skipping the socket demo\n")
        m.close()
        return
    host, port = echo_addr
    for mode in MODES:
        out.write("== %s mode: open %s:%d, echo %d bytes, close\n" % (mode, host, port, size))
        s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=16384)
        s.settimeout(30)
        s.connect((host, port))
        data = os.urandom(size)
        t0 = time.monotonic()
        got = bytearray()
        sent = 0
        tr.enabled = False  # the bulk part would be thousands of lines
        while len(got) < size:
            if sent < size and sent - len(got) < 8192:
                s.sendall(data[sent : sent + 2048])
                sent = min(size, sent + 2048)
                continue
            got += s.recv(4096)
        dt = time.monotonic() - t0
        tr.enabled = not quiet
        s.close()
        ok = bytes(got) == data
        rate = 2 * size / dt
        out.write(
            "== %s mode: %s, %d bytes each way in %.2f s: %.0f B/s both directions, %.0f%% of the %d baud line\n"
            % (mode, "intact" if ok else "CORRUPTED", size, dt, rate, 100 * rate * 10 / (2 * baud), baud)
        )
        if not ok:
            raise SystemExit("echoed data differs")
    m.close()


def _hostport(text: str):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected HOST:PORT with a port 1-65535, got %r" % text)
    return host, int(port)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError("expected a positive whole number, got %r" % text)
    return int(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="./run demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help="serial device or pyserial URL of a real module (default: the emulator)")
    p.add_argument("--dialect", choices=names(), help="default: both emulators, or auto-detect with --port")
    p.add_argument("--apn", default=None, help="access point name (default: the module's; cmnet on the emulator)")
    p.add_argument("--echo", type=_hostport, metavar="HOST:PORT",
                   help="a TCP echo server the module can reach. With --port there is none by default: "
                        "without --echo the demo stops after attaching. With the emulator the demo starts "
                        "a loopback echo server of its own")
    p.add_argument("--baud", type=_positive, default=115200)
    p.add_argument("--size", type=_positive, default=8192, help="bytes to echo in each mode")
    p.add_argument("--quiet", action="store_true", help="do not print the AT transcript")
    a = p.parse_args(argv)
    try:
        if a.port:
            run(a.port, a.dialect, a.apn, a.echo, a.size, a.baud, a.quiet)
            return 0
        sys.path.insert(0, ROOT)
        from tools import loopback
        from tools.emulator import Emulator

        with loopback.echo_server() as srv:
            for dialect in [a.dialect] if a.dialect else names():
                print("\n######## virtual %s on a pseudo-terminal at %d baud ########" % (dialect.upper(), a.baud))
                with Emulator(dialect, baud=a.baud) as emu:
                    emu.wait_idle()
                    run(emu.path, None, a.apn or "cmnet", a.echo or ("127.0.0.1", srv.port), a.size, a.baud, a.quiet)
    except (OSError, ValueError) as err:  # pyserial's and atmodem's errors are OSErrors
        print("%s: error: %s" % (p.prog, err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
