"""Boards: machine.UART (ESP32, RP2040, ...).

What the firmware does that shapes this port (measured on MicroPython's rp2 firmware):
- readinto(buf) with fewer bytes waiting than len(buf) waits timeout_char (at least 1 ms,
  13 bit times) for more: we ask for exactly what any() says has arrived.
- write() returns only once everything is in the TX ring buffer, 256 bytes by default: a
  2 KiB payload then blocks for its whole line time while nobody reads. The default txbuf
  here holds the largest command payload (2048 bytes), so write returns at once and the
  bytes leave under interrupts. The buffers come from the heap.
- read()/readinto() give None, not 0, when nothing is there; flush() waits until the last
  byte has left the shift register (drain)."""
import machine
import select


class MachineUART:
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None, rxbuf=4096, txbuf=2048, **kw):
        """uart_id: a UART number, or a machine.UART the program made (adopted as it is
        configured: its buffers are the program's choice; see README, Boards)."""
        if not isinstance(uart_id, int):
            self._adopt(uart_id)
            return
        self.baudrate = baudrate
        args = dict(kw)
        args["baudrate"] = baudrate
        args["rxbuf"] = rxbuf
        if tx is not None:
            args["tx"] = machine.Pin(tx) if isinstance(tx, int) else tx
        if rx is not None:
            args["rx"] = machine.Pin(rx) if isinstance(rx, int) else rx
        if txbuf:
            args["txbuf"] = txbuf
        self.uart = machine.UART(uart_id, **args)
        # RTS/CTS both on: the module is stopped, not overrun, when nobody reads (Modem
        # then takes push as its default mode)
        flow = kw.get("flow") or 0
        rts, cts = getattr(machine.UART, "RTS", 0), getattr(machine.UART, "CTS", 0)
        self.flow_control = bool(rts and cts and flow & rts and flow & cts)
        self._poller()

    def set_baudrate(self, baudrate):
        self.uart.init(baudrate=baudrate)  # the other settings stay as they are
        self.baudrate = baudrate

    def _adopt(self, uart):
        self.uart = uart
        r = repr(uart)  # UART(1, baudrate=115200, bits=8, ..., rts=..., cts=...)
        i = r.find("baudrate=")
        self.baudrate = 0
        if i >= 0:
            j = i + 9
            while j < len(r) and r[j].isdigit():
                j += 1
            self.baudrate = int(r[i + 9 : j] or 0)
        self.flow_control = False  # not readable from the object: buffer mode, lossless anyway
        self._poller()

    def _poller(self):
        try:
            self.poller = select.poll()
            self.poller.register(self.uart, select.POLLIN)
        except (AttributeError, OSError, TypeError):
            self.poller = None

    def write(self, data):
        n = self.uart.write(data) or 0
        if n == len(data):
            return  # the usual case (the TX buffer holds a payload), without a memoryview
        mv = memoryview(data)[n:]
        while len(mv):
            n = self.uart.write(mv)
            mv = mv[n or 0 :]

    def drain(self):
        """Until everything written has left the UART (where the port has UART.flush)."""
        flush = getattr(self.uart, "flush", None)
        if flush is not None:
            flush()

    def stream(self):
        """What asyncio can wait on for readability (the UART itself)."""
        return self.uart

    def pending(self):
        """Bytes waiting in the UART's receive buffer."""
        return self.uart.any()

    def readinto(self, buf):
        n = self.uart.any()
        if not n:
            return 0
        return self.uart.readinto(buf, min(n, len(buf))) or 0

    def wait(self, timeout_ms):
        if self.poller is not None:
            for _ in self.poller.ipoll(timeout_ms):  # ipoll reuses its tuple: no allocation
                return True
            return False
        import time

        start = time.ticks_ms()
        while not self.uart.any():
            if time.ticks_diff(time.ticks_ms(), start) >= timeout_ms:
                return False
            time.sleep_ms(1)
        return True

    def close(self):
        try:
            self.uart.deinit()
        except AttributeError:
            pass
