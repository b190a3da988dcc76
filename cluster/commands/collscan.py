"""HSCAN / SSCAN (and any per-value SCAN): option parsing and a stable cursor.

Small encodings (listpack, intset) answer everything at once with cursor 0, as Redis does.
A big value is walked in the order of `hash(element)`: a cursor `c` means "every element
whose order key is below c was returned", so an element present for the whole iteration
is returned at least once whatever changes meanwhile (Redis's guarantee), and no state is
kept per client. The sorted order is cached on the value (`scan_cache`), which every
in-place change resets to None.
"""
from __future__ import annotations

from bisect import bisect_left

from cluster.commands.args import SYNTAX, parse_int
from cluster.base.glob import compile_glob
from cluster.resp.reply import ReplyError

_MASK = (1 << 63) - 1
EMPTY_SCAN = [b"0", []]


def order_key(element: bytes) -> int:
    """1 .. 2**63: never 0, so a next cursor of 0 always means "done"."""
    return (hash(element) & _MASK) + 1


def parse_options(argv: list[bytes], start: int = 3):
    """(count, match predicate or None) from `[MATCH pattern] [COUNT count]`."""
    count = 10
    match = None
    i, argc = start, len(argv)
    while i < argc:
        opt = argv[i].lower()
        if opt == b"count" and argc - i >= 2:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise ReplyError(SYNTAX)
        elif opt == b"match" and argc - i >= 2:
            pattern = argv[i + 1]
            match = None if pattern == b"*" else compile_glob(pattern)
        else:
            raise ReplyError(SYNTAX)
        i += 2
    return count, match


def _sorted(value) -> tuple[list[int], list[bytes]]:
    cache = value.scan_cache
    if cache is None:
        pairs = sorted((order_key(e), e) for e in value)
        cache = value.scan_cache = ([k for k, _ in pairs], [e for _, e in pairs])
    return cache


def scan_big(value, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """(next cursor, elements) of a big value from `cursor` on: at least `count`
    elements (all those sharing the last order key), next cursor 0 at the end."""
    keys, elements = _sorted(value)
    n = len(keys)
    start = bisect_left(keys, cursor) if cursor else 0
    end = min(start + count, n)
    while 0 < end < n and keys[end] == keys[end - 1]:
        end += 1
    return (keys[end] if end < n else 0), elements[start:end]
