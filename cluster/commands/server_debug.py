"""DEBUG (SLEEP, DIGEST, DIGEST-VALUE, RELOAD, LOADAOF, OBJECT, ERROR, HELP; the rest in
cluster.commands.debug_subcommands) and MEMORY (USAGE, HELP, ...).

The dataset digest is order-independent: each key's digest (name, type, value, expiry)
is XOR-ed into the total, and unordered values (sets, hashes) XOR their members, so two
servers holding the same data agree whatever the insertion order. An empty dataset
digests to forty zeros, as in Redis.
"""
from __future__ import annotations

import hashlib
import re
import time

from cluster.commands.args import NOT_INT, SYNTAX, parse_int
from cluster.commands.debug_subcommands import HELP as DEBUG_MORE_HELP
from cluster.commands.debug_subcommands import SUBCOMMANDS as DEBUG_MORE
from cluster.commands.checks import allow_protected
from cluster.commands.help import help_reply
from cluster.commands.info_sections import peak_memory, rss_bytes
from cluster.execution.eviction import Usage
from cluster.keyspace import memory
from cluster.commands.objects import encoding_of
from cluster.encoding.dump import dump
from cluster.keyspace.databases import type_name
from cluster.persistence.aof import debug_loadaof
from cluster.persistence.rdb_file import debug_reload
from cluster.resp.reply import OK, ReplyError, Status, Verbatim
from cluster.execution.table import command, container, subcommand

ZERO_DIGEST = b"0" * 40
_STRTOD = re.compile(rb"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DEBUG_DENIED = ("ERR DEBUG command not allowed. If the enable-debug-command option is set "
                 "to \"local\", you can run it from a local connection, otherwise you need "
                 "to set this option in the configuration file, and then restart the server.")
_DEBUG_HELP = DEBUG_MORE_HELP          # Redis 7.0.15's DEBUG HELP, word for word


# -- digests ----------------------------------------------------------------------------
def _h(data: bytes) -> int:
    return int.from_bytes(hashlib.sha1(data).digest(), "big")


def _as_bytes(item) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, float):
        return repr(item).encode()
    return str(item).encode()


def value_digest(value) -> int:
    """A 160-bit digest of one value: ordered types hash in order, unordered ones XOR."""
    if isinstance(value, (bytes, bytearray, int, float, str)):
        return _h(b"v" + _as_bytes(value))
    items = getattr(value, "items", None)
    if callable(items):                       # hashes, zsets (member -> score)
        acc = 0
        for k, v in items():
            acc ^= _h(b"p" + _as_bytes(k) + b"\0" + _as_bytes(value_digest(v)))
        return _h(b"m" + acc.to_bytes(20, "big"))
    if isinstance(value, (set, frozenset)):
        acc = 0
        for member in value:
            acc ^= _h(b"s" + _as_bytes(member))
        return _h(b"u" + acc.to_bytes(20, "big"))
    try:
        parts = list(value)
    except TypeError:
        return _h(b"o" + repr(value).encode())
    h = hashlib.sha1(b"l")
    for item in parts:
        h.update(value_digest(item).to_bytes(20, "big"))
    return int.from_bytes(h.digest(), "big")


def key_digest(db, key: bytes, value) -> int:
    h = hashlib.sha1()
    h.update(b"%d\0" % len(key) + key)
    h.update(type_name(value).encode() + b"\0")
    h.update(value_digest(value).to_bytes(20, "big"))
    when = db.expires.get(key)
    if when is not None:
        h.update(b"!expire %d" % when)
    return int.from_bytes(h.digest(), "big")


def dataset_digest(keyspace) -> bytes:
    total = 0
    for db in keyspace.dbs:
        if not db.data:
            continue
        acc = 0
        for key, value in db.data.items():
            acc ^= key_digest(db, key, value)
        if acc:
            total ^= _h(b"db%d" % db.id + acc.to_bytes(20, "big"))
    return b"%040x" % total if total else ZERO_DIGEST


# -- DEBUG ------------------------------------------------------------------------------
@command("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands")
def debug(client, argv):
    node = client.node
    if not allow_protected(client, node.config["enable-debug-command"]):
        raise ReplyError(_DEBUG_DENIED)
    sub = argv[1].lower()
    argc = len(argv)
    if sub == b"help" and argc == 2:
        return help_reply("DEBUG", _DEBUG_HELP)
    if sub == b"sleep" and argc == 3:
        m = _STRTOD.match(argv[2])       # strtod: the longest numeric prefix, else 0
        seconds = float(m.group(0)) if m and m.group(0) else 0.0
        if seconds > 0:
            time.sleep(seconds)   # blocks the whole server on purpose, as Redis does
        return OK
    if sub == b"digest" and argc == 2:
        return Status(dataset_digest(node.keyspace))
    if sub == b"digest-value" and argc >= 2:
        out = []
        for key in argv[2:]:
            value = client.db.data.get(key)
            out.append(Status(ZERO_DIGEST if value is None else
                              b"%040x" % value_digest(value)))
        return out
    if sub == b"reload":
        opts = {opt.lower() for opt in argv[2:]}
        if not opts <= {b"merge", b"noflush", b"nosave"}:
            raise ReplyError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE "
                             "options.")
        failed = debug_reload(node, b"nosave" not in opts, b"noflush" not in opts,
                              b"merge" in opts)
        if failed is not None:
            raise ReplyError(failed)
        node.log.warning("DB reloaded by DEBUG RELOAD")
        return OK
    if sub == b"loadaof" and argc == 2:
        failed = debug_loadaof(node)        # flush the AOF, empty, load the AOF back
        if failed is not None:
            raise ReplyError(failed)
        node.log.warning("Append Only File loaded by DEBUG LOADAOF")
        return OK
    if sub == b"object" and argc == 3:
        return _debug_object(client, argv[2])
    if sub == b"error" and argc == 3:
        raise ReplyError(argv[2].decode("utf-8", "surrogateescape"))
    more = DEBUG_MORE.get(sub)              # PROTOCOL, SET-ACTIVE-EXPIRE, PAUSE-CRON, ...
    if more is not None and more[0](argc):
        return more[1](client, argv)
    raise ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                     "Try DEBUG HELP." % argv[1].decode("utf-8", "replace")[:128])


