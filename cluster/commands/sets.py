"""Set commands: SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS SRANDMEMBER SPOP SMOVE SINTER
SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN, as Redis 7.0.15.

A set is a `cluster.keyspace.set.Set` (a Python set of bytes, with Redis's intset ->
hashtable conversion flag; an intset answers in ascending numeric order, as Redis's).
Changes in place come after `lookup_write`, then `db.modified(key)`; empty sets are deleted.
"""
from __future__ import annotations

from itertools import islice

from cluster.commands import collscan
from cluster.commands.args import INT64_MAX, NOT_INT, SYNTAX, string2ll
from cluster.commands.keys import parse_cursor
from cluster.commands.objects import ENCODINGS
from cluster.encoding import dump_types  # noqa: F401  (registers the set DUMP/RDB encodings)
from cluster.keyspace.databases import TYPE_NAMES, WRONGTYPE
from cluster.keyspace.notify import GENERIC, SET, elements_removed, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import ReplyError, RespSet, SetReply
from cluster.keyspace.set import Set, convert_check, members_in_order, new_set
from cluster.keyspace.snapshot import COPIERS
from cluster.execution.table import command

RANGE_MSG = ("ERR value is out of range, value must between -9223372036854775807 and "
             "9223372036854775807")
NOT_POSITIVE = "ERR value is out of range, must be positive"


def encoding(value: Set) -> bytes:
    return b"hashtable" if value.big else b"intset"


TYPE_NAMES[Set] = "set"
ENCODINGS[Set] = encoding
COPIERS[Set] = Set.copy


def _set(value) -> Set | None:
    if value is None or value.__class__ is Set:
        return value
    raise ReplyError(WRONGTYPE)


def _read(client, key: bytes) -> Set | None:
    return _set(client.db.lookup_read(key, not client.no_touch))


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RW INSERT", summary="Add one or more members to a set",
         complexity="O(1) for each element added, so O(N) to add N elements when the "
                    "command is called with multiple arguments.")
def sadd(client, argv):
    db = client.db
    key = argv[1]
    s = db.lookup_write(key)
    if s is None:
        s = new_set(argv[2])
        db.store(key, s)
    elif s.__class__ is not Set:
        raise ReplyError(WRONGTYPE)
    before = len(s)
    if len(argv) == 3:
        s.add(argv[2])
    else:
        s.update(argv[2:])
    added = len(s) - before
    if added:
        if not s.big:
            convert_check(s, argv[2:], client.node.config["set-max-intset-entries"])
        s.scan_cache = None
        db.modified(key)
        notify(client, SET, b"sadd", key)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RW DELETE", summary="Remove one or more members from a set",
         complexity="O(N) where N is the number of members to be removed.")
def srem(client, argv):
    db = client.db
    key = argv[1]
    s = _set(db.lookup_write(key))
    if s is None:
        return 0
    before = len(s)
    s.difference_update(argv[2:])
    removed = before - len(s)
    if removed:
        s.scan_cache = None
        elements_removed(client, SET, b"srem", key, s)
    return removed


@command("scard", 2, "readonly fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO", summary="Get the number of members in a set", complexity="O(1)")
def scard(client, argv):
    s = _read(client, argv[1])
    return 0 if s is None else len(s)


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO", summary="Determine if a given value is a member of a set",
         complexity="O(1)")
def sismember(client, argv):
    s = _read(client, argv[1])
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO ACCESS", since="6.2.0",
         summary="Returns the membership associated with the given elements for a set",
         complexity="O(N) where N is the number of elements being checked for membership")
def smismember(client, argv):
    s = _read(client, argv[1])
    if s is None:
        return [0] * (len(argv) - 2)
    return [1 if m in s else 0 for m in argv[2:]]


@command("smembers", 2, "readonly", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO ACCESS", summary="Get all the members in a set",
         complexity="O(N) where N is the set cardinality.",
         tips="nondeterministic_output_order")
def smembers(client, argv):
    s = _read(client, argv[1])
    if s is None:
        return RespSet()
    return _set_reply(client, members_in_order(s))


def _set_reply(client, members: list):
    """A RESP3 set in the given order (RESP2: an array)."""
    return SetReply(members)


def _random_member(s: Set, rng) -> bytes:
    n = len(s)
    if not s.big:
        return members_in_order(s)[rng.randrange(n)]
    return next(islice(s, rng.randrange(n), None))


@command("srandmember", -2, "readonly", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO ACCESS", summary="Get one or multiple random members from a set",
         complexity="Without the count argument O(1), otherwise O(N) where N is the absolute "
                    "value of the passed count.", tips="nondeterministic_output")
