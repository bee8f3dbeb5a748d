"""Power: the module switched off with AT+CPWROFF (or its key), on with the board's key or
reset pin (hal.pins.Power). Loaded on first use."""
from .errors import EINVAL, ModemError


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


def power_on(m, timeout):
    """Press the power key (or pulse reset) and bring the module up again."""
    if m.power is None or not (m.power.press_key(m.clock) or m.power.reset(m.clock)):
        raise ModemError(EINVAL, "no power key or reset pin configured (Modem(power=...))")
    m.start(timeout=timeout)
