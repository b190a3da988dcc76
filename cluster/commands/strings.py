"""String commands: GET/SET and their variants, ranges, counters (as Redis 7.0 t_string.c).

Strings are `bytes` in the keyspace; counters are stored as their decimal bytes. GET, SET,
INCR and MSET are on the benchmark's hot path: their common case does no option parsing
and raises nothing. Where Redis rewrites what it propagates (relative expiry -> PXAT,
GETEX -> PEXPIREAT/PERSIST/DEL, GETDEL -> DEL, GETSET -> SET, INCRBYFLOAT -> SET KEEPTTL),
the handler returns a `Rewritten` reply carrying the commands to propagate instead.
"""
from __future__ import annotations

from cluster.base import longdouble
from cluster.commands.args import INT64_MAX, INT64_MIN, NOT_FLOAT, NOT_INT, SYNTAX, string2ll
from cluster.keyspace.databases import WRONGTYPE
from cluster.keyspace.notify import GENERIC, STRING, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import OK, ReplyError
from cluster.execution.table import command

OVERFLOW = "ERR increment or decrement would overflow"
TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
NOT_FINITE = "ERR increment would produce NaN or Infinity"

# Option flags of SET / GETEX (Redis's OBJ_* bits).
_NX, _XX, _GET, _KEEPTTL, _PERSIST = 1, 2, 4, 8, 16
_EX, _PX, _EXAT, _PXAT = 32, 64, 128, 256
_EXPIRES = _EX | _PX | _EXAT | _PXAT
_EXPIRE_OPTS = {b"EX": _EX, b"PX": _PX, b"EXAT": _EXAT, b"PXAT": _PXAT}


def _specs(flags: str, notes: str | None = None) -> tuple:
    spec: dict = {"notes": notes} if notes else {}
    spec["flags"] = flags.split()
    spec["begin_search"] = {"type": "index", "spec": {"index": 1}}
    spec["find_keys"] = {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}
    return (spec,)


def _string(value) -> bytes | None:
    """The value if it is a string (or absent); WRONGTYPE otherwise."""
    if value is None or value.__class__ is bytes:
        return value
    raise ReplyError(WRONGTYPE)


# -- option parsing and expiry -------------------------------------------------------

def _parse_options(argv: list[bytes], start: int, is_set: bool) -> tuple[int, bytes | None]:
    """SET/GETEX options from argv[start:] -> (flags, raw expire argument or None)."""
    flags = 0
    expire = None
    argc = len(argv)
    j = start
    while j < argc:
        opt = argv[j].upper()
        if opt == b"NX" and is_set and not flags & _XX:
            flags |= _NX
        elif opt == b"XX" and is_set and not flags & _NX:
            flags |= _XX
        elif opt == b"GET" and is_set:
            flags |= _GET
        elif opt == b"KEEPTTL" and is_set and not flags & (_PERSIST | _EXPIRES):
            flags |= _KEEPTTL
        elif opt == b"PERSIST" and not is_set and not flags & (_EXPIRES | _KEEPTTL):
            flags |= _PERSIST
        else:
            bit = _EXPIRE_OPTS.get(opt)
            if (bit is None or j == argc - 1
                    or flags & (_KEEPTTL | _PERSIST | (_EXPIRES & ~bit))):
                raise ReplyError(SYNTAX)
            flags |= bit
            expire = argv[j + 1]
            j += 1
        j += 1
    return flags, expire


