"""The socket a program sees: the MicroPython/CPython socket calls over a module socket.

It knows buffers and deadlines, nothing about AT: the dialect moves bytes in and out,
the modem services the line while a call waits.
"""
from .compat import StreamBase, const
from .dialects.base import check_port, check_text
from .errors import (
    EAGAIN, EBADF, ECONNRESET, EDESTADDRREQ, EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOTCONN, ETIMEDOUT, LinkError, ModemError,
)
from .ring import Ring

AF_INET = const(2)
SOCK_STREAM = const(1)
SOCK_DGRAM = const(2)
MODES = ("push", "hex", "buffer", "transparent")

CLOSED = const(0)
OPENING = const(1)
OPEN = const(2)
CLOSING = const(3)


_FLUSH = const(1)  # MP_STREAM_FLUSH
_POLL = const(3)  # MP_STREAM_POLL
_CLOSE = const(4)  # MP_STREAM_CLOSE
_POLLIN = const(1)
_POLLOUT = const(4)
_POLLHUP = const(16)


class Socket(StreamBase):
    def __init__(self, modem, af=AF_INET, type=SOCK_STREAM, mode="push", tls=None, rxbuf=4096):
        if af != AF_INET:
            raise ValueError("only AF_INET is supported")
        if type not in (SOCK_STREAM, SOCK_DGRAM):
            raise ValueError("type must be SOCK_STREAM or SOCK_DGRAM")
        if mode not in MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(MODES), mode))
        if rxbuf < 64:
            raise ValueError("rxbuf must be at least 64 bytes")
        self._m = modem
        self.stream = type == SOCK_STREAM
        self.type = type
        self.mode = mode
        self.tls = tls
        self.id = -1
        self.state = CLOSED
        self._timeout = None
        self._rx = Ring(rxbuf if self.stream else 1)  # datagrams keep their own list
        self._rxcap = rxbuf
        self._dgrams = []
        self._dbytes = 0
        self._stage = None
        self.dropped_datagrams = 0
        self.rx_addr = None
        self.peer = None
        self.opened = None  # None while opening, then True/False from the module
        self.open_answer = b""
        self.readable = False  # buffer mode: the module holds data for us
        self.notes = 0  # buffer-mode "data waiting" URCs seen
        self.xoff = False
        self.free = 0  # L610 send-buffer space last reported
        self.closing = False
        self.close_done = False
        self.suspended = False  # transparent socket in command mode (data waits in the module)
        self.lport = 0
        self.listening = False  # a TCP LISTENER; accepted clients queue in _incoming
        self.service = False  # a bound UDP socket (UDP SERVICE): every send names its peer
        self._incoming = []
        self._eof = False
        self._error = None
        self._lost = 0
        self._wrote_after_close = False

    def __repr__(self):
        return "<atmodem.Socket id=%d %s %s>" % (self.id, self.mode, "open" if self.state == OPEN else "closed")

    # ---------------------------------------------------------------- from the dialect
    def rx_write(self, mv):
        if self._lost:
            self._lost += len(mv)
            return
        if self.stream:
            n = self._rx.write(mv)
            if n < len(mv):
                self._overflow(len(mv) - n)
        else:
            if self._stage is None:
                self._stage = bytearray()
            self._stage += mv

    def rx_end(self):
        if self._stage is not None:
            d = bytes(self._stage)
            self._stage = None
            if self._dbytes + len(d) > self._rxcap:
                self.dropped_datagrams += 1  # UDP may drop; counted, never reordered
            else:
                self._dgrams.append((d, self.rx_addr or self.peer))
                self._dbytes += len(d)

    def _overflow(self, n):
        self._lost = n
        self._error = ModemError(
            ENOBUFS,
            "socket %d: receive buffer of %d bytes overflowed and data was lost; read faster, "
            "pass a larger rxbuf= or use mode='buffer' (the module then holds the data)"
            % (self.id, self._rxcap),
        )

    def on_open(self, ok, line):
        self.opened = ok
        self.open_answer = line

    def on_closed(self, error):
        """The module ended the connection: data already here is still delivered first."""
        if error is not None and self._error is None:
            self._error = error
        self._eof = True
        if self.mode == "buffer":
            self.readable = True  # drain what the module still holds

    def rx_data_end(self):
        """The module ended data mode (NO CARRIER); the closed URC follows as a line."""
        self._m.data_ended(self)

    def suspend(self):
        """Transparent mode: hand the UART back to commands (+++); data waits in the module."""
        if self._m.data_sock is self:
            self._m.escape()

    def resume(self):
        if self.suspended and not self.ended():
            self._m.resume(self)

    def data_waiting(self):
        """From the dialect: the module says it holds data for us (IPREAD / +MIPREAD)."""
        self.readable = True
        self.notes += 1

    def drained(self, notes_before):
        """A read came back short: nothing more is waiting, unless the module said
        otherwise while the read was being answered (its URC shares the line)."""
        if self.notes == notes_before:
            self.readable = False

    def ended(self):
        return self._eof or self._error is not None

    # ---------------------------------------------------------------- connecting
    def connect(self, addr):
        host, port = addr
        check_text(host, "host")
        check_port(port)
        if self.state != CLOSED:
            raise ModemError(EISCONN, "socket is already connected")
        if not host:
            raise ValueError("host must not be empty")
        self._m.open_socket(self, host, port)

    def ioctl(self, req, arg):
        """The MicroPython stream protocol: select.poll and asyncio ask whether we are
        readable; anything else is not ours (-1; poll first asks 10, get fileno)."""
        if req == _CLOSE:  # a stream wrapped around us (tls) closes its transport
            self.close()
            return 0
        if req == _FLUSH:
            return 0
        if req != _POLL:
            return -1
        ready = 0
        if arg & _POLLIN:
            if self._available() or self.ended() or self._incoming or (self.readable and self.mode == "buffer"):
                ready |= _POLLIN
        if arg & _POLLOUT and self.state == OPEN:
            ready |= _POLLOUT
        if self.state == CLOSED:
            ready |= _POLLHUP
        return ready

    def fileno(self):
        return -1

    def bind(self, addr):
        host, port = addr
        if host not in ("", "0.0.0.0"):
            raise ValueError("the module listens on all its addresses: bind to '0.0.0.0'")
        check_port(port)
        if self.state != CLOSED:
            raise ModemError(EISCONN, "socket is already open")
        self.lport = port
        if not self.stream:
            self._m.open_server(self)  # a bound UDP socket receives from anyone at once

    def listen(self, backlog=1):
        if not self.stream:
            raise ModemError(EISCONN, "listen() is for SOCK_STREAM sockets")
        if not self.lport:
            raise ModemError(EDESTADDRREQ, "bind((\"0.0.0.0\", port)) before listen()")
        if self.mode == "transparent":
            raise ValueError("a listener cannot be transparent; accept() and use push or buffer")
        self._m.open_server(self)

    def accept(self):
        """(socket, (ip, port)) for the next client; waits like recv for the timeout."""
        if not self.listening:
            raise ModemError(EINVAL, "accept() on a socket that is not listening")
        m = self._m
        clock = m.clock
        t = self._timeout
        deadline = None if not t else clock.ticks_add(clock.ticks_ms(), int(t * 1000))
        while not self._incoming:
            if self._error is not None:
                raise self._error
            if t == 0:
                m.poll(0)
                if not self._incoming:
                    raise ModemError(EAGAIN, "no client yet")
                break
            wait = 1000 if deadline is None else clock.ticks_diff(deadline, clock.ticks_ms())
            if wait <= 0:
                raise ModemError(ETIMEDOUT, "accept timed out after %s s" % t)
            m.poll(wait)
        return self._incoming.pop(0)

    def incoming(self, sid, addr):
        """From the dialect: the module accepted a client as socket sid."""
        conn = Socket(self._m, AF_INET, SOCK_STREAM, self.mode, None, self._rxcap)
        conn.id = sid
        conn.state = OPEN
        conn.opened = True
        conn.peer = addr
        conn.lport = self.lport
        self._incoming.append((conn, addr))
        return conn

    def settimeout(self, seconds):
        if seconds is not None and seconds < 0:
            raise ValueError("timeout must be None or >= 0")
        self._timeout = seconds

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0

    def setsockopt(self, *args):
        pass  # options of the host stack do not reach the module

    def close(self):
        if self.state != CLOSED:
            self._m.close_socket(self)
        self.state = CLOSED

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- sending
    def _check_send(self):
        if self.state != OPEN:
            raise ModemError(ENOTCONN if self.state == CLOSED else EBADF, "socket is not connected")
        if self._error is not None and self._lost == 0:
            raise self._error
        if self._eof:
            raise ModemError(ENOTCONN, "socket %d: the connection was closed" % self.id)

    def _after_peer_close(self, n):
        """Like a TCP stack after the peer's FIN: the first write is taken (the peer is gone
        and would reset it; TLS close_notify does this), any later one fails."""
        if self._wrote_after_close:
            self._check_send()  # raises: the connection was closed
        self._wrote_after_close = True
        return n

    def send(self, data):
        mv = memoryview(data)
        if self.state == OPEN and self._eof and self._error is None:
            return self._after_peer_close(len(mv))
        self._check_send()
        if not len(mv):
            return 0
        if self.mode == "transparent":
            self.resume()
            self._m.write(mv)  # the UART is the socket: no command, no limit
            return len(mv)
        d = self._m.dialect
        n = d.max_send(self)
        try:
            return d.send(self, mv[:n] if len(mv) > n else mv)
        except ModemError as err:
            # A refused send is often the first sign of a lost connection: its URC may be
            # a moment behind. Say that, rather than only the command's answer.
            if not self.ended():
                self._m.idle(100)
            if self.ended() and not isinstance(err, LinkError):
                raise LinkError(ECONNRESET, "socket %d: the connection was closed while sending (%s)" % (self.id, err))
            raise

    def sendall(self, data):
        """All of data, or an OSError whose `sent` says how many bytes the module confirmed
        (a byte is never counted unless the module confirmed it)."""
        mv = memoryview(data)
        sent = 0
        while sent < len(mv):
            try:
                sent += self.send(mv[sent:])
            except OSError as err:
                setattr(err, "sent", sent)  # how many bytes the module confirmed
                if isinstance(err, ModemError):
                    err.message += " [sendall: %d of %d bytes confirmed]" % (sent, len(mv))
                raise

    def write(self, data, n=None):
        if isinstance(data, str):
            data = data.encode()  # MicroPython sockets take str too (requests writes headers so)
        mv = memoryview(data)
        if n is not None:
            mv = mv[:n]
        self.sendall(mv)
        return len(mv)

    def sendto(self, data, addr):
        if self.stream:
            raise ModemError(EISCONN, "sendto on a stream socket")
        if self.service:
            host, port = addr
            check_text(host, "host")
            check_port(port)
            self._check_send()
            mv = memoryview(data)
            d = self._m.dialect
            if len(mv) > d.max_send(self):
                raise ModemError(EMSGSIZE, "datagram of %d bytes: the module sends at most %d" % (len(mv), d.max_send(self)))
            return d.send(self, mv, (host, port))
        if self.state == CLOSED:
            self.connect(addr)
        elif tuple(addr) != self.peer:
            raise ModemError(EISCONN, "UDP socket is bound to %s:%d by the module" % self.peer)
        return self.send(data)

    # ---------------------------------------------------------------- receiving
    def _available(self):
        return len(self._rx) if self.stream else len(self._dgrams)

    def _wait(self, what):
        """Service the line until data, end of stream, or the socket's timeout.
        Returns False when non-blocking and nothing is there."""
        m = self._m
        clock = m.clock
        t = self._timeout
        deadline = None if not t else clock.ticks_add(clock.ticks_ms(), int(t * 1000))
        if self.suspended:
            self.resume()
        while not self._available():
            if self.state != OPEN:
                raise ModemError(ENOTCONN, "socket is not connected")
            # Buffer mode: what the module holds comes before the end of the stream.
            room = self._rx.free() if self.stream else self._rxcap - self._dbytes
            if self.readable and self.mode == "buffer" and room > 0:
                try:
                    if m.dialect.read(self, room):
                        continue
                except OSError:
                    if not self.ended():
                        raise
                    self.readable = False  # the module lost it with the connection
                    continue
                if self._eof:
                    self.readable = False
                continue
            if self.ended():
                return True
            wait = 1000
            if t == 0:
                m.poll(0)
                if self._available() or self.ended() or self.readable:
                    continue
                return False
            if deadline is not None:
                wait = clock.ticks_diff(deadline, clock.ticks_ms())
                if wait <= 0:
                    raise ModemError(ETIMEDOUT, "socket %d: %s timed out after %s s" % (self.id, what, t))
            if m.data_sock is self and m.engine.holding():
                wait = min(wait, m.hold_ms)
            if not m.poll(wait) and m.data_sock is self:
                m.engine.flush_hold()  # quiet line: a held tail was data
        return True

    def _finish(self):
        """Nothing buffered and the stream ended: b'' for a close, the error for a failure."""
        if self._error is not None:
            err = self._error
            raise err
        return b""

    def recv(self, n):
        if n < 0:
            raise ValueError("negative buffer size")
        if not self._wait("recv"):
            raise ModemError(EAGAIN, "no data yet")
        if not self.stream:
            return self.recvfrom(n)[0]
        if not len(self._rx):
            return self._finish()
        return self._rx.read(n)

    def recv_into(self, buf, nbytes=0):
        if not self._wait("recv_into"):
            raise ModemError(EAGAIN, "no data yet")
        if not len(self._rx):
            self._finish()
            return 0
        return self._rx.readinto(memoryview(buf), nbytes or len(buf))

    def recvfrom(self, n):
        if self.stream:
            return self.recv(n), self.peer
        if not self._wait("recvfrom"):
            raise ModemError(EAGAIN, "no data yet")
        if not self._dgrams:
            self._finish()
            return b"", self.peer
        d, addr = self._dgrams.pop(0)
        self._dbytes -= len(d)
        return d[:n], addr

    def read(self, n=-1):
        """Up to n bytes, waiting for all n unless the stream ends (no short reads);
        None when non-blocking and nothing is there."""
        out = bytearray()
        while n < 0 or len(out) < n:
            if not self._wait("read"):
                if out:
                    break
                return None
            if not len(self._rx):
                if not out:
                    self._finish()
                break
            out += self._rx.read(len(self._rx) if n < 0 else n - len(out))
        return bytes(out)

    def readinto(self, buf, nbytes=None):
        mv = memoryview(buf)
        want = len(mv) if nbytes is None else min(nbytes, len(mv))
        got = 0
        while got < want:
            if not self._wait("readinto"):
                return got or None
            if not len(self._rx):
                if not got:
                    self._finish()
                break
            got += self._rx.readinto(mv[got:], want - got)
        return got

    def readline(self):
        out = bytearray()
        while True:
            if not self._wait("readline"):
                return bytes(out) if out else None
            if not len(self._rx):
                if not out:
                    self._finish()
                return bytes(out)
            i = self._rx.find(10)
            if i >= 0:
                out += self._rx.read(i + 1)
                return bytes(out)
            out += self._rx.read(len(self._rx))
