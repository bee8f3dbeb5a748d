"""The AT engine, sans-I/O: fed bytes in any fragmentation, it frames lines, prompts and
length-driven binary payloads, matches them to the command in flight, and hands every
other line to the handler as a URC. No I/O, no clock: the modem drives it.

The handler (a dialect) answers three questions:
- header(line) -> (target, n) or None: a complete line that announces n raw bytes.
- inline(partial) -> (target, n), None (need more) or False (not inline): a line whose raw
  bytes start after a comma on the same line (L610 `+MIPRTCP: <id>,<len>,<raw>`).
- urc(line): anything that is not the pending command's.
A payload target has rx_write(memoryview) and rx_end().
"""
from .compat import const

_CR = const(13)
_LF = const(10)
_SP = const(32)
_GT = const(62)

OK = b"OK"
ERROR = b"ERROR"
_ERRORS = (b"ERROR", b"+CME ERROR", b"+CMS ERROR", b"NO CARRIER")


class Discard:
    """Payload target for data nobody owns (unknown id): consumed to stay in sync."""

    rx_addr = None  # type: tuple | None

    def rx_write(self, mv):
        pass

    def rx_end(self):
        pass


DISCARD = Discard()


class Command:
    """One command in flight and what it has collected.

    prefix: info lines that belong to it (bytes or tuple); b"" takes any line that is not a
    known URC. prompt: b">" or b"CONNECT" before the payload. need: a line prefix that must
    be seen before the final OK counts (the L610 send confirmation may follow an early OK).
    """

    def __init__(self, text, prefix=None, prompt=None, need=None, on_connect=None):
        self.text = text
        self.prefix = prefix
        self.prompt = prompt
        self.need = need
        # A CONNECT that is the final result and starts data mode (ATO, AT+IPSWTMD=<id>,2):
        # on_connect() switches the engine before the next byte is read.
        self.on_connect = on_connect
        self.lines = []
        self.result = None
        self.done = False
        self.prompted = False

    def ok(self):
        return self.result == OK

    def first(self, prefix=None):
        """The first collected line (with prefix), its prefix and ': ' removed; None if absent."""
        for line in self.lines:
            if prefix is None or line.startswith(prefix):
                rest = line[len(prefix) :] if prefix else line
                return rest[1:].strip() if rest[:1] == b":" else rest.strip()
        return None


