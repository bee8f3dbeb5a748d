"""The UART end of the modem, shared by both runners: the port, the engine it feeds, input
held back while a socket has no room for it, the command in flight (its payload written at
the prompt, its deadline), and when the last written byte will have left the wire."""
from .compat import const
from .errors import ATTimeout, text

TX_BUFFERED = 16384  # bytes a UART path can still hold after write() returned (tty, USB bridge)
BATCH = 2048  # bytes of a payload worth waiting for before reading (see batch_ms)
_STREAM_GATHER_MS = const(10)  # the most data mode waits to gather a read [decision]
_STREAM_STEP_MS = const(2)


class Line:
    def __init__(self, port, engine, clock, rxbuf=1024, trace=None):
        self.port = port
        self.engine = engine
        self.clock = clock
        self.trace = trace  # trace(direction, bytes): '>' to the module, '<' from it
        self.buf = bytearray(rxbuf)
        self.mv = memoryview(self.buf)
        self.off = 0  # buf[off:end] came from the port and is not consumed yet
        self.end = 0
        self.last_write = clock.ticks_ms()
        self.cmd = None  # the command in flight (also engine.pending)
        self._pending = getattr(port, "pending", None)  # bound once: no allocation per call
        self._seen = -1  # data mode's gathering (batch_ms): what had arrived at the last look
        self._gathered = 0
        self.timeouts = 0
        # A payload complete with its trailer waits this long for the next byte to confirm
        # it (30 characters of line time, at least 2 ms); one still arriving fails after
        # stall_ms of a quiet line (bounded: README, Errors).
        self.rate(getattr(port, "baudrate", 0))
        self.stall_ms = 1000
        self._since = None  # ticks since when the engine's framing waits on a quiet line

    # ---------------------------------------------------------------- output
    def write(self, data):
        if self.trace:
            self.trace(">", bytes(data))
        self.port.write(data)
        # When the last byte will have left the wire (8N1: 10 bits a byte): written bytes
        # wait in UART buffers (at most TX_BUFFERED of them), and the +++ guard silence is
        # the module's, counted from then. Ports that can drain() say it exactly instead.
        clock = self.clock
        now = clock.ticks_ms()
        bps = self.bps
        if not bps:
            self.last_write = now
            return
        start = self.last_write if clock.ticks_diff(self.last_write, now) > 0 else now
        end = clock.ticks_add(start, len(data) * 10000 // bps + 1)
        cap = clock.ticks_add(now, TX_BUFFERED * 10000 // bps + 1)
        self.last_write = end if clock.ticks_diff(cap, end) > 0 else cap

    def drain(self):
        d = getattr(self.port, "drain", None)
        if d is not None:
            d()

    # ---------------------------------------------------------------- input
    def rate(self, bps):
        """The line's rate (0: unknown), and what follows from it."""
        self.bps = bps
        self.settle_ms = max(2, 300000 // bps + 1) if bps else 2

    def held(self):
        """Bytes read from the port and not yet consumed (a full socket, or a data-mode tail)."""
        return self.end - self.off

    def blocked(self):
        """Input waits for a socket to make room: reading on would lose it or pass it."""
        return self.off < self.end and self.engine.blocked

    def service(self, final=False):
        """Feed the engine what was held back, then (unless still blocked) one read of the
        port. final: the line is quiet, a data-mode tail is data. True on progress."""
        moved = False
        if self.off < self.end:
            moved = self._feed(final)
            if self.off < self.end and self.engine.blocked:
                self._since = None  # waiting for the program, not for the module
                return moved
        if self.off:  # keep an undecided data-mode tail at the front, read after it
            k = self.end - self.off
            self.buf[0:k] = bytes(self.mv[self.off : self.end])
            self.off, self.end = 0, k
        room = self.end
        c = self.cmd
        if not room and c is not None and c.lands:
            t = self.engine.direct()
            if t is not None:
                region = t.rx_region(self.engine.need())
                if region is not None:
                    # a read's payload straight into its socket: the copy through the line
                    # buffer and the engine's pass over it are saved
                    n = self.port.readinto(region)
                    if not n:
                        self._framing_clock(moved)
                        return moved
                    if self.trace:
                        self.trace("<", bytes(region[:n]))
                    t.rx_landed(n)
                    self.engine.landed(n)
                    self._framing_clock(True)
                    return True
        n = self.port.readinto(self.mv[room:] if room else self.buf)
        if not n:
            self._framing_clock(moved)
            return moved
        if self.trace:
            self.trace("<", bytes(self.mv[room : room + n]))
        self.end = room + n
        self._feed(final)
        self._framing_clock(True)
        return True

    def _framing_state(self):
        st = self.engine.framing_state()
        if not st:
            c = self.cmd
            if c is not None and c.doomed:
                return 3  # a read whose payload failed: its OK may not come
        return st

    def _framing_clock(self, moved):
        """Where framing waits on the module: the time since the line last moved decides
        (time, not waits: a program that only polls gets there too)."""
        st = self._framing_state()
        if not st or self.engine.blocked:
            self._since = None
            return
        clock = self.clock
        now = clock.ticks_ms()
        if moved or self._since is None:
            self._since = now
            return
        if clock.ticks_diff(now, self._since) < (self.settle_ms if st == 1 else self.stall_ms):
            return
        self._since = None
        c = self.cmd
        if st == 3 and c is not None:
            c.finish(b"framing error")
        else:
            self.engine.quiet()

    def framing_waits(self):
        return self._since is not None

    def wait_cap(self, ms):
        """ms, or less when the framing must be decided sooner (see _framing_clock)."""
        since = self._since
        if since is None:
            return ms
        limit = self.settle_ms if self._framing_state() == 1 else self.stall_ms
        left = limit - self.clock.ticks_diff(self.clock.ticks_ms(), since)
        return ms if ms is not None and ms < left else max(1, left)

    def _feed(self, final):
        off = self.off
        i = self.engine.feed(self.buf, self.end, off, self.mv, final)
        if i >= self.end:
            self.off = self.end = 0
        else:
            self.off = i
        return i > off

    def batch_ms(self):
        """How long to let the UART gather more of a payload before reading it: one read of
        a kilobyte costs what one of a few bytes does (and allocates as much), so while a
        known amount is on its way and the port can say how much has arrived, wait for it.
        0: read now."""
        pending = self._pending
        if pending is None:
            return 0
        e = self.engine
        need = e.need()  # a payload says how much is on its way
        d = e.data
        stream = not need and d is not None and d.target is not None
        if not need and not stream:
            return 0
        want = min(need or BATCH, BATCH, len(self.buf) - self.end)
        have = pending()
        bps = self.bps
        # Looked at again (the runners loop while this says wait): bytes that stopped
        # coming end the wait, so a stalled payload is found out as soon as before.
        if have >= want or not bps or (stream and not have) or have == self._seen \
                or (stream and self._gathered >= _STREAM_GATHER_MS):
            self._seen = -1
            self._gathered = 0
            return 0
        self._seen = have
        if stream:
            # data mode says nothing of what is on its way: while bytes keep coming, the
            # read waits for more in short steps (a read per few bytes kept the CPU busy);
            # a reply that stopped coming waits one step
            self._gathered += _STREAM_STEP_MS
            return _STREAM_STEP_MS
        # A millisecond early: a sleep overshoots, and the end of a read's answer is what
        # the next command waits for.
        ms = (want - have) * 10000 // bps - 1
        return ms if ms > 0 else 0

    def spill(self):
        """A flow waits for an answer behind data whose socket is full and cannot drain:
        that socket must give up the data it cannot hold."""
        d = self.engine.data
        t = self.engine.receiving() or (d.target if d is not None else None)
        if t is not None and hasattr(t, "rx_spill"):
            t.rx_spill()

    def reset_input(self):
        """Forget held input (a module reboot: what it said before is void)."""
        self.off = self.end = 0
        self.engine.reset()

    # ---------------------------------------------------------------- the command in flight
    def idle(self):
        return self.cmd is None

    def begin(self, c):
        """Send c; the engine collects its answer from now on."""
        c.reset()
        clock = self.clock
        c.deadline = clock.ticks_add(clock.ticks_ms(), c.timeout_ms)
        self.cmd = c
        self.engine.start(c)
        w = c.wire
        self.write(w if w is not None else c.text + b"\r")

    def progress(self):
        """After input: write a prompted payload, retire a finished command. Returns the
        command that finished, if any (a background one has been told)."""
        c = self.cmd
        if c is None:
            return None
        if c.prompted and not c.written:
            c.written = True
            self.write(c.payload)
        if not c.done:
            return None
        return self._retire(c)

    def expire(self):
        """The line is quiet (nothing more to read): a command past its deadline has no
        answer coming. Never called while input waits: the answer may be in it."""
        c = self.cmd
        if c is None or c.done or self.off < self.end:
            return None
        clock = self.clock
        if clock.ticks_diff(c.deadline, clock.ticks_ms()) > 0:
            return None
        self.timeouts += 1  # no final answer: a later OK is noise to the engine
        return self._retire(c)

    def _retire(self, c):
        self.cmd = None
        e = self.engine
        if c.done and not c.echoed and not e.echo_on:
            e.echo_off_seen = True
        if e.pending is c:
            e.pending = None
        if c.background and not c.done:
            c.final()  # ran out of time: its owner hears it too
        return c

    def timed_out(self, c):
        return ATTimeout(text(c.text), c.timeout_ms / 1000, c.lines[-1] if c.lines else "")

    def close(self):
        self.port.close()
