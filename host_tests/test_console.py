"""The AT console as a person uses it: the console process on a pseudo-terminal, keys typed
into it, the screen read back; the emulator behind it. Plus its decoder, fed byte by byte."""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from typing import List, Optional

import pytest

from tools import console, loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|[\x07\x08]")
try:
    import readline  # noqa: F401

    HAVE_READLINE = True
except ImportError:
    HAVE_READLINE = False


class Terminal:
    """A console process on a pseudo-terminal: type() keys, expect() text on the screen."""

    def __init__(self, args: List[str], home: str):
        self.home = home
        self.fd, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        env = dict(os.environ, TERM="xterm", INPUTRC="/dev/null", HOME=home,
                   ATMODEM_CONSOLE_HISTORY=os.path.join(home, "history"))
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.console"] + args, cwd=ROOT, env=env,
                                     stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.raw = ""
        self.seen = 0  # expect() looks after what it matched last

    @property
    def screen(self) -> str:
        """The text as a terminal shows it: a carriage return starts the line over (the
        console prints a URC over the prompt line, then draws the prompt again)."""
        lines = self.raw.split("\n")
        return "\n".join(ESCAPES.sub("", line.rstrip("\r").rsplit("\r", 1)[-1]) for line in lines)

    def _read(self, timeout: float) -> None:
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                self.raw += os.read(self.fd, 65536).decode("latin-1")
            except OSError:  # the process ended
                time.sleep(timeout)

    def expect(self, pattern: str, timeout: float = 10.0) -> "re.Match[str]":
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            screen = self.screen
            m = rx.search(screen, self.seen)
            if m:
                # The last line may still be redrawn: look at it again next time.
                end = screen.find("\n", m.end())
                self.seen = m.end() if end >= 0 else screen.rfind("\n", 0, m.end()) + 1
                return m
            if time.monotonic() > deadline:
                raise AssertionError("no %r on the screen; after the last match:\n%s" % (pattern, screen[self.seen:]))
            self._read(0.05)

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode("latin-1"))

    def command(self, line: str, answer: str) -> None:
        """At the AT> prompt, type a line and wait for answer."""
        self.expect(r"AT> $|AT> ")
        self.type(line + "\r")
        self.expect(answer)

    def close(self) -> None:
        if self.proc.poll() is None:
            # Not Ctrl-D: typed before readline has the terminal, the tty driver eats it.
            self.type(":quit\r")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.fd)


@pytest.fixture
def terminal(tmp_path):
    made: List[Terminal] = []

    def make(*args: str) -> Terminal:
        t = Terminal(list(args), str(tmp_path))
        made.append(t)
        return t

    yield make
    for t in made:
        t.close()


def received(emu) -> bytes:
    return emu.transcript("<")


def test_nm28_send_prompt_urcs_local_commands_and_hex(terminal, emulator, echo_server):
    emu = emulator("nm28")
    emu.wait_idle()
    t = terminal("--port", emu.path)
    t.command("help", r"local commands \(never sent to the module\)")
    log = os.path.join(t.home, "line.log")
    t.command(":log " + log, r"\(logging to ")
    t.command(":baud 9600", r"\(port at 9600 baud\)")
    t.command("AT+CGREG=1", r"< OK")
    t.command(":log", r"\(logging stopped\)")
    with open(log) as f:
        logged = f.read()
    assert " > b'AT+CGREG=1\\r'\n" in logged and "OK" in logged, logged
    t.command('AT+IPOPEN=1,"TCP","127.0.0.1",%d,0,0' % echo_server.port,
              r"! \+IPOPEN: 1,0   the open's result, 0 ok")
    t.command("AT+IPSEND=1,5", r"< NETWRITE: 1,5\n  < CONNECT   \(send prompt: type the payload\)")
    t.expect(r"payload, 5 bytes as text> ")
    t.type("hello\r")
    t.expect(r"< SEND SUCCESS\n  < OK")
    t.expect(r'! \+IPURC: "recv",1,5   data pushed for a socket: <len> raw bytes follow the line\n  ! 5 bytes pushed for socket 1: hello')
    # Nothing typed: URCs show as they arrive (a download, a registration change).
    t.expect(r"AT> ")
    echo_server.clients[0].sendall(b"download\r\nOK\r\n")
    t.expect(r'! 14 bytes pushed for socket 1: download\\r\\nOK\\r\\n')
    emu.set_registration(5)
    t.expect(r"! \+CGREG: 5   registration: 1 home, 5 roaming")
    # Hex payload entry, and a payload of the wrong length is asked for again.
    t.command(":hex", r"\(payloads and data typed as hex\)")
    t.command("AT+IPSEND=1,3", r"CONNECT")
    t.expect(r"payload, 3 bytes as hex> ")
    t.type("4142\r")
    t.expect(r"\? that is 2 bytes; the module waits for exactly 3")
    t.type("41 42 0a\r")
    t.expect(r"< SEND SUCCESS")
    t.expect(r"! 3 bytes pushed for socket 1: AB\\n")
    sent = received(emu)
    assert b"help" not in sent and b":hex" not in sent and b":log" not in sent and b"4142" not in sent, sent
    assert b"hello" in sent and b"AB\n" in sent


