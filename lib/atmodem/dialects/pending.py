"""Async commands: the module answers OK at once and reports the result later, as a URC
(or a bare ERROR). While one is running the module refuses the next [L610: docs/l610.md,
async commands], so the next one waits for it, but never past the time the program gave
its own operation, and never past the running command's own bound: no wait outlives the
operation that took it."""
from ..command import Command
from ..errors import ETIMEDOUT, ATError, ModemError, text
from ..flow import Until


class Pending:
    """One async command the module is running. result: its result line, once it came."""

    def __init__(self, cmd, sid, heads, deadline):
        self.cmd = cmd
        self.sid = sid
        self.heads = heads  # URC prefixes that carry its result
        self.deadline = deadline
        self.result = None
        self.failed = False  # the result was ERROR / +CME ERROR
        self.unanswered = False  # not even its OK came: the module may never have taken it

    def done(self):
        return self.result is not None


class AsyncCommands:
    def __init__(self, clock):
        self.clock = clock
        self.cur = None  # the Pending the module is running
        self.asked = None  # an unanswered one, while the next asks the module if it runs

    def free(self):
        p = self.cur
        if p is None:
            return True
        clock = self.clock
        if clock.ticks_diff(p.deadline, clock.ticks_ms()) <= 0:
            self.cur = None  # its own bound passed: the module has given up on it too
            return True
        return False

    def busy_with(self, sid):
        """The running command is about socket sid (e.g. its open has no result yet)."""
        p = self.cur
        return not self.free() and p is not None and p.sid == sid

    def result(self, head, sid, line):
        """A URC arrived: if it carries the running command's result, that command is over."""
        for p in (self.cur, self.asked):
            if p is not None and head in p.heads and (p.sid < 0 or sid == p.sid):
                p.result = line
                if p is self.cur:
                    self.cur = None
                else:
                    self.asked = None
                return True
        return False

    def error(self, line):
        """A bare ERROR / +CME ERROR outside any command: the running one failed after its
        OK. False when nothing was running (noise)."""
        p = self.cur
        if p is None:
            return False
        p.result = line
        p.failed = True
        self.cur = None
        return True

    def forget(self):
        """The module rebooted: nothing runs on it any more."""
        self.cur = None

    def begin(self, cmd, sid, heads, bound_ms, budget_ms, cancel=False):
        """A flow: wait (at most budget_ms) until the module is free, send cmd, and return
        its Pending (result due within bound_ms, the module's own limit). cancel: cmd ends
        the running command's own operation (a close of a socket whose open never
        answered): it goes at once; a busy module refuses it with ERROR, which is harmless.
        A running command whose OK never came may never have reached the module: cmd goes
        at once too, and only the module's ERROR (busy) makes it wait."""
        clock = self.clock
        t0 = clock.ticks_ms()
        prev = self.cur if not self.free() else None
        ask = prev is not None and (cancel or prev.unanswered)
        while True:
            if prev is not None and not ask:
                left = clock.ticks_diff(prev.deadline, clock.ticks_ms())
                yield Until(self.free, max(0, min(budget_ms - clock.ticks_diff(clock.ticks_ms(), t0), left)))
                if not self.free():
                    raise ModemError(ETIMEDOUT, "%s: the module is still running %s (its result is due within %d s)"
                                     % (text(cmd), text(prev.cmd), left // 1000 + 1))
                prev = None
            p = Pending(cmd, sid, heads, clock.ticks_add(clock.ticks_ms(), bound_ms))
            self.cur = p  # before it goes out: some firmware reports the result before the OK
            self.asked = prev if ask else None
            c = Command(cmd, timeout_ms=min(5000, bound_ms))
            try:
                yield c
            except BaseException as err:
                if self.cur is p:
                    if c.done or not c.deadline:
                        # refused at once, or never sent: what ran before still runs
                        self.cur = prev if prev is not None and not prev.done() else None
                    else:
                        p.unanswered = True
                self.asked = None
                if ask and not cancel and isinstance(err, ATError) and prev is not None:
                    ask = False  # busy after all: wait for its result (unless it just came)
                    prev.unanswered = False
                    if prev.done():
                        prev = None
                    continue
                raise
            self.asked = None
            return p

    def wait(self, p, timeout_ms):
        """A flow: until p has its result (ATTimeout after timeout_ms); the error line or None."""
        yield Until(p.done, timeout_ms, text(p.cmd))
        return p.result if p.failed else None

    def run(self, cmd, sid, heads, bound_ms, budget_ms, cancel=False):
        """begin, then wait for the result within what is left of budget_ms."""
        clock = self.clock
        t0 = clock.ticks_ms()
        p = yield from self.begin(cmd, sid, heads, bound_ms, budget_ms, cancel)
        left = budget_ms - clock.ticks_diff(clock.ticks_ms(), t0)
        return (yield from self.wait(p, max(1, min(bound_ms, left))))
