"""A stream in a commands AOF base (aof-use-rdb-preamble no): Redis 7.0's
rewriteStreamObject (aof.c), command for command.

    XADD <key> <id> <field> <value> ...                   one per entry, in id order
      (an empty stream: XADD <key> MAXLEN 0 0-1 x y, which leaves it empty)
    XSETID <key> <last id> ENTRIESADDED <n> MAXDELETEDID <id>
    per group, in name order:
      XGROUP CREATE <key> <group> <last id> ENTRIESREAD <n>
      per consumer, in name order:
        XGROUP CREATECONSUMER <key> <group> <consumer>        (no pending entries)
        XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <count> JUSTID FORCE
                                                              (one per pending entry)

Replaying them rebuilds the entries, the last id, the counters, the groups and their
PELs (delivery times and counts). Like Redis, it does not keep a consumer's seen time
(the replay sets it to the time of the replay) nor the node layout (the replay cuts it
under the replaying node's limits).
"""
from __future__ import annotations

from cluster.keyspace.stream import Stream

I64 = 1 << 63


def _id(sid) -> bytes:
    return b"%d-%d" % sid


def _ll(v: int) -> bytes:
    """rioWriteBulkLongLong of a value Redis keeps unsigned (wraps like the C cast)."""
    v %= 1 << 64
    return b"%d" % (v - (1 << 64) if v >= I64 else v)


def stream_commands(key: bytes, stream: Stream):
    """The commands that rebuild `stream` under `key`, one argv list at a time."""
    if stream.entries:
        for sid, fv in stream.entries.items():
            yield [b"XADD", key, _id(sid), *fv]
    else:
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [b"XSETID", key, _id(stream.last_id), b"ENTRIESADDED", _ll(stream.entries_added),
           b"MAXDELETEDID", _id(stream.max_deleted_id)]
    for name in sorted(stream.groups):
        group = stream.groups[name]
        yield [b"XGROUP", b"CREATE", key, name, _id(group.last_id), b"ENTRIESREAD",
               _ll(group.entries_read)]
        for cname in sorted(group.consumers):
            consumer = group.consumers[cname]
            if not consumer.pel:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, cname]
                continue
            for sid, pending in consumer.pel.items():
                yield [b"XCLAIM", key, name, cname, b"0", _id(sid), b"TIME",
                       _ll(pending.delivery_time), b"RETRYCOUNT",
                       _ll(pending.delivery_count), b"JUSTID", b"FORCE"]
