"""Ports: the UART as atmodem needs it, on every runtime (`port()` adopts what a program
opened itself).

A port has write(data) (all of it), readinto(buf) -> int (non-blocking, 0 when nothing),
wait(timeout_ms) -> bool (until readable), close(), baudrate (0 if unknown), flow_control
(RTS/CTS on: the module waits rather than overrun us), and optionally drain() (until
everything written has left) and pending() (bytes waiting to be read)."""
import sys


def __getattr__(name):
    """atmodem.hal.pins.Power after `import atmodem` alone, loaded only when used."""
    if name == "pins":
        return __import__("atmodem.hal.pins", None, None, ["Power"])
    raise AttributeError("module 'atmodem.hal' has no attribute %r" % name)


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


def port(obj):
    """What Modem(uart) was given, as a port (hal/adopt.py; loaded for this, let go after)."""
    from ..compat import cold

    return cold("hal.adopt", "port", obj)
