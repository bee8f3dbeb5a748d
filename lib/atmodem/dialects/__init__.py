"""The modules atmodem knows, one line each: the name a program passes as
Modem(dialect=...), the file and class of its dialect, and what its model answer (AT+CGMM,
ATI) holds ("|" between alternatives: one object, not a tuple of them, on a board's heap).
The one place that names them (docs/adding-a-module.md)."""

_KNOWN = (
    ("nm28", "nm28", "NM28", b"NM28"),
    ("l610", "l610", "L610", b"L610"),
    ("quectel", "quectel", "Quectel", b"QUECTEL|EC2|EC6|EC8|EG9|BG95|BG96|BG77"),
)


def names():
    """The dialects' names, as Modem(dialect=...) takes them."""
    return [k[0] for k in _KNOWN]


def _entry(name):
    for k in _KNOWN:
        if k[0] == name:
            return k
    raise ValueError("dialect must be one of %s or None (ask the module), not %r" % (", ".join(names()), name))


def check(name):
    """name is a dialect's (ValueError naming them otherwise), before anything is loaded."""
    _entry(name)
    return name


def load(name):
    """The dialect class for name (its file is loaded now)."""
    k = _entry(name)
    mod = __import__("atmodem.dialects." + k[1], None, None, [k[2]])
    return getattr(mod, k[2])


def identify(model):
    """The dialect whose module answers with model (bytes), or None."""
    up = model.upper()
    for k in _KNOWN:
        for marker in k[3].split(b"|"):
            if marker in up:
                return k[0]
    return None
