"""Bringing the module up, as flows: sync (out of a data-mode session a previous program
left behind), echo off, identify, reconcile the socket table; then attach (SIM, signal,
registration, data bearer)."""
from .command import Command
from .errors import EACCES, EIO, ETIMEDOUT, ATError, ATTimeout, ModemError, text as text_of
from .flow import once, pause


def registered(lines):
    """Any +CGREG/+CEREG answer line at 1 (home) or 5 (roaming) [docs/README.md]."""
    for line in lines:
        try:
            if int(line.split(b",")[1]) in (1, 5):
                return True
        except (ValueError, IndexError):
            pass
    return False


def sync(m, timeout_ms):
    """AT until OK: the first command after power-on may be lost [docs/README.md]. No answer three
    times running may mean a data-mode session: the +++ escape once, then AT again."""
    clock = m.clock
    deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)
    last = None
    silent = 0
    escaped = False
    while clock.ticks_diff(deadline, clock.ticks_ms()) > 0 or escaped:
        escaped = False
        try:
            yield Command(b"AT", timeout_ms=500)
            return
        except (ATTimeout, ATError) as err:
            last = err
            silent = silent + 1 if isinstance(err, ATTimeout) else 0
            if silent == 3:  # not a lost first command: 1.5 s of silence
                # an escape that worked is asked about even past the deadline: the module
                # answered, and a short start(timeout=) must not report it silent
                escaped = yield from m.data.blind_escape()
    raise ModemError(ETIMEDOUT, "the module does not answer AT (%s)" % last)


def start(m, timeout_ms):
    m.line.reset_input()
    if m.mode.state != "command":  # we thought we were in data mode: the module decides
        m.mode.left()
    yield from sync(m, timeout_ms)
    yield Command(b"ATE0")
    yield Command(b"AT+CMEE=2", check=False)
    c = yield Command(b"AT+CGMM", prefix=b"", check=False)
    text = b" ".join(c.lines)
    if not text.strip() or not c.ok():
        c = yield Command(b"ATI", prefix=b"", check=False)
        text = b" ".join(c.lines)
    m.model = text_of(text)
    name = m.want_dialect
    if name is None:
        from .dialects import identify, names

        name = identify(text)
        if name is None:
            raise ModemError(EIO, "unknown module: AT+CGMM answered %r; pass Modem(dialect=...), one of %s"
                             % (m.model, ", ".join(names())))
    m.use_dialect(name)
    yield from m.dialect.start()
    m.started = True
    m.state = "ready"
    yield from once("table", "reconcile", m)  # sockets of a previous life: closed, their ids free again
    return m.model


def attach(m, apn, user, password, timeout_ms, progress):
    clock = m.clock
    deadline = clock.ticks_add(clock.ticks_ms(), timeout_ms)

    def left():
        return clock.ticks_diff(deadline, clock.ticks_ms())

    def step(name, what):
        """Run a command (or a sub-flow) as the named step: progress, and errors that say
        which step failed."""
        if progress is not None:
            progress(name)
        try:
            if isinstance(what, Command):
                return (yield what)
            return (yield from what)
        except ModemError as err:
            raise ModemError(err.errno, "attach, step %r: %s" % (name, err))

    def until(name, cmd, prefix, good):
        while True:
            c = yield from step(name, Command(cmd, prefix=prefix, check=False))
            ok = c.ok() and (yield from good(c))
            if ok:
                return c
            if left() <= 0:
                last = b" ".join(c.lines + [c.result or b""])
                raise ATTimeout("attach, step %r: %s" % (name, text_of(cmd)), timeout_ms / 1000, text_of(last))
            yield pause(min(1000, left()))

    entered = []

    def ready(c):
        """+CPIN: READY; SIM PIN: m.pin entered once (a wrong PIN is never tried again: the
        third locks the SIM); anything else that is not READY is a SIM that will not be
        (3GPP TS 27.007 +CPIN)."""
        state = c.first(b"+CPIN") or b""
        if state == b"READY":
            return True
        if state == b"SIM PIN":
            if m.pin is None:
                raise ModemError(EACCES, "attach, step 'sim': the SIM asks for its PIN: attach(pin=...)")
            if entered:
                return False  # entered: the SIM takes a moment
            entered.append(1)
            c2 = yield Command(b'AT+CPIN="%s"' % m.pin.encode(), check=False)
            if not c2.ok():
                raise ModemError(EACCES, "attach, step 'sim': the SIM refused the PIN (%s); not tried "
                                 "again, since three wrong PINs lock it" % text_of(c2.result or b"no answer"))
            return False
        if state.startswith((b"SIM PUK", b"PH-", b"SIM PIN2", b"SIM PUK2")):
            raise ModemError(EACCES, "attach, step 'sim': the SIM is locked (+CPIN: %s); unlock it with "
                             "modem.command() and its PUK" % text_of(state))
        return False

    def either(c):
        # CGREG or, on LTE, CEREG: one of them at 1 or 5 is enough [docs/README.md]
        if registered(c.lines):
            return True
        c2 = yield Command(b"AT+CEREG?", prefix=b"+CEREG:", check=False)
        c.lines += c2.lines
        return c2.ok() and registered(c2.lines)

    yield from until("sim", b"AT+CPIN?", b"+CPIN:", ready)
    m.state = "sim_ready"
    c = yield from step("signal", Command(b"AT+CSQ", prefix=b"+CSQ:"))
    try:
        m.csq = tuple(int(x) for x in (c.first(b"+CSQ") or b"").split(b","))
    except ValueError:
        m.csq = None
    yield from until("registration", b"AT+CGREG?", (b"+CGREG:", b"+CEREG:"), either)
    m.state = "registered"
    m.ip = yield from m.dialect.attach(apn, user, password, max(1000, left()), step)
    m.state = "attached"
    return m.ip