def _expire_at(client, raw: bytes, flags: int, name: str) -> int:
    """The absolute unix-ms deadline an EX/PX/EXAT/PXAT argument means (Redis's checks)."""
    when = string2ll(raw)
    if when is None:
        raise ReplyError(NOT_INT)
    seconds = flags & (_EX | _EXAT)
    if when <= 0 or (seconds and when > INT64_MAX // 1000):
        raise ReplyError(f"ERR invalid expire time in '{name}' command")
    if seconds:
        when *= 1000
    if flags & (_EX | _PX):
        when += client.node.now_ms
        if when > INT64_MAX:
            raise ReplyError(f"ERR invalid expire time in '{name}' command")
    return when


def _set_generic(client, name: str, flags: int, key: bytes, value: bytes,
                 expire: bytes | None, argv: list[bytes]):
    """What SET with options, SETNX, SETEX and PSETEX share; returns the reply."""
    when = _expire_at(client, expire, flags, name) if expire is not None else 0
    db = client.db
    old = None
    if flags & _GET:
        old = _string(db.lookup_read(key, not client.no_touch))
    if flags & (_NX | _XX):
        found = db.lookup_write(key) is not None
        if (flags & _NX and found) or (flags & _XX and not found):
            if flags & _GET:
                return old
            return 0 if name == "setnx" else None
    db.store(key, value, flags & _KEEPTTL != 0)
    notify(client, STRING, b"set", key)
    reply = old if flags & _GET else 1 if name == "setnx" else OK
    if expire is not None:
        db.set_expire(key, when)
        notify(client, GENERIC, b"expire", key)
        return Rewritten(reply, [[b"SET", key, value, b"PXAT", b"%d" % when]])
    if flags & _GET:
        return Rewritten(reply, [[a for j, a in enumerate(argv)
                                  if j < 3 or a.upper() != b"GET"]])
    return reply


# -- GET / SET family ----------------------------------------------------------------

@command("get", 2, "readonly fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RO ACCESS", summary="Get the value of a key", complexity="O(1)")
def get(client, argv):
    value = client.db.lookup_read(argv[1], not client.no_touch)
    if value is None or value.__class__ is bytes:
        return value
    raise ReplyError(WRONGTYPE)


@command("set", -3, "write denyoom", keys=(1, 1, 1), acl="@string", group="string",
         key_specs=_specs("RW ACCESS UPDATE VARIABLE_FLAGS",
                          "RW and ACCESS due to the optional `GET` argument"),
         summary="Set the string value of a key", complexity="O(1)")
def set_(client, argv):
    if len(argv) == 3:
        client.db.store(argv[1], argv[2])
        notify(client, STRING, b"set", argv[1])
        return OK
    flags, expire = _parse_options(argv, 3, True)
    return _set_generic(client, "set", flags, argv[1], argv[2], expire, argv)


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="OW INSERT", summary="Set the value of a key, only if the key does not exist",
         complexity="O(1)")
def setnx(client, argv):
    return _set_generic(client, "setnx", _NX, argv[1], argv[2], None, argv)


@command("setex", 4, "write denyoom", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="OW UPDATE", summary="Set the value and expiration of a key",
         since="2.0.0", complexity="O(1)")
def setex(client, argv):
    return _set_generic(client, "setex", _EX, argv[1], argv[3], argv[2], argv)


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="OW UPDATE", summary="Set the value and expiration in milliseconds of a key",
         since="2.6.0", complexity="O(1)")
def psetex(client, argv):
    return _set_generic(client, "psetex", _PX, argv[1], argv[3], argv[2], argv)


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE", doc_flags="deprecated",
         summary="Set the string value of a key and return its old value", complexity="O(1)")
def getset(client, argv):
    db = client.db
    old = _string(db.lookup_read(argv[1], not client.no_touch))
    db.store(argv[1], argv[2])
    notify(client, STRING, b"set", argv[1])
    return Rewritten(old, [[b"SET", argv[1], argv[2]]])


@command("getdel", 2, "write fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS DELETE", summary="Get the value of a key and delete the key",
         since="6.2.0", complexity="O(1)")
def getdel(client, argv):
    db = client.db
    key = argv[1]
    old = _string(db.lookup_read(key, not client.no_touch))
    if old is None:
        return None
    db.delete(key)
    notify(client, GENERIC, b"del", key)
    verb = b"UNLINK" if client.node.config["lazyfree-lazy-user-del"] else b"DEL"
    return Rewritten(old, [[verb, key]])


@command("getex", -2, "write fast", keys=(1, 1, 1), acl="@string", group="string",
         key_specs=_specs("RW ACCESS UPDATE", "RW and UPDATE because it changes the TTL"),
         summary="Get the value of a key and optionally set its expiration",
         since="6.2.0", complexity="O(1)")