def _debug_object(client, key: bytes) -> Status:
    """DEBUG OBJECT: Redis's line about a value (no quicklist node details: our lists
    have no quicklist nodes to tell of)."""
    db = client.db
    value = db.data.get(key)
    if value is None:
        raise ReplyError("ERR no such key")
    clock = db.ks.lru_clock
    lru = db.lru.get(key, clock)
    length = len(dump(value)) - 11        # the RDB body: no type byte, version or CRC
    return Status(b"Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d "
                  b"lru_seconds_idle:%d" % (id(value), encoding_of(value), length,
                                             lru & 0xFFFFFF, max(0, clock - lru)))


# -- MEMORY -----------------------------------------------------------------------------
container("memory", -2, group="server", since="4.0.0",
          summary="A container for memory diagnostics commands")

_MEMORY_HELP = [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
]
@subcommand("memory", "usage", -3, "readonly", keys=(2, 2, 1), key_flags="RO",
            since="4.0.0", summary="Estimate the memory usage of a key")
def memory_usage(client, argv):
    samples = 5
    j = 3
    while j < len(argv):
        if argv[j].lower() == b"samples" and j + 1 < len(argv):
            samples = parse_int(argv[j + 1], NOT_INT)
            if samples < 0:
                raise ReplyError(SYNTAX)
            if samples == 0:
                samples = 2**63 - 1
            j += 2
        else:
            raise ReplyError(SYNTAX)
    key = argv[2]
    value = client.db.data.get(key)
    if value is None:
        return None
    return memory.usage(key, value, samples)


@subcommand("memory", "purge", 2, "", since="4.0.0",
            summary="Ask the allocator to release memory",
            tips="request_policy:all_shards response_policy:all_succeeded")
def memory_purge(client, argv):
    return OK


@subcommand("memory", "malloc-stats", 2, "", since="4.0.0",
            summary="Show allocator internal stats",
            tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_malloc_stats(client, argv):
    return b"Stats not supported for the current allocator"


@subcommand("memory", "doctor", 2, "", since="4.0.0", summary="Outputs memory problems report",
            tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_doctor(client, argv):
    if client.node.keyspace.total_keys() == 0:
        text = ("Hi Sam, this instance is empty or is using very little memory, my issues "
                "detector can't be used in these conditions. Please, leave for your mission "
                "on Earth and fill it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.\n")
    else:
        text = ("Hi Sam, I can't find any memory issue in your instance. I can only account "
                "for what occurs on this base.\n")
    return Verbatim(text.encode())


@subcommand("memory", "stats", 2, "", since="4.0.0",
            summary="Show memory usage details",
            tips="nondeterministic_output request_policy:all_shards response_policy:special")
def memory_stats(client, argv):
    """MEMORY STATS: Redis's fields, from the figures INFO memory reports (the estimate
    of cluster.execution.eviction.Usage; allocator figures: the process's RSS)."""
    node = client.node
    usage = Usage(node)
    used = usage.used
    peak = peak_memory(node, used)
    startup = usage.startup
    keys = node.keyspace.total_keys()
    dataset = usage.dataset
    net = max(1, used - startup)
    rss = rss_bytes()
    out = {b"peak.allocated": peak, b"total.allocated": used,
           b"startup.allocated": startup, b"replication.backlog": usage.backlog,
           b"clients.slaves": usage.clients_replicas, b"clients.normal": usage.clients_normal,
           b"cluster.links": 0, b"aof.buffer": usage.aof, b"lua.caches": 0,
           b"functions.caches": usage.functions}
    for db in node.keyspace:
        if db.data:
            n = len(db.data)
            out[b"db.%d" % db.id] = {
                b"overhead.hashtable.main": n * memory.KEY_SLOTS,
                b"overhead.hashtable.expires": len(db.expires) * memory.EXPIRE_SLOT,
                b"overhead.hashtable.slot-to-keys":
                    n * memory.SLOT_INDEX if db.slot_keys is not None else 0}
    out.update({
        b"overhead.total": usage.overhead, b"keys.count": keys,
        b"keys.bytes-per-key": (used - startup) // keys if keys else 0,
        b"dataset.bytes": dataset,
        b"dataset.percentage": float(dataset * 100 / net),
        b"peak.percentage": float(used * 100 / peak if peak else 0.0),
        b"allocator.allocated": used, b"allocator.active": used, b"allocator.resident": rss,
        b"allocator-fragmentation.ratio": float(1.0), b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": float(1.0), b"allocator-rss.bytes": 0,
        b"rss-overhead.ratio": float(1.0), b"rss-overhead.bytes": 0,
        b"fragmentation": float(rss / used if used else 1.0),
        b"fragmentation.bytes": rss - used})
    return out


@subcommand("memory", "help", 2, "loading stale", since="4.0.0",
            summary="Show helpful text about the different subcommands")
def memory_help(client, argv):
    return help_reply("MEMORY", _MEMORY_HELP)
