"""Streams in DUMP payloads and RDB files, as Redis 7.0 writes them (rdb.c rdbSaveObject /
rdbLoadObject, t_stream.c streamAppendItem), registered in `cluster.encoding.dump`'s
SAVERS / LOADERS.

Type 19 (RDB_TYPE_STREAM_LISTPACKS_2), written:

    <nodes: len> ( <master id: 16-byte string, ms and seq big-endian> <listpack: string> )*
    <length> <last id: ms, seq> <first id: ms, seq> <max deleted id: ms, seq> <entries added>
    <groups: len> ( <name> <last id: ms, seq> <entries read (-1: 2**64-1)>
                    <PEL: len> ( <id: 16 raw bytes> <delivery time: 8 bytes LE> <count: len> )*
                    <consumers: len> ( <name> <seen time: 8 bytes LE>
                                       <PEL: len> ( <id: 16 raw bytes> )* )* )*

(every "ms", "seq", count and length is an RDB length). Groups and consumers come in
name order (Redis keeps them in a rax), PELs in id order.

A node's listpack (t_stream.c's layout):

    master entry: count, deleted, num-fields, field_1 .. field_N, 0
    per entry:    flags, ms-delta, seq-delta, value_1 .. value_N, lp-count      (same fields)
                  flags, ms-delta, seq-delta, num-fields, field_1, value_1 .. field_N,
                  value_N, lp-count                                          (others)
    flags: 1 deleted, 2 same fields as the master entry (then the field names are left
    out); the deltas are from the node's master id (mod 2**64); lp-count is the number
    of listpack elements of the entry before it (flags and deltas included).

The model (`cluster.keyspace.stream`) keeps the live entries in one sorted map and, per
node, what Redis's node decisions read (master id and fields, live and deleted counts,
last id, listpack size). A save writes the model's nodes, live entries only: a stream
built by XADDs (no XDEL / trim inside a node) is written byte for byte as Redis writes
it; where Redis keeps deleted entries as flagged tombstones we write none (the node then
has the same master id and fields, fewer bytes). A stream whose nodes the model does not
track is cut as streamAppendItem cuts with Redis's default limits. A load gives the model
the payload's nodes exactly (their byte sizes and tombstone counts included), so XADD,
`~` trims and XINFO carry on as in the Redis that wrote them.

Read: types 19 and 15 (RDB_TYPE_STREAM_LISTPACKS, Redis 5/6: no first id, max deleted
id, entries added or entries read; those are derived as Redis 7.0 derives them). Every
listpack is validated deeply whatever sanitize-dump-payload says, and so is the rest:
ids in order and at most the last id, node counts matching the entry flags, length
matching the live entries, no duplicate group / consumer / PEL entry, every group PEL
entry owned by exactly one consumer. Anything else is `Corrupt` (RESTORE's
`Bad data format`, a refused RDB), raised before any part of the stream is handed out.
"""
from __future__ import annotations

from sortedcontainers import SortedDict

from cluster.base.numbers import string2ll
from cluster.encoding.dump import (LOADERS, SAVERS, Corrupt, Reader, encode_len, encode_string,
                                   listpack, listpack_entry, parse_listpack)
from cluster.keyspace.stream import (INVALID_ENTRIES_READ, Consumer, ConsumerGroup, Node,
                                     PendingEntry, Stream)

TYPE_STREAM_LISTPACKS = 15
TYPE_STREAM_LISTPACKS_2 = 19

FLAG_DELETED = 1
FLAG_SAMEFIELDS = 2
LISTPACK_MAX_SIZE = 1 << 30          # STREAM_LISTPACK_MAX_SIZE
U64 = 1 << 64
I64_MAX = (1 << 63) - 1

# Redis's defaults: how a stream whose nodes the model does not track is cut (the model's
# own `rebuild_nodes` uses the same).
DEFAULT_NODE_MAX_ENTRIES = 100
DEFAULT_NODE_MAX_BYTES = 4096


# -- writing --------------------------------------------------------------------------
_small_ints: dict[int, bytes] = {}      # flags, deltas, counts: mostly small


