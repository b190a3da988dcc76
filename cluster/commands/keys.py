"""Generic key commands: DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY MOVE SWAPDB KEYS
SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL, the EXPIRE family, TTL family, PERSIST, OBJECT,
DUMP and RESTORE, as Redis 7.0.15 answers them.

SCAN's cursor is Redis's reverse-binary bucket cursor over a per-database hash index
(`cluster.scanindex`, which explains why every key present for a whole iteration is
returned at least once even when keys come and go between calls). DUMP/RESTORE payloads
are Redis's format (`cluster.dump`).
"""
from __future__ import annotations

from cluster.commands.args import INT64_MAX, INT64_MIN, NOT_INT, SYNTAX, parse_int, string2ll
from cluster.dump import BAD_PAYLOAD, dump, load, verify
from cluster.glob import compile_glob
from cluster.keyspace import type_name
from cluster.reply import OK, ReplyError, Status
from cluster.scanindex import ScanIndex
from cluster.table import command, container, subcommand

SAME_OBJECT = "ERR source and destination objects are the same"
DB_RANGE = "ERR DB index is out of range"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
NO_SUCH_KEY = "ERR no such key"
OBJ_SHARED_REFCOUNT = 2147483647
OBJ_SHARED_INTEGERS = 10000
LFU_INIT_VAL = 5
_MULTI_TIPS = "request_policy:multi_shard response_policy:agg_sum"
_ALL_SHARDS_OK = "request_policy:all_shards response_policy:all_succeeded"
_EXPIRE_NX, _EXPIRE_XX, _EXPIRE_GT, _EXPIRE_LT = 1, 2, 4, 8


def _spec(flags: str, index: int = 1, lastkey: int = 0) -> dict:
    return {"flags": flags.split(), "begin_search": {"type": "index", "spec": {"index": index}},
            "find_keys": {"type": "range",
                          "spec": {"lastkey": lastkey, "keystep": 1, "limit": 0}}}


def get_int(raw: bytes, message: str | None = None) -> int:
    """getIntFromObjectOrReply: an int32, or `message` / Redis's own words."""
    value = string2ll(raw)
    if value is None:
        raise ReplyError(message or NOT_INT)
    if not -2**31 <= value < 2**31:
        raise ReplyError(message or INT_RANGE)
    return value


def _cluster(client) -> bool:
    return bool(client.node.config["cluster-enabled"])


def _db_index(client, raw: bytes):
    index = get_int(raw)
    ks = client.node.keyspace
    if not 0 <= index < len(ks):
        raise ReplyError(DB_RANGE)
    return ks[index]


def copy_value(value):
    """An independent copy of a stored value (COPY)."""
    if value.__class__ is bytes:
        return value
    copier = getattr(value, "copy", None)
    if copier is not None:
        return copier()
    import copy
    return copy.deepcopy(value)


# -- existence, deletion, type ------------------------------------------------------

def _delete(client, argv):
    db = client.db
    deleted = 0
    for key in argv[1:]:
        if db.peek(key) is not None and db.delete(key):
            deleted += 1
    return deleted


@command("del", -2, "write", keys=(1, -1, 1), key_flags="RM DELETE", acl="@keyspace",
         summary="Delete a key", tips=_MULTI_TIPS,
         complexity="O(N) where N is the number of keys that will be removed. When a key to "
                    "remove holds a value other than a string, the individual complexity for "
                    "this key is O(M) where M is the number of elements in the list, set, "
                    "sorted set or hash. Removing a single key that holds a string value is "
                    "O(1).")
def del_(client, argv):
    return _delete(client, argv)


@command("unlink", -2, "write fast", keys=(1, -1, 1), key_flags="RM DELETE", acl="@keyspace",
         since="4.0.0", tips=_MULTI_TIPS,
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                 "but non blocking.",
         complexity="O(1) for each key removed regardless of its size. Then the command does "
                    "O(N) work in a different thread in order to reclaim memory, where N is "
                    "the number of allocations the deleted objects where composed of.")
def unlink(client, argv):
    return _delete(client, argv)


