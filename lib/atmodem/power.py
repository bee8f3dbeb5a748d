"""Power: the module switched off with AT+CPWROFF (or its key), on with the board's key or
reset pin (hal.pins.Power). Loaded on first use."""
from .errors import EINVAL, ETIMEDOUT, ModemError


def power_off(m):
    """AT+CPWROFF, then 1 s before power may be cut; the power key if it will not answer.
    Links and the bearer are gone."""
    try:
        m.command(b"AT+CPWROFF", timeout_ms=1000)
        m.clock.sleep_ms(1000)
    except OSError:
        if m.power is not None and not m.power.press_key(m.clock, off=True):
            m.power.reset(m.clock)
    from .events import lost

    lost(m, "powered off")
    m.rebooted = False
    m.started = False


def answer_ms(m):
    """How long a running module may take to answer start(): bringup.sync's three ATs
    (500 ms each); then, silence being perhaps a data-mode session a previous program left
    (the board was reset, the module was not), the blind escape: guard + 20 ms, +++, up to
    2 * guard + 1 s for its OK, 100 ms when none came; then AT again (500 ms). 6120 ms with
    the manuals' 1 s guard. Only after that does silence mean the module is off."""
    g = m.guard_ms
    return 1500 + (g + 20) + (2 * g + 1000) + 100 + 500


def power_on(m, timeout, ask):
    """Bring the module up; the key only when it does not answer in answer_ms (a press
    switches a running module off on many modules). ask=False: press at once."""
    if m.power is None:
        raise ModemError(EINVAL, "no power key or reset pin configured (Modem(power=...))")
    if ask:
        try:
            m.start(timeout=answer_ms(m) / 1000)
            return
        except ModemError as err:
            if err.errno != ETIMEDOUT:
                raise
    if not (m.power.press_key(m.clock) or m.power.reset(m.clock)):
        raise ModemError(EINVAL, "no power key or reset pin configured (Modem(power=...))")
    m.start(timeout=timeout)
