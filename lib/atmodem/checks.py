"""Checks of what a program passes in, before anything reaches the module: each failure is a
TypeError or ValueError that names the argument and what is wrong with it."""


def check_text(value, what):
    """Refuse a string that would change the AT command it is put into."""
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    for ch in value:
        c = ord(ch)
        if c < 0x20 or c > 0x7E or ch == '"':
            raise ValueError(
                "%s %r contains %r, which could inject AT commands; refused" % (what, value, ch)
            )
    return value


def is_ipv4(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True


def _is_ipv6(host):
    if host.count(":") < 2 or len(host) > 45:
        return False
    for ch in host:
        if ch not in "0123456789abcdefABCDEF:.":
            return False
    return True


def check_host(host, what="host"):
    """A host name (RFC 1123: at most 253 characters, labels of 1-63 letters, digits, '-'
    or '_', not starting or ending with '-') or an IPv4 / IPv6 address."""
    check_text(host, what)
    if not host:
        raise ValueError("%s must not be empty" % what)
    if is_ipv4(host) or _is_ipv6(host):
        return host
    name = host[:-1] if host[-1:] == "." else host
    if len(name) > 253:
        raise ValueError("%s is %d characters long; a host name has at most 253" % (what, len(name)))
    for label in name.split("."):
        if not label or len(label) > 63:
            raise ValueError("%s %r: every label between dots must be 1-63 characters" % (what, host))
        if label[0] == "-" or label[-1] == "-":
            raise ValueError("%s %r: a label may not start or end with '-'" % (what, host))
        for ch in label:
            if not (ch.isalpha() or ch.isdigit() or ch in "-_") or ord(ch) > 0x7E:
                raise ValueError("%s %r contains %r, which no host name or address holds" % (what, host, ch))
    return host


def check_port(port, what="port", lo=1):
    if not isinstance(port, int) or isinstance(port, bool) or not lo <= port <= 65535:
        raise ValueError("%s must be an int %d-65535, got %r" % (what, lo, port))
    return port


def check_timeout(seconds, what="timeout"):
    """None (wait for ever) or a finite number >= 0 of seconds."""
    if seconds is None:
        return None
    if not isinstance(seconds, (int, float)):
        raise TypeError("%s must be None or a number of seconds, not %s" % (what, type(seconds).__name__))
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError("%s must be finite, got %r" % (what, seconds))
    if seconds < 0:
        raise ValueError("%s must be None or >= 0, got %r" % (what, seconds))
    if seconds > 2000000:  # ticks_ms arithmetic wraps past 2**30 ms on a board
        raise ValueError("%s of %r s is too long (at most 2000000 s; None waits for ever)" % (what, seconds))
    return seconds


def check_size(n, what="buffer size"):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("%s must be an int, not %s" % (what, type(n).__name__))
    if n < 0:
        raise ValueError("negative %s" % what)
    return n
