"""The AT engine, sans-I/O: fed bytes in any fragmentation, it frames lines, prompts and
length-driven binary payloads, matches them to the command in flight, and hands every
other line to the handler as a URC. No I/O, no clock: a runner drives it.

The handler (a dialect) answers three questions, reading the line in place (no copy):
- header(buf, s, e) -> bool: buf[s:e] is a complete line that may announce raw bytes (or
  be a frequent URC worth reading in place); if it announces n bytes, the handler calls
  engine.expect(target, n). True when handled.
- inline(buf, s, e) -> where the raw bytes start (> 0), 0 (need more) or -1 (not inline):
  a line whose raw bytes start after a comma on the same line (L610 `+MIPRTCP: <id>,<len>,
  <raw>`); buf[s:e] is what has arrived of it.
- urc(line), echo(line): anything that is not the pending command's.
- overflow(buf, s, e): a line longer than the line buffer was dropped; buf[s:e] is its start.
- framing(target, why, tail): a payload's framing failed (what followed it was not its
  trailer and a line, or it stalled); tail is the rest of the line where that was seen.
A payload target has rx_write(mv, i, k) -> how many of mv[i:i+k] it took (staged), and
rx_end() once the framing checked (commit) or rx_abort(err) when it did not. A target that
takes fewer bytes than offered is full: feed() stops there (`blocked`) and the rest stays
in the UART until the program makes room. That is the back-pressure: nothing is dropped.

Framing is verified, never trusted: after the announced count, the module's trailer (CR
LF) must follow and then the start of a line; a mismatch, or a payload that stalls while
the line is quiet, fails that payload's socket and nothing of it is delivered.
"""
from .compat import const

_CR = const(13)
_LF = const(10)
_SP = const(32)
_GT = const(62)
_O = const(79)
_K = const(75)

OK = b"OK"
ERROR = b"ERROR"
_ERRORS = (b"ERROR", b"+CME ERROR", b"+CMS ERROR", b"NO CARRIER")
_OK_LINE = b"\r\nOK\r\n"
_CRLF = b"\r\n"
TRAILER_CRLF = const(1)
TRAILER_NONE = const(2)


class Target:
    """A payload target. This one owns nothing (an unknown id): what it gets is consumed
    to stay in sync."""

    rx_addr = None  # type: tuple | None

    def rx_write(self, mv, i, k):
        return k

    def rx_region(self, k):
        """Where the next up to k bytes of a payload may be read straight from the port (a
        writable memoryview; rx_landed(n) after), or None: they go through rx_write."""
        return None

    def rx_data(self, mv, i, k):
        """Data (transparent) mode: bytes with no framing, the target's at once."""
        return k

    def rx_end(self):
        """The payload's framing checked: commit what it brought."""

    def rx_staged(self):
        return b""

    def rx_ends_crlf(self):
        """The staged payload ends in CR LF (so it may have eaten its trailer)."""
        return True

    def rx_ends_with_line(self, prefixes):
        """The staged payload's last bytes hold CR LF and then one of prefixes."""
        return False

    def rx_abort(self, err):
        """The payload failed its framing: drop what it brought; err for the program."""

    def rx_spill(self):
        pass

    def rx_data_end(self):
        pass


DISCARD = Target()


