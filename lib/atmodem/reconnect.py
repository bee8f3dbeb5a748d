"""Stay connected: a socket that is re-dialled and reopened with backoff when it breaks."""
from .errors import ModemError
from .states import OPEN


class Reconnecting:
    """reconnecting.socket() gives a connected socket: the current one while it is alive,
    else a new one, attaching first when the bearer is down, with exponential backoff
    between failed attempts, and the recovery ladder after `recover_after` failures."""

    def __init__(self, modem, address, mode=None, tls=None, apn=None, user=None,
                 password=None, timeout=10, backoff_ms=1000, max_backoff_ms=60000,
                 recovery=None, recover_after=5, attempts=None):
        self.m = modem
        self.address = address
        self.mode = mode
        self.tls = tls
        self.attach_args = (apn, user, password)
        self.timeout = timeout
        self.backoff_ms = backoff_ms
        self.max_backoff_ms = max_backoff_ms
        self.recovery = recovery
        self.recover_after = recover_after
        self.attempts = attempts  # None: forever
        self.sock = None
        self.failures = 0
        self.connects = 0
        self.last_error = None

    def alive(self):
        self.m.poll(0)  # URCs that say it ended may be waiting on the line
        s = self.sock
        return s is not None and s.state == OPEN and not s.ended()

    def socket(self):
        s = self.sock
        if s is not None and self.alive():
            return s
        self.close()
        delay = self.backoff_ms
        tries = 0
        while True:
            try:
                return self._connect()
            except OSError as err:
                self.last_error = err
                self.failures += 1
                tries += 1
                if self.attempts is not None and tries >= self.attempts:
                    raise ModemError(err.errno or 5, "gave up after %d attempts: %s" % (tries, err))
                if self.recovery is not None and self.failures % self.recover_after == 0:
                    try:
                        self.recovery.recover()
                    except OSError as rerr:
                        self.last_error = rerr
                self.m.idle(delay)
                delay = min(delay * 2, self.max_backoff_ms)

    def _connect(self):
        m = self.m
        m.ensure_up()
        if m.ip is None:
            apn, user, password = self.attach_args
            m.attach(apn, user, password)
        s = m.socket(mode=self.mode, tls=self.tls)
        s.settimeout(self.timeout)
        try:
            s.connect(self.address)
        except BaseException:
            s.close()
            raise
        self.sock = s
        self.failures = 0
        self.connects += 1
        return s

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
