"""The AT engine, sans-I/O: fed bytes in any fragmentation, it frames lines, prompts and
length-driven binary payloads, matches them to the command in flight, and hands every
other line to the handler as a URC. No I/O, no clock: a runner drives it.

The handler (a dialect) is read in place (no copy of a line):
- headers: ((prefix, fn), ...): fn(buf, s, i, e) for a complete line buf[s:e] that starts
  with prefix (i: just after it); it may announce raw bytes (expect()). True when handled.
- inline(buf, s, e) -> where the raw bytes start (> 0), 0 (need more) or -1 (not inline):
  a line whose raw bytes start after a comma on the same line (L610 `+MIPRTCP: <id>,<len>,
  <raw>`); buf[s:e] is what has arrived of it.
- urc(line), echo(line): anything that is not the pending command's.
- overflow(buf, s, e): a line longer than the line buffer was dropped; buf[s:e] is its start.
- framing(target, why, tail): a payload's framing failed (framing.py).
Payloads go to targets (framing.Target), staged until their framing checks; data mode is
datastream.py. A target that takes fewer bytes than offered is full: feed() stops there
(`blocked`) and the rest stays in the UART until the program makes room. That is the
back-pressure: nothing is dropped.
"""
from .command import ERRORS, OK
from .compat import const
from .framing import Payload

_CR = const(13)
_LF = const(10)
_SP = const(32)
_GT = const(62)
_O = const(79)
_K = const(75)


class Engine:
    def __init__(self, handler, line_max=2200):
        self.h = handler
        self._max = 0
        self._ln = 0
        self.line_room(line_max)
        self._last_cr = False
        self.pay = Payload(self)
        self.data = None  # datastream.DataStream, made when data (transparent) mode is first entered
        self.reset()
        self.pending = None  # the command in flight (command.Command)
        self.inline_prefix = b""
        # the header prefixes, for one quick test per line (headers says which matched)
        self.header_prefixes = ()  # type: tuple
        self.headers = ()  # type: tuple
        self.urc_prefixes = ()  # type: tuple
        self.line_starts = (b"OK\r",)  # what a module's line may start with (Dialect.install)
        self.blocked = False  # the last feed stopped at a payload whose target is full
        self.overflows = 0
        self.echoes = 0
        self.echo_on = True  # the modem clears it after ATE0
        # After ATE0: a command answered without its echo shows echo really is off, and
        # only then is an echo evidence of a reset; a module that keeps echoing is served
        # (its echoes are stripped) and its echoes prove nothing.
        self.echo_off_seen = False
        self.echo_ignored = False
        self.notice = None  # something the modem should say once (Modem.warn)

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
        self.skip_lf = False
        self._scan = False
        self.pay.clear()

    def start(self, command):
        self.pending = command

    # ---------------------------------------------------------------- payloads (framing.py)
    def expect(self, target, n, push=True):
        """From the handler: the next n raw bytes are target's, staged until what follows
        confirms them (push: they came in a URC; else in a read's answer)."""
        self.pay.expect(target, n, push)

    def need(self):
        """Bytes of the current payload still to come (0 between payloads)."""
        return self.pay.need

    def direct(self):
        """The target of a payload under way, when its next bytes may be read from the port
        straight into it (Line.service asks rx_region; then landed)."""
        p = self.pay
        return p.target if p.need and not self.skip_lf else None

    def landed(self, n):
        """n bytes of the payload under way went straight into its target."""
        p = self.pay
        p.need -= n
        if not p.need:
            p.arrived()

    def receiving(self):
        """The target of a payload that is not complete yet (None between payloads)."""
        p = self.pay
        return p.target if p.need else None

    def framing_state(self):
        """0: nothing waits on the line; 1: a payload only waits for the next byte (or the
        line going quiet) to be confirmed; 2: a payload, what confirms it, or a line is
        still arriving (and must not stall)."""
        st = self.pay.state()
        return st if st or not self._ln else 2

    def quiet(self):
        """The line has been quiet long enough (Line decides how long)."""
        if self.pay.state():
            self.pay.quiet()
            return
        if self._ln:
            # a line that stopped in the middle: the module never pauses inside one
            head = bytes(self._lmv[: min(self._ln, 40)])
            self._ln = 0
            self._over = False
            self._scan = False
            if self.header_prefixes and head.startswith(self.header_prefixes):
                self.pay.fail("a data header cut short (%r)" % head, b"")

    def answers(self):
        """What the command in flight's own lines start with (its info lines, its prompt)."""
        p = self.pending
        if p is None or p.done:
            return ()
        pre = p.prefix
        out = pre if isinstance(pre, tuple) else (pre,) if pre else ()
        return out + (p.prompt,) if p.prompt else out

    def line_at(self, data, i, n):
        """data[i:n] starts a line of the module's: a URC or header it sends, a final
        result, or a line of the command in flight."""
        return data.startswith(self.line_starts, i, n) or data.startswith(self.answers() or (b"\x00\x00",), i, n)

    def echo_at(self, data, i, n):
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

    # ---------------------------------------------------------------- data mode (datastream.py)
    def enter_data(self, target, terminator):
        """From the next byte on, everything is target's until terminator (the module's
        own end of data mode) or, while escaping, an OK."""
        after_cr = self._last_cr
        self.reset()
        if self.data is None:
            from .datastream import DataStream

            self.data = DataStream()
        self.data.enter(target, terminator, after_cr)

    def leave_data(self):
        """Back to lines (escape confirmed by other means)."""
        if self.data is not None:
            self.data.leave()

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
        pay = self.pay
        while i < n:
            if pay.need:
                if self.skip_lf:
                    self.skip_lf = False
                    if data[i] == _LF:
                        i += 1
                        continue
                k = pay.need if pay.need < n - i else n - i
                took = pay.target.rx_write(mv, i, k)
                pay.need -= took
                i += took
                if took < k:
                    self.blocked = True
                    return i
                if not pay.need:
                    pay.arrived()
                continue
            if pay.ti >= 0:
                i = pay.check(data, i, n, final)
                if pay.undecided:
                    return i  # held back: more bytes (or the line going quiet) decide
                continue
            dat = self.data  # (made by enter_data, which a line of this very chunk may call)
            if dat is not None and dat.target is not None:
                i = dat.feed(data, mv, i, n, final)
                if dat.target is not None:
                    self.blocked = dat.full
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
            for pre, fn in self.headers:
                if buf.startswith(pre, s, e):
                    if fn(buf, s, s + len(pre), e):
                        # the LF after a header's CR is not its payload's; a header that
                        # starts no payload (a data-waiting URC) leaves its LF to the line
                        # reader, else a later inline payload would lose a leading LF to it
                        self.skip_lf = by_cr and self.pay.need > 0
                        return
                    break
        if p is not None and not p.done:
            if p.scan is not None and p.scan(p, buf, s, e):
                return
            pr = p.prompt
            if pr is not None and not p.prompted and e - s == len(pr) and buf.startswith(pr, s, e):
                self._prompted(p, pr)  # CONNECT, read in place
                return
        self._dispatch(bytes(mv[s:e]))

    def _prompted(self, p, line):
        p.prompted = True
        if p.on_connect is not None:
            p.finish(line)
            p.on_connect()

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
            if line.startswith(ERRORS):
                p.finish(line)
                return
            if p.prompt is not None and line == p.prompt and not p.prompted:
                self._prompted(p, line)
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