class Command:
    """One command and what it has collected; also the step a flow yields to run it.

    prefix: info lines that belong to it (bytes or tuple); b"" takes any line that is not a
    known URC. prompt: b">" or b"CONNECT" before the payload. need: a line prefix that must
    be seen before the final OK counts (the L610 send confirmation may follow an early OK).
    check: an error result raises ATError in the flow that yielded it.
    """

    background = False  # nobody waits for it (at.Background)
    # A read: its answer's payload is read from the port straight into the socket (nothing
    # follows it on the line but the OK, so no batch is split). Pushed data is not: it comes
    # back to back, and a read that stops at each payload's end takes more passes.
    lands = False
    # reads (reused per socket) fill these in; wire: text + CR, precomputed
    sid = -1
    sock = None
    want = 0
    notes = 0

    def __init__(self, text, prefix=None, prompt=None, need=None, on_connect=None,
                 payload=None, timeout_ms=5000, check=True):
        self.text = text
        self.prefix = prefix
        self.prompt = prompt
        self.need = need
        # A CONNECT that is the final result and starts data mode (ATO, AT+IPSWTMD=<id>,2):
        # on_connect() switches the engine before the next byte is read.
        self.on_connect = on_connect
        self.payload = payload
        self.timeout_ms = timeout_ms
        self.check = check
        self.wire = None  # type: bytes | None
        self.lines = []
        self.reset()

    def reset(self):
        if self.lines:
            self.lines = []
        self.result = None  # type: bytes | None
        self.done = False
        self.doomed = False  # its payload failed its framing: it ends at its OK or a quiet line
        self.echoed = False
        self.prompted = False
        self.written = self.payload is None  # the payload has gone out (or there is none)
        self.got = -1  # a read's byte count, from its header
        self.deadline = 0

    def ok(self):
        return self.result == OK

    def finish(self, result):
        """The final result, at the byte it arrived (the engine calls this mid-feed)."""
        self.result = result
        self.done = True
        self.final()

    def final(self):
        """Hook: what must change at the very byte of the result (a receive format)."""

    def first(self, prefix=None):
        """The first collected line (with prefix), its prefix and ': ' removed; None if absent."""
        for line in self.lines:
            if prefix is None or line.startswith(prefix):
                rest = line[len(prefix) :] if prefix else line
                return rest[1:].strip() if rest[:1] == b":" else rest.strip()
        return None


def _as_bytes(value, what):
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))
    return bytes(value)


def user_command(text, prefix=None, prompt=None, payload=None, need=None, timeout_ms=5000,
                 check=True, on_connect=None):
    """A Command from what a program passes to modem.command(): str or bytes, checked
    before anything is marked in flight, so a bad argument leaves the line as it was."""
    text = _as_bytes(text, "command")
    if not text or b"\r" in text or b"\n" in text:
        raise ValueError("command must be one non-empty line without CR or LF, got %r" % (text,))
    if isinstance(prefix, (tuple, list)):
        prefix = tuple(_as_bytes(p, "prefix") for p in prefix)
    elif prefix is not None:
        prefix = _as_bytes(prefix, "prefix")
    if prompt is not None:
        prompt = _as_bytes(prompt, "prompt")
    if need is not None:
        need = _as_bytes(need, "need")
    if payload is not None:
        payload = _as_bytes(payload, "payload")
        if prompt is None:
            raise ValueError("a payload is written at a prompt: pass prompt= too")
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 0 < timeout_ms <= 2000000000:
        raise ValueError("timeout_ms must be a positive int, got %r" % (timeout_ms,))
    return Command(text, prefix, prompt, need, on_connect, payload, timeout_ms, check)


class Notify(Command):
    """A command whose owner hears its result (owner.command_done(c)) at the byte it
    arrives, before the engine reads on: a switch of receive format takes effect there."""

    def __init__(self, text, owner, prompt=None, on_connect=None, timeout_ms=5000, check=True):
        Command.__init__(self, text, prompt=prompt, on_connect=on_connect, check=check, timeout_ms=timeout_ms)
        self.owner = owner

    def final(self):
        self.owner.command_done(self)


class Background(Notify):
    """A command nobody waits for; its owner hears when it is done (or ran out of time)."""

    background = True

    def __init__(self, text, owner, prompt=None, on_connect=None, timeout_ms=5000):
        Notify.__init__(self, text, owner, prompt, on_connect, timeout_ms, check=False)


