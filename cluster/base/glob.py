"""Redis's glob matching (`stringmatchlen`), byte for byte, as KEYS/SCAN MATCH/PSUBSCRIBE use it.

Semantics kept exactly, including the odd corners of Redis 7.0.15's matcher:

* `*` any run of bytes, `?` any one byte, `\\x` the literal x (a trailing `\\` is literal);
* `[abc]`, `[^abc]`, ranges `[a-z]` (reversed ranges are swapped; range ends and the tested
  byte compare as *signed* chars, so bytes >= 0x80 sort below 0); `\\x` inside a class is a
  literal x compared case-sensitively even with nocase; an unterminated class runs to the
  end of the pattern (`[^` alone matches any byte); `[a-]` is the range a..`]`;
* an empty string is matched only by the empty pattern (Redis never lets `*` match an
  empty *whole* string: `stringmatch("*", "")` is 0);
* nocase lowers only A-Z (C locale `tolower`);
* a pattern needing more than 1000 nested `*` levels does not match (Redis's protection
  against abusive patterns).

Redis's `skipLongerMatches` rule (once a `*` has tried every position, fail at once) makes
its recursion equivalent to the classic iterative matcher that only ever backtracks to the
last `*`; `match_slow` is that matcher, O(len(pattern) * len(string)). `compile_glob`
turns a pattern with at most one non-trailing `*` into an anchored `re` for speed (classes
become explicit byte sets computed by the same bracket parser, so no corner can differ)
and falls back to `match_slow` otherwise, so no pattern can backtrack exponentially.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

MAX_NESTING = 1000
_STAR, _QMARK, _LBRACKET, _RBRACKET, _BSLASH, _CARET, _DASH = b"*?[]\\^-"


def _at(pattern: bytes, i: int) -> int:
    """pattern[i], or 0 past the end (C reads the sds NUL terminator there)."""
    return pattern[i] if i < len(pattern) else 0


def _lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def parse_class(pattern: bytes, i: int, nocase: bool) -> tuple[Callable[[int], bool], int]:
    """Parse the class whose body starts at pattern[i] (just after `[`).

    Returns (test(byte) -> bool, index of the class's last pattern byte). How Redis walks a
    class depends only on the pattern, never on the byte tested, so the parse is done once.
    """
    n = len(pattern)
    negate = _at(pattern, i) == _CARET
    if negate:
        i += 1
    items: list[tuple] = []       # ("eq", c) | ("eqcase", c) | ("range", lo, hi)
    while True:
        left = n - i
        c = _at(pattern, i)
        if c == _BSLASH and left >= 2:
            i += 1
            items.append(("eq", pattern[i]))
        elif c == _RBRACKET:
            break
        elif left <= 0:
            i -= 1
            break
        elif left >= 3 and pattern[i + 1] == _DASH:
            start, end = _signed(pattern[i]), _signed(pattern[i + 2])
            if start > end:
                start, end = end, start
            if nocase:
                start, end = _lower(start), _lower(end)
            items.append(("range", start, end))
            i += 2
        elif nocase:
            items.append(("eqcase", _lower(c)))
        else:
            items.append(("eq", c))
        i += 1

    def test(byte: int) -> bool:
        matched = False
        for item in items:
            kind = item[0]
            if kind == "eq":
                matched = matched or item[1] == byte
            elif kind == "eqcase":
                matched = matched or item[1] == _lower(byte)
            else:
                b = _signed(byte)
                if nocase:
                    b = _lower(b)
                matched = matched or item[1] <= b <= item[2]
        return matched != negate

    return test, i


def match_slow(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Redis's stringmatchlen, iteratively (only the last `*` ever backtracks)."""
    plen, slen = len(pattern), len(string)
    p = s = 0
    nesting = 0
    star_p = star_s = -1      # where to resume after the last `*`
    star_nesting = 0
    while True:
        ok = True
        while p < plen and s < slen:
            c = pattern[p]
            if c == _STAR:
                while p + 1 < plen and pattern[p + 1] == _STAR:
                    p += 1
                if p == plen - 1:
                    return True
                nesting += 1
                if nesting > MAX_NESTING:
                    return False
                p += 1
                star_p, star_s, star_nesting = p, s, nesting
                continue
            if c == _QMARK:
                pass
            elif c == _LBRACKET:
                test, p = parse_class(pattern, p + 1, nocase)
                if not test(string[s]):
                    ok = False
                    break
            else:
                if c == _BSLASH and plen - p >= 2:
                    p += 1
                    c = pattern[p]
                if nocase:
                    if _lower(c) != _lower(string[s]):
                        ok = False
                        break
                elif c != string[s]:
                    ok = False
                    break
            p += 1
            s += 1
            if s == slen:
                while p < plen and pattern[p] == _STAR:
                    p += 1
                break
        if ok and p == plen and s == slen:
            return True
        if star_p < 0:
            return False
        star_s += 1
        if star_s >= slen:
            return False
        p, s, nesting = star_p, star_s, star_nesting


def _regex_source(pattern: bytes, nocase: bool) -> bytes | None:
    """An anchored regex equivalent to the pattern, or None when unsafe/unsupported."""
    out = []
    stars = 0
    plen = len(pattern)
    p = 0
    while p < plen:
        c = pattern[p]
        if c == _STAR:
            while p + 1 < plen and pattern[p + 1] == _STAR:
                p += 1
            if p != plen - 1:
                stars += 1
                if stars > 1:
                    return None
            out.append(b".*")
        elif c == _QMARK:
            out.append(b".")
        elif c == _LBRACKET:
            test, p = parse_class(pattern, p + 1, nocase)
            members = bytes(b for b in range(256) if test(b))
            if not members:
                return None
            out.append(b"[" + b"".join(b"\\x%02x" % b for b in members) + b"]")
        else:
            if c == _BSLASH and plen - p >= 2:
                p += 1
                c = pattern[p]
            if nocase and (65 <= c <= 90 or 97 <= c <= 122):
                low = _lower(c)
                out.append(b"[\\x%02x\\x%02x]" % (low, low - 32))
            else:
                out.append(b"\\x%02x" % c)
        p += 1
    return b"".join(out)


def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A fast predicate `matches(string) -> bool` for the pattern (small ones cached)."""
    if len(pattern) <= 256:
        return _compile_cached(pattern, nocase)
    return _compile(pattern, nocase)


def _compile(pattern: bytes, nocase: bool) -> Callable[[bytes], bool]:
    if pattern == b"*":
        return lambda string: len(string) > 0
    source = _regex_source(pattern, nocase)
    if source is None:
        return lambda string: match_slow(pattern, string, nocase)
    fullmatch = re.compile(source, re.DOTALL).fullmatch
    if not pattern:
        return lambda string: not string

    def matches(string: bytes) -> bool:
        return bool(string) and fullmatch(string) is not None
    return matches


_compile_cached = lru_cache(maxsize=512)(_compile)


def stringmatch(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Does `string` match the Redis glob `pattern`?"""
    return compile_glob(pattern, nocase)(string)
