"""An AT console: type commands, see the module's raw answers, with URCs explained the
moment they arrive.

    ./run python -m tools.console --port /dev/ttyUSB0      a real module (any pyserial URL)
    ./run python -m tools.console --dialect l610           the emulator

Lines are sent as typed, with CR. Answers print as `  < line`, URCs as `  ! URC   meaning`,
data the module pushes as its length and first bytes. After a send prompt (`>` after
AT+MIPSEND, `CONNECT` after AT+IPSEND) the next line is the payload; after `CONNECT` of a
transparent socket every line is data until `+++`. Local commands never reach the module:
type `help`. Up and Down recall earlier lines, where Python has readline."""
from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from typing import List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lib"), ROOT]

import atmodem  # noqa: E402  (its hal, to open the port; its dialects' tables)
from atmodem import dialects  # noqa: E402
from atmodem.dialects import base, names  # noqa: E402

try:
    import readline
except ImportError:  # Windows without pyreadline: plain input()
    readline = None


def _redisplay():
    """readline's own full redraw (prompt, line, cursor where the user left it), or None
    where the library does not offer it; Python's readline module does not expose it."""
    if readline is None:
        return None
    try:
        import ctypes

        return ctypes.CDLL(readline.__file__).rl_forced_update_display
    except (OSError, AttributeError):
        return None


REDISPLAY = _redisplay()

# Everything the console knows of the modules' words is the library's: the dialects'
# tables (URCs, payload headers, send commands, receive formats) and, for what a URC means,
# the first sentence of its handler's docstring after the line's form (docs/adding-a-module.md).
DIALECTS = [dialects.load(n) for n in dialects.names()]
FINAL = (b"OK", b"ERROR", b"NO CARRIER")
FINAL_PREFIX = (b"+CME ERROR", b"+CMS ERROR")


def _meaning_of(fn) -> str:
    """`<form>: <meaning>. More.` -> "meaning" (the form ends at its first ': ' right after
    a field's `>`, `]` or `)`)."""
    text = " ".join((getattr(fn, "__doc__", None) or "").split())
    end = text.find(". ")
    text = text[: end + 1] if end >= 0 else text
    cut = re.search(r"[>\])]: ", text)
    return (text[cut.end() :] if cut else text).rstrip(".")


def _meanings():
    found = {}
    for cls in DIALECTS:
        for banner in cls.BOOT_URCS:
            found.setdefault(banner, "the module (re)booted")
        for prefix, name in cls.URCS + cls.SOCKET_URCS + cls.HEADERS:
            fn = getattr(cls, name)
            if prefix in FINAL or prefix.startswith(FINAL_PREFIX) or not fn.__doc__:
                continue  # a final result is no URC; a dispatcher has no meaning of its own
            found.setdefault(prefix, _meaning_of(fn))
    for prefix in (b"+CGREG:", b"+CEREG:"):
        found.setdefault(prefix, _meaning_of(base.Dialect.registration))
    # the longest prefix first: the most particular meaning wins
    return tuple(sorted(found.items(), key=lambda kv: -len(kv[0])))


MEANINGS = _meanings()


def _template(cmd: bytes) -> "re.Pattern[str]":
    """A command template ("AT+X=%d,%d") as a regex over typed text, its last %d a group."""
    parts = cmd.decode("latin-1").split("%d")
    rx = "".join(re.escape(p) + (r"(\d+)" if i == len(parts) - 2 else r"\d+") for i, p in enumerate(parts[:-1]))
    return re.compile(rx + re.escape(parts[-1]), re.I)


# a raw send: the module's prompt, then exactly n bytes
SENDS = [(_template(cls.SEND), cls.SEND_PROMPT.decode()) for cls in DIALECTS if cls.SEND]
# a module-wide receive format, and the one in which payload headers carry their bytes inline
FORMATS = [(_template(cls.FORMAT_CMD), cls.INLINE_FORMAT) for cls in DIALECTS if cls.FORMAT_CMD]
# headers after whose line (or, inline, after whose length field) come exactly <len> bytes
AFTER_LINE = [p for cls in DIALECTS for p in cls.PAYLOADS if not p[3]]
INLINE = [p for cls in DIALECTS for p in cls.PAYLOADS if p[3]]
DATA_OPENS = tuple(cls.DATA_OPEN for cls in DIALECTS if cls.DATA_OPEN)


