"""Glob matching: the fast path, the slow matcher and a recursive reference model agree."""
from __future__ import annotations

import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.base.glob import compile_glob, match_slow, stringmatch


def _signed(c: int) -> int:
    return c - 256 if c >= 128 else c


def _low(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def reference(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """A model of Redis 7.0's recursive matcher, written the way the C reads: positions
    plus remaining lengths, a NUL read past the pattern's end, a shared "skip longer
    matches" flag and the 1000-level nesting guard."""
    skip = [False]

    def at(i: int) -> int:
        return pattern[i] if i < len(pattern) else 0

    def eq(a: int, b: int) -> bool:
        return _low(a) == _low(b) if nocase else a == b

    def rec(p: int, plen: int, s: int, slen: int, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while plen and slen:
            c = at(p)
            if c == 42:                                 # *
                while plen and at(p + 1) == 42:
                    p, plen = p + 1, plen - 1
                if plen == 1:
                    return True
                while slen:
                    if rec(p + 1, plen - 1, s, slen, nesting + 1):
                        return True
                    if skip[0]:
                        return False
                    s, slen = s + 1, slen - 1
                skip[0] = True
                return False
            if c == 63:                                 # ?
                pass
            elif c == 91:                               # [
                p, plen = p + 1, plen - 1
                negate = at(p) == 94
                if negate:
                    p, plen = p + 1, plen - 1
                found = False
                while True:
                    if at(p) == 92 and plen >= 2:
                        p, plen = p + 1, plen - 1
                        found |= at(p) == string[s]
                    elif at(p) == 93:
                        break
                    elif plen == 0:
                        p, plen = p - 1, plen + 1
                        break
                    elif plen >= 3 and at(p + 1) == 45:
                        lo, hi, ch = _signed(at(p)), _signed(at(p + 2)), _signed(string[s])
                        lo, hi = min(lo, hi), max(lo, hi)
                        if nocase:
                            lo, hi, ch = _low(lo), _low(hi), _low(ch)
                        p, plen = p + 2, plen - 2
                        found |= lo <= ch <= hi
                    else:
                        found |= eq(at(p), string[s])
                    p, plen = p + 1, plen - 1
                if found == negate:
                    return False
            else:
                if c == 92 and plen >= 2:
                    p, plen = p + 1, plen - 1
                if not eq(at(p), string[s]):
                    return False
            s, slen = s + 1, slen - 1
            p, plen = p + 1, plen - 1
            if slen == 0:
                while at(p) == 42:
                    p, plen = p + 1, plen - 1
                break
        return plen == 0 and slen == 0

    return rec(0, len(pattern), 0, len(string), 0)


PATTERN_BYTES = st.sampled_from([b"a", b"b", b"A", b"z", b"*", b"?", b"[", b"]", b"^", b"-",
                                 b"\\", b"\x00", b"\x80", b"\xff", b"*", b"["])
STRING_BYTES = st.sampled_from([b"a", b"b", b"A", b"B", b"z", b"*", b"[", b"]", b"-", b"^",
                                b"\\", b"\x00", b"\x80", b"\xff", b"{"])
patterns = st.lists(PATTERN_BYTES, max_size=10).map(b"".join)
strings = st.lists(STRING_BYTES, max_size=10).map(b"".join)


@settings(max_examples=3000, deadline=None)
@given(patterns, strings, st.booleans())
def test_matchers_agree_with_reference(pattern, string, nocase):
    expected = reference(pattern, string, nocase)
    assert match_slow(pattern, string, nocase) == expected
    assert stringmatch(pattern, string, nocase) == expected


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=6), st.binary(max_size=8), st.booleans())
def test_any_bytes_agree_with_reference(pattern, string, nocase):
    expected = reference(pattern, string, nocase)
    assert match_slow(pattern, string, nocase) == expected
    assert stringmatch(pattern, string, nocase) == expected


def test_documented_examples():
    assert stringmatch(b"h?llo", b"hello") and stringmatch(b"h?llo", b"hallo")
    assert not stringmatch(b"h?llo", b"hllo")
    assert stringmatch(b"h*llo", b"hllo") and stringmatch(b"h*llo", b"heeeello")
    assert stringmatch(b"h[ae]llo", b"hallo") and not stringmatch(b"h[ae]llo", b"hillo")
    assert stringmatch(b"h[^e]llo", b"hallo") and not stringmatch(b"h[^e]llo", b"hello")
    assert stringmatch(b"h[a-b]llo", b"hbllo") and not stringmatch(b"h[a-b]llo", b"hcllo")
    assert stringmatch(b"h\\*llo", b"h*llo") and not stringmatch(b"h\\*llo", b"hxllo")


def test_redis_corner_cases():
    assert not stringmatch(b"*", b"")          # `*` never matches an empty whole string
    assert stringmatch(b"", b"") and not stringmatch(b"", b"a")
    assert stringmatch(b"[^", b"x")            # unterminated negated empty class
    assert stringmatch(b"[abc", b"c")          # unterminated class runs to the end
    assert stringmatch(b"[z-a]", b"q")         # reversed range is swapped
    assert not stringmatch(b"[a-\xff]", b"b")  # 0xff is -1 as a signed char: range -1..'a'
    assert stringmatch(b"[a-\xff]", b"\x00")
    assert stringmatch(b"\\", b"\\")           # trailing backslash is literal
    assert stringmatch(b"HeLLo", b"hello", nocase=True)
    assert not stringmatch(b"[\\H]", b"h", nocase=True)  # escaped class member: exact case
    assert stringmatch(b"[H]", b"h", nocase=True)


def test_nesting_guard():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)
    try:
        for stars in (999, 1000, 1001):
            pattern = b"a*" * stars + b"b"
            string = b"a" * stars + b"b"
            expected = reference(pattern, string)
            assert match_slow(pattern, string) == expected
            assert stringmatch(pattern, string) == expected
        assert match_slow(b"a*" * 999 + b"b", b"a" * 999 + b"b")
        assert not match_slow(b"a*" * 1001 + b"b", b"a" * 1001 + b"b")
    finally:
        sys.setrecursionlimit(old)


def test_no_exponential_backtracking():
    pattern = b"*a" * 30 + b"b"
    assert not stringmatch(pattern, b"a" * 2000)
    assert stringmatch(b"*a*", b"x" * 100000 + b"a")


def test_compiled_predicate_is_cached():
    assert compile_glob(b"user:*") is compile_glob(b"user:*")
    assert compile_glob(b"user:*")(b"user:1") and not compile_glob(b"user:*")(b"usr:1")
