"""Point-in-time views of the keyspace, taken while the node keeps serving.

`take(keyspace)` costs one shallow copy per non-empty database (`data.copy()`,
`expires.copy()`: C-speed dict copies). `bytes` values are immutable, so sharing them is
safe; the mutable ones (lists today: `collections.deque`) are copied on write: while a
view is active, `Database.lookup_write` - the only accessor handlers use before changing a
value in place, and the one RENAME/MOVE use before moving a value - calls
`copy_on_write`, which replaces the live value with a copy (`COPIERS`) when it is still
the very object a view holds for that key. A view finds "its" frozen dict through the
live dict it was copied from (by `id`, holding a reference so the id stays unique):
SWAPDB swaps `data` dicts between databases and FLUSHDB replaces them, and both are
handled by that. Nothing is copied when no view is active.

A view is released (`release`, or leaving its `with` block) when its consumer is done or
fails; until then it pins the old values in memory, as Redis's fork does.
"""
from __future__ import annotations

import copy
from collections import deque
from typing import Callable, Iterator

# Python class of a mutable value -> a function returning an independent copy of it.
# Data-type modules may add theirs next to their TYPE_NAMES entry; a class without one
# is copied by its own `copy()` method when that returns the same class (Set, Hash, ZSet
# have one), else by `copy.deepcopy` (slow but never shares state with the view).
COPIERS: dict[type, Callable] = {deque: lambda value: deque(value, value.maxlen)}


def _fallback_copy(value):
    method = getattr(value, "copy", None)
    if method is not None:
        other = method()
        if other.__class__ is value.__class__ and other is not value:
            return other
    return copy.deepcopy(value)


class View:
    """The databases of a keyspace as they were at `take` time."""

    __slots__ = ("ks", "triples", "frozen", "now_ms", "released", "copies", "functions")

    def __init__(self, keyspace):
        self.ks = keyspace
        self.now_ms = keyspace.now_ms
        self.functions = keyspace.functions    # the library codes (an immutable tuple)
        self.released = False
        self.copies = 0                    # copy-on-write count (tests, logs)
        # (db id, frozen data, frozen expires) for every non-empty db
        self.triples: list[tuple[int, dict, dict]] = []
        # id(live data dict) -> (live data dict, frozen data dict)
        self.frozen: dict[int, tuple[dict, dict]] = {}
        for db in keyspace.dbs:
            if not db.data:
                continue
            data = db.data.copy()
            self.triples.append((db.id, data, db.expires.copy()))
            self.frozen[id(db.data)] = (db.data, data)
        keyspace.views.append(self)

    def __iter__(self) -> Iterator[tuple[int, dict, dict]]:
        return iter(self.triples)

    def keys(self) -> int:
        return sum(len(data) for _, data, _ in self.triples)

    def release(self) -> None:
        """Stop copying on write for this view and drop its references (idempotent)."""
        if self.released:
            return
        self.released = True
        views = self.ks.views
        if self in views:
            views.remove(self)
        self.triples = []
        self.frozen = {}

    def __enter__(self) -> "View":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def take(keyspace) -> View:
    return View(keyspace)


def copy_on_write(db, key: bytes, value):
    """`value` (live, at `key` of `db`) made safe to change in place: a copy stored in its
    place when some active view holds this very object for this key."""
    if value.__class__ is bytes:
        return value                       # immutable
    live = db.data
    for view in db.ks.views:
        pair = view.frozen.get(id(live))
        if pair is not None and pair[0] is live and pair[1].get(key) is value:
            value = COPIERS.get(value.__class__, _fallback_copy)(value)
            live[key] = value              # same key, same slot, same TTL: no bookkeeping
            view.copies += 1
            break
    return value
