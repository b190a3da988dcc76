"""Sorted sets in DUMP payloads and RDB files, as Redis 7.0 writes them.

Written: a "listpack" set as type 17 (one listpack of member, score, member, score... with
scores spelled as Redis's d2string), a "skiplist" set as type 5 (ZSET_2: count, then each
member and its binary little-endian double, highest score first, as Redis walks its
skiplist from the tail). Read: those two plus the older 3 (ZSET, scores as strings) and
12 (ziplist). A payload with a duplicate member, an odd listpack, a NaN or unreadable
score, or no elements is refused (`Bad data format`).

After loading, the encoding is chosen as Redis does with the default thresholds
(zset-max-listpack-entries 128, zset-max-listpack-value 64): the loader has no access to
the node's configuration.
"""
from __future__ import annotations

import math
import struct

from cluster.encoding.dump import (LOADERS, SAVERS, Corrupt, encode_len, encode_string, listpack,
                          listpack_entry, parse_listpack, parse_ziplist)
from cluster.keyspace.zset import ZSet, d2string, fits_listpack

TYPE_ZSET = 3
TYPE_ZSET_2 = 5
TYPE_ZSET_ZIPLIST = 12
TYPE_ZSET_LISTPACK = 17
DEFAULTS = {"zset-max-listpack-entries": 128, "zset-max-listpack-value": 64}
_DOUBLE = struct.Struct("<d")


def save_zset(value: ZSet, fill: int = -2) -> bytes:
    if value.listpack:
        entries = []
        for score, member in value.sl:
            entries.append(listpack_entry(member))
            entries.append(listpack_entry(d2string(score)))
        return bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(entries))
    parts = [bytes((TYPE_ZSET_2,)), encode_len(len(value))]
    for score, member in reversed(value.sl):
        parts.append(encode_string(member))
        parts.append(_DOUBLE.pack(score))
    return b"".join(parts)


def _score(raw: bytes) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Corrupt("bad zset score") from None
    if math.isnan(value):
        raise Corrupt("NaN zset score")
    return value


def _old_double(r) -> float:
    """rdbLoadDoubleValue: a length byte (253 nan, 254 +inf, 255 -inf) and ASCII."""
    n = r.byte()
    if n == 253:
        raise Corrupt("NaN zset score")
    if n == 254:
        return math.inf
    if n == 255:
        return -math.inf
    return _score(r.read(n))


def _build(pairs, listpack_type: bool) -> ZSet:
    if not pairs:
        raise Corrupt("empty zset")
    longest = max(len(m) for m, _ in pairs)
    if listpack_type:
        small = len(pairs) <= DEFAULTS["zset-max-listpack-entries"]
    else:
        small = fits_listpack(len(pairs), longest, DEFAULTS)
    zs = ZSet(listpack=small)
    for member, score in pairs:
        if member in zs.scores:
            raise Corrupt("duplicate zset member")
        zs.add(member, score)
    return zs


def load_zset(r, rdbtype: int) -> ZSet:
    if rdbtype in (TYPE_ZSET, TYPE_ZSET_2):
        pairs = []
        for _ in range(r.plain_length()):
            member = r.string()
            if rdbtype == TYPE_ZSET_2:
                score = _DOUBLE.unpack(r.read(8))[0]
                if math.isnan(score):
                    raise Corrupt("NaN zset score")
            else:
                score = _old_double(r)
            pairs.append((member, score))
        return _build(pairs, False)
    blob = r.string()
    items = parse_listpack(blob) if rdbtype == TYPE_ZSET_LISTPACK else parse_ziplist(blob)
    if len(items) % 2:
        raise Corrupt("odd zset listpack")
    return _build([(items[i], _score(items[i + 1])) for i in range(0, len(items), 2)],
                  True)


SAVERS[ZSet] = save_zset
for _type in (TYPE_ZSET, TYPE_ZSET_2, TYPE_ZSET_ZIPLIST, TYPE_ZSET_LISTPACK):
    LOADERS[_type] = load_zset
