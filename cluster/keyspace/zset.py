"""The sorted set value: a dict member -> score plus a SortedList of (score, member).

The dict answers ZSCORE in O(1); the sorted list (sortedcontainers) gives O(log n) rank,
insertion, deletion and range starts. Order is Redis's: by score, then by member bytes.

`listpack` mirrors Redis's encoding choice (OBJECT ENCODING, DUMP format, ZSCAN reply):
a set starts small ("listpack") and turns "skiplist" for good once it grows past
zset-max-listpack-entries or gets a member longer than zset-max-listpack-value. Two
visible quirks of the small encoding are kept: a -0 score is stored as 0, and ZSCAN
shows scores as the listpack stores them (integers without an exponent).
"""
from __future__ import annotations

import math

from sortedcontainers import SortedList

from cluster.resp.reply import format_double

INF = math.inf


def fits_listpack(count: int, longest: int, config) -> bool:
    return (count <= config["zset-max-listpack-entries"]
            and longest <= config["zset-max-listpack-value"])


def d2string(score: float) -> bytes:
    """A score as Redis 7.0 writes it into a listpack: an integer when it is one (in
    +-2**62), else %.17g."""
    if score == 0:
        return b"-0" if math.copysign(1.0, score) < 0 else b"0"
    if -4611686018427387904 < score < 4611686018427387904 and score == int(score):
        return b"%d" % int(score)
    return format_double(score)


class ZSet:
    __slots__ = ("scores", "sl", "listpack", "index")

    def __init__(self, listpack: bool = True):
        self.scores: dict[bytes, float] = {}
        self.sl = SortedList()
        self.listpack = listpack
        self.index = None            # cluster.keyspace.scanindex.ScanIndex once ZSCANned big

    def __len__(self) -> int:
        return len(self.scores)

    def items(self):
        """member -> score pairs (DEBUG DIGEST, MEMORY USAGE)."""
        return self.scores.items()

    def copy(self) -> "ZSet":
        other = ZSet(self.listpack)
        other.scores = self.scores.copy()
        other.sl = SortedList(self.sl)
        return other

    def check_encoding(self, member: bytes, config) -> None:
        """Turn "skiplist" when adding `member` made the set too big for a listpack."""
        if self.listpack and (len(self.scores) > config["zset-max-listpack-entries"]
                              or len(member) > config["zset-max-listpack-value"]):
            self.listpack = False

    # -- single members -----------------------------------------------------------------
    def add(self, member: bytes, score: float) -> None:
        """Insert or move `member` to `score`."""
        if score == 0 and self.listpack:
            score = 0.0
        old = self.scores.get(member)
        if old is not None:
            if old == score:          # -0 and 0 are the same score, as in Redis
                return
            self.sl.remove((old, member))
        elif self.index is not None:
            self.index.add(member)
        self.scores[member] = score
        self.sl.add((score, member))

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.sl.remove((score, member))
        if self.index is not None:
            self.index.discard(member)
        return True

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return self.sl.index((score, member))

    # -- ranges: half-open index intervals [lo, hi) -------------------------------------
    def _after(self, score: float) -> int:
        """Index of the first element whose score is > score."""
        if score == INF:
            return len(self.sl)
        return self.sl.bisect_left((math.nextafter(score, INF),))

    def score_span(self, lo: float, lo_ex: bool, hi: float, hi_ex: bool) -> tuple[int, int]:
        start = self._after(lo) if lo_ex else self.sl.bisect_left((lo,))
        end = self.sl.bisect_left((hi,)) if hi_ex else self._after(hi)
        return start, max(start, end)

    def lex_span(self, lo, hi, reverse: bool = False) -> tuple[int, int]:
        """Bounds are (member, exclusive) tuples, or "-"/"+" strings for -inf/+inf. As in
        Redis, meaningful when all scores are equal; with mixed scores Redis walks the set
        in score order comparing members only, and so does `_lex_walk`."""
        sl = self.sl
        if not sl:
            return 0, 0
        base = sl[0][0]
        if sl[-1][0] != base:
            return self._lex_walk(lo, hi, reverse)
        if lo == "-":
            start = 0
        elif lo == "+":
            start = len(sl)
        else:
            start = sl.bisect_right((base, lo[0])) if lo[1] else sl.bisect_left((base, lo[0]))
        if hi == "+":
            end = len(sl)
        elif hi == "-":
            end = 0
        else:
            end = sl.bisect_left((base, hi[0])) if hi[1] else sl.bisect_right((base, hi[0]))
        return start, max(start, end)

    def _lex_walk(self, lo, hi, reverse: bool) -> tuple[int, int]:
        """Redis's lex range over members in score order: empty unless the last member is
        >= lo and the first <= hi; forward, from the first member >= lo while <= hi;
        reverse, from the last member <= hi back while >= lo."""
        if lo == "+" or hi == "-" or (lo != "-" and hi != "+" and (
                lo[0] > hi[0] or (lo[0] == hi[0] and (lo[1] or hi[1])))):
            return 0, 0

        def gte(m: bytes) -> bool:
            return lo == "-" or (m > lo[0] if lo[1] else m >= lo[0])

        def lte(m: bytes) -> bool:
            return hi == "+" or (m < hi[0] if hi[1] else m <= hi[0])

        members = [m for _, m in self.sl]
        n = len(members)
        if not gte(members[-1]) or not lte(members[0]):
            return 0, 0
        if reverse:
            end = next(i for i in range(n - 1, -1, -1) if lte(members[i])) + 1
            if not gte(members[end - 1]):
                return 0, 0
            start = end - 1
            while start > 0 and gte(members[start - 1]):
                start -= 1
            return start, end
        start = next(i for i in range(n) if gte(members[i]))
        end = start
        while end < n and lte(members[end]):
            end += 1
        return start, end

    def slice(self, start: int, end: int, reverse: bool = False) -> list:
        """(score, member) pairs of [start, end), in order or reversed."""
        return list(self.sl.islice(start, end, reverse=reverse))

    def delete_span(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        victims = list(self.sl.islice(start, end))
        del self.sl[start:end]
        scores = self.scores
        index = self.index
        for _, member in victims:
            del scores[member]
            if index is not None:
                index.discard(member)
        return len(victims)

    def pop(self, from_max: bool):
        score, member = self.sl.pop(-1 if from_max else 0)
        del self.scores[member]
        if self.index is not None:
            self.index.discard(member)
        return member, score
