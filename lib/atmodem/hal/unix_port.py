"""The MicroPython unix port on a tty (a real USB serial adapter or the emulator's pty).

MicroPython's readinto on a tty blocks until the buffer is full, so the tty is set raw with
VMIN = VTIME = 0: readinto then returns what is there and select.poll waits for more."""
import select

import termios

_VTIME = 5
_VMIN = 6


def _speed(baudrate):
    """The termios speed constant; the unix port's termios has only some of them."""
    speed = getattr(termios, "B%d" % baudrate, None)
    if speed is None:
        rates = sorted(int(n[1:]) for n in dir(termios) if n[:1] == "B" and n[1:].isdigit())
        raise ValueError("baud rate %d is not supported by this tty; supported: %s"
                         % (baudrate, ", ".join(str(r) for r in rates)))
    return speed


class UnixPort:
    def __init__(self, path, baudrate=115200):
        speed = _speed(baudrate)  # before opening: nothing to close on a bad rate
        self.baudrate = baudrate
        self.flow_control = False  # the unix port's termios cannot set CRTSCTS
        self.f = open(path, "r+b")
        fd = self.f.fileno()
        termios.setraw(fd)  # pyright: ignore[reportAttributeAccessIssue]  (the unix port has it; the board stubs do not)
        a = termios.tcgetattr(fd)
        a[6][_VMIN] = 0
        a[6][_VTIME] = 0
        a[4] = speed
        a[5] = speed
        termios.tcsetattr(fd, termios.TCSANOW, a)
        self.poller = select.poll()
        self.poller.register(self.f, select.POLLIN)
        self.wpoller = select.poll()
        self.wpoller.register(self.f, select.POLLOUT)

    def set_baudrate(self, baudrate):
        speed = _speed(baudrate)
        fd = self.f.fileno()
        a = termios.tcgetattr(fd)
        a[4] = speed
        a[5] = speed
        termios.tcsetattr(fd, termios.TCSANOW, a)
        self.baudrate = baudrate

    def write(self, data):
        n = self.f.write(data)
        if n == len(data):
            return  # the usual case, without a memoryview
        mv = memoryview(data)[n or 0 :]
        while len(mv):
            n = self.f.write(mv)
            if not n:
                self.wpoller.poll(1000)  # the tty's output queue is full
                continue
            mv = mv[n:]

    def stream(self):
        """What asyncio can wait on for readability (the tty's file)."""
        return self.f

    def readinto(self, buf):
        n = self.f.readinto(buf)
        return n or 0

    def wait(self, timeout_ms):
        for _ in self.poller.ipoll(timeout_ms):  # ipoll reuses its tuple: no allocation
            return True
        return False

    def close(self):
        self.f.close()
