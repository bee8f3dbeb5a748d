"""Data (transparent) mode: entering at the byte the module switches, the module ending it
(NO CARRIER), and leaving it ourselves with the +++ escape. Owned by the Modem
(modem.data); escape and resume are flows."""
from .at import Command
from .errors import ATError, ATTimeout, EIO, ModemError
from .flow import DRAIN, Until, Write, pause

_ESC = b"+++"


class DataMode:
    def __init__(self, modem):
        self.m = modem

    def enter(self, sock):
        """Called at the byte where the module switched to data mode."""
        m = self.m
        m.engine.enter_data(sock.inbox, m.dialect.terminator(sock))
        m.data_sock = sock
        sock.suspended = False

    def ended(self, sock):
        """The module left data mode by itself (NO CARRIER: peer closed, link lost)."""
        m = self.m
        if m.data_sock is sock:
            m.data_sock = None

    def _quiet(self):
        """The +++ guard: silence counted from when the last written byte has left the
        wire (estimated), not from the write."""
        m = self.m
        clock = m.clock
        now = clock.ticks_ms()
        last = m.line.last_write
        start = last if clock.ticks_diff(last, now) > 0 else now
        return clock.ticks_diff(clock.ticks_add(start, m.guard_ms + 20), now)

    def escape(self):
        """Leave data mode: guard silence, +++, guard silence, OK. No OK: probe with AT.
        Ends in command mode or raises, leaving the state 'unknown'; never a guess."""
        m = self.m
        sock = m.data_sock
        if sock is None:
            return
        e = m.engine
        for _ in range(3):
            yield DRAIN  # out of our buffers; a pty or USB bridge may still hold some
            yield Until(lambda: m.data_sock is None, self._quiet())
            if m.data_sock is None:
                break  # the peer closed meanwhile: the module is in command mode
            yield Write(_ESC)
            # The module's OK comes after its own guard time, which is never exactly ours:
            # watch for it from the +++ on (bytes before it are still the socket's data).
            e.watch_ok = True
            yield Until(lambda: e.escaped or m.data_sock is None, 2 * m.guard_ms + 1000)
            if e.escaped or m.data_sock is None:
                break
            # No OK: maybe it was lost. Ask in command mode; a data-mode module forwards it.
            e.leave_data()
            m.data_sock = None
            try:
                yield Command(b"AT", timeout_ms=500)
                break
            except (ATTimeout, ATError):
                self.enter(sock)
        else:
            m.state = "unknown"
            raise ModemError(EIO, "could not leave data mode: no OK after +++ three times")
        e.escaped = False
        e.watch_ok = False
        m.data_sock = None
        sock.suspended = not sock.ended()

    def resume(self, sock):
        """Back to data mode for a suspended transparent socket."""
        m = self.m
        if m.data_sock is not None:
            if m.data_sock is sock:
                return
            yield from self.escape()
        yield from m.dialect.resume(sock)

    def blind_escape(self):
        """start(): the module does not answer AT and may be in a data-mode session that a
        previous program left behind. Guard, +++, guard; an OK means it was."""
        m = self.m
        e = m.engine
        yield DRAIN
        yield pause(self._quiet())
        c = Command(_ESC, timeout_ms=2 * m.guard_ms + 1000, check=False)
        c.wire = _ESC  # no CR: the escape is the three characters between two silences
        try:
            yield c
        except ATTimeout:
            pass
        if not c.ok():
            yield Write(b"\r")  # in command mode after all: clear the +++ from its line
            yield pause(100)
        e.reset()
        return c.ok()
