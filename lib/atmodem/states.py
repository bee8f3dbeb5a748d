"""Names shared by the socket a program sees and the module-side link under it (a leaf:
it imports nothing)."""
from .compat import const

AF_INET = const(2)
SOCK_STREAM = const(1)
SOCK_DGRAM = const(2)
MODES = ("buffer", "push", "hex", "transparent")
RXBUF_MAX = 1 << 20

# a link's state, as the module's socket table has it
CLOSED = const(0)
OPENING = const(1)
OPEN = const(2)
CLOSING = const(3)
