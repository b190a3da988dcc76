"""What a key costs: the memory estimate behind used_memory, maxmemory and MEMORY USAGE.

Rules (the contract with cluster.keyspace.databases, which keeps the running total):
- The estimate models CPython's real costs, measured on 64-bit CPython 3.11 with pymalloc
  (a bytes object is 33 bytes plus its length, in 8-byte steps; a dict slot with its index
  and spare room about 26 bytes), so that `maxmemory 64mb` bounds the process's dataset
  to about 64 MB of real memory. The constants below were calibrated against the
  process's RSS growth with 500,000 keys of each kind.
- It costs O(1) per change: a string is priced from its length; a collection from its
  length and the average size of a few sampled elements (as MEMORY USAGE samples), so a
  write to a big hash does not walk the hash.
- Per-key bookkeeping that every key pays (the data and LRU dict slots, an expiry, the
  cluster's slot index) is counted from the dicts' lengths when used_memory is read,
  not per key: `overhead(db)`.
"""
from __future__ import annotations

from collections import deque
from itertools import islice

from cluster.keyspace.stream import Stream
from cluster.keyspace.zset import ZSet

KEY_SLOTS = 52          # a key's slots in Database.data and Database.lru
EXPIRE_SLOT = 60        # an entry in Database.expires, with its int
SLOT_INDEX = 90         # a key in the cluster's per-slot key set
SAMPLES = 5             # elements sampled for a collection's average element size

# Per-element overheads beyond the elements' own objects.
_HASH_FIELD = 55        # dict slot of a field
_SET_MEMBER = 41        # set slot
_LIST_ITEM = 8          # deque pointer
_ZSET_MEMBER = 140      # dict slot + float + (score, member) tuple + sorted list pointer
_STREAM_ENTRY = 90      # an entry's id and tuple inside a stream node
_CONTAINER = 200        # the container object itself



def obj(length: int) -> int:
    """A bytes object of `length` bytes, as pymalloc rounds it."""
    return (length + 40) & ~7


def _sampled(elements, samples: int) -> int:
    """Average cost of up to `samples` of `elements` (bytes, or (field, value) pairs)."""
    total = count = 0
    for elem in islice(elements, samples):
        if elem.__class__ is tuple:
            total += sum(obj(len(e)) if e.__class__ is bytes else 32 for e in elem)
        else:
            total += obj(len(elem)) if elem.__class__ is bytes else 32
        count += 1
    return total // count if count else 0


def value_cost(value, samples: int = SAMPLES) -> int:
    """Estimated bytes of a value, from its length and `samples` sampled elements."""
    cls = value.__class__
    if cls is bytes:
        return obj(len(value))
    try:
        n = len(value)
    except TypeError:                  # a value without a length (tests' own types)
        return _CONTAINER
    if cls is deque:
        if not n:
            return _CONTAINER
        probe = (value[0], value[-1]) if n > 1 else (value[0],)
        avg = sum(obj(len(e)) for e in probe) // len(probe)
        return _CONTAINER + n * (_LIST_ITEM + avg)
    fn = COSTS.get(cls)
    if fn is not None:
        return fn(value, samples)
    if isinstance(value, dict):
        return _CONTAINER + n * (_HASH_FIELD + _sampled(value.items(), samples))
    if isinstance(value, (set, frozenset)):
        return _CONTAINER + n * (_SET_MEMBER + _sampled(value, samples))
    return _CONTAINER + n * 64


def zset_cost(zset, samples: int) -> int:
    n = len(zset)
    return _CONTAINER + n * (_ZSET_MEMBER + _sampled(zset.scores, samples))


def stream_cost(stream, samples: int) -> int:
    """Entries are priced from sampled ones (their id, tuple and fields)."""
    n = len(stream)
    avg = 0
    if n:
        taken = list(islice(stream.entries.values(), max(1, min(samples, 2))))
        avg = sum(sum(obj(len(e)) for e in t) + 56 + 8 * len(t) for t in taken) // len(taken)
    groups = stream.groups
    pel = sum(len(g.pel) for g in groups.values()) if groups else 0
    return _CONTAINER + n * (_STREAM_ENTRY + avg) + pel * 120


COSTS = {ZSet: zset_cost, Stream: stream_cost}


def key_cost(key: bytes, value) -> int:
    """The key's own object plus its value (the per-key slots: see `overhead`)."""
    if value.__class__ is bytes:
        return ((len(key) + 40) & ~7) + ((len(value) + 40) & ~7)
    return ((len(key) + 40) & ~7) + value_cost(value)


def usage(key: bytes, value, samples: int) -> int:
    """MEMORY USAGE: the key, its value and its slot in the keyspace."""
    return obj(len(key)) + value_cost(value, samples) + KEY_SLOTS


def overhead(db) -> int:
    """The bookkeeping of `db`'s keys: dict slots, expiries, the cluster's slot index."""
    n = len(db.data)
    cost = n * KEY_SLOTS + len(db.expires) * EXPIRE_SLOT
    if db.slot_keys is not None:
        cost += n * SLOT_INDEX
    return cost
