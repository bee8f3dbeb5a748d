"""The socket a program sees: MicroPython's socket and stream calls (py/stream.c, modsocket)
over a module socket. It knows buffers and deadlines, nothing about AT: the dialect's flows
move bytes, the modem runs them and services the line while a call waits."""
from .compat import StreamBase, const
from .checks import check_host, check_port, check_size, check_timeout
from .errors import (
    EAGAIN, EALREADY, EBADF, ECONNRESET, EDESTADDRREQ, EINPROGRESS, EINVAL, EISCONN, EMSGSIZE,
    ENOTCONN, ETIMEDOUT, LinkError, ModemError,
)
from .flow import Until, Write, pause
from .inbox import Inbox

AF_INET = const(2)
SOCK_STREAM = const(1)
SOCK_DGRAM = const(2)
MODES = ("buffer", "push", "hex", "transparent")
RXBUF_MAX = 1 << 20

CLOSED = const(0)
OPENING = const(1)
OPEN = const(2)
CLOSING = const(3)

_FLUSH = const(1)  # MP_STREAM_FLUSH
_POLL = const(3)  # MP_STREAM_POLL
_CLOSE = const(4)  # MP_STREAM_CLOSE
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLERR = const(8)
_POLLHUP = const(16)


def _address(addr):
    """(host, port) from what a program passed as an address."""
    if not isinstance(addr, (tuple, list)) or len(addr) != 2:
        raise TypeError("an address is a (host, port) tuple, not %r" % (addr,))
    return addr[0], addr[1]


