"""Data (transparent) mode for the modem: entering at the byte the module switches, the
module ending it (NO CARRIER), and leaving it ourselves with the +++ escape. Owned by the
Modem (modem.data); it works through the modem's engine, clock, UART and command()."""
from .errors import ATError, ATTimeout, EIO, ModemError


class DataMode:
    def __init__(self, modem):
        self.m = modem

    def enter(self, sock):
        """Called at the byte where the module switched to data mode."""
        m = self.m
        m.engine.enter_data(sock, m.dialect.terminator(sock))
        m.data_sock = sock
        sock.suspended = False

    def ended(self, sock):
        """The module left data mode by itself (NO CARRIER: peer closed, link lost)."""
        m = self.m
        if m.data_sock is sock:
            m.data_sock = None

    def _service_until(self, pred, deadline):
        m = self.m
        clock = m.clock
        while not pred():
            left = clock.ticks_diff(deadline, clock.ticks_ms())
            if left <= 0:
                return False
            if not m.poll(min(left, 50)):
                m.engine.flush_hold()
        return True

    def escape(self):
        """Leave data mode: guard silence, +++, guard silence, OK. No OK: probe with AT.
        Ends in command mode or raises, leaving the state 'unknown'; never a guess."""
        m = self.m
        sock = m.data_sock
        if sock is None:
            return
        e = m.engine
        clock = m.clock
        guard = m.guard_ms
        drain = getattr(m.uart, "drain", None)
        for _ in range(3):
            if drain is not None:
                drain()  # out of our buffers; a pty or USB bridge may still hold some
            # the guard counts from the last byte on the wire (estimated), not the write
            now = clock.ticks_ms()
            last = m.last_write if clock.ticks_diff(m.last_write, now) > 0 else now
            quiet = clock.ticks_add(last, guard + 20)
            self._service_until(lambda: False, quiet)
            if m.data_sock is None:
                break  # the peer closed meanwhile: the module is in command mode
            m.write(b"+++")
            # The module's OK comes after its own guard time, which is never exactly ours:
            # watch for it from the +++ on (bytes before it are still the socket's data).
            e.watch_ok = True
            self._service_until(
                lambda: e.escaped or m.data_sock is None,
                clock.ticks_add(clock.ticks_ms(), 2 * guard + 1000),
            )
            if e.escaped or m.data_sock is None:
                break
            # No OK: maybe it was lost. Ask in command mode; a data-mode module forwards it.
            e.leave_data()
            m.data_sock = None
            try:
                m.command(b"AT", timeout_ms=500)
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
            self.escape()
        m.dialect.resume(sock)

