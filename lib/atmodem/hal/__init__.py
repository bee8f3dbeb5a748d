"""Ports: the UART as atmodem needs it, on every runtime (`port()` adopts what a program
opened itself).

A port has write(data) (all of it), readinto(buf) -> int (non-blocking, 0 when nothing),
wait(timeout_ms) -> bool (until readable), close(), baudrate (0 if unknown), flow_control
(RTS/CTS on: the module waits rather than overrun us), and optionally drain() (until
everything written has left) and pending() (bytes waiting to be read)."""
import sys

from . import pins  # atmodem.hal.pins.Power after `import atmodem` alone (it imports nothing)


def open_serial(path_or_url, baudrate=115200, **kw):
    """A pyserial port on CPython (any pyserial URL, e.g. socket://host:port), a raw tty on
    the MicroPython unix port, a machine.UART (give its id, and tx=/rx= pins) on a board."""
    if sys.implementation.name == "micropython":
        if isinstance(path_or_url, int):
            from .machine_uart import MachineUART

            return MachineUART(path_or_url, baudrate, **kw)
        from .unix_port import UnixPort

        return UnixPort(path_or_url, baudrate)
    from .pyserial_port import PySerialPort

    return PySerialPort(path_or_url, baudrate, **kw)


def _is_port(obj):
    return hasattr(obj, "readinto") and hasattr(obj, "wait") and hasattr(obj, "write")


def port(obj):
    """What Modem(uart) was given, as a port: one of ours as it is; a pyserial URL or device
    path opened at 115200; a serial.Serial or a machine.UART the program opened itself,
    adopted (a TinyGSM habit). Anything else: TypeError at once, naming open_serial."""
    if _is_port(obj):
        return obj
    if isinstance(obj, str):
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
