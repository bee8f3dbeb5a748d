"""Every error atmodem raises is an OSError subclass (or ValueError for bad arguments),
with a message that names the command and the module's answer."""
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
except ImportError:  # pragma: no cover - every port ships errno
    ETIMEDOUT, EAGAIN, ECONNRESET, ECONNREFUSED, ENOTCONN, EIO = 110, 11, 104, 111, 107, 5
    ENOBUFS, EMFILE, EBADF, EBUSY, EINVAL, EISCONN = 105, 24, 9, 16, 22, 106
    EHOSTUNREACH, ENETDOWN, EDESTADDRREQ, EMSGSIZE = 113, 100, 89, 90
    EALREADY, EINPROGRESS = 114, 115


class ModemError(OSError):
    """Base of atmodem's errors; `errno` is set, str() explains."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.message = message

    def __str__(self):
        return self.message


class ATError(ModemError):
    """The module answered a command with ERROR / +CME ERROR / something unusable."""

    def __init__(self, command, answer, code=EIO):
        self.command = command
        self.answer = answer
        super().__init__(code, "%s: %s" % (command, answer))


class ATTimeout(ModemError):
    """A command got no final answer in time."""

    def __init__(self, command, seconds, got=""):
        self.command = command
        msg = "%s: no answer in %s s" % (command, seconds)
        if got:
            msg += " (last: %s)" % got
        super().__init__(ETIMEDOUT, msg)


class ConnectError(ModemError):
    pass


class LinkError(ModemError):
    """The connection broke (reset, link lost, module reboot)."""

