"""DUMP and RESTORE: values serialized in Redis's own payload format (`cluster.encoding.dump`: RDB
v10 encoding, version and CRC64 trailer), so payloads move both ways between this server
and a real Redis.
"""
from __future__ import annotations

from cluster.commands.args import SYNTAX, parse_int
from cluster.commands.objects import lfu_policy
from cluster.encoding import dump_stream  # noqa: F401  (registers the stream DUMP/RDB encodings)
from cluster.encoding.dump import BAD_PAYLOAD, dump, load, verify
from cluster.keyspace import evict
from cluster.keyspace.notify import GENERIC, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import OK, ReplyError
from cluster.execution.table import command


def list_fill(client) -> int:
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
    return dump(value, list_fill(client), client.node.config["rdbcompression"])


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
            notify(client, GENERIC, b"del", key)
            return Rewritten(OK, [[b"DEL", key]])
        return OK
    db.store(key, value)
    notify(client, GENERIC, b"restore", key)
    rewrite = None
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            rewrite = [[argv[0], key, b"%d" % ttl, *argv[3:], b"ABSTTL"]]
    if lfu_policy(client):                    # objectSetLRUOrLFU
        if freq >= 0:
            db.lru[key] = (evict.lfu_minutes(ks.now_ms) << 8) | freq
    elif idle >= 0:
        db.lru[key] = ks.lru_clock - idle
    return OK if rewrite is None else Rewritten(OK, rewrite)
