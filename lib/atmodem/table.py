"""The module's socket table is the truth. Flows that open and close links on it, give an
id back only once the module confirms it free, and reconcile atmodem's picture with what
the module reports: at start, after a reboot, and whenever the module contradicts us."""
from .errors import ENETDOWN, ECONNRESET, ATError, ConnectError, LinkError, ModemError, text
from .compat import cold
from .flow import Until, once
from .states import CLOSED, CLOSING, OPEN, OPENING

OPEN_MS = 60000


def ensure_up(m):
    """After a module reboot: bring it back (and attach again when asked to)."""
    if not m.rebooted:
        return
    m.rebooted = False
    yield from once("bringup", "start", m, 10000)
    if m.auto_reattach and m.attach_args is not None:
        apn, user, password, timeout, progress = m.attach_args
        yield from once("bringup", "attach", m, apn, user, password, int(timeout * 1000), progress)


def _online(m):
    yield from ensure_up(m)
    if m.ip is None:
        raise ModemError(ENETDOWN, "no data bearer: call modem.attach() first")
    if m.dialect.doubt:
        yield from reconcile(m)


def open_begin(m, link, host, port, by=None):
    """Claim an id and send the open; the module's answer comes later (open_end). by: when
    the whole open must be over (ticks)."""
    yield from _online(m)
    d = m.dialect
    link.reset()
    link.peer = (host, port)
    clock = m.clock
    link.open_by = by if by is not None else clock.ticks_add(clock.ticks_ms(), OPEN_MS)
    for attempt in (0, 1):
        yield from d.claim_id(link)
        link.state = OPENING
        try:
            yield from d.open(link, host, port)
            return
        except ATError as err:
            sid = link.id
            yield from abandon(m, link)
            if attempt or not _in_use(d, err):
                raise err
            # The module says the id is in use: our table is wrong. Ask it, then retry.
            d.dirty.add(sid)
            yield from reconcile(m)
        except BaseException as err:
            yield from abandon(m, link)
            raise err


def open_end(m, link):
    """The module answered the open: the link is open, or closed again and the error says why."""
    d = m.dialect
    try:
        yield from d.opened(link)
    except ConnectError as err:
        yield from abandon(m, link)
        host = link.peer[0]
        if not cold("texts", "is_ipv4", host):
            yield from d.resolve(host)  # a name that does not resolve says so, not "refused"
        raise err
    except BaseException as err:
        yield from abandon(m, link)
        raise err
    if link.state == OPENING:
        link.state = OPEN


def open(m, link, host, port, timeout_ms):
    """The whole open within timeout_ms (the module's own limit if longer, or none: 0):
    waiting for the module, the open, its answer."""
    d = m.dialect
    clock = m.clock
    ms = d.open_timeout(link, timeout_ms or OPEN_MS)
    by = clock.ticks_add(clock.ticks_ms(), ms)
    for attempt in (0, 1):
        yield from open_begin(m, link, host, port, by)
        try:
            yield Until(lambda: d.open_done(link), max(1, clock.ticks_diff(by, clock.ticks_ms())), text(link.open_cmd))
        except BaseException as err:
            yield from abandon(m, link)
            raise err
        sid = link.id
        try:
            yield from open_end(m, link)
            return
        except ConnectError as err:
            # Some modules say the id is taken only in the open's later answer (Quectel)
            if attempt or not _in_use(d, err):
                raise err
            d.dirty.add(sid)
            yield from reconcile(m)


def _in_use(d, err):
    """The module refused the open because it holds the id: our table is wrong."""
    why = str(err)
    return any(w in why for w in d.ID_IN_USE)


def listen(m, link):
    """A TCP listener (listen) or a bound UDP socket (bind) on the module."""
    yield from _online(m)
    d = m.dialect
    if not d.SERVER:
        raise NotImplementedError("the %s's commands have no server sockets" % d.NAME)
    link.reset()
    yield from d.claim_id(link)
    link.state = OPENING
    try:
        yield from d.listen(link)
    except BaseException as err:
        yield from abandon(m, link)
        raise err
    link.state = OPEN


def abandon(m, link):
    """The link is done (closed, failed, cancelled): close it on the module and give the
    id back, at once if the module confirms it free, else only once it does."""
    d = m.dialect
    if link.id < 0 or d.links.get(link.id) is not link:
        link.state = CLOSED
        return
    if m.mode.link is link:
        try:
            yield from m.data.escape()
        except OSError:
            pass
    link.state = CLOSING
    confirmed = link.module_lost  # the module rebooted: nothing is open
    if not confirmed:
        try:
            confirmed = yield from d.close(link)
        except OSError:
            confirmed = False
    d.release(link, confirmed)
    m.pump.forget(link)
    link.state = CLOSED


def close(m, link):
    if link.state in (OPEN, OPENING):
        yield from abandon(m, link)
    link.state = CLOSED


def reconcile(m):
    """Ask the module which ids it has open; close those no link owns, end ours that it no
    longer has, and free the doubtful ids it confirms free. Returns its ids."""
    d = m.dialect
    d.doubt = False
    have = yield from d.table()
    for sid in list(d.dirty):
        if sid not in have:
            d.dirty.discard(sid)
    for sid, k in list(d.links.items()):
        # (a link whose stream already ended may be listed as closed while the module
        # still holds its id until we close it: nothing to add to its end)
        if sid not in have and k.state == OPEN and not k.module_lost and not k.ended():
            k.on_closed(LinkError(ECONNRESET, "the module no longer has socket %d open" % sid), gone=True)
    for sid in sorted(have):
        if sid in d.links:
            continue
        ok = yield from d.close_id(sid)
        if ok:
            d.dirty.discard(sid)
            have.discard(sid)
        else:
            d.dirty.add(sid)
    return sorted(have)


def resolve(m, host):
    if cold("texts", "is_ipv4", host):
        return [host]
    yield from _online(m)
    return (yield from m.dialect.resolve(host))