def _int_entry(v: int) -> bytes:
    """lpAppendInteger's element for v (cached for the 13-bit range)."""
    entry = _small_ints.get(v)
    if entry is None:
        entry = listpack_entry(b"%d" % v)
        if -4096 <= v < 4096:
            _small_ints[v] = entry
    return entry


def _signed(v: int) -> int:
    """An unsigned 64-bit difference as the int64 lpAppendInteger stores."""
    v %= U64
    return v - U64 if v > I64_MAX else v


def raw_id(sid) -> bytes:
    """streamEncodeID: ms and seq as 64-bit big-endian."""
    return sid[0].to_bytes(8, "big") + sid[1].to_bytes(8, "big")


class _Listpack:
    """One node's listpack being filled, as streamAppendItem fills the tail node."""

    __slots__ = ("master", "fields", "body", "size", "count")

    def __init__(self, master, fields: tuple):
        self.master = master
        self.fields = fields
        # everything after the count element: deleted (0), num-fields, fields, 0
        self.body = [_int_entry(0), _int_entry(len(fields)),
                     *(listpack_entry(f) for f in fields), _int_entry(0)]
        self.size = sum(map(len, self.body))
        self.count = 0

    def lp_bytes(self) -> int:
        """lpBytes: header, count element, the rest, end byte."""
        return 7 + len(_int_entry(self.count)) + self.size

    def add(self, sid, fv: tuple) -> None:
        fields = fv[0::2]
        same = fields == self.fields
        n = len(fields)
        parts = [_int_entry(FLAG_SAMEFIELDS if same else 0),
                 _int_entry(_signed(sid[0] - self.master[0])),
                 _int_entry(_signed(sid[1] - self.master[1]))]
        if same:
            parts.extend(listpack_entry(v) for v in fv[1::2])
            parts.append(_int_entry(n + 3))
        else:
            parts.append(_int_entry(n))
            parts.extend(listpack_entry(x) for x in fv)     # field, value, field, ...
            parts.append(_int_entry(n + 3 + n + 1))
        self.body.extend(parts)
        self.size += sum(map(len, parts))
        self.count += 1

    def blob(self) -> bytes:
        return listpack([_int_entry(self.count), *self.body])


def cut_nodes(entries, max_entries: int = DEFAULT_NODE_MAX_ENTRIES,
              max_bytes: int = DEFAULT_NODE_MAX_BYTES) -> list[tuple[bytes, bytes]]:
    """(master id key, listpack) of each node, cut as streamAppendItem cuts them."""
    node_max = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
    nodes: list[tuple[bytes, bytes]] = []
    lp: _Listpack | None = None
    size = 0                               # lp_bytes of `lp`, kept up to date
    for sid, fv in entries.items():
        if lp is not None:
            total = sum(map(len, fv))
            if size + total >= node_max or (max_entries and lp.count >= max_entries):
                nodes.append((raw_id(lp.master), lp.blob()))
                lp = None
        if lp is None:
            lp = _Listpack(sid, fv[0::2])
        lp.add(sid, fv)
        size = lp.lp_bytes()
    if lp is not None:
        nodes.append((raw_id(lp.master), lp.blob()))
    return nodes


def model_nodes(value: Stream) -> list[tuple[bytes, bytes]] | None:
    """(master id key, listpack) of each node the model tracks, live entries only (a
    node left with tombstones alone is not written); None when the model's nodes do not
    account for every entry (they are rebuilt on first need: cut as Redis would)."""
    nodes = value.nodes
    if sum(node.live for node in nodes) != len(value.entries):
        return None
    out: list[tuple[bytes, bytes]] = []
    entries = value.entries
    for i, node in enumerate(nodes):
        if not node.live:
            continue
        end = nodes[i + 1].master if i + 1 < len(nodes) else None
        lp = _Listpack(node.master, node.fields)
        for sid in entries.irange(node.master, end, inclusive=(True, False)):
            lp.add(sid, entries[sid])
        if lp.count != node.live:
            return None
        out.append((raw_id(node.master), lp.blob()))
    return out


def _save_pel_ids(pel) -> bytes:
    return encode_len(len(pel)) + b"".join(raw_id(sid) for sid in pel)


