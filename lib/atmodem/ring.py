"""A bounded byte ring: one preallocated bytearray, copies by slice, never a loop per byte.

Bytes come in staged (written after the data, not yet readable) and become readable when
committed: a payload is staged until what follows it confirms its framing, and dropped if
it does not (nothing unverified reaches a program)."""


class Ring:
    def __init__(self, size):
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.size = size
        self.start = 0
        self.count = 0  # readable bytes
        self.staged = 0  # written after them, not readable until commit()

    def __len__(self):
        return self.count

    def free(self):
        return self.size - self.count - self.staged

    def clear(self):
        self.start = self.count = self.staged = 0

    def commit(self):
        """The staged bytes are verified: readable from now on."""
        self.count += self.staged
        self.staged = 0

    def drop(self):
        """The staged bytes are not to be trusted: gone."""
        self.staged = 0

    def write(self, data, i=0, k=-1):
        """Stage as much of data[i:i+k] (k < 0: to its end) as fits; return how many bytes
        were taken. Give a memoryview: a slice of it is not a copy."""
        if k < 0:
            k = len(data) - i
        used = self.count + self.staged
        n = min(k, self.size - used)
        if n <= 0:
            return 0
        end = self.start + used
        if end >= self.size:
            end -= self.size
        first = min(n, self.size - end)
        self.mv[end : end + first] = data[i : i + first]
        if n > first:
            self.mv[0 : n - first] = data[i + first : i + n]
        self.staged += n
        return n

    def staged_bytes(self, last=-1):
        """A copy of the staged bytes, or of their last `last` (to look into a payload whose
        framing is in doubt)."""
        n = self.staged if last < 0 or last > self.staged else last
        a = self.start + self.count + self.staged - n
        if a >= self.size:
            a -= self.size
        first = min(n, self.size - a)
        return bytes(self.mv[a : a + first]) + bytes(self.mv[0 : n - first])

    def region(self, k):
        """A memoryview of up to k free bytes that follow the staged data, for a port to
        read into (then staged += what came): one copy less than write. None when full."""
        end = self.start + self.count + self.staged
        if end >= self.size:
            end -= self.size
            room = self.start - end
        else:
            room = self.size - end
        if room <= 0:
            return None
        return self.mv[end : end + (k if k < room else room)]

    def readinto(self, out, n=-1):
        """Move up to n (or len(out)) bytes into out; return the count."""
        if n < 0 or n > len(out):
            n = len(out)
        if n > self.count:
            n = self.count
        first = min(n, self.size - self.start)
        out[0:first] = self.mv[self.start : self.start + first]
        if n > first:
            out[first:n] = self.mv[0 : n - first]
        self.start = (self.start + n) % self.size
        self.count -= n
        if not self.count and not self.staged:
            self.start = 0
        return n

    def read(self, n):
        out = bytearray(min(n, self.count))
        self.readinto(out)
        return bytes(out)

    def line(self, limit=-1):
        """How many bytes a readline takes now: up to and including the first LF (all of
        them without one), at most limit (>= 0)."""
        i = self.find(10)
        k = self.count if i < 0 else i + 1
        return k if limit < 0 or k < limit else limit

    def find(self, byte_value):
        """Index of the first byte equal to byte_value, or -1 (for readline)."""
        end = self.start + self.count
        if end <= self.size:
            i = self.buf.find(bytes((byte_value,)), self.start, end)
            return -1 if i < 0 else i - self.start
        i = self.buf.find(bytes((byte_value,)), self.start, self.size)
        if i >= 0:
            return i - self.start
        i = self.buf.find(bytes((byte_value,)), 0, end - self.size)
        return -1 if i < 0 else i + self.size - self.start
