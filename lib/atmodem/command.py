"""Commands: what a flow yields to have a command sent, and what the engine fills in as the
module answers (its lines, its final result, the prompt for its payload)."""

OK = b"OK"
ERROR = b"ERROR"
ERRORS = (b"ERROR", b"+CME ERROR", b"+CMS ERROR", b"NO CARRIER")  # final results but OK


class Command:
    """One command and what it has collected; also the step a flow yields to run it.

    prefix: info lines that belong to it (bytes or tuple); b"" takes any line that is not a
    known URC. prompt: b">" or b"CONNECT" before the payload. need: a line prefix that must
    be seen before the final OK counts (the L610 send confirmation may follow an early OK).
    check: an error result raises ATError in the flow that yielded it.
    """

    background = False  # nobody waits for it (Background)
    # A read: its answer's payload is read from the port straight into the socket (nothing
    # follows it on the line but the OK, so no batch is split). Pushed data is not: it comes
    # back to back, and a read that stops at each payload's end takes more passes.
    lands = False
    link = None  # the socket a read is for (Read)
    # scan(c, buf, s, e): reads an answer line in place and says True when it took it (a
    # send's confirmation: no bytes object per chunk); conf / free: what it read
    scan = None
    conf = False
    free = -1

    def __init__(self, text, prefix=None, prompt=None, need=None, on_connect=None,
                 payload=None, timeout_ms=5000, check=True):
        self.lines = []
        self.setup(text, prefix, prompt, need, on_connect, payload, timeout_ms, check)

    def setup(self, text, prefix, prompt, need, on_connect, payload, timeout_ms, check):
        """(Re)arm: a reused command (a link's send command) gets new work, no new heap."""
        self.text = text
        self.prefix = prefix
        self.prompt = prompt
        self.need = need
        # A CONNECT that is the final result and starts data mode (ATO, AT+IPSWTMD=<id>,2):
        # on_connect() switches the engine before the next byte is read.
        self.on_connect = on_connect
        self.payload = payload
        self.timeout_ms = timeout_ms
        self.check = check
        self.wire = None  # type: bytes | None
        self.reset()

    def reset(self):
        if self.lines:
            self.lines.clear()  # in place: a reused command allocates nothing
        self.result = None  # type: bytes | None
        self.done = False
        self.doomed = False  # its payload failed its framing: it ends at its OK or a quiet line
        self.echoed = False
        self.prompted = False
        self.written = self.payload is None  # the payload has gone out (or there is none)
        self.got = -1  # a read's byte count, from its header
        self.deadline = 0

    def ok(self):
        return self.result == OK

    def finish(self, result):
        """The final result, at the byte it arrived (the engine calls this mid-feed)."""
        self.result = result
        self.done = True
        self.final()

    def final(self):
        """Hook: what must change at the very byte of the result (a receive format)."""

    def first(self, prefix=None):
        """The first collected line (with prefix), its prefix and ': ' removed; None if absent."""
        for line in self.lines:
            if prefix is None or line.startswith(prefix):
                rest = line[len(prefix) :] if prefix else line
                return rest[1:].strip() if rest[:1] == b":" else rest.strip()
        return None


class Notify(Command):
    """A command whose owner hears its result (owner.command_done(c)) at the byte it
    arrives, before the engine reads on: a switch of receive format takes effect there."""

    def __init__(self, text, owner, prompt=None, on_connect=None, timeout_ms=5000, check=True):
        Command.__init__(self, text, prompt=prompt, on_connect=on_connect, check=check, timeout_ms=timeout_ms)
        self.owner = owner

    def final(self):
        self.owner.command_done(self)


class Background(Notify):
    """A command nobody waits for; its owner hears when it is done (or ran out of time)."""

    background = True

    def __init__(self, text, owner, prompt=None, on_connect=None, timeout_ms=5000):
        Notify.__init__(self, text, owner, prompt, on_connect, timeout_ms, check=False)


class Read(Background):
    """A link's reusable read command (the full-size text is built once); its answer
    lands straight in the link's inbox."""

    lands = True

    def __init__(self, full, pump, link):
        Background.__init__(self, full, pump)
        self.full = full
        self.full_wire = full + b"\r"
        self.sid = link.id
        self.link = link
        self.size = 0  # how much it asks for
        self.notes = 0  # the link's data-waiting notices when it went out
        self.garbled = None  # data out of place seen while it was out (doubt.py)
        self.fmt = b""  # its command ("%d,%d": id, length; Dialect.read_fmt)
