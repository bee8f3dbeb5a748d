"""On the emulated Pico (tools/bench_pico.py puts it in /lib): what atmodem costs on the MCU.
Times are the Pico's: time.ticks_us follows emulated cycles, and the runner's probe
registers count the cycles the core executed (busy, interrupts included) apart from the
time it slept in WFI/WFE. Heap: gc.mem_alloc with the collector off during the transfer.

Each function prints one line starting with RESULT."""
import gc
import time

import machine

import atmodem

PROBE = 0x40068000
MASK = 0xFFFFFFFF


def busy_us():
    return machine.mem32[PROBE + 4]


def stalls():
    return machine.mem32[PROBE + 16]


def modem(dialect, baud):
    m = atmodem.Modem(atmodem.hal.open_serial(1, baud), dialect=dialect, guard_ms=250)
    m.start()
    m.attach(apn="cmnet")
    return m


def open_socket(m, mode, port):
    s = m.socket() if mode == "default" else m.socket(mode=mode)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    return s


def arrived(m, s):
    """Bytes received and not yet read by the program: the UART's, the line buffer's, the
    socket's."""
    line = m.line
    return (m.uart.pending() or 0) + line.end - line.off + len(s.link.inbox.ring)


class Meter:
    """Collector off and heap counted first (both take milliseconds: bytes arriving then would
    count as received in no time), then start() the clock."""

    def __init__(self):
        gc.collect()
        gc.disable()
        self.a0 = gc.mem_alloc()
        self.start()

    def mark_heap(self):
        """Count the heap from here (after a one-off like the request that starts a
        download: it is no cost per KiB). Before start(): this takes milliseconds too."""
        self.a0 = gc.mem_alloc()

    def start(self):
        self.s0 = stalls()
        self.b0 = busy_us()
        self.t0 = time.ticks_us()

    def result(self, nbytes, baud, mode, early=0):
        """early: bytes that had arrived before the clock started (in the UART, the line
        buffer or the socket): the line rate counts only what crossed the wire since."""
        t1 = time.ticks_us()
        b1 = busy_us()
        a1 = gc.mem_alloc()
        gc.enable()
        elapsed = time.ticks_diff(t1, self.t0)
        busy = (b1 - self.b0) & MASK
        kib = nbytes / 1024
        line = (nbytes - early) * 10 * 1000000 / baud  # us the bytes take on the wire, 8N1
        print("RESULT %s %d %.0f %.3f %.0f %.3f %d" % (
            mode, nbytes, busy / kib, busy / elapsed, (a1 - self.a0) / kib, line / elapsed,
            (stalls() - self.s0) & MASK))


def download(dialect, mode, port, size, baud, profile=None):
    """size bytes from a source server; the clock starts at the first bytes."""
    m = modem(dialect, baud)
    s = open_socket(m, mode, port)
    buf = bytearray(4096)
    meter = Meter()
    s.send(b"g")
    got = s.recv_into(buf)  # the clock starts at the first bytes
    if profile:
        import mcu_profile

        # only the receive path (a send through the wrappers goes deeper than the stack)
        mcu_profile.install(heap=profile == "heap")
    meter.mark_heap()
    meter.start()
    early = arrived(m, s)
    first = got
    while got < size:
        n = s.recv_into(buf)
        if not n:
            break
        got += n
    meter.result(got - first, baud, s.mode, early)
    if profile:
        mcu_profile.report((got - first) / 1024)
        return  # closing through the wrappers could exceed the stack: the caller resets
    s.close()
    m.close()


def upload(dialect, mode, port, size, baud):
    """size bytes to a sink server, until the last one has left the UART."""
    m = modem(dialect, baud)
    s = open_socket(m, mode, port)
    data = bytes(range(256)) * 16
    # Warm up, as a download's first KiB does: the first send pays for one-off allocations
    # (the socket's send command, its text for each chunk size), no cost per KiB.
    s.sendall(data)
    m.uart.drain()
    meter = Meter()
    sent = 0
    while sent < size:
        s.sendall(data)
        sent += len(data)
    m.uart.drain()
    meter.result(sent, baud, s.mode)
    s.close()
    m.close()


