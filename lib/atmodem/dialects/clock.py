"""The module's clock from network time, which certificate checks need (docs/l610-tls.md,
NTP; docs/quectel.md, Clock): an asynchronous command whose result comes as a URC, then the
clock as the module has it (AT+CCLK?). Loaded when a program asks, let go after."""
from ..command import Command
from ..errors import ETIMEDOUT, ModemError, text
from ..flow import Until
from .parse import lead_ints


def now(d):
    """A flow: the module's clock, as it says it (`yy/mm/dd,hh:mm:ss+zz`)."""
    c = yield Command(b"AT+CCLK?", prefix=b"+CCLK:")
    return text((c.first(b"+CCLK") or b"").strip(b'"'))


def mipntp(d, server, port, timeout_ms):
    """L610: AT+MIPNTP="<server>",<port>: OK, then +MIPNTP: 1 (set) or another value."""
    cmd = b'AT+MIPNTP="%s",%d' % (server.encode(), port)
    p = yield from d.asyncs.begin(cmd, -1, (b"+MIPNTP:",), timeout_ms, timeout_ms)
    yield from d.asyncs.wait(p, timeout_ms)
    f = lead_ints(p.result[p.result.find(b":") + 1 :]) if not p.failed else []
    if f != [1]:
        raise ModemError(ETIMEDOUT, "%s: %s (the clock was not set)" % (text(cmd), text(p.result)))
    return (yield from now(d))


def qntp(d, server, port, timeout_ms):
    """Quectel: AT+QNTP=1,"<server>",<port>: OK, then +QNTP: <err>[,"<time>"], 0 set."""
    cmd = b'AT+QNTP=1,"%s",%d' % (server.encode(), port)
    d.ntp = None
    yield Command(cmd)
    yield Until(lambda: d.ntp is not None, timeout_ms, text(cmd))
    line = d.ntp or b""
    f = lead_ints(line[6:])
    if not f or f[0] != 0:
        why = "" if not f else " (%s)" % f[0]
        raise ModemError(ETIMEDOUT, "%s: %s%s (the clock was not set)" % (text(cmd), text(line), why))
    return (yield from now(d))
