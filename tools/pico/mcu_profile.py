"""On the emulated Pico: where atmodem's cycles and heap go. Every function and method of the
loaded atmodem modules is wrapped to count calls and self time (ticks_us, Pico time) or
self heap (gc.mem_alloc), children subtracted. gc.mem_alloc scans the heap (milliseconds
on a Pico), so a run measures time or heap, not both: heap is reported per call, which does
not depend on how the slower run batches the bytes. Indicative: wrapping slows every call."""
import gc
import sys
import time

_stats = {}
_stack = []  # per active call: [children's us incl. their wrappers, children's bytes, children]
_cost = [0, 0]  # a wrapped call's own us and bytes, as seen by its caller
_heap = [False]


def _wrap(name, f):
    st = _stats.setdefault(name, [0, 0, 0])

    def w(*a, **k):
        if not _stack and gc.mem_free() < 32768:
            # the wrappers allocate and the meter keeps the collector off: collect between
            # the program's calls, outside every measurement
            gc.collect()
        frame = [0, 0, 0]
        _stack.append(frame)
        outer = time.ticks_us()
        a0 = gc.mem_alloc() if _heap[0] else 0
        t0 = time.ticks_us()
        try:
            return f(*a, **k)
        finally:
            t1 = time.ticks_us()
            da = gc.mem_alloc() - a0 if _heap[0] else 0
            _stack.pop()
            st[0] += 1
            st[1] += time.ticks_diff(t1, t0) - frame[0] - frame[2] * _cost[0]
            st[2] += da - frame[1] - frame[2] * _cost[1]
            if _stack:
                top = _stack[-1]
                top[0] += time.ticks_diff(time.ticks_us(), outer)
                top[1] += da
                top[2] += 1

    return w


def _noop():
    pass


def _calibrate(n=200):
    inner = _wrap("(noop)", _noop)

    def outer():
        for _ in range(n):
            inner()

    bare = time.ticks_us()
    for _ in range(n):
        _noop()
    bare = time.ticks_diff(time.ticks_us(), bare)
    _wrap("(calibration)", outer)()
    st = _stats.pop("(calibration)")
    _stats.pop("(noop)")
    _cost[0] = max(0, (st[1] - bare) // n)
    _cost[1] = max(0, st[2] // n)


# Not wrapped (their cost shows in their callers'), nor any __init__ (a constructor's chain
# through its bases): a wrapper doubles each call's stack, and these sit in the deepest
# chains (a read's answer ending a background command, a URC, a hold, the end of data mode).
SKIP = ("Command.finish", "Command.final", "Notify.final", "Pump.command_done", "Inbox.drained",
        "Inbox.taken", "NM28.command_done", "L610.command_done", "Engine._dispatch", "Dialect.urc",
        "Inbox.rx_data_end", "Socket.data_mode_ended", "Modem.data_ended",
        # pass-throughs on a read's header, the deepest chain since the dialect contract
        # (a program's recv down to the payload's target): their callers carry their cost
        "Modem.until", "Modem.poll", "Line._feed", "Dialect.payload_target", "Dialect.read_header",
        "Engine.expect", "Payload.expect", "Payload.commit", "Inbox.rx_end", "Runner.until",
        "Socket._wait", "Engine._end_line", "Engine._line_at", "Payload.confirm", "Inbox._check_hw",
        "Link.hold_changed", "Modem.kick", "Command.setup", "IpFamily.next_switch")


def install(heap=False):
    """Wrap what is loaded now (call it after the Modem exists: dialects load lazily)."""
    _heap[0] = heap
    _calibrate()
    fn = type(_noop)
    for modname in list(sys.modules):
        if not modname.startswith("atmodem"):
            continue
        mod = sys.modules[modname]
        for name, v in list(mod.__dict__.items()):  # not getattr: atmodem loads lazily
            if type(v) is fn and getattr(v, "__module__", modname) == modname:
                setattr(mod, name, _wrap("%s.%s" % (modname[8:], name), v))
            elif type(v) is type and getattr(v, "__module__", modname) == modname:
                for k, m in list(v.__dict__.items()):
                    if type(m) is fn and k != "__init__" and "%s.%s" % (name, k) not in SKIP:
                        setattr(v, k, _wrap("%s.%s" % (name, k), m))


def reset():
    for st in _stats.values():
        st[0] = st[1] = st[2] = 0


def report(kib):
    """PROFILE name calls/KiB self-us/KiB self-bytes/call, one line per function called."""
    for k, v in _stats.items():
        if v[0]:
            print("PROFILE %s %.2f %.0f %.0f" % (k, v[0] / kib, v[1] / kib, v[2] / v[0]))
