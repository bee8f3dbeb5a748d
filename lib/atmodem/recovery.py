"""The recovery ladder of the L610 manual (§3.4), for either module: retry; AT+CFUN=4 then
AT+CFUN=1 to search the network again; power-cycle the module, never two power cuts within
300 s, and longer apart after 5 in a row. Time is the modem's clock (a fake one in tests)."""
from .errors import ETIMEDOUT, ModemError


class Policy:
    def __init__(self, retries=3, sync_s=5, register_s=60, power_cycle_min_s=300,
                 backoff_after=5, backoff_factor=2, max_interval_s=3600, wait=True):
        self.retries = retries  # AT sync attempts before the next rung
        self.sync_s = sync_s
        self.register_s = register_s  # after CFUN=1 or a power-on
        self.power_cycle_min_s = power_cycle_min_s  # [docs/README.md: >= 300 s between power cuts]
        self.backoff_after = backoff_after  # [docs/README.md: longer after 5 in a row]
        self.backoff_factor = backoff_factor
        self.max_interval_s = max_interval_s
        self.wait = wait  # wait for the next allowed power cut (else raise at once)


class Recovery:
    def __init__(self, modem, policy=None):
        self.m = modem
        self.policy = policy or Policy()
        self.last_cut = None  # ticks of the last power cut
        self.cuts_in_a_row = 0
        self.log = []  # (ticks, rung) for whoever wants to see what happened

    def interval_ms(self):
        p = self.policy
        n = self.cuts_in_a_row // p.backoff_after if p.backoff_after else 0
        s = p.power_cycle_min_s * (p.backoff_factor ** n)
        return int(min(s, max(p.max_interval_s, p.power_cycle_min_s)) * 1000)

    def _note(self, rung):
        self.log.append((self.m.clock.ticks_ms(), rung))

    def _answering(self):
        try:
            self.m.start(timeout=self.policy.sync_s)
            return True
        except OSError:
            return False

    def _registered(self, seconds):
        from .bringup import registered  # bring-up code loads when needed (flow.once)

        m = self.m
        clock = m.clock
        deadline = clock.ticks_add(clock.ticks_ms(), seconds * 1000)
        while True:
            for cmd in (b"AT+CGREG?", b"AT+CEREG?"):
                if registered(m.command(cmd, prefix=(b"+CGREG:", b"+CEREG:"), check=False).lines):
                    return True
            if clock.ticks_diff(deadline, clock.ticks_ms()) <= 0:
                return False
            m.idle(1000)

    def recover(self):
        """Climb the ladder until the module answers and is registered; returns the rung
        that worked ("retry", "cfun", "power"). Raises when even a power cycle fails."""
        for _ in range(self.policy.retries):
            self._note("retry")
            if self._answering() and self._registered(5):
                self.cuts_in_a_row = 0
                return "retry"
        if self._answering():
            self._note("cfun")
            try:
                self.m.command(b"AT+CFUN=4", timeout_ms=15000)
                self.m.command(b"AT+CFUN=1", timeout_ms=15000)
                if self._registered(self.policy.register_s):
                    self.cuts_in_a_row = 0
                    return "cfun"
            except OSError:
                pass
        self.power_cycle()
        if self._answering() and self._registered(self.policy.register_s):
            return "power"
        raise ModemError(ETIMEDOUT, "the module did not come back after a power cycle")

    def power_cycle(self):
        m = self.m
        clock = m.clock
        if self.last_cut is not None:
            wait = clock.ticks_diff(clock.ticks_add(self.last_cut, self.interval_ms()), clock.ticks_ms())
            if wait > 0:
                if not self.policy.wait:
                    raise ModemError(ETIMEDOUT, "next power cycle allowed in %d s" % (wait // 1000 + 1))
                self._note("wait")
                clock.sleep_ms(wait)
        if m.power is None or m.power.power_key is None and m.power.reset_pin is None:
            raise ModemError(ETIMEDOUT, "the module does not answer and no power key or reset pin is configured")
        self._note("power")
        m.power_off()
        self.last_cut = clock.ticks_ms()
        self.cuts_in_a_row += 1
        m.power_on()
