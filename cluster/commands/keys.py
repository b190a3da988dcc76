"""Generic key commands: DEL UNLINK EXISTS TOUCH TYPE RENAME RENAMENX COPY MOVE SWAPDB KEYS
SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL, as Redis 7.0.15 answers them. The expiry family is
in `cluster.commands.expire`, OBJECT in `cluster.commands.objects`, DUMP and RESTORE in
`cluster.commands.serialize`.

SCAN's cursor is Redis's reverse-binary bucket cursor over a per-database hash index
(`cluster.keyspace.scanindex`, which explains why every key present for a whole iteration is
returned at least once even when keys come and go between calls).
"""
from __future__ import annotations

import copy

from cluster.commands.args import NOT_INT, SYNTAX, parse_int, string2ll
from cluster.commands.persistence import flushall_save
from cluster.base.glob import compile_glob
from cluster.keyspace.databases import type_name
from cluster.keyspace.notify import GENERIC, notify
from cluster.resp.reply import OK, ReplyError, Status
from cluster.keyspace.scanindex import ScanIndex
from cluster.execution.table import command

SAME_OBJECT = "ERR source and destination objects are the same"
DB_RANGE = "ERR DB index is out of range"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
NO_SUCH_KEY = "ERR no such key"
_MULTI_TIPS = "request_policy:multi_shard response_policy:agg_sum"
_ALL_SHARDS_OK = "request_policy:all_shards response_policy:all_succeeded"


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
    return copy.deepcopy(value)


# -- existence, deletion, type ------------------------------------------------------

def _delete(client, argv):
    db = client.db
    deleted = 0
    for key in argv[1:]:
        if db.peek(key) is not None and db.delete(key):
            deleted += 1
            notify(client, GENERIC, b"del", key)
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
    notify(client, GENERIC, b"rename_from", src)
    notify(client, GENERIC, b"rename_to", dst)
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
    notify(client, GENERIC, b"copy_to", newkey, dst.id)
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
    notify(client, GENERIC, b"move_from", key, src.id)
    notify(client, GENERIC, b"move_to", key, dst.id)
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
    node = client.node
    ks = node.keyspace
    for db in ks.dbs:
        db.flush()
    ks.dirty += 1
    node.replica_ttl_keys.forget_all()      # flushSlaveKeysWithExpireList
    flushall_save(node)                     # with save points: the empty dataset, now
    return OK
