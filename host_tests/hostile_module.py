"""A hostile module: a scripted NM28, L610 or Quectel (EC200U) on a pseudo-terminal, written
for this tier (not tools/emulator). It answers the driver's bring-up and socket commands in
the byte forms of docs/nm28.md, docs/l610.md and docs/quectel.md, has no network (what a socket "receives" is
scripted by the test; the default peer echoes), and misbehaves on purpose through hooks:

    mod = HostileModule("l610")
    mod.on("AT+MIPOPEN=", [(0, OK), (0.005, b"\\r\\n+MIPSTAT: 1,1\\r\\n")], times=1)
    mod.peer = lambda mod, sid, data: mod.deliver(sid, data)    # the default: an echo peer
    mod.inject(b"\\r\\nRDY\\r\\n", delay=0.5)                    # any bytes, any time
    mod.wrote, mod.lines, mod.sent                              # what each side wrote

An answer is bytes, None (silence), a list of (offset_s, bytes or callable) pieces (offsets
from the command), or a callable (mod, line) returning one of those or DEFAULT (the normal
answer). All output goes out in order through one thread; a callable runs there, in turn."""
from __future__ import annotations

import binascii
import heapq
import os
import select
import threading
import time
import tty

DEFAULT = object()
BOOT = {"nm28": b"RDY", "l610": b"AT command ready", "quectel": b"RDY"}
MODEL = {"nm28": b"NM28", "l610": b"L610", "quectel": b"EC200U"}
MAKER = {"nm28": b"Yuge", "l610": b"Fibocom", "quectel": b"Quectel"}  # ATI's first line
SPEAKS = tuple(BOOT)  # the dialects this module speaks
IP = b"10.166.80.147"
OK = b"\r\nOK\r\n"


def args(line):
    """The fields after '=' (quotes removed): b'AT+X=1,"a,b",,3' -> [b'1', b'a,b', b'', b'3']."""
    out, cur, quoted = [], bytearray(), False
    for c in line[line.index(b"=") + 1:] if b"=" in line else b"":
        if c == 34:
            quoted = not quoted
        elif c == 44 and not quoted:
            out.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(c)
    return out + [bytes(cur)]


class Sock:
    def __init__(self, sid, udp, host, port):
        self.id, self.udp, self.host, self.port = sid, udp, host, port
        # NM28 AT+IPSWTMD: 1 direct (push, the module's default), 0 buffer; a Quectel's
        # <access_mode> likewise (1 push, 0 buffer), set by AT+QIOPEN and AT+QISWTMD
        self.mode = 1
        # What the module holds for the host (buffer mode): bytes, and (raw, after) pairs
        # that stand for one read's whole answer (a damaged one); after() runs once it is out.
        self.held = []


class Hook:
    def __init__(self, prefix, answer, times):
        self.prefix, self.answer, self.times, self.used = prefix, answer, times, 0