def getex(client, argv):
    flags, expire = _parse_options(argv, 2, False) if len(argv) > 2 else (0, None)
    db = client.db
    key = argv[1]
    value = _string(db.lookup_read(key, not client.no_touch))
    if value is None:
        return None
    if expire is not None:
        when = _expire_at(client, expire, flags, "getex")
        if flags & (_EXAT | _PXAT) and when <= client.node.now_ms and not db.ks.loading:
            db.delete(key)
            notify(client, GENERIC, b"del", key)
            return Rewritten(value, [[b"DEL", key]])
        db.set_expire(key, when)
        db.modified(key)
        notify(client, GENERIC, b"expire", key)
        return Rewritten(value, [[b"PEXPIREAT", key, b"%d" % when]])
    if flags & _PERSIST and db.persist(key):
        db.modified(key)
        notify(client, GENERIC, b"persist", key)
        return Rewritten(value, [[b"PERSIST", key]])
    return value


@command("mget", -2, "readonly fast", keys=(1, -1, 1), acl="@string", group="string",
         key_flags="RO ACCESS", tips="request_policy:multi_shard",
         summary="Get the values of all the given keys",
         complexity="O(N) where N is the number of keys to retrieve.")
def mget(client, argv):
    lookup = client.db.lookup_read
    touch = not client.no_touch
    out = []
    for i in range(1, len(argv)):
        value = lookup(argv[i], touch)
        out.append(value if value.__class__ is bytes else None)
    return out


@command("mset", -3, "write denyoom", keys=(1, -1, 2), acl="@string", group="string",
         key_flags="OW UPDATE", since="1.0.1",
         tips="request_policy:multi_shard response_policy:all_succeeded",
         summary="Set multiple keys to multiple values",
         complexity="O(N) where N is the number of keys to set.")
def mset(client, argv):
    argc = len(argv)
    if not argc & 1:
        raise ReplyError("ERR wrong number of arguments for 'mset' command")
    store = client.db.store
    for i in range(1, argc, 2):
        store(argv[i], argv[i + 1])
        notify(client, STRING, b"set", argv[i])
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), acl="@string", group="string",
         key_flags="OW INSERT", since="1.0.1",
         tips="request_policy:multi_shard response_policy:agg_min",
         summary="Set multiple keys to multiple values, only if none of the keys exist",
         complexity="O(N) where N is the number of keys to set.")
def msetnx(client, argv):
    argc = len(argv)
    if not argc & 1:
        raise ReplyError("ERR wrong number of arguments for 'msetnx' command")
    db = client.db
    for i in range(1, argc, 2):
        if db.lookup_write(argv[i]) is not None:
            return 0
    for i in range(1, argc, 2):
        db.store(argv[i], argv[i + 1])
        notify(client, STRING, b"set", argv[i])
    return 1


# -- lengths and ranges --------------------------------------------------------------

def _check_length(client, size: int, extra: int) -> None:
    if size + extra > client.node.config["proto-max-bulk-len"]:
        raise ReplyError(TOO_BIG)


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW INSERT", summary="Append a value to a key", since="2.0.0",
         complexity="O(1). The amortized time complexity is O(1) assuming the appended value "
                    "is small and the already present value is of any size, since the dynamic "
                    "string library used by Redis will double the free space available on "
                    "every reallocation.")
def append(client, argv):
    db = client.db
    key, tail = argv[1], argv[2]
    old = _string(db.lookup_write(key))
    if old is None:
        db.store(key, tail)
        notify(client, STRING, b"append", key)
        return len(tail)
    _check_length(client, len(old), len(tail))
    new = old + tail
    db.store(key, new, True)
    notify(client, STRING, b"append", key)
    return len(new)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RO", summary="Get the length of the value stored in a key",
         since="2.2.0", complexity="O(1)")
def strlen(client, argv):
    value = _string(client.db.lookup_read(argv[1], not client.no_touch))
    return 0 if value is None else len(value)


_RANGE_COMPLEXITY = (
    "O(N) where N is the length of the returned string. The complexity is ultimately "
    "determined by the returned length, but because creating a substring from an existing "
    "string is very cheap, it can be considered O(1) for small strings.")


@command("getrange", 4, "readonly", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RO ACCESS", summary="Get a substring of the string stored at a key",
         since="2.4.0", complexity=_RANGE_COMPLEXITY)
