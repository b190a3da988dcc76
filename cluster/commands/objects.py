"""OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP: how Redis 7.0.15 would store and
account a key's value (encodings by size and type, shared integers, LRU clock and LFU
counter).
"""
from __future__ import annotations

from cluster.commands.args import string2ll
from cluster.commands.help import help_reply
from cluster.keyspace import evict
from cluster.keyspace.databases import type_name
from cluster.resp.reply import ReplyError
from cluster.execution.table import container, subcommand

OBJ_SHARED_REFCOUNT = 2147483647
OBJ_SHARED_INTEGERS = 10000

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


def lfu_policy(client) -> bool:
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


def _lookup(db, key: bytes):
    """OBJECT's lookup: counts a hit or miss but fires no "keymiss" (LOOKUP_NONOTIFY)."""
    ks = db.ks
    on_miss, ks.on_miss = ks.on_miss, None
    try:
        return db.lookup_read(key, False)
    finally:
        ks.on_miss = on_miss


@subcommand("object", "encoding", 3, "readonly", since="2.2.3",
            summary="Inspect the internal encoding of a Redis object", **_OBJECT_SUB)
def object_encoding(client, argv):
    value = _lookup(client.db, argv[2])
    return None if value is None else encoding_of(value)


@subcommand("object", "refcount", 3, "readonly", since="2.2.3",
            summary="Get the number of references to the value of the key", **_OBJECT_SUB)
def object_refcount(client, argv):
    value = _lookup(client.db, argv[2])
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
    if _lookup(db, key) is None:
        return None
    if lfu_policy(client):
        raise ReplyError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
            "when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust.")
    return evict.idle_seconds(db, key)


@subcommand("object", "freq", 3, "readonly", since="4.0.0",
            summary="Get the logarithmic access frequency counter of a Redis object",
            **_OBJECT_SUB)
def object_freq(client, argv):
    db = client.db
    key = argv[2]
    if _lookup(db, key) is None:
        return None
    if not lfu_policy(client):
        raise ReplyError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
            "Please note that when switching between policies at runtime LRU and LFU data "
            "will take some time to adjust.")
    ks = db.ks
    return evict.lfu_decayed(db.lru.get(key), ks.now_ms, ks.lfu_decay_time)


@subcommand("object", "help", 2, "loading stale", acl="@keyspace", since="6.2.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def object_help(client, argv):
    return help_reply("OBJECT", _OBJECT_HELP)
