"""The +MIP family's data lines (Motorola G24, Fibocom G510, L610, L710): pushed data in
IPRFMT 2 (`+MIPRTCP: <id>,<len>,<raw>`, read inline) and hex data lines in IPRFMT 0
(`+MIPRTCP: <id>,<left>,<HEX>`); and the answers to a send (`+MIPSEND`, `+MIPPUSH`), with
the forms real firmware prints (docs/real-modules.md). A +MIP dialect is a MipData, which
is a Dialect."""
import binascii

from ..errors import EIO, ATError, text
from ..framing import DISCARD
from .base import Dialect


class MipData(Dialect):
    fmt = None  # the module's receive format, as the dialect keeps it

    def inline(self, buf, s, e):
        """IPRFMT 2: `+MIPRTCP: <id>,<len>,` / `+MIPRUDP: <ip>,<port>,<id>,<len>,` then raw,
        read in place from what has arrived (buf[s:e]); where the raw bytes start."""
        udp = buf.startswith(b"+MIPRUDP:", s, e)
        if not (udp or buf.startswith(b"+MIPRTCP:", s, e)):
            return -1
        need = 4 if udp else 2
        commas = 0
        start = i = s + 9
        while commas < need:
            i = buf.find(b",", i, e)
            if i < 0:
                return 0
            commas += 1
            i += 1
            if commas == need - 2:
                start = i  # <id> follows <ip>,<port>,
        addr = self._peer(buf, s + 9, start - 1) if udp else None
        self._p = start
        sid = self.num(buf, i) if addr is not None or not udp else -1
        n = self.num(buf, i)
        target = self.payload_target(sid, n, True, buf, s, i)
        if target is None:
            return i
        if addr is not None:
            target.rx_addr = addr
        self.engine.expect(target, n)
        return i

    def _peer(self, buf, i, j):
        """`<ip>,<port>` in buf[i:j], a +MIPRUDP header's start: (ip, port), or None."""
        f = bytes(buf[i:j]).split(b",")
        try:
            return (text(f[0].strip()), int(f[1]))
        except (ValueError, IndexError):
            return None

    def _h_hex(self, buf, s, i, e):
        """+MIPRTCP: <id>,<n>,<data> / +MIPRUDP: <ip>,<port>,<id>,<n>,<data>: socket data
        (IPRFMT 0: <data> in hex on the line, <n> what is left; IPRFMT 2: <n> raw bytes after
        the comma). IPRFMT 0 lines are read here, in place (the decoded bytes are the one
        copy); IPRFMT 2 headers inline, so a whole line here means one was damaged."""
        if self.fmt != 0 or not self._hex_line(buf, i, e, buf[i - 4] == 85):
            self.framing(DISCARD, "a data header that cannot be read (%r)" % bytes(buf[s : min(e, s + 40)]), b"")
        return True

    def _hex_line(self, buf, i, e, udp):
        addr = None
        if udp:
            c1 = buf.find(b",", i, e)
            c2 = buf.find(b",", c1 + 1, e) if c1 > 0 else -1
            addr = self._peer(buf, i, c2) if c2 > 0 else None
            if addr is None:
                return False
            i = c2 + 1
        self._p = i
        sid = self.num(buf, e)
        left = self.num(buf, e)
        h = self._p
        while e > h and buf[e - 1] == 32:
            e -= 1
        if sid < 0 or left < 0 or buf[h - 1] != 44:
            return False
        target = self.payload_to(sid)
        try:
            data = binascii.unhexlify(memoryview(buf)[h:e])  # type: ignore (any buffer: modbinascii.c)
        except ValueError:
            self.framing(target, "a hex data line that does not decode", b"")
            return True
        if addr is not None:
            target.rx_addr = addr
        if target.rx_write(memoryview(data), 0, len(data)) < len(data):
            target.rx_spill()  # a hex line is one URC: it cannot wait in the UART
        if left == 0:  # <left> counts what is still queued: a datagram ends at 0
            target.rx_end()
        return True

    def overflow(self, buf, s, e):
        """IPRFMT 0: a hex data line longer than the line buffer: its link lost data."""
        udp = buf.startswith(b"+MIPRUDP:", s, e)
        if not (udp or buf.startswith(b"+MIPRTCP:", s, e)):
            return Dialect.overflow(self, buf, s, e)
        f = bytes(buf[s + 9 : min(e, s + 80)]).split(b",")
        try:
            sid = int(f[2] if udp else f[0])
        except (ValueError, IndexError):
            return
        self.payload_to(sid).rx_spill()

    def scan_send(self, c, buf, s, e):
        """A send's +MIPSEND / +MIPPUSH read in place when it says the bytes went (a
        failure is kept as a line for the error to quote)."""
        if buf.startswith(b"+MIPSEND:", s, e):
            self._p = s + 9
            a = self.num(buf, e)
            st = self.num(buf, e) if a >= 0 else -1
            free = self.num(buf, e) if self._p < e else -2
            if free < 0 and st > 1:  # G24 p.4-31 `+MIPSEND:1,1497`: <id>,<free>, no status
                st, free = 0, st
            if st != 0 and st != 1:
                return False
            c.conf = True
            c.free = free
            c.need = None  # the confirmation is in: the next OK is final
            return True
        if buf.startswith(b"+MIPPUSH:", s, e):
            self._p = s + 9
            a = self.num(buf, e)
            st = self.num(buf, e) if self._p < e else a  # G24: the status alone
            return st == 0 or st == 2  # 2: nothing left to send [docs/real-modules.md]
        return False

    def sent(self, link, c, n):
        # scan_send took every line, and each said the bytes went; what it left failed
        ok = c.ok() and c.conf and not c.lines
        if ok and c.free >= 0:
            link.ctx.free = c.free
        answer = b"" if ok else b" ".join(c.lines + [c.result or b"no answer"])
        self.sent_with(link, c)
        if ok:
            return n
        raise ATError(text(c.text), text(answer) + " (0 of %d bytes confirmed)" % n, EIO)
