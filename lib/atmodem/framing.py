"""Length-framed payloads, verified: a header announces n bytes; they are staged in their
target, and committed only once what follows confirms the count. A mismatch, or a payload
that stalls while the line is quiet, fails it (the handler's framing()), and nothing of it
is delivered. Owned by the engine (at.py), which hands it the bytes of a payload.

What confirms a payload: a read's answer is followed by CR LF and its OK, nothing else.
Pushed data (a URC) ends with CR LF, its trailer, then a line starts (CR LF, the O of an
OK, our own echo) or the line goes quiet. Firmware that sends no trailer is recognised
from an intact payload followed straight by a line of the module's (docs/real-modules.md,
trailers)."""
from .compat import const

_CR = const(13)
_LF = const(10)
_O = const(79)
TRAILER_CRLF = const(1)
TRAILER_NONE = const(2)


class Target:
    """A payload target. This one owns nothing (an unknown id): what it gets is consumed
    to stay in sync.

    rx_write(mv, i, k) -> how many of mv[i:i+k] it took (staged); fewer means full, and the
    engine stops there (the rest waits in the UART: that is the back-pressure). rx_end():
    the framing checked, commit. rx_abort(err): it did not; drop what was staged."""

    rx_addr = None  # type: tuple | None

    # (one function per behaviour, under each name that has it: a function is RAM on a board)
    def rx_write(self, mv, i, k):
        """Takes all: rx_write(mv, i, k) and rx_data(mv, i, k), data mode's bytes (no
        framing: the target's at once)."""
        return k

    rx_data = rx_write

    def rx_end(self, *_):
        """Nothing to do: rx_end() (commit), rx_abort(err) (drop what was staged),
        rx_spill() (give up what cannot be held), rx_data_end() (data mode is over)."""

    rx_abort = rx_spill = rx_data_end = rx_end

    def rx_region(self, *_):
        """None: rx_region(k), where the next up to k bytes may be read straight from the
        port (a writable memoryview; rx_landed(n) after), so they go through rx_write;
        rx_ends_with_line(prefixes), whether the staged payload's last bytes hold CR LF and
        then one of prefixes (False)."""
        return None

    rx_ends_with_line = rx_region

    def rx_staged(self):
        return b""

    def rx_ends_crlf(self):
        """The staged payload ends in CR LF (so it may have eaten its trailer)."""
        return True


DISCARD = Target()


