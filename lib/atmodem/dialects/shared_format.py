"""A receive format that is one setting for the whole module (the L610's IPRFMT): sockets
open at the same time share a mode, and push back-pressure moves every push socket at
once, between the push format and the hold (buffer) format. A dialect with
SHARED_FORMAT = True owns one of these, and gives it its command and format codes."""
from ..command import Background, Notify
from ..errors import EBUSY, ModemError
from ..flow import Until


class FormatSwitch(Notify):
    """Sets the module's receive format; it takes effect at the byte of the OK."""

    def __init__(self, text, owner, fmt):
        Notify.__init__(self, text, owner)
        self.fmt = fmt


class BackgroundFormatSwitch(Background):
    """The same, issued by the pump for back-pressure (nobody waits for it)."""

    def __init__(self, text, owner, fmt):
        Background.__init__(self, text, owner)
        self.fmt = fmt


class SharedFormat:
    def __init__(self, dialect, command, formats, hold, on_change):
        self.d = dialect
        self.command = command  # b'AT+GTSET="IPRFMT",%d'
        self.formats = formats  # atmodem's mode -> the module's format
        self.hold = hold  # the format in which the module holds data for reads
        self.fmt = None  # the module keeps it across power-off: unknown until we set it
        self.switching = False
        self.on_change = on_change  # fn(fmt): the dialect follows (what the engine reads inline)

    def _mixed(self, mode):
        for k in self.d.links.values():
            if k.mode != mode and k.mode in self.formats and k.opened and not k.ended():
                return k
        return None

    def _holding(self):
        for k in self.d.links.values():
            if k.inbox.want_hold and k.mode != "transparent":
                return True
        return False

    def ensure(self, mode):
        """A flow: the module's format for a link opening in mode (EBUSY when another
        open link has another mode)."""
        other = self._mixed(mode)
        if other is not None:
            raise ModemError(
                EBUSY,
                "the %s's receive format is one setting for the whole module: socket %d "
                "is open in %r mode, so %r cannot be used until it closes" % (self.d.NAME, other.id, other.mode, mode),
            )
        yield Until(lambda: not self.switching, 5000, "a receive-format switch")
        want = self.hold if self._holding() else self.formats[mode]
        if self.fmt != want:
            yield FormatSwitch(self.command % want, self, want)

    def set(self, fmt):
        """The module's format changed (after the OK: data before it kept the old one)."""
        self.fmt = fmt
        for k in self.d.links.values():
            if k.mode != "transparent":
                k.inbox.held = fmt == self.hold
        self.on_change(fmt)

    def switch_cmd(self):
        """Push back-pressure: every push link follows one format."""
        if self.switching or self.fmt is None:
            return None
        base = None
        for k in self.d.links.values():
            if k.mode in self.formats and k.opened and not k.ended():
                base = self.formats[k.mode]
        if base is None:
            return None
        want = self.hold if self._holding() else base
        if want == self.fmt:
            return None
        self.switching = True
        for k in self.d.links.values():
            k.inbox.burst = 0
            k.inbox.switching = True  # every link follows: count what lands meanwhile
        return BackgroundFormatSwitch(self.command % want, self, want)

    def command_done(self, c):
        """A format switch has its answer: from the next byte on, the new format."""
        if not c.background:
            if c.ok():
                self.set(c.fmt)
            return
        self.switching = False
        for k in self.d.links.values():
            k.inbox.switching = False
        if c.ok():
            self.set(c.fmt)
            if c.fmt == self.hold:
                for k in self.d.links.values():
                    ib = k.inbox
                    if ib.burst > ib.max_burst:
                        ib.max_burst = ib.burst
        self.d.m.pump.switch_due()
