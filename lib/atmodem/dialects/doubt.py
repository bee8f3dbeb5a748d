"""When the line's framing is in doubt: a payload whose length the bytes after it did not
confirm, a header that cannot be read, data for a socket that is not open, a line of
binary data. Nothing unverified reaches a program: the sockets whose data may be in the
damaged bytes fail (after what was verified before), the read waiting for it ends, what
the bytes may have hidden (a reboot, a data-waiting notice) is looked for again, and the
module's table is reconciled at the next operation. Other sockets carry on."""
from ..compat import cold
from ..errors import EPROTO, LinkError
from .parse import lead_ints


def framing(d, target, why, tail):
    """target: the payload's (DISCARD when it is nobody's, or could be anybody's); tail:
    the rest of the line where the damage was seen."""
    d.doubt = True
    seen = target.rx_staged() + tail
    for banner in d.BOOT_URCS:
        if b"\n" + banner in seen:  # the module rebooted in the middle: each socket hears that
            target.rx_abort(None)
            cold("events", "boot", d.m, banner)
            return
    link = getattr(target, "link", None)
    if link is not None:
        fail(link, why)
    p = d.engine.pending
    if p is not None and not p.done and p.lands and link is None:
        p.garbled = why  # its answer may be the damaged bytes: its OK without a header says so
    elif p is not None and not p.done and p.lands and p.link is link:
        if tail:
            p.doomed = True  # its OK may still come: it ends then, or once the line is quiet
        else:
            p.finish(b"framing error")  # stalled: nothing more is coming
    if link is None:
        last = d.m.pump.last  # in buffer mode data comes in read answers only
        for k in d.links.values():
            if pushed(k) or k is last:
                fail(k, "its data may have been in the damaged bytes (%s)" % why)
    for sid in rescan(d, seen):
        k = d.links.get(sid)
        if k is not None and k is not link:
            fail(k, "its data may have been in the damaged bytes (%s)" % why)
    for k in d.links.values():
        if k.inbox.held and not k.inbox.broken:
            k.data_waiting()  # a data-waiting notice may have been lost: read again


def pushed(k):
    """Link k receives data the module pushes (not held for reads, not a data-mode stream)."""
    ib = k.inbox
    return k.opened and not ib.held and not ib.broken and k.mode != "transparent" and not ib.ended()


def fail(link, why):
    ib = link.inbox
    if ib.broken:
        return
    ib.rx_abort(LinkError(EPROTO, "socket %d: framing error: %s; the connection's data from "
                          "there on is lost (bytes dropped or garbled on the UART, or the module "
                          "reset: README, Errors)" % (link.id, why)))


def rescan(d, seen):
    """The ids of links whose payload headers (d.PAYLOADS) appear in seen (damaged bytes)."""
    ids = []
    for pre, field, _, _ in d.PAYLOADS:
        i = seen.find(pre)
        while i >= 0:
            f = lead_ints(b",".join(seen[i + len(pre) : i + len(pre) + 64].split(b",")[field : field + 1]))
            if f:
                ids.append(f[0])
            i = seen.find(pre, i + 1)
    return ids
