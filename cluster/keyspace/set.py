"""The set value: a Python set of bytes members.

Redis 7.0 keeps a set as an intset while every member is a canonical 64-bit integer and
there are at most set-max-intset-entries of them, and converts it to a hashtable for good
otherwise; `big` records that conversion (OBJECT ENCODING, DUMP, SSCAN's cursor). An
intset answers in ascending numeric order, as Redis's.
"""
from __future__ import annotations

from cluster.base.numbers import string2ll


class Set(set):
    """A Redis set of bytes members."""

    __slots__ = ("big", "scan_cache")

    def __init__(self, *args):
        set.__init__(self, *args)
        self.big = False
        self.scan_cache = None

    def copy(self) -> "Set":
        twin = Set(self)
        twin.big = self.big
        return twin


def convert_check(s: Set, members, max_intset: int) -> None:
    """Redis's intset -> hashtable conversion after adding `members` (already added)."""
    if s.big:
        return
    if len(s) > max_intset:
        s.big = True
        return
    for m in members:
        if len(m) > 20 or string2ll(m) is None:
            s.big = True
            return


def new_set(first: bytes) -> Set:
    """setTypeCreate: an intset for an integer, a hashtable otherwise."""
    s = Set()
    if len(first) > 20 or string2ll(first) is None:
        s.big = True
    return s


def members_in_order(s: Set):
    """Members as Redis lists them: an intset in ascending order."""
    if s.big:
        return list(s)
    return sorted(s, key=int)
