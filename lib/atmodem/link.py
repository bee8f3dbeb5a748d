"""A socket as the module holds it: its id and state in the module's table, its inbox, the
dialect's own context for it, and the events the dialect reports (opened, closed, data
waiting). Dialects talk to links, never to the program's Socket (socket.py); the flows
that open, send on and close a link are here, and the runners carry them out."""
from .errors import (
    EALREADY, ECONNRESET, EISCONN, EMSGSIZE, ENOTCONN, ETIMEDOUT, LinkError, ModemError, Timeout,
)
from .flow import Until, Write, once, pause
from .inbox import Inbox
from .states import CLOSED, OPEN, OPENING, SOCK_STREAM


class Link:
    def __init__(self, modem, type, mode, tls, rxbuf):
        self.m = modem
        self.stream = type == SOCK_STREAM
        self.mode = mode
        self.tls = tls
        self.id = -1
        self.state = CLOSED
        # Data mode carries bytes, not datagrams: a transparent UDP socket receives a stream
        # (and each write goes out as the module packs it).
        self.inbox = Inbox(self, self.stream or mode == "transparent", rxbuf)
        self.peer = None
        self.lport = 0
        self.listening = False  # a TCP LISTENER; accepted clients queue in incoming
        self.service = False  # a bound UDP socket (UDP SERVICE): every send names its peer
        self.read_cmd = None  # the dialect's reusable read command for this link
        self.send_cmd = None  # ... and send command, while no send has it (Dialect.send_command)
        self.send_texts = [-1, None, None, -1, None, None, 0]  # two (size, text, wire) kept
        self.write = Write(None)  # transparent: the step that writes a send (send_now)
        self.reset()

    def reset(self):
        """Per connection: a socket may connect again after a failure."""
        self.inbox.clear()
        self.send_texts[0] = self.send_texts[3] = -1  # the id may change
        self.ctx = None  # the dialect's own state for this connection (Dialect.open makes it)
        self.opened = None  # None while opening, then True/False from the module
        self.open_answer = b""
        self.open_cmd = b""  # the command that opened it (errors name it)
        self.open_by = 0  # ticks by which the open must be over
        self.suspended = False  # transparent, in command mode (data waits in the module)
        self.entering = False  # transparent: the switch to data mode is on its way
        self.incoming = []  # a listener's accepted links, with their peers
        self.connect_error = None
        self.module_lost = False  # the module dropped it (reboot): its id is free there

    def __repr__(self):
        return "<atmodem link id=%d %s %s>" % (self.id, self.mode, ("closed", "opening", "open", "closing")[self.state])

    # ---------------------------------------------------------------- from the dialect
    def on_open(self, ok, line):
        self.opened = ok
        self.open_answer = line

    def on_closed(self, error, gone=False):
        """The module ended the connection: data already here is still delivered first."""
        self.inbox.closed(error, gone)
        if self.inbox.readable:
            self.m.pump.ready(self)
        if gone:
            self.module_lost = True

    def data_waiting(self):
        self.inbox.data_waiting()
        self.m.pump.ready(self)

    def hold_changed(self, on):
        """Push mode: ask the module to hold our data (on) or to push it again."""
        self.inbox.want_hold = on
        if on:
            self.inbox.holds += 1
        self.m.pump.switch_due()

    def data_mode_ended(self):
        """The module ended data mode (NO CARRIER); the closed URC follows as a line."""
        self.m.mode.ended(self)

    def ended(self):
        return self.inbox.ended()

    # ---------------------------------------------------------------- flows
    def connect_flow(self, host, port, timeout_ms, begin_only=False):
        """Open the link on the module (begin_only: up to its answer, for a non-blocking
        connect; settle_flow finishes it)."""
        if self.state == OPENING:
            raise ModemError(EALREADY, "connect() is already in progress")
        if self.state != CLOSED:
            raise ModemError(EISCONN, "socket is already connected")
        if begin_only:
            yield from once("table", "open_begin", self.m, self, host, port)
        else:
            yield from once("table", "open", self.m, self, host, port, timeout_ms)

    def settle_flow(self):
        """A non-blocking connect has its answer: finish it (or keep why it failed)."""
        try:
            yield from once("table", "open_end", self.m, self)
        except OSError as err:
            self.connect_error = err

    def check_send(self):
        """The link can take data now, or the error that says why not."""
        if self.connect_error is not None:
            raise self.connect_error
        ib = self.inbox
        if self.state != OPEN:
            raise ib.error or ModemError(ENOTCONN, "socket is not connected")
        if ib.error is not None and (ib.lost == 0 or ib.broken):
            raise ib.error
        if ib.eof:
            raise ModemError(ENOTCONN, "socket %d: the connection was closed" % self.id)

    def _entered(self):
        return not self.entering

    def send_flow(self, mv, peer=None):
        """One send: what the module confirmed (a datagram socket: the datagram, whole).
        peer: where a bound UDP socket sends it."""
        self.check_send()
        if not len(mv):
            return 0
        m = self.m
        if self.mode == "transparent":
            if self.entering:
                yield Until(self._entered, 30000, "socket %d: CONNECT (data mode)" % self.id)
                self.check_send()
            if self.suspended and not self.ended():
                yield from m.data.resume(self)
            yield Write(mv)  # the UART is the link: no command, no limit
            return len(mv)
        d = m.dialect
        if self.stream:
            n = d.max_send(self)
        else:
            n = self.datagram_fits(mv)  # whole: never cut to what the module has room for
        try:
            return (yield from d.send(self, mv[:n] if len(mv) > n else mv, peer))
        except ModemError as err:
            raise (yield from self._refused(err))

    def send_now(self, mv, off):
        """The steady state of a stream: the dialect's command for the next chunk of mv
        (from off), or the link's write step in data mode, or None (send_flow does it). Its answer goes to the dialect's sent()
        (send_error on failure): no flow and no heap per chunk."""
        if not self.stream or off >= len(mv):
            return None
        if self.mode == "transparent":
            if self.entering or self.suspended or off:
                return None
            self.check_send()
            w = self.write
            w.data = mv  # the UART is the link: one write, no command, no limit
            return w
        self.check_send()
        d = self.m.dialect
        n = d.max_send(self)
        return d.send_now(self, mv[off : off + n] if off or len(mv) > n else mv)

    def send_error(self, mv, err):
        """A flow after send_now's command for mv failed with err: the dialect's retry (what
        it confirmed), or the error."""
        try:
            return (yield from self.m.dialect.send_failed(self, mv, err))
        except ModemError as err2:
            raise (yield from self._refused(err2))

    def _refused(self, err):
        """A flow: the error to raise for err, a refused send: often the first sign of a lost
        connection, whose URC may be a moment behind. Say that, rather than only the
        command's answer."""
        if not self.ended():
            yield pause(100)
        if self.ended() and not isinstance(err, LinkError):
            return LinkError(ECONNRESET, "socket %d: the connection was closed while sending (%s)" % (self.id, err))
        return err

    def datagram_fits(self, mv):
        """mv's length, or EMSGSIZE: one send is one datagram, never a truncated one."""
        d = self.m.dialect
        big = d.max_datagram(self)
        if len(mv) > big:
            raise ModemError(EMSGSIZE, "a datagram of %d bytes: the %s sends at most %d%s" % (
                len(mv), d.NAME, big, " in hex mode" if self.mode == "hex" and big < d.MAX_DATAGRAM else ""))
        return len(mv)

    def close_flow(self):
        if self.state != CLOSED:
            try:
                yield from once("table", "close", self.m, self)
            finally:
                self.state = CLOSED

    def suspend_flow(self):
        """Transparent mode: hand the UART back to commands (+++); data waits in the module."""
        if self.m.mode.link is self:
            yield from self.m.data.escape()

    def timed_out(self, what, seconds):
        return Timeout(ETIMEDOUT, "socket %d: %s timed out after %s s" % (self.id, what, seconds))

    def flow_timeout(self, what):
        """A flow: no room in the module's send buffer for the flow wait (30 s). The
        connection is closed (the module may drop it anyway); returns the error to raise."""
        err = LinkError(ETIMEDOUT, "socket %d: %s for %d s; connection closed" % (self.id, what, self.m.flow_wait_ms // 1000))
        yield from once("table", "abandon", self.m, self)
        self.on_closed(err)
        return err
