"""What the NM28's +IP* set shares with Quectel's +QI* set, on which it was modelled: a
data header `"recv",<id>,<len>[,"<ip>",<port>]` with the bytes after its line, a listener's
`"incoming"` and a socket's `"closed"` URC, a send whose full buffer answers `SEND FAIL`, a
close per id and a state table whose sixth field is the state (docs/nm28.md, docs/quectel.md).
A dialect of the family is an IpFamily, which is a Dialect."""
from ..command import Background, Command
from ..compat import cold, const
from ..errors import EIO, ATError, text
from ..flow import pause
from ..states import CLOSING
from .base import Dialect
from .parse import last_int, unquote

_CMD_MS = const(5000)


# Receive switching one socket at a time, in the background (AT+IPSWTMD, AT+QISWTMD): a
# pushed socket the program is not reading fast enough is set to hold its data in the module
# (buffer mode), and back to push once it is read empty. SWITCH is "%d,%d": id, 0 hold | 1
# push | 2 data mode.
class Switch(Background):
    """The switch for one link: to hold (buffer mode) or push, or into data mode (data)."""

    def __init__(self, link, dialect, hold, data=False, on_connect=None):
        m = 2 if data else 0 if hold else 1
        Background.__init__(self, dialect.SWITCH % (link.id, m), dialect,
                            prompt=b"CONNECT" if data else None, on_connect=on_connect)
        self.link = link
        self.hold = hold
        self.data = data


def next_switch(d):
    """The switch a link of d's is due, or None (the pump asks when it is free)."""
    for k in d.links.values():
        ib = k.inbox
        if ib.switching or ib.want_hold == ib.held or k.mode == "transparent" or not k.opened:
            continue
        if ib.ended() or ib.switch_errors >= 3 or k.listening:
            continue
        ib.switching = True
        ib.burst = 0
        return Switch(k, d, ib.want_hold)
    return None


def switched(d, c):
    """A hold / push switch has its answer (at the byte it came)."""
    ib = c.link.inbox
    ib.switching = False
    if c.ok():
        ib.held = c.hold
        if ib.held and ib.burst > ib.max_burst:
            ib.max_burst = ib.burst
    else:
        ib.switch_errors += 1
    if ib.want_hold != ib.held:
        d.m.pump.switch_due()


class IpFamily(Dialect):
    CLOSE = b""  # "%d": the id
    CLOSE_MS = 5000
    CLOSE_PREFIX = None  # type: bytes | None
    STATE = b""  # the command that lists the module's sockets
    STATE_PREFIX = b""
    INCOMING = 19  # len('+IPURC: "incoming",'): where an accepted client's fields start
    Context = object  # the dialect's per-connection class

    def _payload(self, buf, s, e, push, sid):
        """`<len>[,"<ip>",<port>]` at self._p in the header buf[s:e], after its id (sid, -1
        when none could be read): <len> raw bytes follow the line."""
        n = self.num(buf, e)
        target = self.payload_target(sid, n, push, buf, s, e)
        if target is None:
            return True
        if self._p < e:  # a bound UDP socket also names the peer
            f = bytes(buf[self._p : e]).split(b",")
            try:
                target.rx_addr = (text(unquote(f[0])), int(f[1]))
            except (ValueError, IndexError):
                pass
        if not push:
            self.read_header(sid, n)
        self.engine.expect(target, n, push)
        return True

    def _u_incoming(self, line):
        """+IPURC: "incoming",<new id>,<listener id>,"<ip>",<port>: a listener accepted."""
        f = line[self.INCOMING :].split(b",")
        try:
            sid, lid, addr = int(f[0]), int(f[1]), (text(unquote(f[2])), int(f[3]))
        except (ValueError, IndexError):
            return None
        listener = self.links.get(lid)
        old = self.links.get(sid)
        # The id of a link we are closing is free on the module as soon as it said so,
        # which may be in the same chunk as this URC.
        if listener is not None and listener.listening and (old is None or old.state == CLOSING):
            self.dirty.discard(sid)
            c = cold("server", "accepted", listener, sid, addr)
            c.ctx = self.Context()
            self.links[sid] = c
            return c
        self.doubt = True
        return None

    def _u_closed(self, line):
        """+IPURC: "closed",<id>: the peer closed or the link broke (the module says the same
        for both: an end of stream, README)."""
        sid = last_int(line)
        k = self.links.get(sid)
        if k is not None:
            k.on_closed(None)
        elif sid not in self.dirty:
            self.doubt = True

    def switch_cmd(self):
        return next_switch(self)

    # ---------------------------------------------------------------- sending
    def send(self, link, mv, peer=None, failed=None):
        """SEND FAIL while the link is up means a full send buffer (the family's flow
        control): retry the same bytes for up to the flow wait, then close with an error.
        failed: the SEND FAIL of an attempt already made (send_failed)."""
        m = self.m
        clock = m.clock
        deadline = clock.ticks_add(clock.ticks_ms(), m.flow_wait_ms)
        while True:
            if failed is None:
                try:
                    n = yield from self._send_once(link, mv, peer)
                    return n
                except ATError as err:
                    failed = err
            if "SEND FAIL" not in failed.answer or link.ended():
                raise failed
            if clock.ticks_diff(deadline, clock.ticks_ms()) <= 0:
                err = yield from link.flow_timeout("SEND FAIL (send buffer full)")
                raise err
            failed = None
            yield pause(200)

    def send_failed(self, link, mv, err):
        if not isinstance(err, ATError):
            raise err
        return (yield from self.send(link, mv, None, err))

    def _send_cmd(self, link, mv, peer):
        """The send command for mv (to peer, a bound UDP socket's)."""
        raise NotImplementedError

    def _send_once(self, link, mv, peer):
        c = yield self._send_cmd(link, mv, peer)
        return self.sent(link, c, len(mv))

    def sent(self, link, c, n):
        ok = c.ok() and (c.conf or b"SEND SUCCESS" in c.lines)
        answer = b"" if ok else c.lines[-1] if c.lines else c.result or b"no answer"
        cmd = c.text
        self.sent_with(link, c)
        if ok:
            return n
        raise ATError(text(cmd), text(answer) + " (0 of %d bytes confirmed)" % n, EIO)

    # ---------------------------------------------------------------- the socket table
    def close(self, link):
        """A flow: True when the module confirmed the id free."""
        ok = yield from self.close_id(link.id)
        if ok:
            return True
        table = yield from self.table()
        return link.id not in table

    def close_id(self, sid):
        c = yield Command(self.CLOSE % sid, prefix=self.CLOSE_PREFIX, timeout_ms=self.CLOSE_MS, check=False)
        return c.ok()

    def table(self):
        """A flow: the ids the module has open (any state but closed: the sixth field 0)."""
        c = yield Command(self.STATE, prefix=self.STATE_PREFIX, timeout_ms=_CMD_MS)
        return self.open_ids(c.lines)

    def open_ids(self, lines):
        """The ids of a state table's lines that are not closed."""
        ids = set()
        for line in lines:
            f = line[line.index(b":") + 1 :].split(b",")
            try:
                if len(f) >= 6 and int(f[5]) != 0:
                    ids.add(int(f[0]))
            except ValueError:
                pass
        return ids
