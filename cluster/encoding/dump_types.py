"""RDB object encodings of hashes and sets (Redis 7.0, RDB 10), registered in
`cluster.encoding.dump`'s SAVERS / LOADERS, so DUMP / RESTORE and the RDB snapshot handle them.

Written as Redis 7.0 writes them:
  * hash: listpack (type 16: field, value, field, value ...) while it is listpack-encoded,
    else a plain hash (type 4: length, then field and value strings);
  * set: intset (type 11: 32-bit encoding width 2/4/8, 32-bit count, sorted
    little-endian integers) while it is intset-encoded, else a plain set (type 2).
The intset width is the smallest that holds every member (Redis never narrows an intset
after removals, so a Redis DUMP can be wider; both read fine).

Read: those plus ziplist hashes (type 13, pre-7.0). Every container is checked deeply
(counts, sizes, order, duplicates); anything off is `Bad data format`. On load the
encoding follows Redis's rules with the default thresholds (512 entries, 64 bytes).
"""
from __future__ import annotations

from cluster.base.numbers import string2ll
from cluster.encoding.dump import (LOADERS, SAVERS, Corrupt, Reader, encode_len, encode_string,
                                   listpack, listpack_entry, parse_listpack, parse_ziplist)
from cluster.keyspace.hash import Hash
from cluster.keyspace.set import Set, members_in_order

TYPE_SET = 2
TYPE_HASH = 4
TYPE_SET_INTSET = 11
TYPE_HASH_ZIPLIST = 13
TYPE_HASH_LISTPACK = 16

HASH_MAX_ENTRIES = 512
HASH_MAX_VALUE = 64
SET_MAX_INTSET = 512


# -- hashes ---------------------------------------------------------------------------
def save_hash(value: Hash, fill: int = -2) -> bytes:
    if not value.big:
        entries = []
        for field, val in value.items():
            entries.append(listpack_entry(field))
            entries.append(listpack_entry(val))
        return bytes((TYPE_HASH_LISTPACK,)) + encode_string(listpack(entries))
    parts = [bytes((TYPE_HASH,)), encode_len(len(value))]
    for field, val in value.items():
        parts.append(encode_string(field))
        parts.append(encode_string(val))
    return b"".join(parts)


def _hash_from(items: list[bytes]) -> Hash:
    if not items or len(items) % 2:
        raise Corrupt("bad hash entry count")
    h = Hash()
    it = iter(items)
    for field, val in zip(it, it):
        if field in h:
            raise Corrupt("duplicate hash field")
        h[field] = val
    h.big = len(h) > HASH_MAX_ENTRIES or any(len(x) > HASH_MAX_VALUE for x in items)
    return h


def load_hash(r: Reader, rdbtype: int) -> Hash:
    if rdbtype == TYPE_HASH:
        n = r.plain_length()
        if n == 0:
            raise Corrupt("empty key")
        items = []
        for _ in range(n):
            items.append(r.string())
            items.append(r.string())
        return _hash_from(items)
    if rdbtype == TYPE_HASH_ZIPLIST:
        return _hash_from(parse_ziplist(r.string()))
    return _hash_from(parse_listpack(r.string()))


# -- sets -----------------------------------------------------------------------------
def intset_blob(values: list[int]) -> bytes:
    width = 2
    for v in values:
        if not -32768 <= v <= 32767:
            width = 4 if -(2**31) <= v < 2**31 else 8
            if width == 8:
                break
    body = b"".join(v.to_bytes(width, "little", signed=True) for v in values)
    return width.to_bytes(4, "little") + len(values).to_bytes(4, "little") + body


def save_set(value: Set, fill: int = -2) -> bytes:
    if not value.big:
        values = [int(m) for m in members_in_order(value)]
        return bytes((TYPE_SET_INTSET,)) + encode_string(intset_blob(values))
    return bytes((TYPE_SET,)) + encode_len(len(value)) + b"".join(
        encode_string(m) for m in value)


def parse_intset(blob: bytes) -> list[int]:
    if len(blob) < 8:
        raise Corrupt("short intset")
    width = int.from_bytes(blob[:4], "little")
    count = int.from_bytes(blob[4:8], "little")
    if width not in (2, 4, 8) or len(blob) != 8 + width * count or count == 0:
        raise Corrupt("bad intset header")
    values = [int.from_bytes(blob[i:i + width], "little", signed=True)
              for i in range(8, len(blob), width)]
    for a, b in zip(values, values[1:]):
        if a >= b:
            raise Corrupt("intset not sorted")
    return values


def load_set(r: Reader, rdbtype: int) -> Set:
    s = Set()
    if rdbtype == TYPE_SET_INTSET:
        s.update(b"%d" % v for v in parse_intset(r.string()))
        s.big = len(s) > SET_MAX_INTSET
        return s
    n = r.plain_length()
    if n == 0:
        raise Corrupt("empty key")
    for _ in range(n):
        member = r.string()
        if member in s:
            raise Corrupt("duplicate set member")
        s.add(member)
    s.big = len(s) > SET_MAX_INTSET or any(
        len(m) > 20 or string2ll(m) is None for m in s)
    return s


SAVERS[Hash] = save_hash
SAVERS[Set] = save_set
LOADERS[TYPE_HASH] = load_hash
LOADERS[TYPE_HASH_ZIPLIST] = load_hash
LOADERS[TYPE_HASH_LISTPACK] = load_hash
LOADERS[TYPE_SET] = load_set
LOADERS[TYPE_SET_INTSET] = load_set