@command("exists", -2, "readonly fast", keys=(1, -1, 1), key_flags="RO", acl="@keyspace",
         summary="Determine if a key exists", tips=_MULTI_TIPS,
         complexity="O(N) where N is the number of keys to check.")
def exists(client, argv):
    lookup = client.db.lookup_read
    return sum(1 for key in argv[1:] if lookup(key, False) is not None)


@command("touch", -2, "readonly fast", keys=(1, -1, 1), key_flags="RO", acl="@keyspace",
         since="3.2.1", tips=_MULTI_TIPS,
         summary="Alters the last access time of a key(s). Returns the number of existing "
                 "keys specified.",
         complexity="O(N) where N is the number of keys that will be touched.")
def touch(client, argv):
    lookup = client.db.lookup_read
    return sum(1 for key in argv[1:] if lookup(key, True) is not None)


@command("type", 2, "readonly fast", keys=(1, 1, 1), key_flags="RO", acl="@keyspace",
         summary="Determine the type stored at key", complexity="O(1)")
def type_(client, argv):
    value = client.db.lookup_read(argv[1], False)
    return Status(b"none" if value is None else type_name(value).encode())


# -- renaming, copying, moving ------------------------------------------------------

def _rename(client, argv, nx: bool):
    db = client.db
    src, dst = argv[1], argv[2]
    value = db.lookup_write(src)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    expire = db.get_expire(src)
    if db.lookup_write(dst) is not None:
        if nx:
            return 0
        db.delete(dst)
    db.store(dst, value)
    if expire is not None:
        db.set_expire(dst, expire)
    db.delete(src)
    return 1 if nx else OK


@command("rename", 3, "write", keys=(1, 2, 1), acl="@keyspace", summary="Rename a key",
         complexity="O(1)",
         key_specs=(_spec("RW ACCESS DELETE", 1), _spec("OW UPDATE", 2)))
def rename(client, argv):
    return _rename(client, argv, False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1), acl="@keyspace",
         summary="Rename a key, only if the new key does not exist", complexity="O(1)",
         key_specs=(_spec("RW ACCESS DELETE", 1), _spec("OW INSERT", 2)))
def renamenx(client, argv):
    return _rename(client, argv, True)


@command("copy", -3, "write denyoom", keys=(1, 2, 1), acl="@keyspace", since="6.2.0",
         summary="Copy a key", key_specs=(_spec("RO ACCESS", 1), _spec("OW UPDATE", 2)),
         complexity="O(N) worst case for collections, where N is the number of nested items. "
                    "O(1) for string values.")
def copy_(client, argv):
    src = dst = client.db
    replace = False
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < len(argv):
            dst = _db_index(client, argv[j + 1])
            j += 1
        else:
            raise ReplyError(SYNTAX)
        j += 1
    if _cluster(client) and (src.id != 0 or dst.id != 0):
        raise ReplyError("ERR Copying to another database is not allowed in cluster mode")
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        raise ReplyError(SAME_OBJECT)
    value = src.lookup_read(key, not client.no_touch)
    if value is None:
        return 0
    expire = src.get_expire(key)
    if dst.lookup_write(newkey) is not None:
        if not replace:
            return 0
        dst.delete(newkey)
    dst.store(newkey, copy_value(value))
    if expire is not None:
        dst.set_expire(newkey, expire)
    return 1


@command("move", 3, "write fast", keys=(1, 1, 1), key_flags="RW ACCESS UPDATE",
         acl="@keyspace", summary="Move a key to another database", complexity="O(1)")
def move(client, argv):
    if _cluster(client):
        raise ReplyError("ERR MOVE is not allowed in cluster mode")
    src = client.db
    dst = _db_index(client, argv[2])
    if dst is src:
        raise ReplyError(SAME_OBJECT)
    key = argv[1]
    value = src.lookup_write(key)
    if value is None:
        return 0
    expire = src.get_expire(key)
    if dst.lookup_write(key) is not None:
        return 0
    dst.store(key, value)
    if expire is not None:
        dst.set_expire(key, expire)
    src.delete(key)
    return 1


