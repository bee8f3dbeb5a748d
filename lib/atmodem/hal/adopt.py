"""A port from what a program passed to Modem(): ours as they are, a URL opened, a
serial.Serial or a machine.UART adopted."""
import sys


def _is_port(obj):
    return hasattr(obj, "readinto") and hasattr(obj, "wait") and hasattr(obj, "write")


def port(obj):
    """What Modem(uart) was given, as a port: one of ours as it is; a pyserial URL or device
    path opened at 115200; a serial.Serial or a machine.UART the program opened itself,
    adopted (a TinyGSM habit). Anything else: TypeError at once, naming open_serial."""
    if _is_port(obj):
        return obj
    if isinstance(obj, str):
        from . import open_serial

        return open_serial(obj)
    kind = type(obj).__name__
    if sys.implementation.name == "micropython":
        if kind == "UART" and hasattr(obj, "any"):
            from .machine_uart import MachineUART

            return MachineUART(obj)
    elif hasattr(obj, "in_waiting") and hasattr(obj, "baudrate") and hasattr(obj, "read"):
        from .pyserial_port import PySerialPort

        return PySerialPort(obj)
    raise TypeError(
        "Modem() takes a port from atmodem.hal.open_serial(...), a serial.Serial, a "
        "machine.UART or a pyserial URL, not %s" % kind
    )
