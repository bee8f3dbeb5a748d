"""The receive side of one socket: what has arrived (a byte ring, or whole datagrams), what
the module still holds for it, the end of the stream, and when to ask the module to hold.

It is the engine's payload target. A full ring takes fewer bytes than offered: the engine
stops and the rest waits in the UART (and, behind it, in the module and TCP's window)."""
from .framing import Target
from .errors import ENOBUFS, ModemError
from .ring import Ring

BURST = 4096  # twice the most pushed after deciding to hold, before the module obeyed (bench)


class Inbox(Target):
    def __init__(self, link, stream, cap):
        self.link = link
        self.stream = stream
        self.cap = cap
        self.ring = Ring(cap if stream else 1)  # datagrams keep a list instead
        # Push mode asks the module to hold above hw and to push again below lw. Between
        # the decision and the module obeying, up to BURST more bytes arrive (measured:
        # README, "Socket modes"); they fit in cap - hw, the rest waits in the UART.
        self.hw = max(cap // 4, cap - BURST)
        self.holds = 0  # times the module was asked to hold (push mode)
        self.lw = cap // 8
        self.dgrams = []
        self.dbytes = 0
        self.dropped = 0  # datagrams that did not fit (UDP drops, and counts)
        self.rx_addr = None  # the peer of the payload being received (set by the dialect)
        self.clear()

    def clear(self):
        """A fresh connection on the same socket object."""
        self.ring.clear()
        self.dgrams = []
        self.dbytes = 0
        self._stage = None
        self.eof = False
        self.error = None
        self.lost = 0  # bytes that could not be held after a spill (or a framing error)
        self.broken = False  # a framing error: the stream cannot go on, either way
        self.readable = False  # the module says it holds data for us
        self.notes = 0  # "data waiting" URCs seen
        self.want_hold = False  # the module should hold our data (buffer mode, or push above hw)
        self.held = False  # the module confirmed it holds our data
        self.switching = False  # a hold / push command is in flight
        self.switch_errors = 0
        self.burst = 0  # bytes that arrived between asking the module to hold and its OK
        self.max_burst = 0

    def __len__(self):
        return self.ring.count if self.stream else len(self.dgrams)

    def room(self):
        """How much a module read may bring (a read never brings more than fits)."""
        if self.stream:
            return self.cap - self.ring.count
        return self.cap - self.dbytes

    def ended(self):
        return self.eof or self.error is not None

    def has_input(self):
        """Something for the program: data, or the end (after what the module still holds)."""
        if self.stream:
            if self.ring.count:
                return True
        elif self.dgrams:
            return True
        return (self.eof or self.error is not None) and not self.readable

    # ---------------------------------------------------------------- from the engine
    def rx_write(self, mv, i, n):
        if self.lost:
            self.lost += n
            return n
        if self.switching and self.want_hold:
            self.burst += n
        if not self.stream:
            if self._stage is None:
                self._stage = bytearray()
            self._stage += mv[i : i + n]
            return n
        took = self.ring.write(mv, i, n)  # staged until the payload's framing checks
        if took < n and not self.ring.count:
            self._too_big()  # the ring holds nothing the program could take: it never will
            return n
        return took

    def rx_data(self, mv, i, n):
        """Data mode: no framing to check, the bytes are the socket's as they come."""
        took = self.rx_write(mv, i, n)
        self.rx_end()
        return took

    def rx_region(self, k):
        if self.lost or not self.stream:
            return None
        r = self.ring.region(k)
        if r is None and not self.ring.count:
            self._too_big()
        return r

    def _too_big(self):
        self.rx_spill()
        self.error = ModemError(ENOBUFS, "socket %d: the module sent a payload larger than its "
                                "rxbuf (%d bytes); pass a larger rxbuf=" % (self.link.id, self.cap))

    def rx_landed(self, n):
        if self.switching and self.want_hold:
            self.burst += n
        self.ring.staged += n

    def _check_hw(self, waiting):
        # Hold when data lands on data the program has not taken and the ring is past hw:
        # the program is behind. (A batch landing in an empty ring is a program keeping up.)
        if waiting and not self.want_hold and self.ring.count >= self.hw:
            self.link.hold_changed(True)

    def rx_end(self):
        """The payload's framing checked: what it brought is the program's."""
        ring = self.ring
        if ring.staged:
            waiting = ring.count
            ring.commit()
            self._check_hw(waiting)
        d = self._stage
        if d is None:
            return
        self._stage = None
        if self.dbytes + len(d) > self.cap:
            self.dropped += 1  # UDP may drop; counted, never reordered
            return
        self.dgrams.append((bytes(d), self.rx_addr or self.link.peer))
        self.dbytes += len(d)

    def rx_ends_crlf(self):
        if self._stage is not None:
            return self._stage[-2:] == b"\r\n"
        r = self.ring
        k = r.count + r.staged
        if r.staged < 2:
            return True  # cannot tell: count it as ambiguous
        a = r.start + k - 2
        b = a + 1
        sz = r.size
        return r.buf[a % sz] == 13 and r.buf[b % sz] == 10

    def rx_ends_with_line(self, prefixes):
        """In place, for every pushed payload (no copy, no tuple: a board's heap): CR LF
        followed by one of prefixes in the staged payload's last 96 bytes (a CR LF or a
        prefix cut by the ring's wrap is not seen; this is a last look, not the framing
        check)."""
        if self._stage is not None:
            buf = self._stage
            return _line_in(buf, max(0, len(buf) - 96), len(buf), prefixes)
        r = self.ring
        buf = r.buf
        n = 96 if r.staged > 96 else r.staged
        a = r.start + r.count + r.staged - n
        if a >= r.size:
            a -= r.size
        if a + n <= r.size:
            return _line_in(buf, a, a + n, prefixes)
        return _line_in(buf, a, r.size, prefixes) or _line_in(buf, 0, a + n - r.size, prefixes)

    def rx_staged(self):
        """What the payload under way brought so far (only after a framing error)."""
        return bytes(self._stage) if self._stage is not None else self.ring.staged_bytes()

    def rx_abort(self, err):
        """The payload under way failed its framing: what it brought is dropped, and so is
        everything after it for this socket; the program gets the data verified before it,
        then err."""
        self.ring.drop()
        self._stage = None
        self.lost = 1
        self.broken = True
        self.readable = False
        if self.error is None:
            self.error = err

    def rx_spill(self):
        """The runner had to read past data that does not fit: it is lost, and the program
        hears so after the data that did fit."""
        if self.lost:
            return
        self.ring.drop()  # the part of the payload that fitted is incomplete: not data
        self._stage = None
        self.lost = 1
        if self.error is None:
            self.error = ModemError(
                ENOBUFS,
                "socket %d: %d bytes of received data did not fit while the program waited in "
                "another call for the module (push mode); read more often, pass a larger rxbuf= "
                "or use the default mode, where the module holds the data" % (self.link.id, self.cap),
            )

    def rx_data_end(self):
        self.link.data_mode_ended()

    # ---------------------------------------------------------------- from the dialect
    def data_waiting(self):
        """The module says it holds data for us (IPREAD / +MIPREAD)."""
        self.readable = True
        self.notes += 1

    def drained(self, notes_before):
        """A read came back short: nothing more is waiting, unless the module said
        otherwise while the read was being answered (its URC shares the line)."""
        if self.notes == notes_before:
            self.readable = False

    def closed(self, error, gone=False):
        """The module ended the connection: what arrived (and what it holds, unless the
        module itself is gone) comes first."""
        if error is not None and self.error is None:
            self.error = error
        self.eof = True
        if gone:
            self.readable = False
        elif self.held:
            self.readable = True  # drain what the module may still hold

    # ---------------------------------------------------------------- to the program
    def taken(self):
        """The program took data: back to push once the ring has drained."""
        if self.want_hold and self.link.mode != "buffer" and self.stream:
            if self.ring.count <= self.lw and not self.readable:
                self.link.hold_changed(False)

    def pop_datagram(self):
        d, addr = self.dgrams.pop(0)
        self.dbytes -= len(d)
        return d, addr


def _line_in(buf, a, b, prefixes):
    """CR LF then one of prefixes in buf[a:b]."""
    i = buf.find(b"\r\n", a, b)
    while i >= 0:
        if buf.startswith(prefixes, i + 2) and i + 2 < b:
            return True
        i = buf.find(b"\r\n", i + 2, b)
    return False
