"""An AT console: type commands, see the module's answers, with URCs decoded.

    ./run python -m tools.console --port /dev/ttyUSB0      a real module
    ./run python -m tools.console --dialect l610           the emulator

Lines are sent as typed (CR added). Answers print as `  < line`; URCs print as
`  ! URC  meaning`; payloads the module pushes print as their length and first bytes.
Ctrl-D or `quit` ends it."""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lib"), ROOT]

import atmodem  # noqa: E402

# What a URC means, by prefix (SPEC.md).
MEANINGS = (
    (b'+IPURC: "recv"', "data pushed for a socket"),
    (b'+IPURC: "closed"', "socket closed by the peer or the network"),
    (b'+IPURC: "incoming"', "a client connected to a listener"),
    (b"IPREAD:", "data waiting in the module (buffer mode): read with AT+IPRD"),
    (b"+IPOPEN:", "open result: 0 = connected"),
    (b"+SSLOPEN:", "TLS open result: 0 = connected"),
    (b"+SSLURC:", "TLS socket event"),
    (b"+SSLREAD:", "TLS data waiting (buffer mode)"),
    (b"+MIPCALL:", "data bearer: an IP address = up, 0 = down"),
    (b"+MIPOPEN:", "open result: <id>,1 = connected, <id>,0 = failed"),
    (b"+MIPODM:", "transparent open: <id>,1 = data mode now"),
    (b"+MIPCLOSE:", "socket closed: type 0 normal, 1 timeout, 2 other"),
    (b"+MIPSTAT:", "socket lost: 1 broken or closed by the peer, 2 TLS alert"),
    (b"+MIPRTCP:", "TCP data"),
    (b"+MIPRUDP:", "UDP data"),
    (b"+MIPREAD:", "data waiting (IPRFMT 5): read with AT+MIPREAD"),
    (b"+MIPXOFF:", "flow control: stop sending on this socket"),
    (b"+MIPXON:", "flow control: sending may resume"),
    (b"RDY", "the module (re)booted"),
    (b"AT command ready", "the module (re)booted"),
    (b"+SIM READY", "the SIM is ready"),
    (b"+CGREG:", "registration: 1 home, 5 roaming, 0/2 searching"),
    (b"+CEREG:", "LTE registration: 1 home, 5 roaming, 0/2 searching"),
)


def meaning(line: bytes) -> str:
    for prefix, what in MEANINGS:
        if line.startswith(prefix):
            return what
    return ""


class Printer:
    """Payload target: shows what a socket received."""

    rx_addr = None

    def __init__(self, out, sid):
        self.out = out
        self.sid = sid
        self.buf = bytearray()

    def rx_write(self, mv):
        self.buf += mv

    def rx_end(self):
        self.out.write("  ! %d bytes for socket %s: %r\n" % (len(self.buf), self.sid, bytes(self.buf[:60])))
        self.buf = bytearray()


def console(modem: atmodem.Modem, lines, out=sys.stdout) -> None:
    d = modem.dialect
    urc = d.urc

    def show_urc(line: bytes) -> None:
        out.write("  ! %s   %s\n" % (line.decode("latin-1"), meaning(line)))
        urc(line)

    d.urc = show_urc  # type: ignore[method-assign]
    d.sock = lambda sid: Printer(out, sid)  # type: ignore[method-assign]
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        if text in ("quit", "exit"):
            break
        try:
            c = modem.command(text.encode("latin-1"), prefix=b"", check=False, timeout_ms=60000)
            for line in c.lines:
                out.write("  < %s\n" % line.decode("latin-1"))
            out.write("  < %s\n" % (c.result or b"").decode("latin-1"))
        except OSError as err:
            out.write("  ? %s\n" % err)
        modem.poll(50)  # URCs that follow the answer
        out.flush()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.console", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help="serial device or pyserial URL (default: start the emulator)")
    p.add_argument("--dialect", choices=("nm28", "l610"), default=None)
    p.add_argument("--baud", type=int, default=115200)
    a = p.parse_args(argv)
    emu = None
    port = a.port
    if port is None:
        from tools.emulator import Emulator

        emu = Emulator(a.dialect or "nm28").start()
        emu.wait_idle()
        port = emu.path
        print("emulated %s on %s" % ((a.dialect or "nm28").upper(), port))
    modem = atmodem.Modem(atmodem.hal.open_serial(port, baudrate=a.baud), dialect=a.dialect)
    print("module:", modem.start())
    try:
        console(modem, iter(sys.stdin.readline, ""))
    finally:
        modem.close()
        if emu is not None:
            emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
