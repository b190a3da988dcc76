"""Sorted set commands: ZADD/ZINCRBY, single-member reads, ZREM, pops, ZRANDMEMBER, ZSCAN.

Ranges live in zset_ranges.py, unions/intersections/differences in zset_algebra.py. The
value is a `cluster.keyspace.zset.ZSet`; a set that becomes empty is deleted, as in Redis.
"""
from __future__ import annotations

import cluster.encoding.dump_zset  # noqa: F401  (registers the zset DUMP/RDB encodings)
from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.collscan import parse_options
from cluster.commands.keys import parse_cursor
from cluster.commands.objects import ENCODINGS
from cluster.commands.zset_args import NAN_SCORE, parse_score
from cluster.keyspace.databases import TYPE_NAMES, WRONGTYPE
from cluster.keyspace.notify import GENERIC, ZSET, elements_removed, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, ReplyError, format_double
from cluster.keyspace.scanindex import ScanIndex
from cluster.keyspace.snapshot import COPIERS
from cluster.execution.table import command
from cluster.keyspace.zset import ZSet, d2string, fits_listpack

TYPE_NAMES[ZSet] = "zset"
COPIERS[ZSet] = ZSet.copy
ENCODINGS[ZSet] = lambda value: b"listpack" if value.listpack else b"skiplist"

NOT_POSITIVE = "ERR value is out of range, must be positive"
ACL = "@sortedset"
G = "sorted-set"
LONG_MAX = 2**63 - 1


def zset_of(value) -> ZSet | None:
    if value is None or value.__class__ is ZSet:
        return value
    raise ReplyError(WRONGTYPE)


def pairs_reply(client, pairs, nested: bool | None = None) -> list:
    """(score, member) pairs as WITHSCORES replies: flat in RESP2, [member, score] pairs
    in RESP3 (or always, when nested=True)."""
    if nested or (nested is None and client.resp == 3):
        return [[m, s] for s, m in pairs]
    out = []
    for s, m in pairs:
        out.append(m)
        out.append(s)
    return out


def new_zset(config, count: int, longest: int) -> ZSet:
    """zsetTypeCreate: small encoding when the expected size fits."""
    return ZSet(listpack=fits_listpack(count, longest, config))


def store_result(client, dst: bytes, pairs, event: bytes) -> int:
    """Replace `dst` with a sorted set of (score, member) pairs (delete it when empty);
    `event` is the keyspace event of a non-empty result."""
    db = client.db
    if not pairs:
        if db.delete(dst):
            notify(client, GENERIC, b"del", dst)
        return 0
    longest = max(len(m) for _, m in pairs)
    zs = new_zset(client.node.config, len(pairs), longest)
    for score, member in pairs:
        zs.add(member, score)
    db.store(dst, zs)
    notify(client, ZSET, event, dst)
    return len(zs)


# -- ZADD / ZINCRBY ----------------------------------------------------------------------
_ZADD_FLAGS = {b"nx", b"xx", b"ch", b"incr", b"gt", b"lt"}


def _zadd(client, argv, flags: set, scoreidx: int):
    elements = len(argv) - scoreidx
    if elements % 2 or not elements:
        raise ReplyError(SYNTAX)
    elements //= 2
    if flags:
        nx, xx, gt, lt, incr = (f in flags for f in (b"nx", b"xx", b"gt", b"lt", b"incr"))
    else:
        nx = xx = gt = lt = incr = False
    if nx and xx:
        raise ReplyError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise ReplyError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise ReplyError("ERR INCR option supports a single increment-element pair")
    scores = [parse_score(raw) for raw in argv[scoreidx::2]]
    db = client.db
    key = argv[1]
    zs = zset_of(db.lookup_write(key))
    created = False
    added = updated = processed = 0
    result = None
    if zs is None:
        if xx:
            return None if incr else 0
        config = client.node.config
        zs = new_zset(config, 1, len(argv[scoreidx + 1]))
        created = True
    config = client.node.config
    scores_of = zs.scores
    try:
        for j in range(elements):
            score = scores[j]
            member = argv[scoreidx + 2 * j + 1]
            cur = scores_of.get(member)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score = cur + score
                    if score != score:
                        raise ReplyError(NAN_SCORE)
                if (gt and score <= cur) or (lt and score >= cur):
                    continue
                processed += 1
                result = score
                if score != cur:
                    zs.add(member, score)
                    result = zs.scores[member]
                    updated += 1
            else:
                if xx:
                    continue
                zs.add(member, score)
                zs.check_encoding(member, config)
                result = zs.scores[member]
                processed += 1
                added += 1
    finally:
        if created:
            if len(zs):
                db.store(key, zs)
        elif added or updated:
            db.modified(key)
    if added or updated:
        notify(client, ZSET, b"zincr" if incr else b"zadd", key)
    if incr:
        return result if processed else None
    return added + updated if b"ch" in flags else added


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW UPDATE", since="1.2.0",
         summary="Add one or more members to a sorted set, or update its score if it "
                 "already exists",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.")