class HostileModule:
    def __init__(self, dialect, echo_stuck=False, model=None, async_delay=0.005, peer=None, banner=None):
        assert dialect in BOOT, dialect
        self.dialect = dialect
        self.banner = BOOT[dialect] if banner is None else banner  # its boot URC
        self.echo_stuck = echo_stuck  # ATE0 answers OK and echo stays on
        self.model = MODEL[dialect] if model is None else model  # AT+CGMM's text line
        self.async_delay = async_delay  # an async command's OK to its result URC
        self.peer = peer or (lambda mod, sid, data: mod.deliver(sid, data))
        self.lock = threading.RLock()
        self._cond = threading.Condition(self.lock)
        self._q = []  # (when, seq, bytes or callable): the output, in order
        self._seq = 0
        self.hooks = []
        self.wrote = bytearray()  # every byte the host wrote
        self.lines = []  # every command line, without its CR
        self.sent = bytearray()  # every byte the module wrote
        self.closed = False
        self.fmt = 0  # L610 IPRFMT, kept across power-off [L610 manual §3.2]
        self._reset()
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._read_loop, self._out_loop)]
        for t in self._threads:
            t.start()

    def _reset(self):
        """Power-on state: echo on, no bearer, no sockets."""
        self.echo = True
        self.cmee = 0
        self.called = False  # L610 AT+MIPCALL=1 / NM28 AT+CGACT=1,1 / Quectel AT+QIACT=1
        self.socks = {}
        self._line = bytearray()
        self._need = 0  # payload bytes still to come after a send prompt
        self._payload = bytearray()
        self._payload_done = None

    # ---------------------------------------------------------------- behaviours
    def on(self, prefix, answer, times=None):
        """Answer command lines starting with prefix so (times: how often; None: always).
        The newest hook that matches wins."""
        h = Hook(prefix.encode() if isinstance(prefix, str) else prefix, answer, times)
        with self.lock:
            self.hooks.insert(0, h)
        return h

    def inject(self, data, delay=0.0):
        self.emit(data, delay)

    def later(self, delay, fn):
        """fn() on the output thread after delay seconds, in turn with the output."""
        self.emit(fn, delay)

    def reboot(self, banner=True):
        """The module resets: sockets and bearer gone, echo on; then its boot URC."""
        with self.lock:
            self._reset()
            if banner:
                self.emit(b"\r\n" + self.banner + b"\r\n")

    def commands(self, prefix=b""):
        """The command lines the host sent that start with prefix."""
        prefix = prefix.encode() if isinstance(prefix, str) else prefix
        with self.lock:
            return [line for line in self.lines if line.startswith(prefix)]

    # ---------------------------------------------------------------- output
    def emit(self, item, delay=0.0):
        if item is None or (isinstance(item, bytes) and not item):
            return
        with self._cond:
            self._seq += 1
            heapq.heappush(self._q, (time.monotonic() + delay, self._seq, item))
            self._cond.notify()

    def _answer(self, ans):
        if isinstance(ans, (bytes, bytearray)):
            self.emit(bytes(ans))
        elif isinstance(ans, list):
            for delay, piece in ans:
                self.emit(piece, delay)
        elif ans is not None:
            raise TypeError("an answer is bytes, None or a list of (delay, piece), not %r" % (ans,))

    def _out_loop(self):
        while True:
            with self._cond:
                while not self.closed and (not self._q or self._q[0][0] > time.monotonic()):
                    self._cond.wait(max(0.0, self._q[0][0] - time.monotonic()) if self._q else None)
                if self.closed:
                    return
                item = heapq.heappop(self._q)[2]
                if callable(item):
                    item()
                    continue
            self.sent += item
            mv = memoryview(item)
            while len(mv) and not self.closed:
                try:
                    mv = mv[os.write(self.master, mv):]
                except BlockingIOError:
                    select.select([], [self.master], [], 0.05)  # the host is not reading
                except OSError:
                    break

    # ---------------------------------------------------------------- input
    def _read_loop(self):
        while not self.closed:
            r, _, _ = select.select([self.master, self._wake_r], [], [])
            if self.closed or self._wake_r in r:
                return
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return
            with self.lock:
                self.wrote += data
                self._input(data)

    def _input(self, data):
        """Command lines end at CR (echoed while echo is on); after a send prompt, the next
        n bytes are its payload."""
        i, n = 0, len(data)
        while i < n:
            if self._need:
                k = min(self._need, n - i)
                self._payload += data[i:i + k]
                self._need -= k
                i += k
                if not self._need:
                    done, self._payload_done = self._payload_done, None
                    if done is not None:
                        done(bytes(self._payload))
                continue
            j = data.find(b"\r", i)
            seg = data[i:] if j < 0 else data[i:j + 1]
            if self.echo:
                self.emit(seg)
            self._line += seg
            i += len(seg)
            if j >= 0:
                line = bytes(self._line).strip()
                self._line = bytearray()
                if line:
                    self._command(line)

    def _command(self, line):
        self.lines.append(line)
        for h in self.hooks:
            if h.times != 0 and line.startswith(h.prefix):
                ans = h.answer(self, line) if callable(h.answer) else h.answer
                if ans is DEFAULT:
                    break
                h.used += 1
                if h.times is not None:
                    h.times -= 1
                return self._answer(ans)
        self._answer(self.baseline(line))

    # ---------------------------------------------------------------- the normal answers
    def err(self, text=b"operation not allowed"):
        return b"\r\n+CME ERROR: " + text + b"\r\n" if self.cmee == 2 else b"\r\nERROR\r\n"

    def baseline(self, line):
        up = line.upper()
        for prefix, fn in self._TABLES[self.dialect] + self._COMMON:
            if up.startswith(prefix):
                try:
                    return fn(self, line)
                except (ValueError, IndexError, KeyError):
                    return self.err(b"invalid parameters")
        return OK if up == b"AT" else self.err(b"unknown")

    def _ate(self, line):
        if line.upper() in (b"ATE0", b"ATE1") and not self.echo_stuck:
            self.echo = line.endswith(b"1")
        return OK

    def _set(self, attr, value):
        setattr(self, attr, value)
        return OK

    _COMMON = [
        (b"ATE", _ate),
        (b"ATI", lambda self, line: b"\r\n%s\r\n%s\r\n\r\nRevision: 1.0\r\n" % (MAKER[self.dialect], self.model) + OK),
        (b"AT+CMEE=", lambda self, line: self._set("cmee", int(args(line)[0]))),
        (b"AT+CGMM", lambda self, line: b"\r\n" + self.model + b"\r\n" + OK),
        (b"AT+CPIN?", lambda self, line: b"\r\n+CPIN: READY\r\n" + OK),
        (b"AT+CSQ", lambda self, line: b"\r\n+CSQ: 24,99\r\n" + OK),
        (b"AT+CGREG?", lambda self, line: b"\r\n+CGREG: 0,1\r\n" + OK),
        (b"AT+CEREG?", lambda self, line: b"\r\n+CEREG: 0,1\r\n" + OK),
        (b"AT+CGDCONT=", lambda self, line: OK),
        (b"AT+CFUN", lambda self, line: OK),
        (b"AT+CPWROFF", lambda self, line: OK),
    ]

    def _open(self, sid, udp, host, port, result):
        """OK now, the result later [NM28 manual §2.1; L610 manual §3.2]."""
        if sid in self.socks:
            return self.err()
        self.socks[sid] = Sock(sid, udp, host, port)
        return [(0, OK), (self.async_delay, result % sid)]

    def _send(self, line, limit, prompt, result, final=OK):
        """The prompt, exactly n payload bytes, the result (then final); then the peer gets them."""
        a = args(line)
        s, n = self.socks[int(a[0])], int(a[1])
        if not 0 < n <= limit:
            return self.err()

        def done(data):
            self.emit(result.replace(b"<id>", b"%d" % s.id) + final)
            self.later(0.002, lambda: self.peer(self, s.id, data))

        self._need, self._payload, self._payload_done = n, bytearray(), done
        return prompt.replace(b"<id>", b"%d" % s.id).replace(b"<n>", b"%d" % n)

    def _close(self, line, result):
        sid = int(args(line)[0])
        self.socks.pop(sid, None)
        return result(sid)

    # ---------------------------------------------------------------- NM28: +IP*
    def _ipswtmd(self, line):
        a = args(line)
        s, mode = self.socks[int(a[0])], int(a[1])
        if mode not in (0, 1):
            return self.err()  # no transparent mode here (nor in this Quectel)
        s.mode = mode
        self.emit(OK)
        if mode == 1:  # pushing again: what was held first
            self._flush(s)
        return None

    def _ipstate(self, line):
        out = b""
        for sid in range(8):
            s = self.socks.get(sid)
            if s is None:  # a free id prints so, whatever its number [NM28 manual §2.8]
                out += b"\r\n+IPSTATE: 0,TCP,,0,0,0,0\r\n"
            else:
                out += b"\r\n+IPSTATE: %d,%s,%s,%d,0,2,%d\r\n" % (sid, b"UDP" if s.udp else b"TCP", s.host, s.port, s.mode)
        return out + OK

    _NM28 = [
        (b"AT+CGACT=", lambda self, line: self._set("called", args(line)[0] == b"1")),
        (b"AT+CGPADDR", lambda self, line: b'\r\n+CGPADDR: 1,"' + IP + b'"\r\n' + OK),
        (b"AT+IPOPEN=", lambda self, line: self._open(
            int(args(line)[0]), args(line)[1] == b"UDP", args(line)[2], int(args(line)[3]), b"\r\n+IPOPEN: %d,0\r\n")),
        (b"AT+IPSWTMD=", _ipswtmd),
        (b"AT+IPSEND=", lambda self, line: self._send(
            line, 1460, b"\r\nNETWRITE: <id>,<n>\r\n\r\nCONNECT\r\n", b"\r\nSEND SUCCESS\r\n")),
        (b"AT+IPRD=", lambda self, line: self._read(self.socks[int(args(line)[0])], int(args(line)[1]), b"+IPRD")),
        (b"AT+IPCLOSE=", lambda self, line: self._close(line, lambda sid: b"\r\n+IPCLOSE: %d\r\n" % sid + OK)),
        (b"AT+IPSTATE=", _ipstate),
        (b"AT+IPDNSR=", lambda self, line: b'\r\n+IPDNSR: "10.1.2.3"\r\n' + OK),
    ]

    # ---------------------------------------------------------------- L610: +MIP*
    def _gtset(self, line):
        a = args(line)
        if a[0].upper() != b"IPRFMT" or int(a[1]) not in (0, 1, 2, 5):
            return self.err()
        old, self.fmt = self.fmt, int(a[1])
        self.emit(OK)
        if old == 5 and self.fmt != 5:  # what was held first, then newer [docs/l610.md]
            for s in list(self.socks.values()):
                self._flush(s)
        return None

    def _mipcall(self, line):
        if line.endswith(b"?"):
            return (b"\r\n+MIPCALL: 1," + IP + b"\r\n" if self.called else b"\r\n+MIPCALL: 0\r\n") + OK
        self.called = args(line)[0] == b"1"
        return [(0, OK), (self.async_delay, b"\r\n+MIPCALL: " + (IP if self.called else b"0") + b"\r\n")]

    def _mipclose(self, line):
        if line.endswith(b"?"):  # the ids in use [docs/l610.md, AT+MIPCLOSE]
            return b"\r\n+MIPCLOSE: %s\r\n" % (b",".join(b"%d" % i for i in sorted(self.socks)) or b"0") + OK
        return self._close(line, lambda sid: [(0, OK), (self.async_delay, b"\r\n+MIPCLOSE: %d,0\r\n" % sid)])

    _L610 = [
        (b'AT+GTSET="IPRFMT"', _gtset),
        (b"AT+MIPCALL", _mipcall),
        (b"AT+MIPOPEN=", lambda self, line: self._open(
            int(args(line)[0]), args(line)[4] == b"1", args(line)[2], int(args(line)[3]), b"\r\n+MIPOPEN: %d,1\r\n")),
        (b"AT+MIPSEND=", lambda self, line: self._send(
            line, 2048, b"\r\n>", b"\r\n+MIPPUSH: <id>,0\r\n\r\n+MIPSEND: <id>,0,2048\r\n")),
        (b"AT+MIPREAD=", lambda self, line: self._read(self.socks[int(args(line)[0])], int(args(line)[1]), b"+MIPDATA")),
        (b"AT+MIPCLOSE", _mipclose),
        (b"AT+MIPDNS=", lambda self, line: b'\r\n+MIPDNS: "%s",10.1.2.3\r\n' % args(line)[0] + OK),
    ]

    # ---------------------------------------------------------------- Quectel: +QI*
    def _qiact(self, line):
        if line.endswith(b"?"):  # one line per active context [docs/quectel.md, Bearer]
            return (b'\r\n+QIACT: 1,1,1,"' + IP + b'"\r\n' if self.called else b"") + OK
        if int(args(line)[0]) != 1:
            return self.err()
        self.called = True
        return OK

    def _qideact(self, line):
        self.called = False
        self.socks = {}  # every socket of the context is closed [docs/quectel.md]
        return OK

    def _qiopen(self, line):
        """AT+QIOPEN=1,<id>,"TCP"|"UDP","<host>",<port>,0,<access>: OK, then +QIOPEN: <id>,0."""
        a = args(line)
        access = int(a[6]) if len(a) > 6 else 0
        if a[2] not in (b"TCP", b"UDP") or access not in (0, 1):
            return self.err()  # no listeners or transparent mode here
        sid = int(a[1])
        if sid in self.socks or not 0 <= sid <= 11:
            return self.err()
        ans = self._open(sid, a[2] == b"UDP", a[3], int(a[4]), b"\r\n+QIOPEN: %d,0\r\n")
        self.socks[sid].mode = access
        return ans

    def _qistate(self, line):
        out = b""
        for sid, s in sorted(self.socks.items()):  # open sockets only [docs/quectel.md]
            out += b'\r\n+QISTATE: %d,"%s","%s",%d,%d,2,1,0,%d,"uart1"\r\n' % (
                sid, b"UDP" if s.udp else b"TCP", s.host, s.port, 50000 + sid, s.mode)
        return out + OK

    def _qidnsgip(self, line):
        return [(0, OK), (self.async_delay, b'\r\n+QIURC: "dnsgip",0,1,600\r\n'),
                (self.async_delay, b'\r\n+QIURC: "dnsgip","10.1.2.3"\r\n')]

    _QUECTEL = [
        (b"AT+QICSGP=", lambda self, line: OK),
        (b"AT+QIACT", _qiact),
        (b"AT+QIDEACT=", _qideact),
        (b"AT+QICFG=", lambda self, line: OK),
        (b"AT+QISDE=", lambda self, line: OK),
        (b"AT+QIOPEN=", _qiopen),
        (b"AT+QISWTMD=", _ipswtmd),
        (b"AT+QISEND=", lambda self, line: self._send(line, 1460, b"\r\n> ", b"\r\nSEND OK\r\n", final=b"")),
        (b"AT+QIRD=", lambda self, line: self._read(self.socks[int(args(line)[0])], int(args(line)[1]), b"+QIRD")),
        (b"AT+QICLOSE=", lambda self, line: self._close(line, lambda sid: OK)),
        (b"AT+QISTATE?", _qistate),
        (b"AT+QSSLSTATE", lambda self, line: OK),
        (b"AT+QIDNSGIP=", _qidnsgip),
    ]

    _TABLES = {"nm28": _NM28, "l610": _L610, "quectel": _QUECTEL}

    # ---------------------------------------------------------------- received data
    def holds(self, s):
        """The module holds this socket's data until read (buffer mode), else pushes it."""
        return self.fmt == 5 if self.dialect == "l610" else s.mode == 0

    def push_form(self, sid, data):
        """data as the module pushes it for socket sid in its current format."""
        if self.dialect != "l610":  # the CR LF after the data as real EC200U firmware sends it
            return b'\r\n+%sURC: "recv",%d,%d\r\n' % (self._tag(), sid, len(data)) + data + b"\r\n"
        if self.fmt == 0:
            return b"\r\n+MIPRTCP: %d,0,%s\r\n" % (sid, binascii.hexlify(data).upper())
        return b"\r\n+MIPRTCP: %d,%d," % (sid, len(data)) + data + b"\r\n"

    def frame(self, sid, announced, body):
        """A header announcing `announced` bytes, then body: a push, or (buffer mode) a
        read's answer. No trailer: the test adds what follows."""
        if self.holds(self.socks[sid]):
            if self.dialect == "quectel":  # a read's answer names no id
                return b"\r\n+QIRD: %d\r\n" % announced + body
            return b"\r\n%s: %d,%d\r\n" % (b"+IPRD" if self.dialect == "nm28" else b"+MIPDATA", sid, announced) + body
        if self.dialect != "l610":
            return b'\r\n+%sURC: "recv",%d,%d\r\n' % (self._tag(), sid, announced) + body
        assert self.fmt == 2, "raw push frames are IPRFMT 2"
        return b"\r\n+MIPRTCP: %d,%d," % (sid, announced) + body

    def _tag(self):
        return b"IP" if self.dialect == "nm28" else b"QI"

    def read_end(self):
        """What ends a read's answer after its data."""
        return b"\r\n\r\nOK\r\n" if self.dialect == "quectel" else OK

    def deliver(self, sid, data):
        """The peer sent data on socket sid: pushed, or held and announced."""
        with self.lock:
            s = self.socks.get(sid)
            if s is None or not data:
                return
            if self.holds(s):
                self._hold(s, bytes(data))
                return
            for i in range(0, len(data), 1460):
                self.emit(self.push_form(sid, data[i:i + 1460]))

    def deliver_raw(self, sid, data, after=None):
        """Bytes exactly as given, for socket sid: at once (push), or as the answer to the
        next read (buffer mode, announced as data). Then after(), if given."""
        with self.lock:
            s = self.socks[sid]
            if self.holds(s):
                self._hold(s, (data, after))
            else:
                self._raw((data, after))

    def _hold(self, s, piece):
        empty = not s.held
        s.held.append(piece)
        self._announce(s, empty)

    def _announce(self, s, empty):
        if self.dialect != "l610":
            if empty:  # once, until the buffer has been read empty [NM28 manual §2.7; EC200U-AN §2.5.2]
                self.emit(b"\r\nIPREAD: %d\r\n" % s.id if self.dialect == "nm28" else b'\r\n+QIURC: "recv",%d\r\n' % s.id)
        else:  # again as more arrives [L610 manual §3.5.1]
            held = sum(len(p) for p in s.held if isinstance(p, bytes))
            self.emit(b"\r\n+MIPREAD: %d,%d\r\n" % (s.id, max(1, held)))

    def _raw(self, raw):
        self.emit(raw[0])
        if raw[1] is not None:
            self.later(0, raw[1])

    def _read(self, s, n, tag):
        """AT+IPRD / AT+MIPREAD / AT+QIRD: up to n held bytes (a raw answer goes out alone)."""
        if s.held and isinstance(s.held[0], tuple):
            return self._raw(s.held.pop(0))
        out = bytearray()
        while s.held and isinstance(s.held[0], bytes) and len(out) < n:
            piece = s.held.pop(0)
            k = n - len(out)
            out += piece[:k]
            if len(piece) > k:
                s.held.insert(0, piece[k:])
        if self.dialect == "quectel":  # +QIRD: <n>, no id; +QIRD: 0 when empty [docs/quectel.md]
            self.emit(b"\r\n%s: %d\r\n" % (tag, len(out)) + (bytes(out) + b"\r\n" if out else b"") + b"\r\nOK\r\n")
        else:
            self.emit(b"\r\n%s: %d,%d\r\n" % (tag, s.id, len(out)) + bytes(out) + OK)
        if s.held:  # more held (a read stops before a raw answer): say so again
            self._announce(s, True)
        return None

    def _flush(self, s):
        held, s.held = s.held, []
        for p in held:
            if isinstance(p, tuple):
                self._raw(p)
            else:
                self.emit(self.push_form(s.id, p))

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        os.write(self._wake_w, b"x")
        for t in self._threads:
            t.join(timeout=2)
        for fd in (self.master, self._slave, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
