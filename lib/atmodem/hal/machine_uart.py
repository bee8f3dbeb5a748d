"""Boards: machine.UART (ESP32, RP2040, ...)."""
import machine
import select


class MachineUART:
    def __init__(self, uart_id, baudrate=115200, tx=None, rx=None, rxbuf=4096, txbuf=None, **kw):
        self.baudrate = baudrate
        args = dict(kw)
        args["baudrate"] = baudrate
        args["rxbuf"] = rxbuf
        if tx is not None:
            args["tx"] = machine.Pin(tx) if isinstance(tx, int) else tx
        if rx is not None:
            args["rx"] = machine.Pin(rx) if isinstance(rx, int) else rx
        if txbuf is not None:
            args["txbuf"] = txbuf
        self.uart = machine.UART(uart_id, **args)
        try:
            self.poller = select.poll()
            self.poller.register(self.uart, select.POLLIN)
        except (AttributeError, OSError, TypeError):
            self.poller = None

    def write(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self.uart.write(mv)
            mv = mv[n or 0 :]

    def drain(self):
        """Until everything written has left the UART (where the port has UART.flush)."""
        flush = getattr(self.uart, "flush", None)
        if flush is not None:
            flush()

    def readinto(self, buf):
        if not self.uart.any():
            return 0
        return self.uart.readinto(buf) or 0

    def wait(self, timeout_ms):
        if self.poller is not None:
            return bool(self.poller.poll(timeout_ms))
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
