"""What Quectel's TCP/IP error codes (550-574, in +QIOPEN, +QIURC: "dnsgip" and
+CME ERROR) mean [docs/quectel.md, error codes]: loaded only when an error is worded."""
_TEXTS = (
    "unknown error", "operation blocked", "invalid parameters", "memory not enough",
    "create socket failed", "operation not supported", "socket bind failed",
    "socket listen failed", "socket write failed", "socket read failed", "socket accept failed",
    "open PDP context failed", "close PDP context failed", "socket identity has been used",
    "DNS busy", "DNS parse failed", "socket connect failed", "socket has been closed",
    "operation busy", "operation timeout", "PDP context broken down", "cancel send",
    "operation not allowed", "APN not configured", "port busy",
)


def meaning(code):
    """' (<what code means>)', or '' for a code outside the table."""
    if isinstance(code, int) and 550 <= code < 550 + len(_TEXTS):
        return " (%s)" % _TEXTS[code - 550]
    return ""