def _fields(text: bytes) -> List[bytes]:
    return [f.strip() for f in text.split(b",")]


def header(line: bytes, table) -> Optional[Tuple[bytes, int]]:
    """(id, length) when line is one of table's payload headers, else None."""
    for prefix, idf, lenf, _ in table:
        if line.startswith(prefix):
            f = _fields(line[len(prefix) :])
            try:
                return f[idf], int(f[lenf])
            except (IndexError, ValueError):
                return None
    return None


HELP = """local commands (never sent to the module):
  help           this text
  :hex           payloads and data typed as hex (again: back to text)
  :log FILE      write everything on the line to FILE, with times; `:log` alone stops
  :baud N        change the port's baud rate
  :quit          leave (also `quit`, `exit`, Ctrl-D)
anything else is sent to the module with CR.
  after AT+IPSEND=<id>,<n> / AT+MIPSEND=<id>,<n> and the module's prompt, type the n bytes
  (text with \\r \\n \\xNN escapes, or hex after :hex); Ctrl-C there sends the
  bytes the module waits for as NULs (a send prompt cannot be cancelled);
  in transparent data mode every line is sent with CR LF, and `+++` alone escapes
  (guard time of silence on each side)."""


def meaning(line: bytes) -> str:
    for prefix, what in MEANINGS:
        if line.startswith(prefix):
            return what
    return ""


def shown(data: bytes) -> str:
    """Printable as is, else escaped: a module's line must not drive the terminal."""
    if all(32 <= c < 127 for c in data):
        return data.decode("ascii")
    return repr(bytes(data))[2:-1]


Event = Tuple[str, bytes, str]  # (kind, bytes, label): line, prompt, data, raw, data mode