@command("swapdb", 3, "write fast", acl="@keyspace @dangerous", group="server",
         since="4.0.0", summary="Swaps two Redis databases",
         complexity="O(N) where N is the count of clients watching or blocking on keys from "
                    "both databases.")
def swapdb(client, argv):
    if _cluster(client):
        raise ReplyError("ERR SWAPDB is not allowed in cluster mode")
    first = get_int(argv[1], "ERR invalid first DB index")
    second = get_int(argv[2], "ERR invalid second DB index")
    ks = client.node.keyspace
    if not (0 <= first < len(ks) and 0 <= second < len(ks)):
        raise ReplyError(DB_RANGE)
    if first != second:
        ks.swap(first, second)
    ks.dirty += 1
    return OK


# -- iteration ----------------------------------------------------------------------

@command("keys", 2, "readonly", acl="@keyspace @dangerous",
         summary="Find all keys matching the given pattern",
         tips="request_policy:all_shards nondeterministic_output_order",
         complexity="O(N) with N being the number of keys in the database, under the "
                    "assumption that the key names in the database and the given pattern "
                    "have limited length.")
def keys(client, argv):
    db = client.db
    ks = db.ks
    pattern = argv[1]
    match = None if pattern == b"*" else compile_glob(pattern)
    expires = db.expires
    now = ks.now_ms
    check_expiry = bool(expires) and not ks.loading
    out = []
    for key in db.data:
        if match is None or match(key):
            if check_expiry:
                when = expires.get(key)
                if when is not None and when <= now:
                    continue
            out.append(key)
    return out


def parse_cursor(raw: bytes) -> int:
    """parseScanCursorOrReply: C strtoul() on the argument (as a C string), base 10."""
    nul = raw.find(b"\0")
    text = raw if nul < 0 else raw[:nul]
    if not text:
        return 0
    if text[0] in b" \t\n\v\f\r":
        raise ReplyError("ERR invalid cursor")
    negative = text[0] == 45
    digits = text[1:] if text[0] in b"+-" else text
    if not digits or not digits.isdigit():
        raise ReplyError("ERR invalid cursor")
    value = int(digits)
    if value > 0xFFFFFFFFFFFFFFFF:
        raise ReplyError("ERR invalid cursor")
    return (-value) & 0xFFFFFFFFFFFFFFFF if negative else value


def scan_index(db) -> ScanIndex:
    """The database's SCAN index, (re)built when missing or out of step with the data."""
    index = db.scan_index
    if index is None or len(index) != len(db.data):
        index = db.scan_index = ScanIndex(db.data)
    return index


@command("scan", -2, "readonly", acl="@keyspace", since="2.8.0",
         summary="Incrementally iterate the keys space",
         tips="nondeterministic_output request_policy:special",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection.")
def scan(client, argv):
    cursor = parse_cursor(argv[1])
    count = 10
    pattern = None
    typename = None
    i, argc = 2, len(argv)
    while i < argc:
        opt = argv[i].lower()
        if opt == b"count" and argc - i >= 2:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise ReplyError(SYNTAX)
        elif opt == b"match" and argc - i >= 2:
            pattern = argv[i + 1]
        elif opt == b"type" and argc - i >= 2:
            typename = argv[i + 1].lower()
        else:
            raise ReplyError(SYNTAX)
        i += 2
    db = client.db
    cursor, found = scan_index(db).scan(cursor, count)
    match = None if pattern is None or pattern == b"*" else compile_glob(pattern)
    out = []
    for key in found:
        if match is not None and not match(key):
            continue
        if typename is not None:
            value = db.lookup_read(key, False)
            name = b"none" if value is None else type_name(value).encode()
            if name != typename:
                continue
        if db.peek(key) is None:
            continue
        out.append(key)
    return [b"%d" % cursor, out]


@command("randomkey", 1, "readonly", acl="@keyspace",
         summary="Return a random key from the keyspace", complexity="O(1)",
         tips="request_policy:all_shards nondeterministic_output")
def randomkey(client, argv):
    return client.db.random_key(client.node.rng)


@command("dbsize", 1, "readonly fast", acl="@keyspace", group="server",
         summary="Return the number of keys in the selected database", complexity="O(1)",
         tips="request_policy:all_shards response_policy:agg_sum")
def dbsize(client, argv):
    return len(client.db.data)


def _flush_flags(argv) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"sync", b"async")):
        raise ReplyError(SYNTAX)