def getrange(client, argv):
    start = string2ll(argv[2])
    end = string2ll(argv[3])
    if start is None or end is None:
        raise ReplyError(NOT_INT)
    value = _string(client.db.lookup_read(argv[1], not client.no_touch))
    if value is None:
        return b""
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    if end >= size:
        end = size - 1
    if start > end or size == 0:
        return b""
    return value[start:end + 1]


@command("substr", 4, "readonly", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RO ACCESS", doc_flags="deprecated",
         summary="Get a substring of the string stored at a key", complexity=_RANGE_COMPLEXITY)
def substr(client, argv):
    return getrange(client, argv)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW UPDATE", since="2.2.0",
         summary="Overwrite part of a string at key starting at the specified offset",
         complexity="O(1), not counting the time taken to copy the new string in place. "
                    "Usually, this string is very small so the amortized complexity is O(1). "
                    "Otherwise, complexity is O(M) with M being the length of the value "
                    "argument.")
def setrange(client, argv):
    offset = string2ll(argv[2])
    if offset is None:
        raise ReplyError(NOT_INT)
    if offset < 0:
        raise ReplyError("ERR offset is out of range")
    db = client.db
    key, patch = argv[1], argv[3]
    old = _string(db.lookup_write(key))
    if not patch:
        return 0 if old is None else len(old)
    _check_length(client, offset, len(patch))
    if old is None:
        new = bytes(offset) + patch
    else:
        size = len(old)
        head = old[:offset] if size >= offset else old + bytes(offset - size)
        new = head + patch + old[offset + len(patch):]
    db.store(key, new, True)
    notify(client, STRING, b"setrange", key)
    return len(new)


# -- counters ------------------------------------------------------------------------

def _incr_by(client, key: bytes, delta: int) -> int:
    db = client.db
    old = db.lookup_write(key)
    if old is None:
        value = delta
    elif old.__class__ is bytes:
        current = string2ll(old)
        if current is None:
            raise ReplyError(NOT_INT)
        value = current + delta
        if value > INT64_MAX or value < INT64_MIN:
            raise ReplyError(OVERFLOW)
    else:
        raise ReplyError(WRONGTYPE)
    db.store(key, b"%d" % value, True)
    notify(client, STRING, b"incrby", key)
    return value


def _increment(raw: bytes) -> int:
    delta = string2ll(raw)
    if delta is None:
        raise ReplyError(NOT_INT)
    return delta


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE", summary="Increment the integer value of a key by one",
         complexity="O(1)")
def incr(client, argv):
    db = client.db
    key = argv[1]
    old = db.lookup_write(key)
    if old.__class__ is bytes:                      # the common case, inlined
        value = string2ll(old)
        if value is not None and value < INT64_MAX:
            value += 1
            db.store(key, b"%d" % value, True)
            notify(client, STRING, b"incrby", key)
            return value
    return _incr_by(client, key, 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE", summary="Decrement the integer value of a key by one",
         complexity="O(1)")
def decr(client, argv):
    return _incr_by(client, argv[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE", complexity="O(1)",
         summary="Increment the integer value of a key by the given amount")
def incrby(client, argv):
    return _incr_by(client, argv[1], _increment(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string", group="string",
         key_flags="RW ACCESS UPDATE", complexity="O(1)",
         summary="Decrement the integer value of a key by the given number")
def decrby(client, argv):
    delta = _increment(argv[2])
    if delta == INT64_MIN:
        raise ReplyError("ERR decrement would overflow")
    return _incr_by(client, argv[1], -delta)


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), acl="@string",
         group="string", key_flags="RW ACCESS UPDATE", since="2.6.0", complexity="O(1)",
         summary="Increment the float value of a key by the given amount")
def incrbyfloat(client, argv):
    db = client.db
    key = argv[1]
    old = _string(db.lookup_write(key))
    current = longdouble.parse(old) if old is not None else longdouble.ZERO
    delta = longdouble.parse(argv[2])
    if current is None or delta is None:
        raise ReplyError(NOT_FLOAT)
    total = longdouble.add(current, delta)
    if total is None:
        raise ReplyError(NOT_FINITE)
    new = longdouble.format_human(total)
    db.store(key, new, True)
    notify(client, STRING, b"incrbyfloat", key)
    return Rewritten(new, [[b"SET", key, new, b"KEEPTTL"]])
