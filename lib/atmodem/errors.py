"""Every error atmodem raises is an OSError subclass with its errno (or ValueError /
TypeError for bad arguments), with a message that names the command and the module's
answer. On CPython an error is also the built-in OSError subclass its errno stands for
(TimeoutError for ETIMEDOUT, so `except socket.timeout` works; BlockingIOError for EAGAIN;
ConnectionResetError, ConnectionRefusedError); MicroPython has none of them."""
try:
    import errno

    ETIMEDOUT = errno.ETIMEDOUT
    EAGAIN = errno.EAGAIN
    ECONNRESET = errno.ECONNRESET
    ECONNREFUSED = getattr(errno, "ECONNREFUSED", 111)
    ENOTCONN = errno.ENOTCONN
    EIO = errno.EIO
    ENOBUFS = getattr(errno, "ENOBUFS", 105)
    EMFILE = getattr(errno, "EMFILE", 24)
    EBADF = errno.EBADF
    EBUSY = getattr(errno, "EBUSY", 16)
    EINVAL = errno.EINVAL
    EISCONN = getattr(errno, "EISCONN", 106)
    EHOSTUNREACH = getattr(errno, "EHOSTUNREACH", 113)
    ENETDOWN = getattr(errno, "ENETDOWN", 100)
    EDESTADDRREQ = getattr(errno, "EDESTADDRREQ", 89)
    EMSGSIZE = getattr(errno, "EMSGSIZE", 90)
    EALREADY = getattr(errno, "EALREADY", 114)
    EINPROGRESS = getattr(errno, "EINPROGRESS", 115)
    EPROTO = getattr(errno, "EPROTO", 71)
    EACCES = getattr(errno, "EACCES", 13)
except ImportError:  # pragma: no cover - every port ships errno
    ETIMEDOUT, EAGAIN, ECONNRESET, ECONNREFUSED, ENOTCONN, EIO = 110, 11, 104, 111, 107, 5
    ENOBUFS, EMFILE, EBADF, EBUSY, EINVAL, EISCONN = 105, 24, 9, 16, 22, 106
    EHOSTUNREACH, ENETDOWN, EDESTADDRREQ, EMSGSIZE = 113, 100, 89, 90
    EALREADY, EINPROGRESS, EPROTO, EACCES = 114, 115, 71, 13


def text(data):
    """What the module said, as text that never raises: bytes that are not UTF-8 (GBK from
    a Chinese firmware, line noise) stay visible as \\xNN escapes."""
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode()
    except UnicodeError:
        out = []
        for b in data:
            out.append(chr(b) if 32 <= b < 127 else "\\x%02x" % b)
        return "".join(out)


_FIT = []  # set on CPython (errors_cpython.fit)


class ModemError(OSError):
    """Base of atmodem's errors; `errno` is set, str() explains."""

    def __init__(self, code, message):
        message = text(message)
        super().__init__(code, message)
        self.message = message
        if _FIT:  # CPython: __new__ is errors_cpython's, so OSError took its args
            self.args = (code, message)
            self.errno = code
            self.strerror = message

    def __str__(self):
        return self.message


class ATError(ModemError):
    """The module answered a command with ERROR / +CME ERROR / something unusable."""

    def __init__(self, command, answer, code=EIO):
        self.command = text(command)
        self.answer = text(answer)
        super().__init__(code, "%s: %s" % (self.command, self.answer))


class Timeout(ModemError):
    """ETIMEDOUT: a socket's timeout ran out, or a command's (ATTimeout). MicroPython's
    socket.timeout of modem.sockets(); on CPython it is also TimeoutError."""

    ERRNO = ETIMEDOUT


class ATTimeout(Timeout):
    """A command got no final answer in time."""

    ERRNO = ETIMEDOUT  # the constructor's first argument is the command, not the errno

    def __init__(self, command, seconds, got=""):
        self.command = text(command)
        msg = "%s: no answer in %s s" % (self.command, seconds)
        got = text(got)
        if got:
            msg += " (last: %s)" % got
        super().__init__(ETIMEDOUT, msg)


class ConnectError(ModemError):
    pass


class LinkError(ModemError):
    """The connection broke (reset, link lost, module reboot, a framing error)."""


try:
    TimeoutError  # pyright: ignore[reportUnusedExpression]
except NameError:  # MicroPython: OSError(errno) is the whole contract
    pass
else:
    from .errors_cpython import fit

    fit(ModemError, ETIMEDOUT, EAGAIN, ECONNRESET, ECONNREFUSED)
    _FIT.append(True)
