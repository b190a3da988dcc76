"""Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HLEN HSTRLEN HKEYS
HVALS HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, as Redis 7.0.15 answers them.

A hash is a `cluster.keyspace.hash.Hash` (a dict of bytes -> bytes, insertion ordered like
Redis's listpack, with its listpack -> hashtable conversion flag). Changes in place come
after `lookup_write` and are followed by `db.modified(key)`; an empty hash is deleted.
"""
from __future__ import annotations

from itertools import islice

from cluster.base import longdouble
from cluster.commands import collscan
from cluster.commands.args import INT64_MAX, INT64_MIN, NOT_FLOAT, NOT_INT, SYNTAX, string2ll
from cluster.commands.keys import parse_cursor
from cluster.commands.objects import ENCODINGS
from cluster.encoding import dump_types  # noqa: F401  (registers the hash DUMP/RDB encodings)
from cluster.keyspace.databases import TYPE_NAMES, WRONGTYPE
from cluster.keyspace.hash import Hash, limits_check
from cluster.keyspace.notify import HASH, elements_removed, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import OK, ReplyError
from cluster.keyspace.snapshot import COPIERS
from cluster.execution.table import command

RANGE_MSG = ("ERR value is out of range, value must between -9223372036854775807 and "
             "9223372036854775807")
LONG_MAX = INT64_MAX
_O1 = "O(1)"
_ON = "O(N) where N is the size of the hash."


def encoding(value: Hash) -> bytes:
    return b"hashtable" if value.big else b"listpack"


TYPE_NAMES[Hash] = "hash"
ENCODINGS[Hash] = encoding
COPIERS[Hash] = Hash.copy


def _hash(value) -> Hash | None:
    if value is None or value.__class__ is Hash:
        return value
    raise ReplyError(WRONGTYPE)


def _read(client, key: bytes) -> Hash | None:
    return _hash(client.db.lookup_read(key, not client.no_touch))


def _write(client, key: bytes, create: bool) -> Hash | None:
    db = client.db
    h = _hash(db.lookup_write(key))
    if h is None and create:
        h = Hash()
        db.store(key, h)
    return h


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW UPDATE", since="2.0.0", summary="Set the string value of a hash field",
         complexity="O(1) for each field/value pair added, so O(N) to add N field/value "
                    "pairs when the command is called with multiple field/value pairs.")
def hset(client, argv) -> int:
    if len(argv) % 2:
        raise ReplyError("ERR wrong number of arguments for '%s' command"
                         % argv[0].decode("utf-8", "replace").lower())
    db = client.db
    key = argv[1]
    h = db.lookup_write(key)
    if h is None:
        h = Hash()
        db.store(key, h)
    elif h.__class__ is not Hash:
        raise ReplyError(WRONGTYPE)
    else:
        db.modified(key)
    before = len(h)
    if len(argv) == 4:
        field = argv[2]
        value = argv[3]
        h[field] = value
        if not h.big:
            values = client.node.config.values
            if (len(field) > values["hash-max-listpack-value"]
                    or len(value) > values["hash-max-listpack-value"]
                    or len(h) > values["hash-max-listpack-entries"]):
                h.big = True
    else:
        it = iter(argv[2:])
        h.update(zip(it, it))
        if not h.big:
            limits_check(h, client.node.config, argv[2:])
    if h.scan_cache is not None:
        h.scan_cache = None
    notify(client, HASH, b"hset", key)
    return len(h) - before


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW UPDATE", since="2.0.0", summary="Set multiple hash fields to multiple "
         "values", complexity="O(N) where N is the number of fields being set.",
         doc_flags="deprecated")
def hmset(client, argv):
    hset(client, argv)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW INSERT", since="2.0.0",
         summary="Set the value of a hash field, only if the field does not exist",
         complexity=_O1)
def hsetnx(client, argv):
    db = client.db
    key, field = argv[1], argv[2]
    h = _hash(db.lookup_write(key))
    if h is not None and field in h:
        return 0
    if h is None:
        h = Hash()
        db.store(key, h)
    else:
        db.modified(key)
    h[field] = argv[3]
    limits_check(h, client.node.config, argv[2:])
    h.scan_cache = None
    notify(client, HASH, b"hset", key)
    return 1


@command("hget", 3, "readonly fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.0.0", summary="Get the value of a hash field",
         complexity=_O1)
def hget(client, argv):
    h = _read(client, argv[1])
    return None if h is None else h.get(argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.0.0", summary="Get the values of all the given hash "
         "fields", complexity="O(N) where N is the number of fields being requested.")
def hmget(client, argv):
    h = _read(client, argv[1])
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.get
    return [get(f) for f in argv[2:]]


@command("hgetall", 2, "readonly", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.0.0", summary="Get all the fields and values in a hash",
         complexity=_ON, tips="nondeterministic_output_order")
def hgetall(client, argv):
    h = _read(client, argv[1])
    return {} if h is None else dict(h)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.0.0", summary="Get all the fields in a hash",
         complexity=_ON, tips="nondeterministic_output_order")
def hkeys(client, argv):
    h = _read(client, argv[1])
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.0.0", summary="Get all the values in a hash",
         complexity=_ON, tips="nondeterministic_output_order")
def hvals(client, argv):
    h = _read(client, argv[1])
    return [] if h is None else list(h.values())


@command("hdel", -3, "write fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW DELETE", since="2.0.0", summary="Delete one or more hash fields",
         complexity="O(N) where N is the number of fields to be removed.")