def zadd(client, argv):
    flags = set()
    i = 2
    while i < len(argv):
        word = argv[i].lower()
        if word not in _ZADD_FLAGS:
            break
        flags.add(word)
        i += 1
    return _zadd(client, argv, flags, i)


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW ACCESS UPDATE", since="1.2.0",
         summary="Increment the score of a member in a sorted set",
         complexity="O(log(N)) where N is the number of elements in the sorted set.")
def zincrby(client, argv):
    return _zadd(client, argv, {b"incr"}, 2)


# -- single-member reads ---------------------------------------------------------------
def _read(client, key) -> ZSet | None:
    return zset_of(client.db.lookup_read(key, not client.no_touch))


@command("zcard", 2, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G, key_flags="RO",
         since="1.2.0", summary="Get the number of members in a sorted set",
         complexity="O(1)")
def zcard(client, argv):
    zs = _read(client, argv[1])
    return 0 if zs is None else len(zs)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="1.2.0",
         summary="Get the score associated with the given member in a sorted set",
         complexity="O(1)")
def zscore(client, argv):
    zs = _read(client, argv[1])
    return None if zs is None else zs.scores.get(argv[2])


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="6.2.0",
         summary="Get the score associated with the given members in a sorted set",
         complexity="O(N) where N is the number of members being requested.")
def zmscore(client, argv):
    zs = _read(client, argv[1])
    if zs is None:
        return [None] * (len(argv) - 2)
    get = zs.scores.get
    return [get(m) for m in argv[2:]]


def _rank(client, argv, reverse: bool):
    zs = _read(client, argv[1])
    if zs is None:
        return None
    rank = zs.rank(argv[2])
    if rank is None:
        return None
    return len(zs) - 1 - rank if reverse else rank


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="2.0.0",
         summary="Determine the index of a member in a sorted set", complexity="O(log(N))")
def zrank(client, argv):
    return _rank(client, argv, False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="2.0.0",
         summary="Determine the index of a member in a sorted set, with scores ordered "
                 "from high to low", complexity="O(log(N))")
def zrevrank(client, argv):
    return _rank(client, argv, True)


# -- ZREM ----------------------------------------------------------------------------
@command("zrem", -3, "write fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW DELETE", since="1.2.0",
         summary="Remove one or more members from a sorted set",
         complexity="O(M*log(N)) with N being the number of elements in the sorted set and "
                    "M the number of elements to be removed.")
def zrem(client, argv):
    db = client.db
    key = argv[1]
    zs = zset_of(db.lookup_write(key))
    if zs is None:
        return 0
    deleted = 0
    for member in argv[2:]:
        if zs.remove(member):
            deleted += 1
            if not len(zs):
                break
    if deleted:
        elements_removed(client, ZSET, b"zrem", key, zs)
    return deleted


# -- pops ----------------------------------------------------------------------------
def pop_from(client, keys, from_max: bool, count: int | None, nested: bool):
    """genericZpopCommand: pop from the first non-empty sorted set among `keys`."""
    db = client.db
    zs = key = None
    for key in keys:
        zs = zset_of(db.lookup_write(key))
        if zs is not None:
            break
    if zs is None:
        return NULL_ARRAY if nested else []
    if count == 0:
        return []
    want = 1 if count is None else count
    popped = []
    for _ in range(min(want, len(zs))):
        member, score = zs.pop(from_max)
        popped.append((score, member))
    elements_removed(client, ZSET, b"zpopmax" if from_max else b"zpopmin", key, zs)
    if nested:
        return Rewritten([key, [[m, s] for s, m in popped]],
                         [[b"ZPOPMAX" if from_max else b"ZPOPMIN", key, b"%d" % len(popped)]])
    if count is None:
        return pairs_reply(client, popped, nested=False)
    return pairs_reply(client, popped)


def _zpop(client, argv, from_max: bool):
    if len(argv) > 3:
        raise ReplyError(SYNTAX)
    count = None
    if len(argv) == 3:
        count = string2ll(argv[2])
        if count is None or count < 0:
            raise ReplyError(NOT_POSITIVE)
    return pop_from(client, [argv[1]], from_max, count, False)


_POP_COMPLEXITY = ("O(log(N)*M) with N being the number of elements in the sorted set, and "
                   "M being the number of elements popped.")


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW ACCESS DELETE", since="5.0.0",
         summary="Remove and return members with the lowest scores in a sorted set",
         complexity=_POP_COMPLEXITY)
def zpopmin(client, argv):
    return _zpop(client, argv, False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW ACCESS DELETE", since="5.0.0",
         summary="Remove and return members with the highest scores in a sorted set",
         complexity=_POP_COMPLEXITY)
def zpopmax(client, argv):
    return _zpop(client, argv, True)


