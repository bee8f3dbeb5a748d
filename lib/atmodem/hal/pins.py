"""Power key and reset lines of a module, as a board wires them.

Pins are machine.Pin objects (or anything with value(v)); durations are settings because
the software manuals give none (check the module's hardware design guide)."""


class Power:
    def __init__(self, power_key=None, reset=None, key_active=1, reset_active=1,
                 key_on_ms=1200, key_off_ms=3000, reset_ms=300):
        self.power_key = power_key
        self.reset_pin = reset
        self.key_active = key_active
        self.reset_active = reset_active
        self.key_on_ms = key_on_ms
        self.key_off_ms = key_off_ms
        self.reset_ms = reset_ms
        for pin, active in ((power_key, key_active), (reset, reset_active)):
            if pin is not None:
                pin.value(1 - active)

    def _pulse(self, pin, active, ms, clock):
        pin.value(active)
        clock.sleep_ms(ms)
        pin.value(1 - active)

    def press_key(self, clock, off=False):
        if self.power_key is None:
            return False
        self._pulse(self.power_key, self.key_active, self.key_off_ms if off else self.key_on_ms, clock)
        return True

    def reset(self, clock):
        if self.reset_pin is None:
            return False
        self._pulse(self.reset_pin, self.reset_active, self.reset_ms, clock)
        return True
