"""What the modem does on its own whenever the line is free: move push sockets between
push and hold, and read the data the module holds into sockets that have room for it.

Each is one background command (no flow waits for it). A read never asks for more than
the socket can take, so its answer always has a home; the next read goes out as soon as
the last one is in and there is room, before the program asks."""


from .states import OPEN, OPENING


class Pump:
    def __init__(self, modem):
        self.m = modem
        self.queue = []  # sockets the module holds data for, in turn
        self._switch = False
        self.reads = 0
        self.last = None  # the link of the last read, if it was answered without a header

    def ready(self, s):
        """The module holds data for link s."""
        if s not in self.queue:
            self.queue.append(s)

    def switch_due(self):
        """A socket wants the module to hold its data, or to push it again."""
        self._switch = True

    def forget(self, s):
        if s in self.queue:
            self.queue.remove(s)

    def next(self, urgent_only=False):
        """The background command to issue now, or None. A hold goes out even ahead of a
        flow waiting for the line (urgent_only): every command it waits behind lets more
        pushed data in; reads wait for the flow."""
        m = self.m
        if m.mode.link is not None:
            return None
        d = m.dialect
        if self._switch:
            c = d.switch_cmd()
            if c is not None:
                return c
            self._switch = False
        if urgent_only:
            return None
        q = self.queue
        for _ in range(len(q)):
            s = q[0]
            ib = s.inbox
            if not ib.readable or not OPENING <= s.state <= OPEN or d.links.get(s.id) is not s:
                q.pop(0)  # nothing held, or being closed: what it held goes with it
                continue
            q.append(q.pop(0))  # round robin
            room = ib.room()
            if ib.stream:
                if room >= d.MAX_READ or room >= ib.cap // 2:
                    self.reads += 1
                    return d.read_cmd(s, room)
            elif room >= d.MAX_DATAGRAM or (room and not ib.dgrams):
                self.reads += 1
                return d.read_cmd(s, d.MAX_READ if room >= d.MAX_READ else room)
        return None

    def command_done(self, c):
        """A read's answer is in: a short (or refused) one means the module is drained;
        for datagrams (one per read) only an empty one does."""
        s = c.link
        # a read answered without its header: data out of place that comes next may be its
        # payload, whose header was damaged (doubt.py)
        self.last = s if c.got < 0 else None
        if c.garbled is not None and c.got < 0:
            from .dialects.doubt import fail

            fail(s, "its answer came without its header, after %s" % c.garbled)
        ib = s.inbox
        if not c.ok() or c.got <= 0 or (ib.stream and c.got < c.size):
            ib.drained(c.notes)
        if not ib.readable:
            self.forget(s)
            ib.taken()  # push socket held: back to push once the program has drained it
