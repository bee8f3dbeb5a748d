"""python -m tools.emulator --dialect nm28|l610|quectel [--firmware NAME] [--serve HOST:PORT] [--baud N] [--log FILE]

Prints the pseudo-terminal's path. With --serve the line is also on a TCP port; it has one
host at a time: while a TCP client is connected, the module's output goes to it alone (the
pseudo-terminal gets nothing and need not be opened); otherwise to the pseudo-terminal."""
from __future__ import annotations

import argparse
import codecs
import signal
import sys
import threading

from . import variants
from .emulator import DIALECTS, Emulator


def _hostport(text: str):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host, int(port)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.emulator", description=__doc__)
    p.add_argument("--dialect", choices=sorted(DIALECTS), default="nm28")
    p.add_argument(
        "--firmware", default="manual", metavar="NAME",
        help="firmware variant, per dialect: %s (default manual: the manual's forms)" % variants.describe(),
    )
    p.add_argument("--no-push-trailer", action="store_true", help="pushed data is not followed by CR LF")
    p.add_argument("--echo-sticks", action="store_true", help="ATE0 answers OK but echo stays on")
    p.add_argument("--model", help=r"the model line of AT+CGMM and ATI; \xNN escapes give raw bytes")
    p.add_argument("--serve", type=_hostport, help="also expose the line on a TCP port (socket://HOST:PORT); a connected client is the line's host")
    p.add_argument("--baud", type=int, help="pace both directions at N baud 8N1")
    p.add_argument("--log", help="write the transcript to FILE")
    p.add_argument("--cert-dir", help="directory where AT+SSLCFG certificate names are looked up (nm28; quectel uploads its own with AT+QFUPL)")
    p.add_argument("--async-delay", type=float, default=0.01, help="seconds before async results")
    p.add_argument("--guard-time", type=float, default=1.0, help="+++ guard time in seconds")
    a = p.parse_args(argv)
    if a.baud is not None and a.baud <= 0:
        p.error("--baud must be positive")
    try:
        variants.check(a.dialect, a.firmware)
    except ValueError as e:
        p.error(str(e))
    model = None if a.model is None else codecs.escape_decode(a.model.encode("utf-8"))[0]
    # Handlers first: a client may stop us as soon as it has read the path.
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    emu = Emulator(
        a.dialect, baud=a.baud, serve=a.serve, log=a.log,
        cert_dir=a.cert_dir, async_delay=a.async_delay, guard_time=a.guard_time,
        firmware=a.firmware, push_trailer=not a.no_push_trailer, echo_sticks=a.echo_sticks, model=model,
    ).start()
    print(emu.path, flush=True)
    if emu.serve_address:
        print("serving on %s:%d" % emu.serve_address[:2], file=sys.stderr, flush=True)
    done.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