@command("flushdb", -1, "write", acl="@keyspace @dangerous", group="server",
         summary="Remove all keys from the current database", tips=_ALL_SHARDS_OK,
         complexity="O(N) where N is the number of keys in the selected database")
def flushdb(client, argv):
    _flush_flags(argv)
    client.db.flush()
    client.node.keyspace.dirty += 1      # always propagated, even when already empty
    return OK


@command("flushall", -1, "write", acl="@keyspace @dangerous", group="server",
         summary="Remove all keys from all databases", tips=_ALL_SHARDS_OK,
         complexity="O(N) where N is the total number of keys in all databases")
def flushall(client, argv):
    _flush_flags(argv)
    ks = client.node.keyspace
    for db in ks.dbs:
        db.flush()
    ks.dirty += 1
    return OK


# -- expiry -------------------------------------------------------------------------

def _expire_flags(argv) -> int:
    flags = 0
    for opt in argv[3:]:
        low = opt.lower()
        if low == b"nx":
            flags |= _EXPIRE_NX
        elif low == b"xx":
            flags |= _EXPIRE_XX
        elif low == b"gt":
            flags |= _EXPIRE_GT
        elif low == b"lt":
            flags |= _EXPIRE_LT
        else:
            raise ReplyError("ERR Unsupported option %s" % opt.decode("utf-8", "replace"))
    if flags & _EXPIRE_NX and flags & (_EXPIRE_XX | _EXPIRE_GT | _EXPIRE_LT):
        raise ReplyError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & _EXPIRE_GT and flags & _EXPIRE_LT:
        raise ReplyError("ERR GT and LT options at the same time are not compatible")
    return flags


def _expire(client, argv, name: str, relative: bool, seconds: bool):
    flags = _expire_flags(argv)
    when = parse_int(argv[2])
    bad_time = "ERR invalid expire time in '%s' command" % name
    if seconds:
        if when > INT64_MAX // 1000 or when < -(-INT64_MIN // 1000):
            raise ReplyError(bad_time)
        when *= 1000
    ks = client.node.keyspace
    base = ks.now_ms if relative else 0
    if when > INT64_MAX - base:
        raise ReplyError(bad_time)
    when += base
    db = client.db
    key = argv[1]
    if db.lookup_write(key) is None:
        return 0
    if flags:
        current = db.get_expire(key)
        if flags & _EXPIRE_NX and current is not None:
            return 0
        if flags & _EXPIRE_XX and current is None:
            return 0
        if flags & _EXPIRE_GT and (current is None or when <= current):
            return 0
        if flags & _EXPIRE_LT and current is not None and when >= current:
            return 0
    if when <= ks.now_ms and not ks.loading:
        db.delete(key)
        lazy = client.node.config["lazyfree-lazy-expire"]
        client.propagate_as = [[b"UNLINK" if lazy else b"DEL", key]]
        return 1
    db.set_expire(key, when)
    db.modified(key)
    if name != "pexpireat":
        client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *argv[3:]]]
    return 1


_EXPIRE_SPEC = dict(keys=(1, 1, 1), key_flags="RW UPDATE", acl="@keyspace",
                    complexity="O(1)")


@command("expire", -3, "write fast", summary="Set a key's time to live in seconds",
         **_EXPIRE_SPEC)
def expire(client, argv):
    return _expire(client, argv, "expire", True, True)


@command("pexpire", -3, "write fast", summary="Set a key's time to live in milliseconds",
         since="2.6.0", **_EXPIRE_SPEC)
def pexpire(client, argv):
    return _expire(client, argv, "pexpire", True, False)


@command("expireat", -3, "write fast", since="1.2.0",
         summary="Set the expiration for a key as a UNIX timestamp", **_EXPIRE_SPEC)
