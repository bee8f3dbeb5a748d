"""A fake clock and a scripted UART for tests that must not depend on wall time."""
from __future__ import annotations


class FakeClock:
    def __init__(self):
        self.t = 0

    def ticks_ms(self):
        return self.t

    def ticks_add(self, t, d):
        return t + d

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.t += ms


class ScriptedUART:
    """respond(bytes_written) -> bytes the module answers (or b""). Waiting with nothing to
    read advances the fake clock by the whole timeout: time passes only when idle."""

    def __init__(self, clock: FakeClock, respond):
        self.clock = clock
        self.respond = respond
        self.rx = bytearray()
        self.writes = []  # (time, bytes)

    def write(self, data):
        data = bytes(data)
        self.writes.append((self.clock.t, data))
        self.rx += self.respond(data)

    def readinto(self, buf):
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n

    def wait(self, timeout_ms):
        if self.rx:
            return True
        self.clock.t += timeout_ms
        return False

    def close(self):
        pass


def basic_answers(extra=None):
    """A module that says OK to everything, NM28 to AT+CGMM, plus extra(data) if given."""

    def respond(data):
        if extra is not None:
            r = extra(data)
            if r is not None:
                return r
        if data == b"AT+CGMM\r":
            return b"\r\nNM28\r\n\r\nOK\r\n"
        if data.endswith(b"\r"):
            return b"\r\nOK\r\n"
        return b""

    return respond


def install(m, s, sid):
    """Give socket s the module's id sid, open, as if connect() had happened (tests that
    script the module's answers without an open)."""
    from atmodem.states import OPEN

    k = s.link
    k.id, k.state, k.opened = sid, OPEN, True
    if k.ctx is None:
        k.ctx = _ctx(m)
    m.dialect.links[sid] = k
    return k


def _ctx(m):
    """The dialect's context for a connection (its open() makes one)."""
    mod = __import__(type(m.dialect).__module__, None, None, ["Context"])
    return getattr(mod, "Context")()