class Engine:
    def __init__(self, handler, line_max=2200):
        self.h = handler
        self._line = bytearray(line_max)
        self._lmv = memoryview(self._line)
        self._max = line_max
        # the payload target: any object with rx_write/rx_end, DISCARD when idle
        self._target = DISCARD  # type: Discard
        self.reset()
        self.pending = None
        self.inline_prefix = b""
        self.header_prefixes = ()  # type: tuple
        self.urc_prefixes = ()  # type: tuple
        self.data_target = None  # data (transparent) mode: every byte is the socket's
        self._term = b""  # what ends data mode from the module's side (NO CARRIER + URC)
        self._hold = b""  # a tail that may be the start of _term, not yet delivered
        self.watch_ok = False  # escaping: an OK in the stream ends data mode
        self.escaped = False
        self.overflows = 0
        self.echoes = 0
        self.echo_on = True  # the modem clears it after ATE0

    def reset(self):
        """Forget any partial line or payload (after a reboot or a resync)."""
        self._ln = 0
        self._over = False
        self._need = 0
        self._target = DISCARD
        self._skip_lf = False
        self._scan = False

    def start(self, command):
        self.pending = command

    def feed(self, data, n=-1):
        if n < 0:
            n = len(data)
        mv = memoryview(data)
        i = 0
        while i < n:
            if self._need:
                if self._skip_lf:
                    self._skip_lf = False
                    if data[i] == _LF:
                        i += 1
                        continue
                k = self._need if self._need < n - i else n - i
                self._target.rx_write(mv[i : i + k])
                self._need -= k
                i += k
                if not self._need:
                    t = self._target
                    self._target = DISCARD
                    t.rx_end()
                continue
            if self.data_target is not None:
                i = self._data(data, mv, i, n)
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
                    self._append(mv, i, c + 1)
                    i = c + 1
                    self._inline()
                    continue
            if e < 0:
                self._append(mv, i, n)
                return
            self._append(mv, i, e)
            i = e + 1
            self._end_line(data[e] == _CR)

    # ---------------------------------------------------------------- data mode
    def enter_data(self, target, terminator):
        """From the next byte on, everything is target's until terminator (the module's
        own end of data mode) or, while escaping, an OK."""
        skip = self._last_cr
        self.reset()
        self._skip_lf = skip  # entered at the CR of CONNECT / +MIPODM: its LF is not data
        self.data_target = target
        self._term = terminator
        self._hold = b""
        self.watch_ok = False
        self.escaped = False

    def leave_data(self):
        """Back to lines (escape confirmed by other means); held bytes were data."""
        self.flush_hold()
        self.data_target = None
        self.watch_ok = False

    def holding(self):
        return bool(self._hold)

    def flush_hold(self):
        """The line went quiet: a held tail was data after all."""
        t = self.data_target
        if self._hold and t is not None:
            h = self._hold
            self._hold = b""
            t.rx_write(memoryview(h))

    def _data(self, data, mv, i, n):
        """Deliver data[i:n] in data mode; return where line framing resumes (n if not)."""
        if self._skip_lf:
            self._skip_lf = False
            if data[i] == _LF:
                return i + 1
        if self._hold:
            joined = self._hold + bytes(mv[i:n])
            self._hold = b""
            rest = self._data(joined, memoryview(joined), 0, len(joined))
            if rest < len(joined):  # data mode ended inside: frame the rest as lines
                self.data_target = None
                self.feed(joined[rest:])
            return n
        t = self.data_target
        if t is None:
            return i
        term = self._term
        end = data.find(term, i, n) if term else -1
        ok = data.find(b"\r\nOK\r\n", i, n) if self.watch_ok else -1
        if ok >= 0 and (end < 0 or ok < end):
            if ok > i:
                t.rx_write(mv[i:ok])
            self.data_target = None
            self.watch_ok = False
            self.escaped = True
            return ok + 6
        if end >= 0:
            if end > i:
                t.rx_write(mv[i:end])
            self.data_target = None
            t.rx_data_end()
            return end  # NO CARRIER and the closed URC are framed as lines
        # Hold back a tail that could begin the terminator or the escape OK.
        keep = 0
        span = max(len(term), 6 if self.watch_ok else 0) - 1
        j = data.find(b"\r", max(i, n - span), n) if span > 0 else -1
        while j >= 0:
            tail = bytes(mv[j:n])
            if term.startswith(tail) or (self.watch_ok and b"\r\nOK\r\n".startswith(tail)):
                keep = n - j
                break
            j = data.find(b"\r", j + 1, n)
        if n - keep > i:
            t.rx_write(mv[i : n - keep])
        if keep:
            self._hold = bytes(mv[n - keep : n])
        return n

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
        if self._lmv[:m] != pre[:m]:
            self._scan = False
            return
        if ln < len(pre):
            return
        r = self.h.inline(bytes(self._lmv[:ln]))
        if r is None:
            return
        self._scan = False
        if r is False:
            return
        self._ln = 0
        self._begin(r)

    def _begin(self, r):
        target, n = r
        if n > 0:
            self._target = target
            self._need = n
        else:
            target.rx_end()

    def _end_line(self, by_cr):
        self._last_cr = by_cr
        ln = self._ln
        self._ln = 0
        self._scan = False
        if self._over:
            self._over = False
            self.overflows += 1
            return
        line = bytes(self._lmv[:ln])
        if self.header_prefixes and line.startswith(self.header_prefixes):
            r = self.h.header(line)
            if r is not None:
                self._skip_lf = by_cr
                p = self.pending
                if p is not None and p.prefix and line.startswith(p.prefix):
                    p.lines.append(line)
                self._begin(r)
                return
        self._dispatch(line)

    def _dispatch(self, line):
        p = self.pending
        if p is not None and not p.done:
            if line == p.text:
                if not self.echo_on:
                    self.h.echo(line)  # echo came back by itself: the module reset
                return
            if line == OK:
                if p.need is None:
                    p.result = line
                    p.done = True
                return
            if line.startswith(_ERRORS):
                p.result = line
                p.done = True
                return
            if p.prompt is not None and line == p.prompt and not p.prompted:
                p.prompted = True
                if p.on_connect is not None:
                    p.result = line
                    p.done = True
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