def expireat(client, argv):
    return _expire(client, argv, "expireat", False, True)


@command("pexpireat", -3, "write fast", since="2.6.0",
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
         **_EXPIRE_SPEC)
def pexpireat(client, argv):
    return _expire(client, argv, "pexpireat", False, False)


def _ttl(client, argv, ms: bool, absolute: bool) -> int:
    db = client.db
    key = argv[1]
    if db.lookup_read(key, False) is None:
        return -2
    when = db.get_expire(key)
    if when is None:
        return -1
    ttl = when if absolute else when - client.node.keyspace.now_ms
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


_TTL_SPEC = dict(keys=(1, 1, 1), key_flags="RO ACCESS", acl="@keyspace", complexity="O(1)")


@command("ttl", 2, "readonly fast", summary="Get the time to live for a key in seconds",
         tips="nondeterministic_output", **_TTL_SPEC)
def ttl(client, argv):
    return _ttl(client, argv, False, False)


@command("pttl", 2, "readonly fast", since="2.6.0", tips="nondeterministic_output",
         summary="Get the time to live for a key in milliseconds", **_TTL_SPEC)
def pttl(client, argv):
    return _ttl(client, argv, True, False)


@command("expiretime", 2, "readonly fast", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key", **_TTL_SPEC)
def expiretime(client, argv):
    return _ttl(client, argv, False, True)


@command("pexpiretime", 2, "readonly fast", since="7.0.0",
         summary="Get the expiration Unix timestamp for a key in milliseconds", **_TTL_SPEC)
def pexpiretime(client, argv):
    return _ttl(client, argv, True, True)


@command("persist", 2, "write fast", keys=(1, 1, 1), key_flags="RW UPDATE", acl="@keyspace",
         since="2.2.0", summary="Remove the expiration from a key", complexity="O(1)")
def persist(client, argv):
    db = client.db
    key = argv[1]
    if db.lookup_write(key) is None or not db.persist(key):
        return 0
    db.modified(key)
    return 1


# -- OBJECT -------------------------------------------------------------------------

# value class -> function(value) -> encoding name, for types other modules add.
ENCODINGS: dict[type, object] = {}


def encoding_of(value) -> bytes:
    if value.__class__ is bytes:
        if len(value) <= 20 and string2ll(value) is not None:
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"
    namer = ENCODINGS.get(value.__class__)
    if namer is not None:
        return namer(value)
    return b"quicklist" if type_name(value) == "list" else b"raw"


def _lfu_policy(client) -> bool:
    return "lfu" in client.node.config["maxmemory-policy"]


container("object", -2, since="2.2.3", summary="A container for object introspection commands",
          complexity="Depends on subcommand.")

_OBJECT_SUB = dict(keys=(2, 2, 1), key_flags="RO", acl="@keyspace",
                   tips="nondeterministic_output", complexity="O(1)")
_OBJECT_HELP = [
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
]


@subcommand("object", "encoding", 3, "readonly", since="2.2.3",
            summary="Inspect the internal encoding of a Redis object", **_OBJECT_SUB)
def object_encoding(client, argv):
    value = client.db.lookup_read(argv[2], False)
    return None if value is None else encoding_of(value)


@subcommand("object", "refcount", 3, "readonly", since="2.2.3",
            summary="Get the number of references to the value of the key", **_OBJECT_SUB)
def object_refcount(client, argv):
    value = client.db.lookup_read(argv[2], False)
    if value is None:
        return None
    if value.__class__ is bytes and len(value) <= 20:
        number = string2ll(value)
        config = client.node.config
        shared_ok = (config["maxmemory"] == 0 or not any(
            p in config["maxmemory-policy"] for p in ("lru", "lfu")))
        if number is not None and 0 <= number < OBJ_SHARED_INTEGERS and shared_ok:
            return OBJ_SHARED_REFCOUNT
    return 1


@subcommand("object", "idletime", 3, "readonly", since="2.2.3",
            summary="Get the time since a Redis object was last accessed", **_OBJECT_SUB)
def object_idletime(client, argv):
    db = client.db
    key = argv[2]
    if db.lookup_read(key, False) is None:
        return None
    if _lfu_policy(client):
        raise ReplyError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
            "when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust.")
    clock = db.ks.lru_clock
    return max(0, clock - db.lru.get(key, clock))