def save_stream(value: Stream, fill: int = -2) -> bytes:
    nodes = model_nodes(value)
    if nodes is None:
        nodes = cut_nodes(value.entries)
    parts = [bytes((TYPE_STREAM_LISTPACKS_2,)), encode_len(len(nodes))]
    for key, blob in nodes:
        parts.append(encode_string(key))
        parts.append(encode_string(blob))
    first = value.first_id()
    for n in (len(value.entries), *value.last_id, *first, *value.max_deleted_id,
              value.entries_added):
        parts.append(encode_len(n))
    groups = value.groups
    parts.append(encode_len(len(groups)))
    for name in sorted(groups):
        group = groups[name]
        parts.append(encode_string(name))
        parts.append(encode_len(group.last_id[0]))
        parts.append(encode_len(group.last_id[1]))
        parts.append(encode_len(group.entries_read % U64))
        parts.append(encode_len(len(group.pel)))
        for sid, pending in group.pel.items():
            parts.append(raw_id(sid))
            parts.append((pending.delivery_time % U64).to_bytes(8, "little"))
            parts.append(encode_len(pending.delivery_count % U64))
        consumers = group.consumers
        parts.append(encode_len(len(consumers)))
        for cname in sorted(consumers):
            consumer = consumers[cname]
            parts.append(encode_string(cname))
            parts.append((consumer.seen_time % U64).to_bytes(8, "little"))
            parts.append(_save_pel_ids(consumer.pel))
    return b"".join(parts)


# -- reading --------------------------------------------------------------------------
def _int(item: bytes) -> int:
    """lpGetIntegerIfValid: an element that must be an integer."""
    v = string2ll(item)
    if v is None:
        raise Corrupt("stream listpack element is not an integer")
    return v