def test_transparent_data_mode_and_escape(terminal, emulator, echo_server):
    emu = emulator("nm28", guard_time=0.2)
    emu.wait_idle()
    t = terminal("--port", emu.path, "--guard", "0.3")
    t.command('AT+IPOPEN=1,"TCP","127.0.0.1",%d,0,0' % echo_server.port, r"! \+IPOPEN: 1,0")
    t.command("AT+IPSWTMD=1,2", r"< CONNECT\n  \(data mode: each line goes to the socket; \+\+\+ alone leaves\)")
    t.expect(r"data> ")
    t.type("ping\r")
    t.expect(r"< data: ping(\\r\\n|\n  < data: \\r\\n)")  # in one piece or two, as it came
    t.expect(r"data> ")
    t.type("+++\r")
    t.expect(r"< OK\n")
    t.command("AT+IPSTATE=1,1", r"< \+IPSTATE: 1,TCP,127\.0\.0\.1,%d,0,2,2" % echo_server.port)
    assert b"ping\r\n+++" in received(emu) and b"+++\r" not in received(emu)


@pytest.mark.skipif(not HAVE_READLINE, reason="no readline in this Python")
def test_history_and_line_editing_through_readline(terminal, emulator):
    emu = emulator("nm28")
    emu.wait_idle()
    t = terminal("--port", emu.path)
    t.command("AT+CSQ", r"< \+CSQ: 31,99\n  < OK")
    t.command("ATI", r"< Yuge")
    t.expect(r"AT> ")
    t.type("\x1b[A\x1b[A\r")  # Up twice: AT+CSQ again
    t.expect(r"< \+CSQ: 31,99\n  < OK")
    t.command("AT+CGREG=1", r"< OK")
    t.expect(r"AT> ")
    t.type("AT+CQ\x1b[D")  # Left: the cursor between C and Q
    t.expect(r"AT> AT\+CQ")
    emu.set_registration(5)  # a URC while the line is half typed
    t.expect(r"! \+CGREG: 5   registration")
    t.type("S\r")  # inserted where the cursor was
    t.expect(r"< \+CSQ: 31,99\n  < OK")
    assert received(emu).count(b"AT+CSQ\r") == 3, received(emu)
    t.expect(r"AT> ")
    t.type(":quit\r")
    assert t.proc.wait(10) == 0
    with open(os.path.join(t.home, "history")) as f:  # kept for the next session
        assert "AT+CSQ" in f.read()


def test_l610_prompt_and_raw_receive_format_on_the_built_in_emulator(terminal, echo_server):
    t = terminal("--dialect", "l610")
    t.expect(r"emulated L610 on /dev/")
    t.command('AT+MIPCALL=1,"cmnet"', r"! \+MIPCALL: 10\.166\.80\.147   the data bearer")
    t.command('AT+GTSET="IPRFMT",2', r"< OK")
    t.command('AT+MIPOPEN=1,,"127.0.0.1",%d,0' % echo_server.port, r"! \+MIPOPEN: 1,1   the open's result")
    t.command("AT+MIPSEND=1,5", r"< >   \(send prompt: type the payload\)")
    t.expect(r"payload, 5 bytes as text> ")
    t.type(r"a\r\nb\x00" + "\r")  # escapes: CR LF and a NUL inside the payload
    t.expect(r"< \+MIPSEND: 1,0,2048")
    t.expect(r"< OK")
    t.expect(r"! 5 bytes pushed for socket 1: a\\r\\nb\\x00")