class Decoder:
    """The module's output as events, framed the way the module frames it: lines, send
    prompts, payloads of a stated length (which may hold CR LF) and transparent data."""

    def __init__(self):
        self.buf = bytearray()
        self.need = 0  # payload bytes still to come
        self.payload = bytearray()
        self.label = ""
        self.send_pending = ""  # "", ">" or "CONNECT": the prompt a send command waits for
        self.data_mode = False
        self.escaping = False  # +++ sent: OK ends data mode
        self.inline = False  # a receive format set through this console frames payloads inline

    def feed(self, data: bytes) -> List[Event]:
        self.buf += data
        out: List[Event] = []
        while self.buf:
            if self.need:
                take = bytes(self.buf[: self.need])
                del self.buf[: len(take)]
                self.payload += take
                self.need -= len(take)
                if not self.need:
                    out.append(("data", bytes(self.payload), self.label))
                    self.payload = bytearray()
            elif self.data_mode:
                if not self._data(out):
                    break
            elif not self._command(out):
                break
        return out

    def quiet(self) -> List[Event]:
        """The line has been quiet for a while: transparent bytes held back as the possible
        start of an end marker are data after all (a marker comes in one piece)."""
        if not (self.data_mode and self.buf and not self.need):
            return []
        data = bytes(self.buf)
        self.buf = bytearray()
        return [("raw", data, "")]

    def _data(self, out: List[Event]) -> bool:
        ends = [b"\r\nNO CARRIER\r\n"] + ([b"\r\nOK\r\n"] if self.escaping else [])
        for end in ends:
            i = self.buf.find(end)
            if i >= 0:
                if i:
                    out.append(("raw", bytes(self.buf[:i]), ""))
                del self.buf[: i + len(end)]
                self.data_mode = self.escaping = False
                out.append(("line", end.strip(), ""))
                return True
        # Keep what could be the start of an end marker for the next read.
        keep = 0
        for end in ends:
            for k in range(len(end) - 1, 0, -1):
                if self.buf.endswith(end[:k]):
                    keep = max(keep, k)
                    break
        if len(self.buf) > keep:
            out.append(("raw", bytes(self.buf[: len(self.buf) - keep]), ""))
            del self.buf[: len(self.buf) - keep]
        return False

    def _command(self, out: List[Event]) -> bool:
        while self.buf[:1] in (b"\r", b"\n"):
            del self.buf[:1]
        if not self.buf:
            return False
        if self.send_pending == ">" and self.buf[:1] == b">":
            del self.buf[: 2 if self.buf[1:2] == b" " else 1]
            self.send_pending = ""
            out.append(("prompt", b">", ""))
            return True
        if self.inline:
            for prefix, idf, lenf, _ in INLINE:
                start = bytes(self.buf[: len(prefix)])
                if not prefix.startswith(start):
                    continue
                end = self.buf.find(b"\n")
                i = len(prefix) - 1
                for _ in range(lenf + 1):  # the comma after the length ends the header
                    i = self.buf.find(b",", i + 1)
                    if i < 0 or (0 <= end < i):
                        break
                else:
                    head = bytes(self.buf[:i])
                    got = header(head + b",", ((prefix, idf, lenf, True),))
                    if got is not None:
                        out.append(("line", head, ""))
                        del self.buf[: i + 1]
                        self._expect(got[1], "pushed", got[0])
                        return True
                if end < 0:
                    return False  # a header still arriving
        return self._line(out)

    def _line(self, out: List[Event]) -> bool:
        i = self.buf.find(b"\n")
        if i < 0:
            return False
        line = bytes(self.buf[:i]).rstrip(b"\r")
        del self.buf[: i + 1]
        if line == b"CONNECT" and self.send_pending == "CONNECT":
            self.send_pending = ""
            out.append(("prompt", b"CONNECT", ""))
            return True
        out.append(("line", line, ""))
        got = header(line, AFTER_LINE)
        if got is not None:
            pushed = any(line.startswith(p[0]) and b"recv" in p[0] for p in AFTER_LINE)
            self._expect(got[1], "pushed" if pushed else "read", got[0])
        elif line == b"CONNECT":
            self._enter_data(out)  # no send waiting for it: transparent, the UART is the socket now
        elif line.startswith(DATA_OPENS) and _fields(line[line.find(b":") + 1 :])[1:2] == [b"1"]:
            self._enter_data(out)  # a transparent open's `<id>,1`: the next byte is the link's
        return True

    def _enter_data(self, out: List[Event]) -> None:
        self.data_mode = True
        out.append(("data mode", b"", ""))

    def _expect(self, n: int, how: str, sid: bytes) -> None:
        self.need = n
        self.label = "%s for socket %s" % (how, sid.decode())
        self.payload = bytearray()


def parse_payload(text: str, hex_mode: bool) -> bytes:
    if hex_mode:
        return bytes.fromhex(text)
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


