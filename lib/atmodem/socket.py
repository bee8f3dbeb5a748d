"""The socket a program sees: MicroPython's socket calls (modsocket) and stream calls
(stream.py, py/stream.c) over a module-side link (link.py). It knows the program's side:
arguments, timeouts, blocking, close; the link and its flows know the module."""
from .checks import check_port, check_size, check_timeout
from .compat import cold
from .errors import EAGAIN, EBADF, EINPROGRESS, EISCONN, ENOTCONN, ModemError
from .flow import Write
from .link import Link
from .stream import Stream
from .states import AF_INET, CLOSED, MODES, OPEN, OPENING, RXBUF_MAX, SOCK_DGRAM, SOCK_STREAM

__all__ = ["Socket", "AF_INET", "SOCK_STREAM", "SOCK_DGRAM"]

def _address(addr):
    """(host, port) from what a program passed as an address."""
    if not isinstance(addr, (tuple, list)) or len(addr) != 2:
        raise TypeError("an address is a (host, port) tuple, not %r" % (addr,))
    return addr[0], addr[1]


class Socket(Stream):
    def __init__(self, modem, af=AF_INET, type=SOCK_STREAM, mode="buffer", tls=None, rxbuf=4096, link=None):
        if af != AF_INET:
            raise ValueError("only AF_INET is supported")
        if type not in (SOCK_STREAM, SOCK_DGRAM):
            raise ValueError("type must be SOCK_STREAM or SOCK_DGRAM")
        if mode not in MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(MODES), mode))
        if not isinstance(rxbuf, int) or not 64 <= rxbuf <= RXBUF_MAX:
            raise ValueError("rxbuf must be an int of 64-%d bytes, got %r" % (RXBUF_MAX, rxbuf))
        self._m = modem
        self.type = type
        self.link = link if link is not None else Link(modem, type, mode, tls, rxbuf)
        self.used = False  # close() was called: every later call is EBADF
        self._timeout = None
        self._t_seen = None  # the timeout _t_ms was computed from
        self._t_ms = 0
        self._has_input = self.link.inbox.has_input  # bound once: waits must not allocate
        self._wrote_after_close = False

    @property
    def id(self):
        return self.link.id

    @property
    def mode(self):
        return self.link.mode

    @property
    def state(self):
        return self.link.state

    @property
    def dropped_datagrams(self):
        """Datagrams that arrived when the socket had no room for them (UDP drops them)."""
        return self.link.inbox.dropped

    def __repr__(self):
        return "<atmodem.Socket %r>" % self.link

    def ended(self):
        return self.link.ended()

    def _usable(self):
        if self.used or self._m.closed:
            raise ModemError(EBADF, "socket %d is closed" % self.link.id if self.link.id >= 0 else "socket is closed")

    # ---------------------------------------------------------------- connecting
    def connect(self, addr):
        if self._timeout == 0 and self.link.mode != "transparent":
            self._m.run(self.connect_flow(addr, True))
            raise ModemError(EINPROGRESS, "connecting (poll for POLLOUT)")
        self._m.run(self.connect_flow(addr))

    def start_tls(self, tls, host=None):
        """This connected stream socket again, with TLS in the module: a module cannot start
        TLS on an open connection, so it is closed and opened anew to the same peer (host:
        the name the certificate must carry; default the one connect() was given). For
        libraries that wrap a connected socket (atmodem.tls_shim); nothing may have been
        received on it yet (that would be lost)."""
        self._usable()
        k = self.link
        if k.state != OPEN or not k.stream or k.peer is None:
            raise ModemError(ENOTCONN, "start_tls needs a connected stream socket")
        if len(k.inbox) or k.inbox.readable:
            raise ModemError(EISCONN, "socket %d already received data in plain text" % k.id)
        m = self._m
        mode = m.dialect.tls_mode(tls, None, m.default_mode)  # raises before anything changes
        peer = (host or k.peer[0], k.peer[1])
        m.run(k.close_flow())
        self.link = Link(m, SOCK_STREAM, mode, tls, k.inbox.cap)
        self._has_input = self.link.inbox.has_input
        self.connect(peer)
        return self

    def connect_flow(self, addr, begin_only=False):
        host, port = _address(addr)
        cold("texts", "check_host", host)
        check_port(port)
        self._usable()
        self._wrote_after_close = False
        t = self._timeout
        return self.link.connect_flow(host, port, int(t * 1000) if t else 0, begin_only)

    def _settle_connect(self):
        """A non-blocking connect has its answer: finish it (or say why it failed)."""
        k = self.link
        if k.state == OPENING and k.opened is not None:
            self._m.run(k.settle_flow())

    def bind(self, addr):
        cold("server", "bind", self, _address(addr))

    def listen(self, backlog=1):
        cold("server", "listen", self)

    def accept(self):
        """(socket, (ip, port)) for the next client; waits like recv for the timeout."""
        return cold("server", "accept", self, Socket)

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
        k = self.link
        if k.state != OPEN or k.peer is None:
            raise ModemError(ENOTCONN, "socket is not connected")
        return k.peer

    def getsockname(self):
        return (self._m.ip or "0.0.0.0", self.link.lport)

    def shutdown(self, how=2):
        """The modules have no half-close: SHUT_WR / SHUT_RDWR close the connection."""
        if how in (1, 2):
            self.close()

    def close(self):
        if self.link.state != CLOSED:
            self._m.run(self.link.close_flow())
        self.used = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- transparent mode
    def suspend(self):
        """Transparent mode: hand the UART back to commands (+++); data waits in the module."""
        self._m.run(self.link.suspend_flow())

    def resume(self):
        k = self.link
        if k.suspended and not k.ended():
            self._m.run(self._m.data.resume(k))

    # ---------------------------------------------------------------- sending
    def _gate(self, n):
        """Before each send of n bytes: -1 to send them, or n when they are taken unsent
        (after the peer's FIN); the errors a send raises before it reaches the module."""
        self._usable()
        k = self.link
        self._settle_connect()
        ib = k.inbox
        if k.state == OPEN and ib.eof and ib.error is None:
            # Like a TCP stack after the peer's FIN: the first write is taken (the peer is
            # gone and would reset it; TLS close_notify does this), any later one fails.
            if self._wrote_after_close:
                k.check_send()
            self._wrote_after_close = True
            return n
        return -1

    def _next_send(self, mv, sent):
        """The step that sends mv from sent: the dialect's Command for the next chunk (its
        answer goes to the dialect's sent()), the link's Write in data mode, None when the
        link's send flow must run (a wait, a hex send), or an int: bytes taken unsent."""
        n = self._gate(len(mv) - sent)
        return n if n >= 0 else self.link.send_now(mv, sent)

    def _sendall_failed(self, err, sent, total):
        """err, saying how much of a sendall the module confirmed (its `sent`)."""
        if self.link.stream:
            setattr(err, "sent", sent)
            if isinstance(err, ModemError):
                err.message += " [sendall: %d of %d bytes confirmed]" % (sent, total)
        return err

    def send_flow(self, mv, whole=False, sent=0):
        """One send from the program (send), or all of mv (sendall: whole) from sent; what
        the module confirmed. Each chunk of a stream is one command, without a flow of its own."""
        k = self.link
        total = len(mv)
        try:
            while True:
                c = self._next_send(mv, sent)
                if c is None:
                    n = yield from k.send_flow(mv[sent:] if sent else mv)
                elif isinstance(c, int):
                    n = c
                elif isinstance(c, Write):
                    try:
                        yield c
                    finally:
                        c.data = None  # the program's buffer is not kept alive by us
                    n = total
                else:
                    chunk = c.payload
                    try:
                        c = yield c
                        n = k.m.dialect.sent(k, c, len(chunk))
                    except ModemError as err:
                        n = yield from k.send_error(chunk, err)
                sent += n
                if not whole or sent >= total or not k.stream:
                    return sent
        except OSError as err:
            raise (self._sendall_failed(err, sent, total) if whole else err)

    def _sendall_now(self, mv):
        """sendall's steady state in the program's call: each chunk's command carried out
        by the blocking runner and its answer read, without a flow (a generator is the
        largest part of a send's heap on a board); in data mode one write. Returns how far
        it got: at a step that needs a flow (a wait, a retry, a resume), send_flow goes on."""
        self._m.check_open()
        k = self.link
        d = k.m.dialect
        r = self._m.blocking  # called as a method each time: a bound method is heap
        total = len(mv)
        sent = 0
        try:
            while sent < total:
                c = self._next_send(mv, sent)
                if c is None:
                    return sent
                if isinstance(c, int):
                    return total
                if isinstance(c, Write):
                    try:
                        r.output_step(c)  # data mode: the UART is the link
                    finally:
                        c.data = None  # the program's buffer is not kept alive by us
                    return total
                chunk = c.payload
                try:
                    n = d.sent(k, r.command(c), len(chunk))
                except ModemError as err:
                    n = self._m.run(k.send_error(chunk, err))
                sent += n
            return sent
        except OSError as err:
            raise self._sendall_failed(err, sent, total)

    def send(self, data):
        return self._m.run(self.send_flow(memoryview(data)))

    def sendall(self, data):
        """All of data, or an OSError whose `sent` says how many bytes the module confirmed.
        A datagram socket sends one datagram."""
        mv = memoryview(data)
        if len(mv):  # a byte is never counted unless the module confirmed it
            sent = self._sendall_now(mv)
            if sent < len(mv):
                self._m.run(self.send_flow(mv, True, sent))

    def sendto(self, data, addr):
        k = self.link
        if k.stream:
            raise ModemError(EISCONN, "sendto on a stream socket")
        mv = memoryview(data)
        host, port = _address(addr)
        cold("texts", "check_host", host)
        check_port(port)
        if k.service:
            self._usable()
            return self._m.run(k.send_flow(mv, (host, port)))
        if k.state == CLOSED and not self.used:
            self.connect(addr)
        elif (host, port) != k.peer:
            raise ModemError(EISCONN, "UDP socket is bound to %s:%d by the module" % k.peer)
        return self.send(mv)

    # ---------------------------------------------------------------- receiving
    def _wait(self, pred, what):
        """Service the line until pred(), the socket's timeout, or (non-blocking) at once.
        Returns False when non-blocking and pred() does not hold."""
        self._usable()
        m = self._m
        if pred():
            return True
        k = self.link
        if k.suspended and not k.ended():
            m.run(m.data.resume(k))
        ms = self._wait_ms()
        if ms == 0:
            m.kick()
            return pred()
        if not m.until(pred, ms):
            raise k.timed_out(what, self._timeout)
        return True

    def _wait_ms(self):
        """Before waiting for input: a connect in progress settled, the socket usable; how
        long the socket waits (None: for ever, 0: not at all)."""
        self._settle_connect()
        k = self.link
        if k.state != OPEN and not k.listening:
            if k.connect_error is not None:
                raise k.connect_error
            raise ModemError(ENOTCONN, "socket is not connected")
        t = self._timeout
        if t is None:
            return None
        if t is not self._t_seen:  # a float timeout: its product is a heap object, once
            self._t_seen = t
            self._t_ms = int(t * 1000)
        return self._t_ms

    def _end(self):
        """Nothing buffered and the stream ended: b'' for a close, the error for a failure."""
        err = self.link.inbox.error
        if err is not None:
            raise err
        return b""

    def _took(self):
        self.link.inbox.taken()
        self._m.kick()  # room again: the next module read goes out before the program asks

    def recv(self, n):
        check_size(n)
        self._usable()
        ib = self.link.inbox
        if not ib.stream:
            return self.recvfrom(n)[0]
        if n == 0:
            return b""
        if not self._wait(self._has_input, "recv"):
            raise ModemError(EAGAIN, "no data yet")
        ring = ib.ring
        if not ring.count:
            return self._end()
        data = ring.read(n)
        self._took()
        return data

    def recv_into(self, buf, nbytes=0):
        check_size(nbytes, "nbytes")
        want = nbytes if 0 < nbytes < len(buf) else len(buf)
        self._usable()
        ib = self.link.inbox
        if not ib.stream:
            d = self.recvfrom(want)[0]
            buf[: len(d)] = d
            return len(d)
        if not want:
            return 0
        if not self._wait(self._has_input, "recv_into"):
            raise ModemError(EAGAIN, "no data yet")
        ring = ib.ring
        if not ring.count:
            self._end()
            return 0
        got = ring.readinto(buf, want)
        self._took()
        return got

    def recvfrom(self, n):
        check_size(n)
        ib = self.link.inbox
        if ib.stream:
            return self.recv(n), self.link.peer
        if not self._wait(self._has_input, "recvfrom"):
            raise ModemError(EAGAIN, "no data yet")
        if not ib.dgrams:
            self._end()
            return b"", self.link.peer
        d, addr = ib.pop_datagram()
        self._took()
        return d[:n], addr