def srandmember(client, argv):
    argc = len(argv)
    if argc > 3:
        raise ReplyError(SYNTAX)
    rng = client.node.rng
    if argc == 2:
        s = _read(client, argv[1])
        return None if s is None else _random_member(s, rng)
    count = string2ll(argv[2])
    if count is None:
        raise ReplyError(NOT_INT)
    if count < -INT64_MAX:
        raise ReplyError(RANGE_MSG)
    s = _read(client, argv[1])
    if s is None or count == 0:
        return []
    members = members_in_order(s)
    n = len(members)
    if count < 0:
        return [members[rng.randrange(n)] for _ in range(-count)]
    if count >= n:
        return members
    return rng.sample(members, count)


@command("spop", -2, "write fast", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RW ACCESS DELETE", summary="Remove and return one or multiple random "
         "members from a set", tips="nondeterministic_output",
         complexity="Without the count argument O(1), otherwise O(N) where N is the value of "
                    "the passed count.")
def spop(client, argv):
    argc = len(argv)
    if argc > 3:
        raise ReplyError(SYNTAX)
    db = client.db
    key = argv[1]
    rng = client.node.rng
    if argc == 2:
        s = _set(db.lookup_write(key))
        if s is None:
            return None
        member = _random_member(s, rng)
        s.discard(member)
        notify(client, SET, b"spop", key)
        _after_removal(db, key, s)
        if not s:
            notify(client, GENERIC, b"del", key)
        return Rewritten(member, [[b"SREM", key, member]])
    count = string2ll(argv[2])
    if count is None or count < 0:
        raise ReplyError(NOT_POSITIVE)
    s = _set(db.lookup_write(key))
    if s is None or count == 0:
        return RespSet()
    if count >= len(s):
        popped = members_in_order(s)
        db.delete(key)
        notify(client, SET, b"spop", key)
        notify(client, GENERIC, b"del", key)
        return Rewritten(_set_reply(client, popped), [[b"DEL", key]])
    popped = rng.sample(members_in_order(s), count)
    s.difference_update(popped)
    notify(client, SET, b"spop", key)
    _after_removal(db, key, s)
    # Redis 7.0.15: one SREM per member, the whole as one MULTI/EXEC
    # (cluster.replication.propagate)
    return Rewritten(_set_reply(client, popped),
                     [[b"SREM", key, member] for member in popped])


def _after_removal(db, key: bytes, s: Set) -> None:
    s.scan_cache = None
    if s:
        db.modified(key)
    else:
        db.delete(key)


@command("smove", 4, "write fast", keys=(1, 2, 1), acl="@set", group="set",
         summary="Move a member from one set to another", complexity="O(1)",
         key_specs=(
             {"flags": ["RW", "ACCESS", "DELETE"],
              "begin_search": {"type": "index", "spec": {"index": 1}},
              "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
             {"flags": ["RW", "INSERT"],
              "begin_search": {"type": "index", "spec": {"index": 2}},
              "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
         ))
def smove(client, argv):
    db = client.db
    src_key, dst_key, member = argv[1], argv[2], argv[3]
    src = db.lookup_write(src_key)
    dst = db.lookup_write(dst_key)
    if src is None:
        return 0
    _set(src)
    _set(dst)
    if src is dst:
        return 1 if member in src else 0
    if member not in src:
        return 0
    src.discard(member)
    notify(client, SET, b"srem", src_key)
    _after_removal(db, src_key, src)
    if not src:
        notify(client, GENERIC, b"del", src_key)
    if dst is None:
        dst = new_set(member)
        db.store(dst_key, dst)
    if member not in dst:
        dst.add(member)
        dst.scan_cache = None
        convert_check(dst, (member,), client.node.config["set-max-intset-entries"])
        db.modified(dst_key)
        notify(client, SET, b"sadd", dst_key)
    return 1


# -- algebra -------------------------------------------------------------------------
def _operands(client, keys, write: bool = False) -> list:
    """The sets at `keys` (None for a missing key); WRONGTYPE if any is not a set."""
    db = client.db
    touch = not client.no_touch
    out = []
    for key in keys:
        value = db.lookup_write(key) if write else db.lookup_read(key, touch)
        out.append(_set(value))
    return out


def _inter(sets: list) -> set:
    if any(s is None for s in sets):
        return set()
    ordered = sorted(sets, key=len)
    result = set(ordered[0])
    for s in ordered[1:]:
        if not result:
            break
        result.intersection_update(s)
    return result


def _union(sets: list) -> set:
    result: set = set()
    for s in sets:
        if s is not None:
            result.update(s)
    return result


def _diff(sets: list) -> set:
    if sets[0] is None:
        return set()
    result = set(sets[0])
    for s in sets[1:]:
        if s is not None:
            if not result:
                break
            result.difference_update(s)
    return result


def _reply(client, result: set):
    if all(len(m) <= 20 and string2ll(m) is not None for m in result):
        return _set_reply(client, sorted(result, key=int))
    return _set_reply(client, list(result))


def _store(client, dst_key: bytes, result: set, event: bytes) -> int:
    """*STORE: the result replaces dst (an empty result deletes it)."""
    db = client.db
    if not result:
        if db.delete(dst_key):
            notify(client, GENERIC, b"del", dst_key)
        return 0
    value = Set(result)
    convert_check(value, result, client.node.config["set-max-intset-entries"])
    db.lookup_write(dst_key)        # expire it if due (no dirty bump)
    db.store(dst_key, value)
    notify(client, SET, event, dst_key)
    return len(value)


_MULTI = dict(acl="@set", group="set", tips="nondeterministic_output_order")
_STORE_SPECS = lambda first: (   # noqa: E731
    {"flags": [first, "UPDATE"], "begin_search": {"type": "index", "spec": {"index": 1}},
     "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
    {"flags": ["RO", "ACCESS"], "begin_search": {"type": "index", "spec": {"index": 2}},
     "find_keys": {"type": "range", "spec": {"lastkey": -1, "keystep": 1, "limit": 0}}},
)


@command("sinter", -2, "readonly", keys=(1, -1, 1), key_flags="RO ACCESS",
         summary="Intersect multiple sets",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M "
                    "is the number of sets.", **_MULTI)
def sinter(client, argv):
    return _reply(client, _inter(_operands(client, argv[1:])))


@command("sunion", -2, "readonly", keys=(1, -1, 1), key_flags="RO ACCESS",
         summary="Add multiple sets",
         complexity="O(N) where N is the total number of elements in all given sets.",
         **_MULTI)
def sunion(client, argv):
    return _reply(client, _union(_operands(client, argv[1:])))


@command("sdiff", -2, "readonly", keys=(1, -1, 1), key_flags="RO ACCESS",
         summary="Subtract multiple sets",
         complexity="O(N) where N is the total number of elements in all given sets.",
         **_MULTI)
def sdiff(client, argv):
    return _reply(client, _diff(_operands(client, argv[1:])))


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), acl="@set", group="set",
         summary="Intersect multiple sets and store the resulting set in a key",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M "
                    "is the number of sets.", key_specs=_STORE_SPECS("RW"))
def sinterstore(client, argv):
    return _store(client, argv[1], _inter(_operands(client, argv[2:])), b"sinterstore")


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), acl="@set", group="set",
         summary="Add multiple sets and store the resulting set in a key",
         complexity="O(N) where N is the total number of elements in all given sets.",
         key_specs=_STORE_SPECS("OW"))
