"""CPython: pyserial, any URL it knows (a device path, socket://host:port, rfc2217://...)."""
import select

import serial


class PySerialPort:
    def __init__(self, url, baudrate=115200, **kw):
        """url: a pyserial URL or device, or a serial.Serial the program opened (adopted:
        its read timeout becomes 0, since atmodem waits with select)."""
        if isinstance(url, str):
            self.ser = serial.serial_for_url(url, baudrate=baudrate, timeout=0, write_timeout=None, **kw)
        else:
            self.ser = url
            self.ser.timeout = 0
            self.ser.write_timeout = None
            baudrate = self.ser.baudrate
        self.baudrate = baudrate
        self.flow_control = bool(getattr(self.ser, "rtscts", False))  # hardware flow control
        self._fd = None
        sock = getattr(self.ser, "_socket", None)
        try:
            self._fd = sock.fileno() if sock is not None else self.ser.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None  # poll in_waiting instead

    def set_baudrate(self, baudrate):
        self.ser.baudrate = baudrate
        self.baudrate = baudrate

    def write(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self.ser.write(mv)
            if n is None:
                n = len(mv)
            mv = mv[n:]

    def drain(self):
        """Until everything written has left (tcdrain)."""
        self.ser.flush()

    def fileno(self):
        """The descriptor an event loop can watch (None: it must poll in_waiting)."""
        return self._fd

    def pending(self):
        """Bytes waiting in the port's receive buffer."""
        return self.ser.in_waiting

    def readinto(self, buf):
        data = self.ser.read(len(buf))
        n = len(data)
        if n:
            buf[:n] = data
        return n

    def wait(self, timeout_ms):
        if self._fd is None:
            import time

            end = time.monotonic() + timeout_ms / 1000
            while not self.ser.in_waiting and time.monotonic() < end:
                time.sleep(0.001)
            return bool(self.ser.in_waiting)
        r, _, _ = select.select([self._fd], [], [], timeout_ms / 1000)
        return bool(r)

    def close(self):
        self.ser.close()
