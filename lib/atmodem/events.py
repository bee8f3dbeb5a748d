"""What the module says about itself, and what follows from it: a reboot (its boot
messages, or our echo back after it was off) ends every link and brings the module back
before the next call; a lost data bearer ends every link. Rare: loaded when it happens
and let go after (compat.cold)."""
from .errors import ECONNRESET, ENETDOWN, LinkError, text


def echo(m, line):
    """Our own command echoed although echo was off (and had been seen off): the module
    reset (echo is on after boot) without us seeing its boot messages."""
    if m.started and not m.rebooted:
        lost(m, "echo came back on")


def boot(m, line):
    """The module rebooted: links and the data bearer are gone."""
    p = m.engine.pending
    if p is not None and not p.done:
        p.result = b"no answer: the module rebooted (" + line + b")"
        p.done = True  # it never will answer now
    lost(m, text(line))


def lost(m, why):
    """The module forgot everything (a reboot, a power cut)."""
    m.reboots += 1
    if m.started:
        m.dialect.lost_all(LinkError(ECONNRESET, "the module rebooted (%s)" % why), True)
        m.rebooted = True
    m.ip = None
    if m.mode.link is not None:
        m.mode.left()
    e = m.engine
    e.echo_on = True
    e.echo_off_seen = False
    m.state = "off"


def bearer_lost(m, why):
    m.ip = None
    if m.state == "attached":
        m.state = "registered"
    m.dialect.lost_all(LinkError(ENETDOWN, "the data bearer was lost (%s)" % why), False)
