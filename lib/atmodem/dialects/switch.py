"""Receive switching one socket at a time, in the background (AT+IPSWTMD on the NM28,
AT+QISWTMD on a Quectel): a pushed socket the program is not reading fast enough is set to
hold its data in the module (buffer mode), and back to push once it is read empty. A
dialect that uses it has SWITCH ("%d,%d": id, 0 hold | 1 push | 2 data mode)."""
from ..command import Background


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