def sunionstore(client, argv):
    return _store(client, argv[1], _union(_operands(client, argv[2:])), b"sunionstore")


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), acl="@set", group="set",
         summary="Subtract multiple sets and store the resulting set in a key",
         complexity="O(N) where N is the total number of elements in all given sets.",
         key_specs=_STORE_SPECS("OW"))
def sdiffstore(client, argv):
    return _store(client, argv[1], _diff(_operands(client, argv[2:])), b"sdiffstore")


def sintercard_keys(argv: list[bytes]) -> list[int]:
    numkeys = string2ll(argv[1]) if len(argv) > 1 else None
    if numkeys is None or numkeys < 1 or numkeys > len(argv) - 2:
        return []
    return list(range(2, 2 + numkeys))


@command("sintercard", -3, "readonly", acl="@set", group="set", since="7.0.0",
         getkeys=sintercard_keys,
         summary="Intersect multiple sets and return the cardinality of the result",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M "
                    "is the number of sets.",
         key_specs=({"flags": ["RO", "ACCESS"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "keynum",
                                   "spec": {"keynumidx": 0, "firstkey": 1, "keystep": 1}}},))
def sintercard(client, argv):
    numkeys = string2ll(argv[1])
    if numkeys is None or numkeys < 1:
        raise ReplyError("ERR numkeys should be greater than 0")
    argc = len(argv)
    if numkeys > argc - 2:
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    limit = 0
    j = 2 + numkeys
    while j < argc:
        if argv[j].lower() == b"limit" and j + 1 < argc:
            limit = string2ll(argv[j + 1])
            if limit is None or limit < 0:
                raise ReplyError("ERR LIMIT can't be negative")
            j += 2
        else:
            raise ReplyError(SYNTAX)
    sets = _operands(client, argv[2:2 + numkeys])
    if any(s is None for s in sets):
        return 0
    ordered = sorted(sets, key=len)
    first, rest = ordered[0], ordered[1:]
    found = 0
    for m in first:
        if all(m in s for s in rest):
            found += 1
            if found == limit:
                break
    return found


@command("sscan", -3, "readonly", keys=(1, 1, 1), acl="@set", group="set",
         key_flags="RO ACCESS", since="2.8.0", summary="Incrementally iterate Set elements",
         tips="nondeterministic_output",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..")
def sscan(client, argv):
    cursor = parse_cursor(argv[2])
    s = _read(client, argv[1])
    if s is None:
        return collscan.EMPTY_SCAN
    count, match = collscan.parse_options(argv)
    if s.big:
        cursor, members = collscan.scan_big(s, cursor, count)
    else:
        cursor, members = 0, members_in_order(s)
    if match is not None:
        members = [m for m in members if match(m)]
    return [b"%d" % cursor, list(members)]
