"""Checks of the text a program passes that goes into a command line: host names, APNs,
user names, certificate names, raw commands. Used now and then (a connect, an attach), so
loaded when needed and let go after (compat.cold): it is RAM on a board."""
from .command import Command


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


def _as_bytes(value, what):
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("%s must be str or bytes, not %s" % (what, type(value).__name__))
    return bytes(value)


def user_command(text, prefix=None, prompt=None, payload=None, need=None, timeout_ms=5000,
                 check=True, on_connect=None):
    """A Command from what a program passes to modem.command(): str or bytes, checked
    before anything is marked in flight, so a bad argument leaves the line as it was."""
    text = _as_bytes(text, "command")
    if not text or b"\r" in text or b"\n" in text:
        raise ValueError("command must be one non-empty line without CR or LF, got %r" % (text,))
    if isinstance(prefix, (tuple, list)):
        prefix = tuple(_as_bytes(p, "prefix") for p in prefix)
    elif prefix is not None:
        prefix = _as_bytes(prefix, "prefix")
    if prompt is not None:
        prompt = _as_bytes(prompt, "prompt")
    if need is not None:
        need = _as_bytes(need, "need")
    if payload is not None:
        payload = _as_bytes(payload, "payload")
        if prompt is None:
            raise ValueError("a payload is written at a prompt: pass prompt= too")
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 0 < timeout_ms <= 2000000000:
        raise ValueError("timeout_ms must be a positive int, got %r" % (timeout_ms,))
    return Command(text, prefix, prompt, need, on_connect, payload, timeout_ms, check)