def footprint(dialect, port, baud, sockets=4):
    """Free heap after `import atmodem` + a started, attached modem + open sockets."""
    m = modem(dialect, baud)
    socks = [open_socket(m, "default", port) for _ in range(sockets)]
    gc.collect()
    print("RESULT footprint %d" % gc.mem_free())
    for s in socks:
        s.close()
    m.close()


def idle(dialect, port, baud, how, seconds):
    """The CPU an attached modem with four default-mode sockets costs while nothing arrives:
    seconds of a recv that waits, blocking (with a timeout) or in an asyncio task. `ready`
    tells the host when the wait starts (it may send URCs meanwhile)."""
    m = modem(dialect, baud)
    socks = [open_socket(m, "default", port) for _ in range(4)]
    gc.collect()
    if how == "blocking":
        s = socks[0]
        s.settimeout(seconds)
        print("ready")
        b0, t0 = busy_us(), time.ticks_us()
        try:
            s.recv(100)
        except OSError:
            pass
    else:
        import asyncio
        from atmodem import aio
        from atmodem.aiosocket import AsyncSocket

        am = aio.start(m)
        a = AsyncSocket(am, socks[0])

        async def wait():
            try:
                await asyncio.wait_for(a.recv(100), seconds)
            except asyncio.TimeoutError:
                pass

        print("ready")
        b0, t0 = busy_us(), time.ticks_us()
        asyncio.run(wait())
    busy = (busy_us() - b0) & MASK
    elapsed = time.ticks_diff(time.ticks_us(), t0)
    print("RESULT idle %s %.4f %d" % (how, busy / elapsed, elapsed))
    if how != "blocking":
        am.stop()
    for s in socks:
        s.close()
    m.close()


def round_trip(dialect, port, baud, n=50):
    """The module's answer time as the Pico sees it: n `AT` commands, each from the first
    byte written to its OK read; the line time of those 9 bytes is taken out."""
    from atmodem.command import Command

    m = modem(dialect, baud)
    wire_us = 9 * 10 * 1000000 // baud  # "AT\r" and "\r\nOK\r\n"
    best = total = 0
    for i in range(n):
        c = Command(b"AT")  # as a flow's step: modem.command() first checks the program's text
        t = time.ticks_us()
        m.blocking.command(c)
        us = time.ticks_diff(time.ticks_us(), t) - wire_us
        total += us
        best = us if i == 0 or us < best else best
    print("RESULT rtt %d %d %d %d" % (total // n, best, m.dialect.MAX_READ, m.dialect.MAX_SEND))
    m.close()


def firmware_floor(baud, nbytes):
    """What the firmware costs before any driver code, per KiB received: machine.UART's RX
    interrupt while the CPU is busy, the same while it sleeps (each interrupt wakes the core
    and runs the event loop's hook), and UART.readinto (the host streams nbytes once `ready`
    shows)."""
    u = machine.UART(1, baud, rxbuf=32766)

    def spin(us):
        n = 0
        t = time.ticks_us()
        while time.ticks_diff(time.ticks_us(), t) < us:
            n += 1
        return n

    quiet = spin(300000)
    print("ready")
    while not u.any():
        time.sleep_ms(1)
    had = u.any()
    busy = spin(300000)
    got = u.any() - had
    irq_busy = 300000 * (quiet - busy) / quiet * 1024 / got
    buf = bytearray(4096)
    b0 = busy_us()
    n = 0
    target = u.any()  # what is there now: more keeps coming
    while n < target:
        n += u.readinto(buf, min(u.any(), len(buf), target - n))
    read = ((busy_us() - b0) & MASK) * 1024 / n
    had = u.any()
    b0 = busy_us()
    time.sleep_ms(250)
    irq_idle = ((busy_us() - b0) & MASK) * 1024 / (u.any() - had)
    print("RESULT floor %.0f %.0f %.0f" % (irq_busy, irq_idle, read))
