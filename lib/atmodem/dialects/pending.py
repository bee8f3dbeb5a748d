"""Async commands: the module answers OK at once and reports the result later, as a URC
(or a bare ERROR). While one is running the module refuses the next [L610: docs/l610.md,
async commands], so the next one waits for it, but never past the time the program gave
its own operation, and never past the running command's own bound: no wait outlives the
operation that took it."""
from ..command import Command
from ..errors import ETIMEDOUT, ModemError, text
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

    def done(self):
        return self.result is not None


class AsyncCommands:
    def __init__(self, clock):
        self.clock = clock
        self.cur = None  # the Pending the module is running

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
        p = self.cur
        if p is None or head not in p.heads or (p.sid >= 0 and sid != p.sid):
            return False
        p.result = line
        self.cur = None
        return True

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
        answered): it goes at once; a busy module refuses it with ERROR, which is harmless."""
        prev = self.cur if cancel and not self.free() else None
        if prev is None and not self.free():
            p = self.cur
            assert p is not None
            left = self.clock.ticks_diff(p.deadline, self.clock.ticks_ms())
            yield Until(self.free, max(0, min(budget_ms, left)))
            if not self.free():
                raise ModemError(ETIMEDOUT, "%s: the module is still running %s (its result is due within %d s)"
                                 % (text(cmd), text(p.cmd), left // 1000 + 1))
        clock = self.clock
        p = Pending(cmd, sid, heads, clock.ticks_add(clock.ticks_ms(), bound_ms))
        self.cur = p  # before it goes out: some firmware reports the result before the OK
        c = Command(cmd, timeout_ms=min(5000, bound_ms))
        try:
            yield c
        except BaseException:
            if self.cur is p and (c.done or not c.deadline):
                self.cur = prev  # refused at once, or never sent: what ran before still runs
            raise
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
