"""The bytes of an AOF base file, written from a `cluster.keyspace.snapshot` view: an RDB
with the `aof-base` aux field (aof-use-rdb-preamble yes) or the commands that rebuild the
dataset (no), as Redis's rewriteAppendOnlyFileRio. Used by a rewrite
(cluster.persistence.aof_rewrite) and by the first start with appendonly yes
(cluster.persistence.aof).
"""
from __future__ import annotations

from cluster.encoding.dump import dump
from cluster.encoding.rdb import default_aux, rdb_chunks
from cluster.keyspace.stream import Stream
from cluster.persistence.aof_stream import stream_commands
from cluster.replication.propagate import encode_command

ITEMS_PER_CMD = 64          # AOF_REWRITE_ITEMS_PER_CMD
KEYS_PER_CHUNK = 512        # keys per yielded chunk of a commands base


def base_chunks(node, view, rdb: bool):
    """The new base file's bytes, chunk by chunk: an RDB (aof-base 1) or commands."""
    if rdb:
        aux = default_aux(node)
        aux[b"aof-base"] = b"1"
        yield from rdb_chunks(view, aux, node.config["list-max-listpack-size"],
                              compress=node.config["rdbcompression"])
        return
    yield from command_chunks(view)


def command_chunks(view):
    """A commands base: a FUNCTION LOAD per function library (rewriteFunctions), then per
    non-empty database a SELECT, then per key SET (strings), RPUSH in runs of
    ITEMS_PER_CMD (lists), XADD ... (streams: aof_stream), RESTORE of its DUMP (other
    types), PEXPIREAT."""
    out: list[bytes] = [encode_command([b"FUNCTION", b"LOAD", code])
                        for code in getattr(view, "functions", ())]
    size = 0
    for db_id, data, expires in view:
        if not data:
            continue
        out.append(encode_command([b"SELECT", b"%d" % db_id]))
        for key, value in data.items():
            if value.__class__ is bytes:
                out.append(encode_command([b"SET", key, value]))
            elif value.__class__.__name__ == "deque":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    out.append(encode_command([b"RPUSH", key, *items[i:i + ITEMS_PER_CMD]]))
            elif value.__class__ is Stream:
                out.extend(encode_command(argv) for argv in stream_commands(key, value))
            else:
                out.append(encode_command([b"RESTORE", key, b"0", dump(value)]))
            when = expires.get(key)
            if when is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % when]))
            size += 1
            if size >= KEYS_PER_CHUNK:
                yield b"".join(out)
                out, size = [], 0
    if out:
        yield b"".join(out)
