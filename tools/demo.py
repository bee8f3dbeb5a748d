"""The atmodem demo: bring a module up, then open, echo and close a socket in each mode,
printing the AT conversation and the throughput.

    ./run demo                       both virtual modules (emulator + loopback echo server)
    ./run demo --dialect l610        one of them
    ./run demo --port /dev/ttyUSB0 --apn cmnet --echo tcpbin.com:4242   a real module
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

import atmodem  # noqa: E402
from atmodem.dialects import names  # noqa: E402

MODES = ("push", "hex", "buffer", "transparent")
# Answers after which the module sends N raw payload bytes: the header ends its line...
_READ_HEADERS = re.compile(rb'(?:\+IPURC: "recv",|\+SSLURC: "recv",|\+IPRD: ?|\+SSLRECV: ?|\+MIPDATA: ?)\d+,(\d+)')
# ...or the bytes follow the header's last comma on the same line (L610, IPRFMT 2)
_INLINE_HEADERS = re.compile(rb'(?:\+MIPRTCP: ?\d+|\+MIPRUDP: ?[^,\r\n]+,\d+,\d+),(\d+),')
# Commands after whose prompt the host writes N raw payload bytes
_SEND_COMMANDS = re.compile(rb'AT\+(?:IPSEND|SSLSEND|MIPSEND)=\d+,(\d+)')
_HEX = re.compile(rb'[0-9A-Fa-f]{64,}')


class Transcript:
    """Prints the AT conversation one line per line. Payloads are shown as <N bytes>, hex
    runs as <N bytes as hex>; in a socket's bulk phase only the first `limit` lines are
    printed and the rest are counted."""

    def __init__(self, out, enabled: bool, limit: int = 0):
        self.out = out
        self.enabled = enabled
        self.limit = limit  # 0: every line
        self.pending = {">": b"", "<": b""}
        self.skip = {">": 0, "<": 0}
        self.lf = {">": False, "<": False}  # payload bytes still to come in each direction
        self.head = {">": b"", "<": b""}
        self.size = {">": 0, "<": 0}
        self.raw = False  # a transparent data session: every byte is payload
        self.line_bytes = {">": 0, "<": 0}  # what crossed the line, AT framing included
        self.shown = 0
        self.hidden = {}

    run_dir = ""
    run_n = 0

    def flush(self) -> None:
        """Print the data-session bytes counted so far as one <N bytes> line."""
        if self.run_n:
            self._print(self.run_dir, b"<%d bytes>" % self.run_n)
        self.run_dir, self.run_n = "", 0

    def bulk(self, start: bool) -> None:
        """Start or end a bulk phase: at its end, say what was not shown."""
        self.flush()
        if not start and self.hidden:
            names = ", ".join("%s x%d" % kv for kv in sorted(self.hidden.items(), key=lambda kv: -kv[1]))
            self.out.write("   ... %d more lines not shown (%s); --verbose prints every line\n"
                           % (sum(self.hidden.values()), names))
        self.shown = 0
        self.hidden = {}
        self.counting = start

    counting = False

    def __call__(self, direction: str, data: bytes) -> None:
        if direction == "!":  # the driver's own note (modem.warn)
            self.out.write("   note: %s\n" % data.decode())
            return
        self.line_bytes[direction] += len(data)
        if self.raw:
            if direction == ">" and data == b"+++":
                self.raw = False  # the escape: command mode follows
                self.flush()
                self._print(">", b"+++")
                return
            if self.run_dir and self.run_dir != direction:
                self.flush()
            self.run_dir = direction  # consecutive reads of a stream: one line
            self.run_n += len(data)
            return
        if direction == ">" and data == b"+++":  # the escape has no line end: its own line
            self._print(">", b"+++")
            return
        buf = self.pending[direction] + data
        while buf:
            if self.skip[direction]:
                if self.lf[direction]:
                    self.lf[direction] = False
                    if buf[:1] == b"\n":
                        buf = buf[1:]
                        continue
                n = min(self.skip[direction], len(buf))
                self.skip[direction] -= n
                buf = buf[n:]
                if not self.skip[direction]:
                    self._print(direction, self.head[direction] + b"<%d bytes>" % self.size[direction])
                continue
            if buf[:1] in (b"\r", b"\n"):
                buf = buf[1:]
                continue
            m = _INLINE_HEADERS.match(buf) if direction == "<" and not self.hex else None
            if m:
                self._start(direction, m.group(0), int(m.group(1)))
                buf = buf[m.end():]
                continue
            ends = [i for i in (buf.find(b"\r"), buf.find(b"\n")) if i >= 0]
            if not ends:
                if direction == "<" and buf == b">":  # the L610's send prompt
                    self._print("<", buf)
                    buf = b""
                break
            end = min(ends)
            crlf = buf[end : end + 2] == b"\r\n"
            self.lf[direction] = buf[end:] == b"\r"  # its \n is still to come (next read)
            line, buf = buf[:end], buf[end + (2 if crlf else 1) :]
            self._print(direction, line)
            m = (_READ_HEADERS if direction == "<" else _SEND_COMMANDS).match(line)
            if m and int(m.group(1)):
                self._start(direction, b"", int(m.group(1)))
        self.pending[direction] = buf[-4096:]

    hex = False  # the L610 sends hex text after +MIPRTCP (IPRFMT 0), not raw bytes

    def _start(self, direction: str, head: bytes, n: int) -> None:
        self.head[direction] = head
        self.size[direction] = n
        self.skip[direction] = n

    def _print(self, direction: str, line: bytes) -> None:
        if not self.enabled:
            return
        line = _HEX.sub(lambda m: b"<%d bytes as hex>" % (len(m.group(0)) // 2), line)
        if any(b < 32 or b > 126 for b in line):
            line = b"<%d bytes>" % len(line)
        if self.counting and self.limit:
            if self.shown >= self.limit:
                key = re.split(rb"[=:]", line, 1)[0].decode("latin-1")
                key = "payloads" if key.startswith("<") else key
                self.hidden[key] = self.hidden.get(key, 0) + 1
                return
            self.shown += 1
        text = line.decode("latin-1")
        if len(text) > 96:
            text = text[:60] + "...[%d bytes]" % len(line)
        self.out.write("   %s %s\n" % ("host ->" if direction == ">" else "module<", text))


def run(port_or_path: str, dialect, apn, echo_addr, size: int, baud: int, quiet: bool, out=sys.stdout,
        verbose: bool = False) -> None:
    tr = Transcript(out, not quiet, limit=0 if verbose else 20)
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
    line_rate = baud / 10  # bytes/s one direction of the UART carries (8N1: 10 bits a byte)
    for mode in MODES:
        if mode not in m.dialect.MODES:
            out.write("== %s mode: the %s has none\n" % (mode, m.dialect.NAME))
            continue
        out.write("== %s mode: open %s:%d, echo %d bytes, close\n" % (mode, host, port, size))
        tr.hex = mode == "hex"
        s = m.socket(atmodem.SOCK_STREAM, mode=mode, rxbuf=16384)
        s.settimeout(30)
        s.connect((host, port))
        tr.raw = mode == "transparent"  # connected: the data session has begun
        data = os.urandom(size)
        tr.bulk(True)  # the echo's thousands of lines: the first few are printed
        wire0 = dict(tr.line_bytes)
        t0 = time.monotonic()
        got = bytearray()
        sent = 0
        t_sent = t_first = t0
        while len(got) < size:
            if sent < size and sent - len(got) < 8192:
                s.sendall(data[sent : sent + 2048])
                sent = min(size, sent + 2048)
                t_sent = time.monotonic()
                continue
            got += s.recv(4096)
            if t_first == t0:
                t_first = time.monotonic()
        dt = time.monotonic() - t0
        up, down = (tr.line_bytes[d] - wire0[d] for d in "><")
        tr.bulk(False)
        s.close()
        ok = bytes(got) == data
        up_s = max(t_sent - t0, 1e-6)
        out.write("== %s mode: %s; payload rates over the UART, each direction's line carrying %.0f B/s at %d baud:\n"
                  % (mode, "echo intact" if ok else "echo CORRUPTED", line_rate, baud))
        if up_s >= size / line_rate:
            out.write("   up   (host -> module): %d bytes sent in %.2f s: %.0f B/s, %.0f%% of the line up "
                      "(%d bytes on the line with the AT framing)\n" % (size, up_s, size / up_s, 100 * size / up_s / line_rate, up))
        else:  # the writes returned sooner than the line can carry them: the OS buffered them
            out.write("   up   (host -> module): %d bytes written in %.2f s (the serial driver buffered them), "
                      "so over the round trip: at least %.0f B/s, %.0f%% of the line up "
                      "(%d bytes on the line with the AT framing)\n" % (size, up_s, size / dt, 100 * size / dt / line_rate, up))
        out.write("   down (module -> host): %d bytes received in %.2f s: %.0f B/s, %.0f%% of the line down "
                  "(%d bytes on the line with the AT framing)\n" % (size, dt, size / dt, 100 * size / dt / line_rate, down))
        out.write("   round trip: the first echoed bytes back after %.0f ms, all %d after %.2f s\n"
                  % (1000 * (t_first - t0), size, dt))
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
    p.add_argument("--verbose", action="store_true",
                   help="print every line of each echo (by default its first 20 lines, then a count)")
    a = p.parse_args(argv)
    try:
        if a.port:
            run(a.port, a.dialect, a.apn, a.echo, a.size, a.baud, a.quiet, verbose=a.verbose)
            return 0
        sys.path.insert(0, ROOT)
        from tools import loopback
        from tools.emulator import Emulator

        with loopback.echo_server() as srv:
            for dialect in [a.dialect] if a.dialect else names():
                print("\n######## virtual %s on a pseudo-terminal at %d baud ########" % (dialect.upper(), a.baud))
                with Emulator(dialect, baud=a.baud) as emu:
                    emu.wait_idle()
                    run(emu.path, None, a.apn or "cmnet", a.echo or ("127.0.0.1", srv.port), a.size, a.baud, a.quiet,
                        verbose=a.verbose)
    except (OSError, ValueError) as err:  # pyserial's and atmodem's errors are OSErrors
        print("%s: error: %s" % (p.prog, err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
