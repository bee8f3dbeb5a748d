"""Reading AT command arguments the way the modules do, and their error codes."""
from __future__ import annotations

from typing import List

CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    14: "SIM busy",
    16: "incorrect password",
    30: "no network service",
    50: "Incorrect parameters",
    100: "unknown",
    148: "unspecified GPRS error",  # a dial the network refused
    913: "socket not open",  # hm609 firmware, AT+IPCLOSE [decision: the text]
}

def _nothing(data: bytes) -> None:
    pass


class CmdError(Exception):
    def __init__(self, code: int = 50):
        super().__init__(CME_TEXT.get(code, "unknown"))
        self.code = code


class QStr(str):
    """A quoted argument."""


def parse_args(s: str) -> List[str]:
    """Split `a,"b,c",d` into ['a', QStr('b,c'), 'd']; a bad quote is a parameter error."""
    args: List[str] = []
    i, n = 0, len(s)
    while True:
        while i < n and s[i] == " ":
            i += 1
        if i < n and s[i] == '"':
            j = s.find('"', i + 1)
            if j < 0:
                raise CmdError(50)
            args.append(QStr(s[i + 1 : j]))
            i = j + 1
            while i < n and s[i] == " ":
                i += 1
            if i < n and s[i] != ",":
                raise CmdError(50)
        else:
            j = s.find(",", i)
            j = n if j < 0 else j
            part = s[i:j].strip()
            if '"' in part:
                raise CmdError(50)
            args.append(part)
            i = j
        if i >= n:
            return args
        i += 1  # the comma


def num(arg, lo: int, hi: int) -> int:
    """An integer argument, bare or quoted, decimal or 0X-hex, within [lo, hi]."""
    if arg is None:
        raise CmdError(50)
    s = str(arg).strip()
    try:
        v = int(s, 16) if s[:2] in ("0X", "0x") else int(s, 10)
    except ValueError:
        raise CmdError(50)
    if not lo <= v <= hi:
        raise CmdError(50)
    return v


def text_arg(arg, allow_empty: bool = False) -> str:
    if not isinstance(arg, QStr) or (not arg and not allow_empty):
        raise CmdError(50)
    return str(arg)