class Payload:
    """The payload under way, and whether what followed it has confirmed it yet."""

    def __init__(self, engine):
        self.e = engine
        self.trailer = TRAILER_CRLF  # until an intact payload shows this firmware sends none
        self.silent = 0  # payloads after which nothing came at all
        self.errors = 0
        self.clear()

    def clear(self):
        self.target = DISCARD
        self.need = 0  # bytes still to come
        self.size = 0  # the announced length
        self.push = True  # it came in a URC (else in a read's answer)
        self.ti = -1  # >= 0: checking what follows it (this many bytes of CR LF seen)
        self.ends_crlf = False  # its last bytes are CR LF (see check)
        self.undecided = False  # what follows it is too short to judge yet

    def expect(self, target, n, push):
        if n > 0:
            self.target = target
            self.need = self.size = n
            self.push = push
        else:
            target.rx_end()

    def arrived(self):
        """The last byte of the payload is in: what follows is checked next."""
        self.ti = 0
        self.ends_crlf = self.push and self.target.rx_ends_crlf()

    def state(self):
        """0: between payloads; 1: a payload is in and only the next byte (or the line
        going quiet) can confirm it; 2: a payload or what confirms it is still arriving."""
        if self.need:
            return 2
        ti = self.ti
        if ti < 0:
            return 0
        if not self.push or ti == 1 or self.undecided:
            return 2  # a read's answer (its OK must follow), half a CR LF, or half a line
        if ti == 2 or self.trailer == TRAILER_NONE:
            return 1  # (with CR LF due, its absence is waited out: a late one is fine)
        return 2

    def quiet(self):
        """The line has been quiet long enough: confirm what only waited for the next byte,
        fail what has stalled."""
        st = self.state()
        if st == 1:
            self.confirm()
        elif st == 2:
            if self.push and self.ti == 0 and not self.ends_crlf and self.trailer == TRAILER_CRLF:
                # Complete, and nothing after it: firmware that sends no trailer, a trailer
                # late by a second, or one the UART lost. Its own bytes are sound: had any
                # been lost, the count would have taken the trailer's (it would end in CR
                # LF) or still be short; bytes inserted would leave the rest after it.
                # Twice is that firmware.
                self.silent += 1
                if self.silent >= 2:
                    self.trailer = TRAILER_NONE
                    self.e.notice = "this firmware ends pushed data without CR LF (twice nothing came after a payload)"
                self.confirm()
                return
            self.fail("a %d-byte payload stalled: %d bytes%s came, then the line went quiet"
                      % (self.size, self.size - self.need, " and part of CR LF" if self.ti > 0 else ""), b"")

    def confirm(self):
        """Pushed data whose end checked: one last look, since a payload that lost bytes and
        ate whole lines after it ends where one of them ended: its last bytes then hold a CR
        LF and the start of a line of the module's. True when committed."""
        if self.target.rx_ends_with_line(self.e.line_starts):
            self.fail("a %d-byte payload ends with what looks like a line of the module's "
                      "(bytes lost before it)" % self.size, b"")
            return False
        self.commit()
        return True

    def commit(self):
        t = self.target
        self.target = DISCARD
        self.ti = -1
        t.rx_end()

    def fail(self, why, tail):
        """What followed did not confirm it (tail: the rest of that line). The handler fails
        its socket; the engine goes on from the byte where this was noticed (a line that
        lost its leading CR LF to the payload is still a line)."""
        t = self.target
        self.clear()
        self.e.skip_lf = False
        self.errors += 1
        self.e.h.framing(t, why, tail)

    def check(self, data, i, n, final=False):
        """What follows a payload, from data[i:n]. Returns where line reading goes on (or,
        with undecided set, where the bytes that cannot be judged yet begin: the engine
        stops there until more come, or the line goes quiet: final)."""
        e = self.e
        self.undecided = False
        ti = self.ti
        if ti == 0:
            if i >= n:
                return n
            if data[i] != _CR:
                follows = e.echo_at(data, i, n) or (self.trailer == TRAILER_NONE and (data[i] == _LF or data[i] == _O))
                if self.push and follows and (self.trailer == TRAILER_NONE or not self.ends_crlf):
                    self.confirm()  # no trailer, and what follows starts a line
                else:
                    self._mismatch(data, i, n, "where CR LF should be")
                return i
            i += 1
            ti = 1
        if ti == 1:
            if i >= n:
                self.ti = 1
                return n
            if data[i] != _LF:
                self._mismatch(data, i, n, "where CR LF should be")
                return i
            i += 1
        self.ti = 2
        if i >= n:
            return n  # the next byte, or the line going quiet, decides
        b = data[i]
        if not self.push:
            while b == _CR or b == _LF:  # a blank line before the OK (a Quectel's read answer)
                i += 1
                if i >= n:
                    return n
                b = data[i]
            if b == _O:
                self.commit()
            else:
                self._mismatch(data, i, n, "after CR LF, where the read's OK should be")
            return i
        if b == _CR or b == _LF or b == _O or e.echo_at(data, i, n):
            self.confirm()  # the trailer, then a line (or an OK, or our echo) starts
        elif self.trailer == TRAILER_NONE or not self.ends_crlf:
            # That CR LF may have begun the next line: no trailer came. A payload that lost
            # two bytes and ate its trailer would end in CR LF; this one does not. Bytes
            # inserted into it would leave some of its own after it instead: so a line of
            # the module's must follow, and known by its start.
            if e.line_at(data, i, n):
                if self.confirm() and self.trailer == TRAILER_CRLF:
                    self.trailer = TRAILER_NONE
                    e.notice = "this firmware ends pushed data without CR LF; the next line's start confirms it"
            elif not final and self._may_start(data, i, n):
                self.undecided = True  # the rest of that line decides
            else:
                self._mismatch(data, i, n, "after CR LF, where a line of the module's starts")
        else:
            self._mismatch(data, i, n, "after CR LF, where a line starts")
        return i

    def _may_start(self, data, i, n):
        """data[i:n] is short and could still become one of the module's line starts."""
        k = n - i
        for pre in self.e.line_starts + self.e.answers():
            if k < len(pre) and data.startswith(pre[:k], i, n):
                return True
        return False

    def _mismatch(self, data, i, n, where):
        j = i
        while j < n and j < i + 120 and data[j] != _CR and data[j] != _LF:
            j += 1
        tail = bytes(data[i:j])
        self.fail("a %d-byte payload was followed by %r %s" % (self.size, tail[:12], where), tail)