def numkeys_keys(at: int, with_dest: bool):
    """getkeys for `[dest] numkeys key...` commands (numkeys at argv[at])."""
    def getkeys(argv: list[bytes]) -> list[int]:
        n = string2ll(argv[at]) if at < len(argv) else None
        if n is None or n < 1 or n > len(argv) - at - 1:
            return []
        return ([1] if with_dest else []) + list(range(at + 1, at + 1 + n))
    return getkeys


def keynum_specs(flags: list[str], dest: bool) -> tuple:
    specs = []
    if dest:
        specs.append({"flags": ["OW", "UPDATE"],
                      "begin_search": {"type": "index", "spec": {"index": 1}},
                      "find_keys": {"type": "range",
                                    "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}})
    specs.append({"flags": flags,
                  "begin_search": {"type": "index", "spec": {"index": 2 if dest else 1}},
                  "find_keys": {"type": "keynum",
                                "spec": {"keynumidx": 0, "firstkey": 1, "keystep": 1}}})
    return tuple(specs)


def parse_numkeys(raw: bytes, message: str) -> int:
    n = string2ll(raw)
    if n is None or n < 1:
        raise ReplyError(message)
    return n


@command("zmpop", -4, "write", acl=ACL, group=G, since="7.0.0",
         key_specs=keynum_specs(["RW", "ACCESS", "DELETE"], False),
         getkeys=numkeys_keys(1, False),
         summary="Remove and return members with scores in a sorted set",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of "
                    "elements popped.")
def zmpop(client, argv):
    numkeys = parse_numkeys(argv[1], "ERR numkeys should be greater than 0")
    argc = len(argv)
    where_at = numkeys + 2
    if where_at >= argc:
        raise ReplyError(SYNTAX)
    where = argv[where_at].lower()
    if where not in (b"min", b"max"):
        raise ReplyError(SYNTAX)
    count = None
    j = where_at + 1
    while j < argc:
        if argv[j].lower() == b"count" and j + 1 < argc and count is None:
            count = parse_numkeys(argv[j + 1], "ERR count should be greater than 0")
            j += 2
        else:
            raise ReplyError(SYNTAX)
    return pop_from(client, argv[2:2 + numkeys], where == b"max", count or 1, True)


# -- ZRANDMEMBER ---------------------------------------------------------------------------
@command("zrandmember", -2, "readonly", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="6.2.0", tips="nondeterministic_output",
         summary="Get one or multiple random elements from a sorted set",
         complexity="O(N) where N is the number of elements returned")
def zrandmember(client, argv):
    argc = len(argv)
    rng = client.node.rng
    if argc == 2:
        zs = _read(client, argv[1])
        if zs is None:
            return None
        return zs.sl[rng.randrange(len(zs))][1]
    count = string2ll(argv[2])
    if count is None:
        raise ReplyError("ERR value is not an integer or out of range")
    if count < -LONG_MAX:
        raise ReplyError("ERR value is out of range, value must between -9223372036854775807 "
                         "and 9223372036854775807")
    if argc > 4 or (argc == 4 and argv[3].lower() != b"withscores"):
        raise ReplyError(SYNTAX)
    withscores = argc == 4
    if withscores and not -LONG_MAX // 2 <= count <= LONG_MAX // 2:
        raise ReplyError("ERR value is out of range")
    zs = _read(client, argv[1])
    if zs is None or count == 0:
        return []
    sl = zs.sl
    n = len(sl)
    if count < 0:
        picked = [sl[rng.randrange(n)] for _ in range(-count)]
    elif count >= n:
        picked = list(reversed(sl))          # whole set: Redis walks it tail first
    else:
        picked = [sl[i] for i in sorted(rng.sample(range(n), count))]
        rng.shuffle(picked)
    if withscores:
        return pairs_reply(client, picked)
    return [m for _, m in picked]


# -- ZSCAN -----------------------------------------------------------------------------
@command("zscan", -3, "readonly", keys=(1, 1, 1), acl=ACL, group=G, key_flags="RO ACCESS",
         since="2.8.0", tips="nondeterministic_output",
         summary="Incrementally iterate sorted sets elements and associated scores",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..")
def zscan(client, argv):
    cursor = parse_cursor(argv[2])
    zs = _read(client, argv[1])
    if zs is None:
        return [b"0", []]
    count, match = parse_options(argv, 3)
    out = []
    if zs.listpack:
        for score, member in zs.sl:
            if match is None or match(member):
                out.append(member)
                out.append(d2string(score))
        return [b"0", out]
    if zs.index is None or len(zs.index) != len(zs):
        zs.index = ScanIndex(zs.scores)
    cursor, found = zs.index.scan(cursor, count)
    scores = zs.scores
    for member in found:
        score = scores.get(member)
        if score is not None and (match is None or match(member)):
            out.append(member)
            out.append(format_double(score))
    return [b"%d" % cursor, out]