class Console:
    """The line's reader thread prints what arrives; the input loop sends what is typed."""

    def __init__(self, port, out=sys.stdout, wait: float = 5.0, guard: float = 1.0):
        self.port = port
        self.out = out
        self.wait = wait
        self.guard = guard
        self.dec = Decoder()
        self.lock = threading.Lock()  # the decoder's state, the command state, the output
        self.answered = threading.Event()  # final result, prompt or data mode
        self.prompted = b""
        self.command = b""  # the line last sent, for its echo and its answers' prefix
        self.echoed = False
        self.send_len = 0  # bytes the module waits for after the prompt
        self.hex_mode = False
        self.log = None
        self.prompt = ""  # the input prompt on screen while the user types, for redraws
        self.running = True
        self.reader = threading.Thread(target=self._read, daemon=True)

    # ---------------------------------------------------------------- output
    def show(self, text: str) -> None:
        with self.lock:
            self._show(text)

    def _show(self, text: str) -> None:
        if self.prompt and readline is not None and self.out.isatty():
            # The user is typing: print over the input line, then draw it again below.
            self.out.write("\r\x1b[K%s\n" % text)
            if REDISPLAY is not None:
                self.out.flush()
                REDISPLAY()
            else:  # the cursor ends at the end of the line
                self.out.write(self.prompt + readline.get_line_buffer())
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def _log(self, direction: str, data: bytes) -> None:
        if self.log is not None:
            self.log.write("%.3f %s %r\n" % (time.time(), direction, bytes(data)))
            self.log.flush()

    # ---------------------------------------------------------------- the line
    def start(self) -> "Console":
        self.reader.start()
        return self

    def _read(self) -> None:
        buf = bytearray(4096)
        while self.running:
            try:
                if not self.port.wait(100):
                    with self.lock:
                        for event in self.dec.quiet():
                            self._event(*event)
                    continue
                n = self.port.readinto(buf)
            except (OSError, ValueError, TypeError):
                if self.running:
                    self.show("  ? the port closed")
                return
            if n:
                chunk = bytes(buf[:n])
                with self.lock:
                    self._log("<", chunk)
                    for event in self.dec.feed(chunk):
                        self._event(*event)

    def _event(self, kind: str, data: bytes, label: str) -> None:
        if kind == "line":
            return self._line(data)
        if kind == "prompt":
            self.prompted = data
            self._show("  < %s   (send prompt: type the payload)" % data.decode())
            self.answered.set()
        elif kind == "data":
            self._show("  %s %d bytes %s: %s" % ("<" if label.startswith("read") else "!", len(data), label,
                                                  shown(data[:60]) + ("..." if len(data) > 60 else "")))
        elif kind == "data mode":
            self._show("  (data mode: each line goes to the socket; +++ alone leaves)")
            self.answered.set()
        else:
            self._show("  < data: %s" % shown(data))

    def _line(self, line: bytes) -> None:
        if not line:
            return
        if line == self.command and not self.echoed:
            self.echoed = True  # the module's echo of what was typed: on screen already
            return
        urc = meaning(line)
        name = re.match(rb"AT(\+\w+)", self.command, re.I)
        # A line named like the command is its answer until the final result; after, a URC.
        own = (name is not None and not self.answered.is_set()
               and line.upper().startswith(name.group(1).upper() + b":"))
        if urc and not own:
            self._show("  ! %s   %s" % (shown(line), urc))
        else:
            self._show("  < %s" % shown(line))
        if line in FINAL or line.startswith(FINAL_PREFIX):
            self.answered.set()

    def write(self, data: bytes) -> None:
        with self.lock:
            self._log(">", data)
        self.port.write(data)

    # ---------------------------------------------------------------- input
    def send_command(self, text: str) -> None:
        send = next(((m, prompt) for m, prompt in ((rx.match(text), p) for rx, p in SENDS) if m), (None, ""))
        fmt = next(((m, inline) for m, inline in ((rx.match(text), i) for rx, i in FORMATS) if m), None)
        with self.lock:
            self.command = text.encode("latin-1")
            self.echoed = False
            self.send_len = int(send[0].group(1)) if send[0] else 0
            self.prompted = b""
            self.answered.clear()
            self.dec.send_pending = send[1]
            if fmt:
                self.dec.inline = int(fmt[0].group(1)) == fmt[1]
        self.write(self.command + b"\r")
        self.await_answer()

    def await_answer(self) -> None:
        if not self.answered.wait(self.wait):
            self.show("  (no final answer within %g s: it will show when it comes)" % self.wait)

    def send_payload(self, data: bytes) -> None:
        with self.lock:
            self.prompted = b""
            self.answered.clear()
        self.write(data)
        self.await_answer()

    def escape(self) -> None:
        with self.lock:
            self.dec.escaping = True
            self.answered.clear()
        time.sleep(self.guard)
        self.write(b"+++")
        time.sleep(self.guard)
        self.await_answer()

    def local(self, text: str) -> bool:
        """A local command: handled here, True; anything else is for the module."""
        word, _, arg = text.partition(" ")
        arg = arg.strip()
        if word in ("help", ":help"):
            self.show(HELP)
        elif word == ":hex":
            self.hex_mode = not self.hex_mode
            self.show("  (payloads and data typed as %s)" % ("hex" if self.hex_mode else "text"))
        elif word == ":log":
            with self.lock:
                if self.log is not None:
                    self.log.close()
                self.log = open(arg, "a") if arg else None
            self.show("  (logging to %s)" % arg if arg else "  (logging stopped)")
        elif word == ":baud":
            ser = getattr(self.port, "ser", None)
            if not arg.isdigit() or ser is None:
                self.show("  ? usage: :baud N (on a serial port)")
            else:
                ser.baudrate = self.port.baudrate = int(arg)
                self.show("  (port at %s baud)" % arg)
        elif word.startswith(":"):
            self.show("  ? %s is no local command; `help` lists them" % word)
        else:
            return False
        return True

    def ask(self, prompt: str) -> str:
        with self.lock:
            self.prompt = prompt
        try:
            return input(prompt)
        finally:
            with self.lock:
                self.prompt = ""

    def payload_entry(self) -> None:
        n = self.send_len
        kind = "hex" if self.hex_mode else "text"
        while True:
            try:
                text = self.ask("payload, %d bytes as %s> " % (n, kind))
                data = parse_payload(text, self.hex_mode)
            except ValueError as err:  # bad hex, a bad escape, a character beyond latin-1
                self.show("  ? not %s: %s" % (kind, err))
                continue
            if len(data) == n:
                return self.send_payload(data)
            self.show("  ? that is %d bytes; the module waits for exactly %d" % (len(data), n))

    def data_entry(self, text: str) -> None:
        if text == "+++":
            return self.escape()
        try:
            data = parse_payload(text, self.hex_mode) + (b"" if self.hex_mode else b"\r\n")
        except ValueError as err:
            return self.show("  ? %s" % err)
        self.write(data)

    def run(self) -> None:
        while True:
            try:
                if self.prompted:
                    self.payload_entry()
                    continue
                text = self.ask("data> " if self.dec.data_mode else "AT> ")
                if self.dec.data_mode and not text.startswith(":"):  # also when it began while typing
                    self.data_entry(text)
                    continue
                text = text.strip()
                if text in ("quit", "exit", ":quit"):
                    return
                if text and not self.local(text):
                    self.send_command(text)
            except EOFError:
                return
            except KeyboardInterrupt:
                self.out.write("\n")
                if self.prompted:
                    self.end_payload()

    def end_payload(self) -> None:
        """Ctrl-C at a send prompt. The module waits for exactly the announced bytes and
        neither manual gives a way to cancel (docs/nm28.md, docs/l610.md: AT+IPSEND,
        AT+MIPSEND): whatever is typed next would be taken as payload. So send the bytes it
        still waits for, as NULs, and wait for its answer before the next command."""
        n = self.send_len
        self.show("  (sending the %d bytes the module still waits for as NUL bytes: a send prompt "
                  "cannot be cancelled; the peer receives them)" % n)
        self.send_payload(b"\0" * n)

    def close(self) -> None:
        self.running = False
        self.reader.join(1)
        self.port.close()
        if self.log is not None:
            self.log.close()


