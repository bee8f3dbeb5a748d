"""The module's socket table is the truth. Flows that open and close sockets on it, give an
id back only once the module confirms it free, and reconcile atmodem's picture with what
the module reports: at start, after a reboot, and whenever the module contradicts us."""
from .errors import ENETDOWN, ECONNRESET, ATError, ConnectError, LinkError, ModemError, text
from .checks import is_ipv4
from .flow import Until, once
from .socket import CLOSED, CLOSING, OPEN, OPENING

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


def open_begin(m, sock, host, port, by=None):
    """Claim an id and send the open; the module's answer comes later (open_end). by: when
    the whole open must be over (ticks)."""
    yield from _online(m)
    d = m.dialect
    sock._reset()
    sock.peer = (host, port)
    clock = m.clock
    sock.open_by = by if by is not None else clock.ticks_add(clock.ticks_ms(), OPEN_MS)
    for attempt in (0, 1):
        yield from d.claim_id(sock)
        sock.state = OPENING
        try:
            yield from d.open(sock, host, port)
            return
        except ATError as err:
            sid = sock.id
            yield from abandon(m, sock)
            if attempt or "not allowed" not in err.answer:
                raise err
            # The module says the id is in use: our table is wrong. Ask it, then retry.
            d.dirty.add(sid)
            yield from reconcile(m)
        except BaseException as err:
            yield from abandon(m, sock)
            raise err


def open_end(m, sock):
    """The module answered the open: the socket is open, or closed again and the error says why."""
    d = m.dialect
    try:
        yield from d.opened(sock)
    except ConnectError as err:
        yield from abandon(m, sock)
        host = sock.peer[0]
        if not is_ipv4(host):
            yield from d.resolve(host)  # a name that does not resolve says so, not "refused"
        raise err
    except BaseException as err:
        yield from abandon(m, sock)
        raise err
    if sock.state == OPENING:
        sock.state = OPEN


def open(m, sock, host, port):
    """The whole open within the socket's timeout (the module's own limit if longer
    than it, or none): waiting for the module, the open, its answer."""
    d = m.dialect
    t = sock.gettimeout()
    clock = m.clock
    ms = d.open_timeout(sock, int(t * 1000) if t else OPEN_MS)
    by = clock.ticks_add(clock.ticks_ms(), ms)
    yield from open_begin(m, sock, host, port, by)
    try:
        yield Until(lambda: d.open_done(sock), max(1, clock.ticks_diff(by, clock.ticks_ms())), text(sock.open_cmd))
    except BaseException as err:
        yield from abandon(m, sock)
        raise err
    yield from open_end(m, sock)


def listen(m, sock):
    """A TCP listener (listen) or a bound UDP socket (bind) on the module."""
    yield from _online(m)
    d = m.dialect
    if not hasattr(d, "listen"):
        raise NotImplementedError("the %s manual documents no server sockets" % d.NAME)
    sock._reset()
    yield from d.claim_id(sock)
    sock.state = OPENING
    try:
        yield from d.listen(sock)
    except BaseException as err:
        yield from abandon(m, sock)
        raise err
    sock.state = OPEN


def abandon(m, sock):
    """The socket is done (closed, failed, cancelled): close it on the module and give the
    id back, at once if the module confirms it free, else only once it does."""
    d = m.dialect
    if sock.id < 0 or d.socks.get(sock.id) is not sock:
        sock.state = CLOSED
        return
    if m.data_sock is sock:
        try:
            yield from m.data.escape()
        except OSError:
            pass
    sock.state = CLOSING
    confirmed = getattr(sock, "module_lost", False)  # the module rebooted: nothing is open
    if not confirmed:
        try:
            confirmed = yield from d.close(sock)
        except OSError:
            confirmed = False
    d.release(sock, confirmed)
    m.pump.forget(sock)
    sock.state = CLOSED


def close(m, sock):
    if sock.state in (OPEN, OPENING):
        yield from abandon(m, sock)
    sock.state = CLOSED


def reconcile(m):
    """Ask the module which ids it has open; close those no socket object owns, end ours
    that it no longer has, and free the doubtful ids it confirms free. Returns its ids."""
    d = m.dialect
    d.doubt = False
    have = yield from d.table()
    for sid in list(d.dirty):
        if sid not in have:
            d.dirty.discard(sid)
    for sid, s in list(d.socks.items()):
        # (a socket whose stream already ended may be listed as closed while the module
        # still holds its id until we close it: nothing to add to its end)
        if sid not in have and s.state == OPEN and not s.module_lost and not s.ended():
            s.on_closed(LinkError(ECONNRESET, "the module no longer has socket %d open" % sid), gone=True)
    for sid in sorted(have):
        if sid in d.socks:
            continue
        ok = yield from d.close_id(sid)
        if ok:
            d.dirty.discard(sid)
            have.discard(sid)
        else:
            d.dirty.add(sid)
    return sorted(have)


def resolve(m, host):
    if is_ipv4(host):
        return [host]
    yield from _online(m)
    return (yield from m.dialect.resolve(host))