def parse_node(key: bytes, blob: bytes, out: dict, after) -> Node:
    """Add the live entries of one node to `out` (id -> fields and values); the model's
    Node for it. `after`: the previous node's last id (every id must be above it)."""
    if len(key) != 16:
        raise Corrupt("Stream node key entry is not the size of a stream ID")
    master = (int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big"))
    items = parse_listpack(blob)
    if not items:
        raise Corrupt("Empty listpack inside stream")
    n = len(items)
    if n < 4:
        raise Corrupt("short stream master entry")
    count, deleted, nfields = _int(items[0]), _int(items[1]), _int(items[2])
    if count < 0 or deleted < 0 or nfields < 1 or 3 + nfields >= n:
        raise Corrupt("bad stream master entry")
    master_fields = tuple(items[3:3 + nfields])
    if _int(items[3 + nfields]) != 0:
        raise Corrupt("stream master entry without its terminator")
    pos = 4 + nfields
    live = dead = 0
    last = after
    while pos < n:
        if pos + 3 > n:
            raise Corrupt("truncated stream entry")
        flags = _int(items[pos])
        if flags & ~(FLAG_DELETED | FLAG_SAMEFIELDS):
            raise Corrupt("unknown stream entry flags")
        sid = ((master[0] + _int(items[pos + 1])) % U64,
               (master[1] + _int(items[pos + 2])) % U64)
        start = pos
        pos += 3
        if flags & FLAG_SAMEFIELDS:
            k = nfields
            if pos + k >= n:
                raise Corrupt("truncated stream entry")
            fv = [None] * (2 * k)
            fv[0::2] = master_fields
            fv[1::2] = items[pos:pos + k]
            extra = 3
        else:
            if pos >= n:
                raise Corrupt("truncated stream entry")
            k = _int(items[pos])
            pos += 1
            if k < 1 or pos + 2 * k >= n:
                raise Corrupt("bad stream entry field count")
            fv = items[pos:pos + 2 * k]       # field, value, field, value ...
            pos += k
            extra = 3 + k + 1
        pos += k
        if _int(items[pos]) != k + extra or pos - start != k + extra:
            raise Corrupt("stream entry lp-count mismatch")
        pos += 1
        if sid < master or (last is not None and sid <= last):
            raise Corrupt("stream entry ids out of order")
        last = sid
        if flags & FLAG_DELETED:
            dead += 1
            continue
        live += 1
        out[sid] = tuple(fv)
    if live != count or dead != deleted:
        raise Corrupt("stream node counts do not match its entries")
    if last is after:
        raise Corrupt("stream node without entries")
    node = Node(master, master_fields)
    node.live = live
    node.deleted = dead
    node.last = last
    node.nbytes = len(blob)
    return node


def _read_id(r: Reader) -> tuple[int, int]:
    return r.plain_length(), r.plain_length()


def _read_raw_id(r: Reader) -> tuple[int, int]:
    raw = r.read(16)
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")


def _read_ms(r: Reader) -> int:
    return int.from_bytes(r.read(8), "little", signed=True)


def load_stream(r: Reader, rdbtype: int) -> Stream:
    entries: dict = {}
    nodes: list[Node] = []
    keys: set[bytes] = set()
    last = None
    for _ in range(r.plain_length()):
        key = r.string()
        blob = r.string()
        if key in keys:
            raise Corrupt("Listpack re-added with existing key")
        keys.add(key)
        node = parse_node(key, blob, entries, last)
        last = node.last
        nodes.append(node)
    length = r.plain_length()
    last_id = _read_id(r)
    if rdbtype == TYPE_STREAM_LISTPACKS_2:
        _read_id(r)               # first id: the model derives it from the entries
        max_deleted = _read_id(r)
        entries_added = r.plain_length()
    else:
        max_deleted = (0, 0)
        entries_added = length
    if length != len(entries):
        raise Corrupt("Stream length inconsistent with its entries")
    if last is not None and last > last_id:
        raise Corrupt("Stream last id below one of its entries")
    if entries_added < length:
        raise Corrupt("Stream entries added below its length")
    stream = Stream()
    stream.entries = SortedDict(entries)
    stream.last_id = last_id
    stream.max_deleted_id = max_deleted
    stream.entries_added = entries_added
    stream.set_nodes(nodes)
    groups: dict[bytes, ConsumerGroup] = {}
    for _ in range(r.plain_length()):
        name = r.string()
        gid = _read_id(r)
        if rdbtype == TYPE_STREAM_LISTPACKS_2:
            entries_read = r.plain_length()
            if entries_read == U64 - 1:
                entries_read = INVALID_ENTRIES_READ
            elif entries_read > I64_MAX:
                raise Corrupt("bad consumer group entries read")
        else:
            entries_read = stream.estimate_distance(gid)
        if name in groups:
            raise Corrupt("Duplicated consumer group name")
        group = ConsumerGroup(name, gid, entries_read)
        pel = group.pel
        for _ in range(r.plain_length()):
            sid = _read_raw_id(r)
            if sid in pel:
                raise Corrupt("Duplicated global PEL entry loading stream consumer group")
            delivery_time = _read_ms(r)
            pel[sid] = PendingEntry(None, delivery_time, r.plain_length())
        consumers = group.consumers
        for _ in range(r.plain_length()):
            cname = r.string()
            if cname in consumers:
                raise Corrupt("Duplicate stream consumer detected.")
            consumer = Consumer(cname, _read_ms(r))
            consumers[cname] = consumer
            for _ in range(r.plain_length()):
                sid = _read_raw_id(r)
                pending = pel.get(sid)
                if pending is None:
                    raise Corrupt("Consumer entry not found in group global PEL")
                if pending.consumer is not None:
                    raise Corrupt("Stream PEL entry owned by two consumers")
                pending.consumer = consumer
                consumer.pel[sid] = pending
        if any(pending.consumer is None for pending in pel.values()):
            raise Corrupt("Stream CG PEL entry without consumer")
        if len(consumers) > 1:
            group.consumers = {c: consumers[c] for c in sorted(consumers)}
        groups[name] = group
    stream.groups = {name: groups[name] for name in sorted(groups)}
    return stream


SAVERS[Stream] = save_stream
LOADERS[TYPE_STREAM_LISTPACKS] = load_stream
LOADERS[TYPE_STREAM_LISTPACKS_2] = load_stream