class Engine:
    def __init__(self, handler, line_max=2200):
        self.h = handler
        self._max = 0
        self._ln = 0
        self.line_room(line_max)
        self._target = DISCARD  # type: Target
        self._last_cr = False
        self.reset()
        self.pending = None  # type: Command | None
        self.inline_prefix = b""
        self.header_prefixes = ()  # type: tuple
        self.urc_prefixes = ()  # type: tuple
        self.line_starts = (b"+",)  # what a module's line may start with (Dialect.install)
        # data (transparent) mode: every byte is the socket's
        self.data_target = None  # type: Target | None
        self._term = b""  # what ends data mode from the module's side (NO CARRIER + URC)
        self.watch_ok = False  # escaping: an OK in the stream ends data mode
        self.escaped = False
        self.blocked = False  # the last feed stopped at a payload whose target is full
        self.overflows = 0
        self.frame_errors = 0
        self.echoes = 0
        self.echo_on = True  # the modem clears it after ATE0
        # Pushed data ends with CR LF (the manuals; every driver that reads it: docs/
        # real-modules.md, trailers) until an intact payload shows this firmware sends none.
        self.trailer = TRAILER_CRLF
        self._ends_crlf = False  # the payload just in ends with CR LF (see _check_trailer)
        self.notice = None  # something the modem should say once (Modem.warn)
        # After ATE0: a command answered without its echo shows echo really is off, and
        # only then is an echo evidence of a reset; a module that keeps echoing is served
        # (its echoes are stripped) and its echoes prove nothing.
        self.echo_off_seen = False
        self.echo_ignored = False

    def line_room(self, n):
        """Lines of up to n bytes can be read from now on (longer ones are dropped, counted
        and reported to the handler). Grown only when needed: it is heap on a board."""
        if n <= self._max:
            return
        old = self._line if self._max else None
        self._line = bytearray(n)
        self._lmv = memoryview(self._line)
        if old is not None and self._ln:
            self._line[: self._ln] = old[: self._ln]
        self._max = n

    def reset(self):
        """Forget any partial line or payload (after a reboot or a resync)."""
        self._ln = 0
        self._over = False
        self._need = 0
        self._target = DISCARD
        self._skip_lf = False
        self._scan = False
        self._size = 0  # the payload under way's announced length
        self._push = True  # ... and whether it came in a URC (else in a read's answer)
        self._ti = -1  # >= 0: checking what follows a payload (this many bytes of it seen)

    def start(self, command):
        self.pending = command

    def expect(self, target, n, push=True):
        """From the handler: the next n raw bytes are target's. They are staged until what
        follows confirms them: push data (a URC) ends with CR LF, or, on firmware that
        sends none, the next line starts; a read's answer is followed by CR LF and its OK.
        Anything else fails the payload (handler.framing)."""
        if n > 0:
            self._target = target
            self._need = self._size = n
            self._push = push
        else:
            target.rx_end()

    def need(self):
        """Bytes of the current payload still to come (0 between payloads)."""
        return self._need

    def direct(self):
        """The target of a payload under way, when its next bytes may be read from the port
        straight into it (Line.service asks rx_region; then landed)."""
        return self._target if self._need and not self._skip_lf else None

    def landed(self, n):
        """n bytes of the payload under way went straight into its target."""
        self._need -= n
        if not self._need:
            self._payload_in()

    def _payload_in(self):
        self._ti = 0  # what follows is checked next
        self._ends_crlf = self._push and self._target.rx_ends_crlf()

    def receiving(self):
        """The target of a payload that is not complete yet (None between payloads)."""
        return self._target if self._need else None

    def framing_state(self):
        """0: between payloads; 1: a payload is in and only the next byte (or the line
        going quiet) can confirm it; 2: a payload or its trailer is still arriving."""
        if self._need:
            return 2
        ti = self._ti
        if ti < 0:
            return 2 if self._ln else 0  # a line cut short is waited for too
        if not self._push or ti == 1:
            return 2  # a read's answer (its OK must follow), or half a CR LF
        if ti == 2 or self.trailer == TRAILER_NONE or not self._ends_crlf:
            return 1  # the next byte, or quiet, decides
        return 2

    def quiet(self):
        """The line has been quiet long enough (Line decides how long): a payload that
        only waited for the next byte is confirmed; one still arriving has stalled."""
        st = self.framing_state()
        if st == 1:
            self._confirm()
        elif not self._need and self._ti < 0:
            # a line that stopped in the middle: the module never pauses inside one
            head = bytes(self._lmv[: min(self._ln, 40)])
            self._ln = 0
            self._over = False
            self._scan = False
            if self.header_prefixes and head.startswith(self.header_prefixes):
                self._framing_error("a data header cut short (%r)" % head, b"")
        elif st == 2:
            self._framing_error("a %d-byte payload stalled: %d bytes%s came, then the line went quiet"
                                % (self._size, self._size - self._need, " and part of its trailer" if self._ti > 0 else ""), b"")

    def _confirm(self):
        """Pushed data whose end checked: one last look, since a payload that lost bytes
        and ate whole lines after it ends where one of them ended. Its last bytes then hold
        a CR LF and the start of a module's line (the eaten one): that is a framing error,
        not data. True when committed."""
        if self._target.rx_ends_with_line(self.line_starts):
            self._framing_error("a %d-byte payload ends with what looks like a line of the module's "
                                "(bytes lost before it)" % self._size, b"")
            return False
        self._commit()
        return True

    def _commit(self):
        t = self._target
        self._target = DISCARD
        self._ti = -1
        t.rx_end()

    def _framing_error(self, why, tail):
        """What followed a payload (tail: the rest of that line) did not confirm it. The
        handler fails its socket; the engine goes on from the byte where it noticed (a
        line that lost its leading CR LF to the payload is still a line)."""
        t = self._target
        self._target = DISCARD
        self._need = 0
        self._ti = -1
        self._skip_lf = False
        self.frame_errors += 1
        self.h.framing(t, why, tail)

    def _echo_at(self, data, i, n):
        """data[i:n] begins our own command's echo (a module that echoes does so at once,
        right after whatever it was sending)."""
        p = self.pending
        if p is None:
            return False
        t = p.text
        k = len(t) if len(t) < n - i else n - i
        for j in range(k):
            if data[i + j] != t[j]:
                return False
        return k > 0

    def _check_trailer(self, data, i, n):
        """After a payload: CR LF, then the start of a line. Returns where line reading goes
        on. A read's answer: CR LF and its OK, nothing else. Pushed data: its trailer (CR
        LF), or on firmware that sends none the next line's own CR LF. That both begin
        with CR LF leaves one doubt: a payload that lost two bytes ate its trailer. Such a
        payload ends in CR LF; one that does not is intact whatever follows, and tells
        which firmware this is (docs/real-modules.md, trailers)."""
        ti = self._ti
        if ti == 0:
            if i >= n:
                return n
            if data[i] != _CR:
                ok = self._echo_at(data, i, n) or (self.trailer == TRAILER_NONE and (data[i] == _LF or data[i] == _O))
                if self._push and ok and (self.trailer == TRAILER_NONE or not self._ends_crlf):
                    self._confirm()  # no trailer, and what follows starts a line
                else:
                    self._mismatch(data, i, n, "where CR LF should be")
                return i
            i += 1
            ti = 1
        if ti == 1:
            if i >= n:
                self._ti = 1
                return n
            if data[i] != _LF:
                self._mismatch(data, i, n, "where CR LF should be")
                return i
            i += 1
        self._ti = 2
        if i >= n:
            return n  # the next byte, or the line going quiet, decides
        b = data[i]
        if not self._push:
            if b == _O:
                self._commit()
            else:
                self._mismatch(data, i, n, "after CR LF, where the read's OK should be")
            return i
        if b == _CR or b == _LF or b == _O or self._echo_at(data, i, n):
            self._confirm()  # the trailer, then a line (or an OK, or our echo) starts
        elif self.trailer == TRAILER_NONE or not self._ends_crlf:
            # that CR LF began the next line: no trailer came, and the data is intact
            if self.trailer == TRAILER_CRLF and data.startswith(self.line_starts, i, n) and self._confirm():
                self.trailer = TRAILER_NONE
                self.notice = "this firmware ends pushed data without CR LF; the next line's start confirms it"
            else:
                self._confirm()
        else:
            self._mismatch(data, i, n, "after CR LF, where a line starts")
        return i

    def _mismatch(self, data, i, n, where):
        j = i
        while j < n and j < i + 120 and data[j] != _CR and data[j] != _LF:
            j += 1
        tail = bytes(data[i:j])
        self._framing_error("a %d-byte payload was followed by %r %s" % (self._size, tail[:12], where), tail)

    def feed(self, data, n=-1, i=0, mv=None, final=False):
        """Consume data[i:n]; return where it stopped. That is n, or earlier when a payload's
        target is full (`blocked`), or in data mode at a tail that may begin the module's
        end of data mode (give more bytes after it, or final=True once the line is quiet).
        A line that lies whole in data is read where it is; only a line split across
        feeds is copied."""
        if n < 0:
            n = len(data)
        if mv is None:
            mv = memoryview(data)
        self.blocked = False
        while i < n:
            if self._need:
                if self._skip_lf:
                    self._skip_lf = False
                    if data[i] == _LF:
                        i += 1
                        continue
                k = self._need if self._need < n - i else n - i
                took = self._target.rx_write(mv, i, k)
                self._need -= took
                i += took
                if took < k:
                    self.blocked = True
                    return i
                if not self._need:
                    self._payload_in()
                continue
            if self._ti >= 0:
                i = self._check_trailer(data, i, n)
                continue
            if self.data_target is not None:
                i = self._data(data, mv, i, n, final)
                if self.data_target is not None:
                    return i  # blocked, or an undecided tail
                continue
            ln = self._ln
            if ln == 0:
                b = data[i]
                if b == _CR or b == _LF or b == _SP:
                    i += 1
                    continue
                p = self.pending
                if b == _GT and p is not None and p.prompt == b">" and not p.prompted:
                    p.prompted = True
                    i += 1
                    continue
                self._scan = bool(self.inline_prefix) and b == self.inline_prefix[0]
            a = data.find(b"\r", i, n)
            e = data.find(b"\n", i, n)
            if a >= 0 and (e < 0 or a < e):
                e = a
            if self._scan:
                c = data.find(b",", i, n)
                if c >= 0 and (e < 0 or c < e):
                    r = self.h.inline(data, i, e if e >= 0 else n) if ln == 0 else 0
                    if r > 0:  # the whole header was here: read in place
                        self._scan = False
                        i = r
                        continue
                    if r == 0:
                        self._append(mv, i, c + 1)
                        i = c + 1
                        self._inline()
                        continue
                    self._scan = False
            if e < 0:
                self._append(mv, i, n)
                return n
            if ln == 0:
                self._line_at(data, mv, i, e, data[e] == _CR)
            else:
                self._append(mv, i, e)
                self._end_line(data[e] == _CR)
            i = e + 1
        return n

    # ---------------------------------------------------------------- data mode
    def enter_data(self, target, terminator):
        """From the next byte on, everything is target's until terminator (the module's
        own end of data mode) or, while escaping, an OK."""
        skip = self._last_cr
        self.reset()
        self._skip_lf = skip  # entered at the CR of CONNECT / +MIPODM: its LF is not data
        self.data_target = target
        self._term = terminator
        self.watch_ok = False
        self.escaped = False

    def leave_data(self):
        """Back to lines (escape confirmed by other means)."""
        self.data_target = None
        self.watch_ok = False

    def _undecided(self, data, i, n):
        """Length of the tail of data[i:n] that could begin the terminator or the OK."""
        term = self._term
        span = max(len(term), 6 if self.watch_ok else 0) - 1
        j = data.find(b"\r", max(i, n - span), n) if span > 0 else -1
        while j >= 0:
            tail = bytes(data[j:n])
            if term.startswith(tail) or (self.watch_ok and _OK_LINE.startswith(tail)):
                return n - j
            j = data.find(b"\r", j + 1, n)
        return 0

    def _data(self, data, mv, i, n, final):
        """Deliver data[i:n] in data mode; return where it stopped."""
        if self._skip_lf:
            self._skip_lf = False
            if data[i] == _LF:
                return i + 1
        t = self.data_target
        if t is None:
            return i
        term = self._term
        end = data.find(term, i, n) if term else -1
        ok = data.find(_OK_LINE, i, n) if self.watch_ok else -1
        if ok >= 0 and (end < 0 or ok < end):
            stop = ok
        elif end >= 0:
            stop = end
        else:
            stop = n if final else n - self._undecided(data, i, n)
        if stop > i:
            took = t.rx_data(mv, i, stop - i)
            if took < stop - i:
                self.blocked = True
                return i + took
        if ok >= 0 and stop == ok:
            self.data_target = None
            self.watch_ok = False
            self.escaped = True
            return ok + 6
        if end >= 0 and stop == end:
            self.data_target = None
            t.rx_data_end()
            return end  # NO CARRIER and the closed URC are framed as lines
        return stop

    # ---------------------------------------------------------------- lines
    def _append(self, mv, i, j):
        k = j - i
        ln = self._ln
        if ln + k > self._max:
            self._over = True
            k = self._max - ln
        if k > 0:
            self._lmv[ln : ln + k] = mv[i : i + k]
            self._ln = ln + k

    def _inline(self):
        ln = self._ln
        pre = self.inline_prefix
        m = len(pre) if ln >= len(pre) else ln
        if not self._line.startswith(pre[:m], 0, ln):
            self._scan = False
            return
        if ln < len(pre):
            return
        r = self.h.inline(self._line, 0, ln)
        if r == 0:
            return
        self._scan = False
        if r > 0:
            self._ln = 0

    def _end_line(self, by_cr):
        """A line that was copied piece by piece is complete."""
        ln = self._ln
        self._ln = 0
        if self._over:
            self._over = False
            self._scan = False
            self._last_cr = by_cr
            self.overflows += 1
            self.h.overflow(self._line, 0, self._max)
            return
        self._line_at(self._line, self._lmv, 0, ln, by_cr)

    def _line_at(self, buf, mv, s, e, by_cr):
        """The complete line buf[s:e], read in place."""
        self._last_cr = by_cr
        self._scan = False
        if e - s > self._max:
            self.overflows += 1
            self.h.overflow(buf, s, s + self._max)
            return
        p = self.pending
        if e - s == 2 and buf[s] == _O and buf[s + 1] == _K:  # the commonest line
            if p is not None and not p.done and p.need is None:
                p.finish(OK)
            return
        if self.header_prefixes and buf.startswith(self.header_prefixes, s, e):
            if self.h.header(buf, s, e):
                # the LF after a header's CR is not its payload's; a header that starts no
                # payload (a data-waiting URC) leaves its LF to the line reader, else a
                # later inline payload would lose a leading LF to it
                self._skip_lf = by_cr and self._need > 0
                return
        self._dispatch(bytes(mv[s:e]))
    def _dispatch(self, line):
        p = self.pending
        if p is not None and not p.done:
            if line == p.text:
                p.echoed = True
                if not self.echo_on:
                    if self.echo_off_seen:
                        self.h.echo(line)  # echo came back by itself: the module reset
                    elif not self.echo_ignored:
                        self.echo_ignored = True
                        self.notice = ("the module keeps echoing after ATE0: echoes are stripped, and "
                                       "only boot messages count as signs of a reset")
                return
            if line.startswith(_ERRORS):
                p.finish(line)
                return
            if p.prompt is not None and line == p.prompt and not p.prompted:
                p.prompted = True
                if p.on_connect is not None:
                    p.finish(line)
                    p.on_connect()
                return
            pre = p.prefix
            if pre is not None and (line.startswith(pre) if pre else not line.startswith(self.urc_prefixes)):
                p.lines.append(line)
                if p.need is not None and line.startswith(p.need):
                    p.need = None  # the confirmation is in: the next OK is final
                return
        if line[:2] in (b"AT", b"at") and not line.startswith(self.urc_prefixes):
            self.echoes += 1  # an echo nobody waits for, or noise: only our own echo counts
            return
        self.h.urc(line)
