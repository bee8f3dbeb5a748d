"""Data (transparent) mode on the byte stream: every byte is the socket's, until the
module's own end of data mode (NO CARRIER and the socket's closed URC, which it writes in
one go) or, while we escape, its OK. A tail that could begin either is held back until more
bytes decide it, or the line goes quiet (then it was data)."""
from .compat import const

_LF = const(10)
_OK_LINE = b"\r\nOK\r\n"


class DataStream:
    def __init__(self):
        self.target = None  # the socket's inbox while data mode lasts
        self.term = b""
        self.watch_ok = False  # escaping: an OK in the stream ends data mode
        self.escaped = False  # ... and it came
        self.skip_lf = False
        self.full = False

    def enter(self, target, terminator, after_cr):
        self.target = target
        self.term = terminator
        self.watch_ok = False
        self.escaped = False
        self.skip_lf = after_cr  # entered at the CR of CONNECT / +MIPODM: its LF is not data

    def leave(self):
        self.target = None
        self.watch_ok = False

    def _undecided(self, data, i, n):
        """Length of the tail of data[i:n] that could begin the terminator or the OK."""
        term = self.term
        span = max(len(term), 6 if self.watch_ok else 0) - 1
        j = data.find(b"\r", max(i, n - span), n) if span > 0 else -1
        while j >= 0:
            tail = bytes(data[j:n])
            if term.startswith(tail) or (self.watch_ok and _OK_LINE.startswith(tail)):
                return n - j
            j = data.find(b"\r", j + 1, n)
        return 0

    def feed(self, data, mv, i, n, final):
        """Deliver data[i:n]; return where it stopped (full: the target took no more)."""
        self.full = False
        if self.skip_lf:
            self.skip_lf = False
            if data[i] == _LF:
                return i + 1
        t = self.target
        if t is None:
            return i
        term = self.term
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
                self.full = True
                return i + took
        if ok >= 0 and stop == ok:
            self.target = None
            self.watch_ok = False
            self.escaped = True
            return ok + 6
        if end >= 0 and stop == end:
            self.target = None
            t.rx_data_end()
            return end  # NO CARRIER and the closed URC are framed as lines
        return stop
