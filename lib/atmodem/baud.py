"""The module's UART rate: AT+IPR (ITU-T V.250, which both modules follow; neither manual
lists it: docs/README.md). Loaded on use."""
from .errors import EBUSY, EINVAL, EIO, ModemError

RATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)


def set_baudrate(m, baud):
    """AT+IPR=<baud>, answered at the old rate; then the port at the new one and AT there.
    With sockets open, bytes arriving during the switch would be lost: refused then."""
    if isinstance(baud, bool) or not isinstance(baud, int) or baud not in RATES:
        raise ValueError("baud: one of %s, got %r" % (", ".join(str(r) for r in RATES), baud))
    change = getattr(m.uart, "set_baudrate", None)
    if change is None:
        raise ModemError(EINVAL, "this port cannot change its rate (hal.open_serial's ports can)")
    if m.dialect is not None and m.dialect.links:
        raise ModemError(EBUSY, "set_baudrate with sockets open: bytes arriving during the switch would be lost")
    old = getattr(m.uart, "baudrate", 0)
    m.command(b"AT+IPR=%d" % baud)
    drain = getattr(m.uart, "drain", None)
    if drain is not None:
        drain()
    m.clock.sleep_ms(100)  # the module switches once its OK is out
    if answers(m, change, baud):
        return
    if old and answers(m, change, old):
        raise ModemError(EIO, "the module took AT+IPR=%d but does not answer at %d baud; back at %d" % (baud, baud, old))
    raise ModemError(EIO, "the module answers neither at %d nor at %d baud after AT+IPR" % (baud, old))


def answers(m, change, baud):
    change(baud)
    m.line.rate(baud)
    m.line.reset_input()
    for _ in range(3):
        try:
            m.command(b"AT", timeout_ms=500)
            return True
        except OSError:
            pass
    return False