class Socket(StreamBase):
    def __init__(self, modem, af=AF_INET, type=SOCK_STREAM, mode="buffer", tls=None, rxbuf=4096):
        if af != AF_INET:
            raise ValueError("only AF_INET is supported")
        if type not in (SOCK_STREAM, SOCK_DGRAM):
            raise ValueError("type must be SOCK_STREAM or SOCK_DGRAM")
        if mode not in MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(MODES), mode))
        if not isinstance(rxbuf, int) or not 64 <= rxbuf <= RXBUF_MAX:
            raise ValueError("rxbuf must be an int of 64-%d bytes, got %r" % (RXBUF_MAX, rxbuf))
        self._m = modem
        self.stream = type == SOCK_STREAM
        self.type = type
        self.mode = mode
        self.tls = tls
        self.id = -1
        self.state = CLOSED
        self.used = False  # close() was called: every later call is EBADF
        self._timeout = None
        self._t_seen = None  # the timeout _t_ms was computed from
        self._t_ms = 0
        # Data mode carries bytes, not datagrams: a transparent UDP socket receives a stream
        # (and each write goes out as the module packs it).
        self.inbox = Inbox(self, self.stream or mode == "transparent", rxbuf)
        self._has_input = self.inbox.has_input  # bound once: waits must not allocate
        self.peer = None
        self.lport = 0
        self.listening = False  # a TCP LISTENER; accepted clients queue in _incoming
        self.service = False  # a bound UDP socket (UDP SERVICE): every send names its peer
        self.read_cmd = None  # the dialect's reusable read command for this socket
        self.send_cmd = None  # ... and send command, while no send has it (Dialect.send_command)
        self._reset()

    def _reset(self):
        """Per-connection state: a socket object may connect again after a failure."""
        self.inbox.clear()
        self.opened = None  # None while opening, then True/False from the module
        self.open_answer = b""
        self.xoff = False
        self.free = 0  # L610 send-buffer space last reported
        self.closing = False
        self.close_done = False
        self.suspended = False  # transparent socket in command mode (data waits in the module)
        self._incoming = []
        self._wrote_after_close = False
        self.connect_error = None
        self.module_lost = False  # the module dropped it (reboot): its id is free there
        self.entering = False  # transparent: the switch to data mode is on its way
        self.switch_error = None  # ... and how it failed
        self.open_cmd = b""
        self.open_by = 0  # ticks by which the open must be over
        self.pending = None  # the module's async command for this socket (L610 open)

    def __repr__(self):
        return "<atmodem.Socket id=%d %s %s>" % (self.id, self.mode, ("closed", "opening", "open", "closing")[self.state])

    # ---------------------------------------------------------------- from the dialect
    def on_open(self, ok, line):
        self.opened = ok
        self.open_answer = line

    def on_closed(self, error, gone=False):
        """The module ended the connection: data already here is still delivered first."""
        self.inbox.closed(error, gone)
        if self.inbox.readable:
            self._m.pump.ready(self)
        if gone:
            self.module_lost = True

    def data_waiting(self):
        self.inbox.data_waiting()
        self._m.pump.ready(self)

    def hold_changed(self, on):
        """Push mode: ask the module to hold our data (on) or to push it again."""
        self.inbox.want_hold = on
        if on:
            self.inbox.holds += 1
        self._m.pump.switch_due()

    def data_mode_ended(self):
        """The module ended data mode (NO CARRIER); the closed URC follows as a line."""
        self._m.data_ended(self)

    def ended(self):
        return self.inbox.ended()

    def incoming(self, sid, addr):
        """From the dialect: the module accepted a client as socket sid."""
        conn = Socket(self._m, AF_INET, SOCK_STREAM, self.mode, None, self.inbox.cap)
        conn.id = sid
        conn.state = OPEN
        conn.opened = True
        conn.peer = addr
        conn.lport = self.lport
        conn.inbox.want_hold = self.mode == "buffer"
        self._incoming.append((conn, addr))
        return conn

    # ---------------------------------------------------------------- connecting
    def _usable(self):
        if self.used:
            raise ModemError(EBADF, "socket %d is closed" % self.id if self.id >= 0 else "socket is closed")

    def connect(self, addr):
        if self._timeout == 0 and self.mode != "transparent":
            self._m.run(self.connect_flow(addr, True))
            raise ModemError(EINPROGRESS, "connecting (poll for POLLOUT)")
        self._m.run(self.connect_flow(addr))

    def connect_flow(self, addr, begin_only=False):
        host, port = _address(addr)
        check_host(host)
        check_port(port)
        self._usable()
        if self.state == OPENING:
            raise ModemError(EALREADY, "connect() is already in progress")
        if self.state != CLOSED:
            raise ModemError(EISCONN, "socket is already connected")
        from . import table

        if begin_only:
            yield from table.open_begin(self._m, self, host, port)
        else:
            yield from table.open(self._m, self, host, port)

    def _settle_connect(self):
        """A non-blocking connect has its answer: finish it (or say why it failed)."""
        if self.state == OPENING and self.opened is not None:
            from . import table

            try:
                self._m.run(table.open_end(self._m, self))
            except OSError as err:
                self.connect_error = err

    def ioctl(self, req, arg):
        """The MicroPython stream protocol: select.poll and asyncio ask whether we are
        readable; anything else is not ours (-1; poll first asks 10, get fileno). A poll
        services the line, so a program that only polls still sees its data."""
        if req == _CLOSE:  # a stream wrapped around us (tls) closes its transport
            self.close()
            return 0
        if req == _FLUSH:
            return 0
        if req != _POLL:
            return -1
        m = self._m
        if not m.closed and not self.used:
            m.kick()
            self._settle_connect()
        ready = 0
        if arg & _POLLIN and (self.inbox.has_input() or self._incoming):
            ready |= _POLLIN
        if arg & _POLLOUT and self.state == OPEN:
            ready |= _POLLOUT
        if self.connect_error is not None:
            ready |= _POLLERR | _POLLHUP
        elif self.state == CLOSED or self.used:
            ready |= _POLLHUP
        return ready

    def fileno(self):
        return -1

    def bind(self, addr):
        host, port = _address(addr)
        if host not in ("", "0.0.0.0"):
            raise ValueError("the module listens on all its addresses: bind to '0.0.0.0'")
        check_port(port)
        self._usable()
        if self.state != CLOSED:
            raise ModemError(EISCONN, "socket is already open")
        self.lport = port
        if not self.stream:
            from . import table

            self._m.run(table.listen(self._m, self))  # a bound UDP socket receives at once

    def listen(self, backlog=1):
        if not self.stream:
            raise ModemError(EISCONN, "listen() is for SOCK_STREAM sockets")
        if not self.lport:
            raise ModemError(EDESTADDRREQ, "bind((\"0.0.0.0\", port)) before listen()")
        if self.mode == "transparent":
            raise ValueError("a listener cannot be transparent; accept() and use push or buffer")
        from . import table

        self._m.run(table.listen(self._m, self))

    def _has_client(self):
        return bool(self._incoming) or self.inbox.error is not None

    def accept(self):
        """(socket, (ip, port)) for the next client; waits like recv for the timeout."""
        self._usable()
        if not self.listening:
            raise ModemError(EINVAL, "accept() on a socket that is not listening")
        if not self._wait(self._has_client, "accept"):
            raise ModemError(EAGAIN, "no client yet")
        if not self._incoming:
            raise self.inbox.error or ModemError(ENOTCONN, "the listener was closed")
        return self._incoming.pop(0)

    def settimeout(self, seconds):
        self._timeout = check_timeout(seconds)

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0

    def setsockopt(self, *args):
        pass  # options of the host stack do not reach the module

    def getsockopt(self, level, opt, *args):
        return 0

    def getpeername(self):
        if self.state != OPEN or self.peer is None:
            raise ModemError(ENOTCONN, "socket is not connected")
        return self.peer

    def getsockname(self):
        return (self._m.ip or "0.0.0.0", self.lport)

    def makefile(self, mode="rb", buffering=0, *args, **kw):
        """MicroPython's socket.makefile returns the socket itself: it already is a stream."""
        return self

    def shutdown(self, how=2):
        """The modules have no half-close: SHUT_WR / SHUT_RDWR close the connection."""
        if how in (1, 2):
            self.close()

    def close(self):
        if self.state != CLOSED:
            self._m.run(self.close_flow())
        self.used = True

    def close_flow(self):
        if self.state != CLOSED:
            from . import table

            try:
                yield from table.close(self._m, self)
            finally:
                self.state = CLOSED
        self.used = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- transparent mode
    def suspend(self):
        """Transparent mode: hand the UART back to commands (+++); data waits in the module."""
        if self._m.data_sock is self:
            self._m.escape()

    def resume(self):
        if self.suspended and not self.ended():
            self._m.resume(self)

    # ---------------------------------------------------------------- sending
    def _check_send(self):
        self._usable()
        self._settle_connect()
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

    def _after_peer_close(self, n):
        """Like a TCP stack after the peer's FIN: the first write is taken (the peer is gone
        and would reset it; TLS close_notify does this), any later one fails."""
        if self._wrote_after_close:
            self._check_send()  # raises: the connection was closed
        self._wrote_after_close = True
        return n

    def send(self, data):
        return self._m.run(self.send_flow(memoryview(data)))

    def send_flow(self, mv):
        """One send: what the module confirmed (a datagram socket: the datagram, whole)."""
        ib = self.inbox
        if self.state == OPEN and ib.eof and ib.error is None and not self.used:
            return self._after_peer_close(len(mv))
        self._check_send()
        if not len(mv):
            return 0
        m = self._m
        if self.mode == "transparent":
            if self.entering:
                yield Until(self._entered, 30000, "socket %d: CONNECT (data mode)" % self.id)
                self._check_send()
            if self.suspended and not self.ended():
                yield from m.data.resume(self)
            yield Write(mv)  # the UART is the socket: no command, no limit
            return len(mv)
        d = m.dialect
        if self.stream:
            n = d.max_send(self)
        else:
            n = self._datagram_fits(d, mv)  # whole: never cut to what the module has room for
        try:
            return (yield from d.send(self, mv[:n] if len(mv) > n else mv))
        except ModemError as err:
            # A refused send is often the first sign of a lost connection: its URC may be
            # a moment behind. Say that, rather than only the command's answer.
            if not self.ended():
                yield pause(100)
            if self.ended() and not isinstance(err, LinkError):
                raise LinkError(ECONNRESET, "socket %d: the connection was closed while sending (%s)" % (self.id, err))
            raise err

    def _datagram_fits(self, d, mv):
        """mv's length, or EMSGSIZE: one send is one datagram, never a truncated one."""
        big = d.max_datagram(self)
        if len(mv) > big:
            raise ModemError(EMSGSIZE, "a datagram of %d bytes: the %s sends at most %d%s" % (
                len(mv), d.NAME, big, " in hex mode" if self.mode == "hex" and big < d.MAX_DATAGRAM else ""))
        return len(mv)

    def sendall(self, data):
        """All of data, or an OSError whose `sent` says how many bytes the module confirmed
        (a byte is never counted unless the module confirmed it). A datagram socket sends
        one datagram."""
        self._m.run(self.sendall_flow(memoryview(data)))

    def sendall_flow(self, mv):
        if not self.stream:
            yield from self.send_flow(mv)
            return
        sent = 0
        while sent < len(mv):
            try:
                sent += yield from self.send_flow(mv[sent:])
            except OSError as err:
                setattr(err, "sent", sent)  # how many bytes the module confirmed
                if isinstance(err, ModemError):
                    err.message += " [sendall: %d of %d bytes confirmed]" % (sent, len(mv))
                raise err

    def write(self, buf, a=None, b=None):
        """write(buf), write(buf, max_len) (negative: all of it), write(buf, off, len), as
        py/stream.c: everything is written (one datagram on a UDP socket)."""
        if isinstance(buf, str):
            buf = buf.encode()  # MicroPython streams take str too (requests writes headers so)
        mv = memoryview(buf)
        if b is not None:
            off = min(max(a or 0, 0), len(mv))
            mv = mv[off:]
            a = b
        if a is not None and 0 <= a < len(mv):
            mv = mv[:a]
        self.sendall(mv)
        return len(mv)

    def sendto(self, data, addr):
        if self.stream:
            raise ModemError(EISCONN, "sendto on a stream socket")
        mv = memoryview(data)
        if self.service:
            host, port = _address(addr)
            check_host(host)
            check_port(port)
            self._check_send()
            d = self._m.dialect
            self._datagram_fits(d, mv)
            return self._m.run(d.send(self, mv, (host, port)))
        if self.state == CLOSED and not self.used:
            self.connect(addr)
        elif tuple(addr) != self.peer:
            raise ModemError(EISCONN, "UDP socket is bound to %s:%d by the module" % self.peer)
        return self.send(mv)

    # ---------------------------------------------------------------- receiving
    def _wait(self, pred, what):
        """Service the line until pred(), the socket's timeout, or (non-blocking) at once.
        Returns False when non-blocking and pred() does not hold."""
        self._usable()
        m = self._m
        if pred():
            return True
        if self.suspended and not self.ended():
            m.run(m.data.resume(self))
        ms = self._wait_ms()
        if ms == 0:
            m.kick()
            return pred()
        if not m.until(pred, ms):
            raise self._timed_out(what)
        return True

    def _wait_ms(self):
        """Before waiting for input: a connect in progress settled, the socket usable; how
        long the socket waits (None: for ever, 0: not at all)."""
        self._settle_connect()
        if self.state != OPEN and not self.listening:
            if self.connect_error is not None:
                raise self.connect_error
            raise ModemError(ENOTCONN, "socket is not connected")
        t = self._timeout
        if t is None:
            return None
        if t is not self._t_seen:  # a float timeout: its product is a heap object, once
            self._t_seen = t
            self._t_ms = int(t * 1000)
        return self._t_ms

    def _timed_out(self, what):
        return ModemError(ETIMEDOUT, "socket %d: %s timed out after %s s" % (self.id, what, self._timeout))

    def _end(self):
        """Nothing buffered and the stream ended: b'' for a close, the error for a failure."""
        err = self.inbox.error
        if err is not None:
            raise err
        return b""

    def _took(self):
        self.inbox.taken()
        self._m.kick()  # room again: the next module read goes out before the program asks

    def recv(self, n):
        check_size(n)
        self._usable()
        if not self.inbox.stream:
            return self.recvfrom(n)[0]
        if n == 0:
            return b""
        if not self._wait(self._has_input, "recv"):
            raise ModemError(EAGAIN, "no data yet")
        ring = self.inbox.ring
        if not ring.count:
            return self._end()
        data = ring.read(n)
        self._took()
        return data

    def recv_into(self, buf, nbytes=0):
        check_size(nbytes, "nbytes")
        want = nbytes if 0 < nbytes < len(buf) else len(buf)
        self._usable()
        if not self.inbox.stream:
            d = self.recvfrom(want)[0]
            buf[: len(d)] = d
            return len(d)
        if not want:
            return 0
        if not self._wait(self._has_input, "recv_into"):
            raise ModemError(EAGAIN, "no data yet")
        ring = self.inbox.ring
        if not ring.count:
            self._end()
            return 0
        got = ring.readinto(buf, want)
        self._took()
        return got

    def recvfrom(self, n):
        check_size(n)
        if self.inbox.stream:
            return self.recv(n), self.peer
        if not self._wait(self._has_input, "recvfrom"):
            raise ModemError(EAGAIN, "no data yet")
        ib = self.inbox
        if not ib.dgrams:
            self._end()
            return b"", self.peer
        d, addr = ib.pop_datagram()
        self._took()
        return d[:n], addr

    def read(self, n=-1):
        """n bytes, fewer only at the end of the stream (py/stream.c read); None when
        non-blocking and nothing is there; an error raises even after some bytes."""
        if n is None:
            n = -1
        if not self.inbox.stream:
            return self.recv(1 << 16 if n < 0 else n)
        if n >= 0:
            buf = bytearray(n)  # one buffer, filled in place (a board's heap fragments)
            got = self.readinto(buf)
            if got is None:
                return None
            return bytes(buf) if got == n else bytes(memoryview(buf)[:got])
        out = bytearray()
        ring = self.inbox.ring
        while True:
            if not self._wait(self._has_input, "read"):
                if out:
                    break
                return None
            if not ring.count:
                self._end()  # an error raises, as py/stream.c does, even after some bytes
                break
            out += ring.read(ring.count)
            self._took()
        return bytes(out)

    def readinto(self, buf, nbytes=None):
        mv = memoryview(buf)
        want = len(mv) if nbytes is None else min(nbytes, len(mv))
        if not self.inbox.stream:
            return self.recv_into(mv, want)
        got = 0
        ring = self.inbox.ring
        while got < want:
            if not self._wait(self._has_input, "readinto"):
                return got or None
            if not ring.count:
                self._end()
                break
            got += ring.readinto(mv[got:], want - got)
            self._took()
        return got

    def readline(self, limit=-1):
        out = bytearray()
        ring = self.inbox.ring
        while limit < 0 or len(out) < limit:
            if not self._wait(self._has_input, "readline"):
                return bytes(out) if out else None
            if not ring.count:
                self._end()
                return bytes(out)
            i = ring.find(10)
            k = ring.count if i < 0 else i + 1
            if limit >= 0:
                k = min(k, limit - len(out))
            out += ring.read(k)
            self._took()
            if out[-1:] == b"\n":
                break
        return bytes(out)

    @property
    def dropped_datagrams(self):
        """Datagrams that arrived when the socket had no room for them (UDP drops them)."""
        return self.inbox.dropped
