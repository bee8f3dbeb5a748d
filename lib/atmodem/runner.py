"""Runners carry out what flows yield (flow.py). The two runners, blocking (Runner, here)
and asyncio (aio.AsyncModem), share everything in RunnerBase: what a step means, when a
command may go out and what its result is, how one pass over the line goes, how long a
wait may last and what a quiet line decides. Only their loops differ: one sleeps in the
port, the other awaits the event loop."""
from .command import Command
from .errors import EBUSY, ATError, ATTimeout, ModemError, text
from .flow import DRAIN, Until, Write, _never

IDLE_MS = 1000  # the longest a wait lasts before a runner looks at its deadlines again


def wait_s(ms):
    return ms / 1000 if ms is not None else "unlimited"


class RunnerBase:
    def __init__(self, modem):
        self.m = modem

    def output_step(self, s):
        """Write / DRAIN, the steps that never wait for the module."""
        if isinstance(s, Write):
            self.m.line.write(s.data)
            return None
        if s is DRAIN:
            self.m.line.drain()
            return None
        raise TypeError("a flow yielded %r, which is not a step" % (s,))

    def admit(self, c):
        """A command may go out now, or the error that says why not."""
        m = self.m
        m.check_open()
        k = m.mode.link
        if k is not None and c.on_connect is None:
            raise ModemError(
                EBUSY,
                "%s: socket %d holds the UART in transparent mode; call its suspend() or "
                "close() first" % (text(c.text), k.id),
            )

    def result(self, c):
        """A foreground command is over: its error, or it."""
        if not c.done:
            raise self.m.line.timed_out(c)
        if c.check and not c.ok():
            raise ATError(text(c.text), text(c.result or b"no result"))
        e = self.m.engine
        if c.ok() and c.text in (b"ATE0", b"ATE1", b"ate0", b"ate1"):
            e.echo_on = c.text[3] == 49  # echo on by request is not a reset sign
            e.echo_off_seen = False
        return c

    def service(self):
        """One pass: what the UART has into the engine, a finished command retired, the
        pump's next background command when the line is free. True when bytes moved."""
        m = self.m
        line = m.line
        got = line.service()
        e = m.engine
        if e.notice is not None:
            m.warn(e.notice)
            e.notice = None
        line.progress()
        if line.cmd is None:
            c = m.pump.next(m.waiting > 0)
            if c is not None:
                line.begin(c)
        return got

    def wait_ms(self, ms):
        """How long a wait for input may last, at most ms: less when a data-mode tail, a
        payload's framing or a command's deadline must be decided sooner."""
        m = self.m
        line = m.line
        if line.held():
            ms = min(ms, m.hold_ms)  # a data-mode tail that may be the module's NO CARRIER
        c = line.cmd
        if c is not None:
            clock = m.clock
            left = clock.ticks_diff(c.deadline, clock.ticks_ms())
            if left < ms:
                ms = left if left > 1 else 1
        return line.wait_cap(ms)

    def quiet(self):
        """A wait ended with no input: the line is quiet, and that decides things. True
        when bytes moved (a data-mode tail turned out to be data)."""
        line = self.m.line
        if line.held():
            return line.service(final=True)  # the tail was data
        if line.framing_waits():
            self.service()  # a payload's framing is decided (Line._framing_clock)
        if line.expire() is not None:  # a command past its deadline gets no answer
            self.service()  # the line is free: the pump may go on
        return False


class Runner(RunnerBase):
    """The blocking runner: it services the line while it waits, in the program's call."""

    def __init__(self, modem):
        RunnerBase.__init__(self, modem)
        self._cmd = None  # the foreground command being waited for
        self._cmd_over = self._over  # bound once: a command's wait allocates nothing

    def run(self, flow):
        """Carry out a flow's steps until it returns; its errors propagate (thrown into the
        flow first, so its cleanup runs)."""
        self.m.check_open()
        value = None
        err = None
        while True:
            try:
                step = flow.throw(err) if err is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value = err = None
            try:
                value = self.step(step)
            except BaseException as e:
                err = e

    def step(self, s):
        if isinstance(s, Command):
            return self.command(s)
        if isinstance(s, Until):
            return self.until(s.pred, s.timeout_ms, s.what)
        return self.output_step(s)

    def command(self, c):
        self.admit(c)
        m = self.m
        line = m.line
        m.waiting += 1
        try:
            if not line.idle():
                self.until(line.idle, None, "the command in flight")
        finally:
            m.waiting -= 1
        line.begin(c)
        if c.background:
            return c  # issued; its completion is the runner's business
        prev = self._cmd
        self._cmd = c
        try:
            self.until(self._cmd_over, None, c.text)
        finally:
            self._cmd = prev
        return self.result(c)

    def _over(self):
        return self.m.line.cmd is not self._cmd

    def until(self, pred, timeout_ms, what=None):
        """Service the line until pred() holds (None: no time limit). When time runs out:
        ATTimeout(what), or False when what is None."""
        m = self.m
        clock = m.clock
        deadline = None if timeout_ms is None else clock.ticks_add(clock.ticks_ms(), timeout_ms)
        line = m.line
        while not pred():
            wait = IDLE_MS
            if deadline is not None:
                wait = clock.ticks_diff(deadline, clock.ticks_ms())
                if wait <= 0:
                    if what is None:
                        return False
                    raise ATTimeout(what, wait_s(timeout_ms))
            if not self.poll(wait) and line.blocked():
                if pred is _never:
                    clock.sleep_ms(wait)  # a pause: nothing can change while we hold the program
                else:
                    # Only the program could make room, and it is waiting on us: the data
                    # in front of what we wait for cannot be held. Its link says so.
                    line.spill()
        return True

    def poll(self, timeout_ms=0):
        """Feed the engine what the UART has, finish and start commands; wait up to
        timeout_ms for input. True when something was consumed."""
        m = self.m
        m.check_open()
        line = m.line
        if timeout_ms > 0:
            gather = line.batch_ms()
            while gather and timeout_ms > 0:
                gather = min(gather, timeout_ms)
                m.clock.sleep_ms(gather)
                timeout_ms -= gather
                gather = line.batch_ms()
            timeout_ms = timeout_ms if timeout_ms > 0 else 1
        if self.service():
            return True
        if timeout_ms <= 0 or line.blocked():
            return False
        if m.uart.wait(self.wait_ms(timeout_ms)):
            return self.service()
        return self.quiet()