def hdel(client, argv):
    db = client.db
    key = argv[1]
    h = _hash(db.lookup_write(key))
    if h is None:
        return 0
    deleted = 0
    for field in argv[2:]:
        if h.pop(field, None) is not None:
            deleted += 1
            if not h:
                break
    if deleted:
        h.scan_cache = None
        elements_removed(client, HASH, b"hdel", key, h)
    return deleted


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO", since="2.0.0", summary="Determine if a hash field exists",
         complexity=_O1)
def hexists(client, argv):
    h = _read(client, argv[1])
    return 1 if h is not None and argv[2] in h else 0


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO", since="2.0.0", summary="Get the number of fields in a hash",
         complexity=_O1)
def hlen(client, argv):
    h = _read(client, argv[1])
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO", since="3.2.0", summary="Get the length of the value of a hash field",
         complexity=_O1)
def hstrlen(client, argv):
    h = _read(client, argv[1])
    if h is None:
        return 0
    value = h.get(argv[2])
    return 0 if value is None else len(value)


def _store_field(client, key: bytes, h: Hash, field: bytes, value: bytes) -> None:
    h[field] = value
    limits_check(h, client.node.config, (field, value))
    h.scan_cache = None
    client.db.modified(key)


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW ACCESS UPDATE", since="2.0.0",
         summary="Increment the integer value of a hash field by the given number",
         complexity=_O1)
def hincrby(client, argv):
    incr = string2ll(argv[3])
    if incr is None:
        raise ReplyError(NOT_INT)
    key, field = argv[1], argv[2]
    h = _write(client, key, False)
    old = None if h is None else h.get(field)
    if old is not None:
        current = string2ll(old)
        if current is None:
            raise ReplyError("ERR hash value is not an integer")
    else:
        current = 0
    total = current + incr
    if total < INT64_MIN or total > INT64_MAX:
        raise ReplyError("ERR increment or decrement would overflow")
    if h is None:
        h = _write(client, key, True)
    _store_field(client, key, h, field, b"%d" % total)
    notify(client, HASH, b"hincrby", key)
    return total


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RW ACCESS UPDATE", since="2.6.0",
         summary="Increment the float value of a hash field by the given amount",
         complexity=_O1)
def hincrbyfloat(client, argv):
    incr = longdouble.parse(argv[3])
    if incr is None:
        raise ReplyError(NOT_FLOAT)
    if incr.__class__ is float:            # an infinity
        raise ReplyError("ERR value is NaN or Infinity")
    key, field = argv[1], argv[2]
    h = _write(client, key, False)
    old = None if h is None else h.get(field)
    current = longdouble.ZERO
    if old is not None:
        current = longdouble.parse(old)
        if current is None or current.__class__ is float:
            raise ReplyError("ERR hash value is not a float")
    total = longdouble.add(current, incr)
    if total is None:
        raise ReplyError("ERR increment would produce NaN or Infinity")
    new = longdouble.format_human(total)
    if h is None:
        h = _write(client, key, True)
    _store_field(client, key, h, field, new)
    notify(client, HASH, b"hincrbyfloat", key)
    return Rewritten(new, [[b"HSET", key, field, new]])


def _count(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(NOT_INT)
    if value < -LONG_MAX:
        raise ReplyError(RANGE_MSG)
    return value


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="6.2.0",
         summary="Get one or multiple random fields from a hash",
         complexity="O(N) where N is the number of fields returned",
         tips="nondeterministic_output")
def hrandfield(client, argv):
    argc = len(argv)
    if argc == 2:
        h = _read(client, argv[1])
        if h is None:
            return None
        return next(islice(h, client.node.rng.randrange(len(h)), None))
    count = _count(argv[2])
    withvalues = False
    if argc > 4 or (argc == 4 and argv[3].lower() != b"withvalues"):
        raise ReplyError(SYNTAX)
    if argc == 4:
        withvalues = True
        if count < -(LONG_MAX // 2):
            raise ReplyError("ERR value is out of range")
    h = _read(client, argv[1])
    if h is None or count == 0:
        return []
    rng = client.node.rng
    resp3 = client.resp == 3
    if count < 0:
        items = list(h.items()) if withvalues else list(h)
        n = len(items)
        picked = [items[rng.randrange(n)] for _ in range(-count)]
    elif count >= len(h):
        picked = list(h.items()) if withvalues else list(h)
    else:
        picked = rng.sample(list(h.items()) if withvalues else list(h), count)
    if not withvalues:
        return picked
    if resp3:
        return [[f, v] for f, v in picked]
    return [x for pair in picked for x in pair]


@command("hscan", -3, "readonly", keys=(1, 1, 1), acl="@hash", group="hash",
         key_flags="RO ACCESS", since="2.8.0", summary="Incrementally iterate hash fields and "
         "associated values", tips="nondeterministic_output",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..")
def hscan(client, argv):
    cursor = parse_cursor(argv[2])
    h = _read(client, argv[1])
    if h is None:
        return collscan.EMPTY_SCAN
    count, match = collscan.parse_options(argv)
    if h.big:
        cursor, fields = collscan.scan_big(h, cursor, count)
    else:
        cursor, fields = 0, h
    out = []
    for field in fields:
        if match is None or match(field):
            value = h.get(field)
            if value is not None:
                out.append(field)
                out.append(value)
    return [b"%d" % cursor, out]