def history_file() -> str:
    return os.environ.get("ATMODEM_CONSOLE_HISTORY") or os.path.join(os.path.expanduser("~"), ".atmodem_console_history")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.console", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", help="serial device or pyserial URL (default: start the emulator)")
    p.add_argument("--dialect", choices=names(), default="nm28", help="the emulator's module")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a final answer before the next prompt")
    p.add_argument("--guard", type=float, default=1.0, help="+++ guard time in seconds")
    a = p.parse_args(argv)
    emu = None
    port = a.port
    if port is None:
        from tools.emulator import Emulator

        emu = Emulator(a.dialect, guard_time=a.guard).start()
        emu.wait_idle()
        port = emu.path
        print("emulated %s on %s (booted, echo on)" % (a.dialect.upper(), port))
    try:
        line = atmodem.hal.open_serial(port, baudrate=a.baud)
    except (OSError, ValueError) as err:
        print("%s: error: %s" % (p.prog, err), file=sys.stderr)
        return 1
    if readline is not None:
        try:
            readline.read_history_file(history_file())
        except OSError:
            pass
    print("type AT commands; `help` for the console's own")
    con = Console(line, wait=a.wait, guard=a.guard).start()
    try:
        con.run()
    finally:
        con.close()
        if readline is not None:
            try:
                readline.write_history_file(history_file())
            except OSError:
                pass
        if emu is not None:
            emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
