"""Which mode the UART is in, in one place: command mode (AT lines), data mode (the bytes
are one transparent link's), or unknown (an escape failed: only a probe can tell). The
engine's data stream follows it; a failed transition lands in UNKNOWN, never a guess."""
COMMAND = "command"
DATA = "data"
UNKNOWN = "unknown"


class Mode:
    def __init__(self, engine):
        self.engine = engine
        self.state = COMMAND
        self.link = None  # the link whose bytes the UART carries (DATA)

    def enter(self, link, terminator):
        """At the byte the module switched to data mode (its CONNECT / +MIPODM)."""
        self.engine.enter_data(link.inbox, terminator)
        self.state = DATA
        self.link = link
        link.suspended = False
        link.entering = False

    def ended(self, link):
        """The module left data mode by itself (NO CARRIER: peer closed, link lost)."""
        if self.link is link:
            self.link = None
            self.state = COMMAND

    def left(self):
        """We left data mode (escape confirmed, or the module reset): lines again."""
        self.engine.leave_data()
        self.link = None
        self.state = COMMAND

    def unknown(self):
        """A transition failed: the module may be in either mode. What comes is still taken
        as the link's (nothing pretends otherwise) until start() probes the module."""
        self.state = UNKNOWN
