"""What both dialects share: the engine-handler surface, argument checks, small parsers.

A dialect knows one module's words and nothing about UARTs; it talks to the line only
through `self.m.command(...)` and `self.m.wait_for(...)`.
"""
from ..at import DISCARD
from ..errors import EINVAL, ETIMEDOUT, ConnectError, ECONNREFUSED, LinkError, ModemError


def ints(text):
    """b'1,0,2048' -> [1, 0, 2048]; a field that is not a number gives ValueError."""
    return [int(f) for f in text.split(b",")]


def last_int(line):
    """The number after the last ',' or ':' (the id in `IPREAD: 1`, `+IPURC: "closed",1`)."""
    i = max(line.rfind(b","), line.rfind(b":"))
    try:
        return int(line[i + 1 :])
    except ValueError:
        return -1


def unquote(field):
    f = field.strip()
    if f[:1] == b'"' and f[-1:] == b'"':
        return f[1:-1]
    return f


def check_text(value, what):
    """Refuse a string that would change the AT command it is put into."""
    if not isinstance(value, str):
        raise ValueError("%s must be a str, not %s" % (what, type(value).__name__))
    for ch in value:
        c = ord(ch)
        if c < 0x20 or c > 0x7E or ch == '"':
            raise ValueError(
                "%s %r contains %r, which could inject AT commands; refused" % (what, value, ch)
            )
    return value


def check_port(port, what="port", lo=1):
    if not isinstance(port, int) or not lo <= port <= 65535:
        raise ValueError("%s must be an int %d-65535, got %r" % (what, lo, port))
    return port


class Dialect:
    NAME = ""
    MODEL = b""
    IDS = ()
    MAX_SEND = 1460
    MAX_READ = 1500
    BOOT_URCS = ()
    URC_PREFIXES = ()
    HEADER_PREFIXES = ()

    def __init__(self, modem):
        self.m = modem
        self.socks = {}  # id -> Socket

    def install(self, engine):
        engine.urc_prefixes = self.URC_PREFIXES + self.BOOT_URCS
        engine.header_prefixes = self.HEADER_PREFIXES
        engine.inline_prefix = b""

    # ---- engine handler surface
    def header(self, line):  # type: (bytes) -> tuple | None
        return None

    def inline(self, partial):  # type: (bytes) -> tuple | bool | None
        return False

    def echo(self, line):
        self.m.on_echo(line)

    def urc(self, line):
        if line.startswith(self.BOOT_URCS):
            self.m.on_boot_urc(line)
        elif line.startswith((b"+CGREG:", b"+CEREG:")):
            self.m.on_registration(line)
        else:
            self.socket_urc(line)

    def socket_urc(self, line):
        pass

    # ---- helpers for the dialects
    def sock(self, sid):
        """The socket with this id, or the discard target (data for nobody stays in sync)."""
        s = self.socks.get(sid)
        return DISCARD if s is None else s

    def free_id(self):
        for i in self.IDS:
            if i not in self.socks:
                return i
        raise ModemError(
            24, "all %d sockets of the %s are in use" % (len(self.IDS), self.NAME)
        )

    def release(self, sock):
        if self.socks.get(sock.id) is sock:
            del self.socks[sock.id]

    def open_failed(self, cmd, answer):
        return ConnectError(ECONNREFUSED, "%s: %s" % (cmd, answer))


    def start(self):
        pass

    # ---- what each dialect implements (the modem and sockets call these)
    def attach(self, apn, user, password, timeout_ms, step):
        raise NotImplementedError

    def detach(self):
        raise NotImplementedError

    def open(self, sock, host, port, timeout_ms):
        raise NotImplementedError

    def close(self, sock):
        raise NotImplementedError

    def max_send(self, sock):
        return self.MAX_SEND

    def send(self, sock, mv, peer=None):
        raise NotImplementedError

    def read(self, sock, n):
        raise NotImplementedError

    def resolve(self, host):
        raise NotImplementedError

    def resume(self, sock):
        raise NotImplementedError

    def terminator(self, sock):
        raise NotImplementedError

    def flow_timeout(self, sock, what):
        """No room in the module's send buffer for the manual's 30 s: the connection is
        closed (the module may drop it anyway [seed]) and the caller told why."""
        err = LinkError(ETIMEDOUT, "socket %d: %s for %d s; connection closed" % (sock.id, what, self.m.flow_wait_ms // 1000))
        try:
            self.close(sock)
        except OSError:
            pass
        sock.on_closed(err)
        return err

    def tls_unsupported(self):
        raise ModemError(EINVAL, "TLS is not available on the %s" % self.NAME)