@subcommand("object", "freq", 3, "readonly", since="4.0.0",
            summary="Get the logarithmic access frequency counter of a Redis object",
            **_OBJECT_SUB)
def object_freq(client, argv):
    db = client.db
    key = argv[2]
    if db.lookup_read(key, False) is None:
        return None
    if not _lfu_policy(client):
        raise ReplyError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
            "Please note that when switching between policies at runtime LRU and LFU data "
            "will take some time to adjust.")
    # No per-key LFU counter is kept: the initial counter, decayed as Redis decays it
    # (one step per lfu-decay-time minutes since the last access).
    clock = db.ks.lru_clock
    idle_minutes = max(0, clock - db.lru.get(key, clock)) // 60
    decay = client.node.config["lfu-decay-time"]
    periods = idle_minutes // decay if decay else 0
    return max(0, LFU_INIT_VAL - periods)


@subcommand("object", "help", 2, "loading stale", acl="@keyspace", since="6.2.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def object_help(client, argv):
    from cluster.commands.server import help_reply
    return help_reply("OBJECT", _OBJECT_HELP)


# -- DUMP / RESTORE -----------------------------------------------------------------

def _list_fill(client) -> int:
    try:
        return int(client.node.config["list-max-listpack-size"])
    except (KeyError, TypeError, ValueError):
        return -2


@command("dump", 2, "readonly", keys=(1, 1, 1), key_flags="RO ACCESS", acl="@keyspace",
         since="2.6.0", tips="nondeterministic_output",
         summary="Return a serialized version of the value stored at the specified key.",
         complexity="O(1) to access the key and additional O(N*M) to serialize it, where N "
                    "is the number of Redis objects composing the value and M their average "
                    "size. For small string values the time complexity is thus O(1)+O(1*M) "
                    "where M is small, so simply O(1).")
def dump_(client, argv):
    value = client.db.lookup_read(argv[1], not client.no_touch)
    if value is None:
        return None
    return dump(value, _list_fill(client))


@command("restore", -4, "write denyoom", keys=(1, 1, 1), key_flags="OW UPDATE",
         acl="@keyspace @dangerous", since="2.6.0",
         summary="Create a key using the provided serialized value, previously obtained "
                 "using DUMP.",
         complexity="O(1) to create the new key and additional O(N*M) to reconstruct the "
                    "serialized value, where N is the number of Redis objects composing the "
                    "value and M their average size. For small string values the time "
                    "complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However "
                    "for sorted set values the complexity is O(N*M*log(N)) because inserting "
                    "values into sorted sets is O(log(N)).")
def restore(client, argv):
    return restore_generic(client, argv)


def restore_generic(client, argv):
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (also for
    RESTORE-ASKING)."""
    replace = absttl = False
    idle = freq = -1
    j, argc = 4, len(argv)
    while j < argc:
        opt = argv[j].lower()
        more = argc - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[j + 1])
            if idle < 0:
                raise ReplyError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[j + 1])
            if not 0 <= freq <= 255:
                raise ReplyError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise ReplyError(SYNTAX)
        j += 1
    db = client.db
    key = argv[1]
    if not replace and db.lookup_write(key) is not None:
        raise ReplyError("BUSYKEY Target key name already exists.")
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise ReplyError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not verify(payload):
        raise ReplyError(BAD_PAYLOAD)
    value = load(payload)
    deleted = replace and db.delete(key)
    ks = db.ks
    if ttl and not absttl:
        ttl += ks.now_ms
    if ttl and ttl <= ks.now_ms and not ks.loading:
        if deleted:
            client.propagate_as = [[b"DEL", key]]
        return OK
    db.store(key, value)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            client.propagate_as = [[argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    if idle >= 0 and not _lfu_policy(client):
        db.lru[key] = ks.lru_clock - idle
    return OK
