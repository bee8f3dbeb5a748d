"""When the line's framing is in doubt: a payload whose length the bytes after it did not
confirm, a header that cannot be read, data for a socket that is not open, a line of
binary data. Nothing unverified reaches a program: the sockets whose data may be in the
damaged bytes fail (after what was verified before), the read waiting for it ends, what
the bytes may have hidden (a reboot, a data-waiting notice) is looked for again, and the
module's table is reconciled at the next operation. Other sockets carry on."""
from ..errors import EPROTO, LinkError


def framing(d, target, why, tail):
    """target: the payload's (DISCARD when it is nobody's, or could be anybody's); tail:
    the rest of the line where the damage was seen."""
    d.doubt = True
    seen = target.rx_staged() + tail
    for banner in d.BOOT_URCS:
        if b"\n" + banner in seen:  # the module rebooted in the middle: each socket hears that
            target.rx_abort(None)
            d.m.on_boot_urc(banner)
            return
    sock = getattr(target, "sock", None)
    if sock is not None:
        fail(sock, why)
    p = d.engine.pending
    if p is not None and not p.done and p.lands and (p.sock is sock or sock is None):
        if sock is None:
            fail(p.sock, why)  # its answer may be the damaged bytes
        if tail:
            p.doomed = True  # its OK may still come: it ends then, or once the line is quiet
        else:
            p.finish(b"framing error")  # stalled: nothing more is coming
    if sock is None:
        last = d.m.pump.last  # in buffer mode data comes in read answers only: the last one's
        for s in d.socks.values():
            if pushed(s) or s is last:
                fail(s, "its data may have been in the damaged bytes (%s)" % why)
    for sid in d.rescan(seen):
        s = d.socks.get(sid)
        if s is not None and s is not sock:
            fail(s, "its data may have been in the damaged bytes (%s)" % why)
    for s in d.socks.values():
        if s.inbox.held and not s.inbox.broken:
            s.data_waiting()  # a data-waiting notice may have been lost: read again


def pushed(s):
    """s receives data the module pushes (not held for reads, not a data-mode stream)."""
    ib = s.inbox
    return s.opened and not ib.held and not ib.broken and s.mode != "transparent" and not ib.ended()


def fail(sock, why):
    ib = sock.inbox
    if ib.broken:
        return
    ib.rx_abort(LinkError(EPROTO, "socket %d: framing error: %s; the connection's data from "
                          "there on is lost (bytes dropped or garbled on the UART, or the module "
                          "reset: README, Errors)" % (sock.id, why)))
