"""The SCAN cursor over a database whose keys live in a Python dict.

A Python dict cannot be iterated from a saved position (iteration order is insertion
order, deletions leave no stable index, and the dict resizes underneath). So a database
that has been SCANned once keeps a side index: its keys in 2**k hash buckets
(`bucket = hash(key) & (2**k - 1)`), maintained by Database.store/_forget/flush and
swapped by SWAPDB. Databases never SCANned pay one `is None` test per new/deleted key.

The cursor is Redis's own answer (dict.c, dictScan): walk buckets in *reverse-binary*
order, i.e. increment the bit-reversed bucket number. Bucket b of a 2**k table holds the
hashes whose low k bits equal b; in reversed-bit order that is one contiguous interval of
the 64-bit hash space, and visiting buckets in increasing reversed order sweeps that space
from left to right. A cursor therefore means "every hash below this point (in reversed
order) has been returned", which stays true when the table is resized between calls:

* grown to 2**(k+1): the cursor's bucket splits into two buckets that both lie at or
  after the cursor, and everything before it is still before it: nothing skipped, nothing
  repeated;
* shrunk to 2**(k-1): the cursor's bucket merges with its sibling, which may lie before
  the cursor: some keys may be returned again, none skipped.

Hence Redis's guarantee: a key present from the start to the end of a full iteration is
returned at least once (possibly more); keys added or deleted meanwhile may or may not
be. Every cursor value is valid (bits above the table size are ignored), a finished
iteration returns 0, and no per-client state exists. Resizes are done in one step (O(n)
with doubling, amortised O(1) a key) rather than incrementally as Redis does.
"""
from __future__ import annotations

MIN_BITS = 4
LOAD_MAX = 8          # grow when keys > LOAD_MAX * buckets


def _reverse(v: int, bits: int) -> int:
    return int(format(v, "0%db" % bits)[::-1], 2) if bits else 0


class ScanIndex:
    __slots__ = ("bits", "mask", "buckets", "size")

    def __init__(self, keys=()):
        keys = list(keys)
        self._build(keys, self._bits_for(len(keys)))

    @staticmethod
    def _bits_for(n: int) -> int:
        bits = MIN_BITS
        while (1 << bits) * 4 < n:
            bits += 1
        return bits

    def _build(self, keys, bits: int) -> None:
        self.bits = bits
        self.mask = mask = (1 << bits) - 1
        buckets: list = [None] * (mask + 1)
        for key in keys:
            i = hash(key) & mask
            b = buckets[i]
            if b is None:
                buckets[i] = [key]
            else:
                b.append(key)
        self.buckets = buckets
        self.size = len(keys)

    def keys(self) -> list:
        return [k for b in self.buckets if b for k in b]

    def __len__(self) -> int:
        return self.size

    def add(self, key) -> None:
        """Index a key that is new to the database."""
        i = hash(key) & self.mask
        b = self.buckets[i]
        if b is None:
            self.buckets[i] = [key]
        else:
            b.append(key)
        self.size += 1
        if self.size > LOAD_MAX << self.bits:
            self._build(self.keys(), self.bits + 1)

    def discard(self, key) -> None:
        i = hash(key) & self.mask
        b = self.buckets[i]
        if b is None:
            return
        try:
            b.remove(key)
        except ValueError:
            return
        if not b:
            self.buckets[i] = None
        self.size -= 1
        if self.bits > MIN_BITS and self.size < (1 << self.bits) >> 3:
            self._build(self.keys(), self._bits_for(self.size))

    def scan(self, cursor: int, count: int) -> tuple[int, list]:
        """Keys of the buckets from `cursor` on until at least `count` keys were gathered
        (or 10*count buckets were visited); returns (next cursor, keys), next cursor 0 at
        the end of the iteration."""
        bits, mask, buckets = self.bits, self.mask, self.buckets
        out: list = []
        v = cursor & mask
        visits = max(count * 10, 1)
        top = 1 << bits
        while True:
            b = buckets[v]
            if b:
                out.extend(b)
            r = _reverse(v, bits) + 1
            if r == top:
                return 0, out
            v = _reverse(r, bits)
            visits -= 1
            if len(out) >= count or visits <= 0:
                return v, out
