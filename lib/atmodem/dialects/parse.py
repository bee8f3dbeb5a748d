"""Small parsers for answer lines (a leaf: what every dialect reads fields with)."""


def ints(text):
    """b'1,0,2048' -> [1, 0, 2048]; a field that is not a number gives ValueError. Old G24
    firmware separates id lists by spaces (`+MIPOPEN: 1 2 3 4`), the L610 manual by both."""
    return [int(f) for f in text.replace(b",", b" ").split()]


def lead_ints(text):
    """The leading numeric fields: b'1,0,"x"' -> [1, 0]. Real firmware adds fields to many
    answers (docs/real-modules.md): parse what is needed, ignore what follows."""
    out = []
    for f in text.split(b","):
        try:
            out.append(int(f))
        except ValueError:
            break
    return out


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


def garbled(line):
    """Payload data that lost its framing (a header dropped or damaged on the line), not a
    line of the module's: control characters, or bytes past ASCII in a line that does not
    begin as the module's do (`+CME ERROR: <GBK text>` is the module's)."""
    high = False
    for b in line:
        if b < 32 and b != 9:
            return True
        if b > 126:
            high = True
    if not high:
        return False
    b = line[0]
    return not (b == 43 or 65 <= b <= 90) or b":" not in line[:24]