def test_piped_input_without_a_terminal():
    r = subprocess.run([sys.executable, "-m", "tools.console", "--dialect", "l610"], input="ATI\nhelp\n",
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "< Fibocom\n  < L610\n" in r.stdout and "local commands" in r.stdout, r.stdout + r.stderr


def feed_all(chunks: List[bytes], dec: Optional[console.Decoder] = None) -> list:
    dec = dec or console.Decoder()
    events = []
    for c in chunks:
        events += dec.feed(c)
    return events


def merged(events: list) -> list:
    """Transparent data may arrive in any number of pieces: join adjacent raw events."""
    out: list = []
    for e in events:
        if out and e[0] == "raw" and out[-1][0] == "raw":
            out[-1] = ("raw", out[-1][1] + e[1], "")
        else:
            out.append(e)
    return out


@pytest.mark.parametrize("iprfmt,stream", [
    (0, b'\r\nOK\r\n\r\n+IPURC: "recv",1,6\r\nab\r\nOK\r\n\r\nIPREAD: 1\r\n\r\n+IPRD: 1,4\r\n\r\n\r\n\r\nOK\r\n'),
    (2, b"\r\n+MIPRTCP: 1,5,\r\nOK\n\r\n+MIPRUDP: 10.0.0.1,5000,2,3,a\nb\r\n\r\n+MIPREAD: 1,15\r\n"),
    (0, b"\r\nCONNECT\r\nraw\r\nOK\r\n data\r\nNO CARRIER\r\n\r\n+MIPSTAT: 1,1\r\n"),
])
def test_decoder_frames_alike_however_the_bytes_are_split(iprfmt, stream):
    def decoder():
        d = console.Decoder()
        d.inline = iprfmt == 2  # as after AT+GTSET="IPRFMT",2 typed in the console
        return d

    whole = merged(feed_all([stream], decoder()))
    bytewise = merged(feed_all([stream[i:i + 1] for i in range(len(stream))], decoder()))
    assert whole == bytewise
    kinds = [e for e in whole if e[0] in ("data", "raw")]
    assert kinds, whole
    if iprfmt == 2:
        assert ("data", b"\r\nOK\n", "pushed for socket 1") in whole
        assert ("data", b"a\nb", "pushed for socket 2") in whole
        assert ("line", b"+MIPREAD: 1,15", "") in whole


def test_decoder_prompts_only_for_a_pending_send():
    d = console.Decoder()
    assert d.feed(b"\r\nCONNECT\r\n") == [("line", b"CONNECT", ""), ("data mode", b"", "")]
    d = console.Decoder()
    d.send_pending = ">"
    assert d.feed(b"\r\n>") == [("prompt", b">", "")]
    assert d.send_pending == "" and not d.data_mode


@pytest.mark.parametrize("dialect", ["nm28", "l610"])
def test_ctrl_c_at_the_payload_prompt_ends_the_send_before_the_next_command(terminal, emulator, echo_server, dialect):
    """Neither module documents a way to cancel a send prompt: it waits for exactly <len>
    bytes. Ctrl-C sends the bytes still owed (NULs), says so and waits for the module's
    answer, so the next command is a command again, not socket data."""
    import signal

    emu = emulator(dialect)
    emu.wait_idle()
    t = terminal("--port", emu.path)
    if dialect == "nm28":
        t.command('AT+IPOPEN=1,"TCP","127.0.0.1",%d,0,0' % echo_server.port, r"! \+IPOPEN: 1,0")
        t.command("AT+IPSEND=1,5", r"CONNECT   \(send prompt")
        done = r"< SEND SUCCESS\n  < OK"
    else:
        t.command('AT+MIPCALL=1,"cmnet"', r"! \+MIPCALL: ")
        t.command('AT+MIPOPEN=1,,"127.0.0.1",%d,0' % echo_server.port, r"! \+MIPOPEN: 1,1")
        t.command("AT+MIPSEND=1,5", r"< >   \(send prompt")
        done = r"< \+MIPSEND: 1,0,\d+(\n.*)*\n  < OK"
    t.expect(r"payload, 5 bytes as text> ")
    # Ctrl-C. A signal that lands after readline drew the prompt but before it waits for a
    # key is noticed only at the next interruption (CPython's readline loop): send another
    # then. Pending signals raise one KeyboardInterrupt.
    for attempt in range(10):
        t.proc.send_signal(signal.SIGINT)
        try:
            t.expect(r"sending the 5 bytes the module still waits for as NUL", timeout=1 if attempt < 9 else 10)
            break
        except AssertionError:
            if attempt == 9:
                raise
    t.expect(done)
    # Typed without waiting for the prompt: the echo of the NULs comes back as a URC at
    # about the moment the prompt is drawn, and whether the redraw after it shows on the
    # screen is not what this test is about (the tty holds the keys for readline).
    t.type("AT\r")
    t.expect(r"< OK")
    sent = received(emu)
    assert b"\x00" * 5 + b"AT\r" in sent, sent
    assert t.proc.poll() is None
