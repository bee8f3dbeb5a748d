"""Data (transparent) mode's flows: leaving it ourselves with the +++ escape, going back
to it, and the blind escape at start. The mode itself is mode.py's; these are loaded with
the first transparent socket (modem.data)."""
from .command import Command
from .errors import ATError, ATTimeout, EIO, ModemError
from .flow import DRAIN, Until, Write, pause

_ESC = b"+++"


class DataMode:
    def __init__(self, modem):
        self.m = modem

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
        mode = m.mode
        link = mode.link
        if link is None:
            return
        ds = m.engine.data

        def out():
            return mode.link is None

        def escaped():
            return ds.escaped or mode.link is None

        for _ in range(3):
            yield DRAIN  # out of our buffers; a pty or USB bridge may still hold some
            yield Until(out, self._quiet())
            if mode.link is None:
                break  # the peer closed meanwhile: the module is in command mode
            yield Write(_ESC)
            # The module's OK comes after its own guard time, which is never exactly ours:
            # watch for it from the +++ on (bytes before it are still the link's data).
            ds.watch_ok = True
            yield Until(escaped, 2 * m.guard_ms + 1000)
            if escaped():
                break
            # No OK: maybe it was lost. Ask in command mode; a data-mode module forwards it.
            mode.left()
            try:
                yield Command(b"AT", timeout_ms=500)
                break
            except (ATTimeout, ATError):
                mode.enter(link, m.dialect.terminator(link))
        else:
            mode.unknown()  # (still the link's, as the last attempt re-entered it)
            raise ModemError(EIO, "could not leave data mode: no OK after +++ three times")
        ds.escaped = False
        mode.left()
        link.suspended = not link.ended()

    def resume(self, link):
        """Back to data mode for a suspended transparent link."""
        m = self.m
        if m.mode.link is not None:
            if m.mode.link is link:
                return
            yield from self.escape()
        yield from m.dialect.resume(link)

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
