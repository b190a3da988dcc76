"""Streams in DUMP payloads (cluster.encoding.dump_stream): Redis 7.0.15's own payloads
read and written back byte for byte, round trips of model instances (empty, deleted
entries, many nodes, groups with PELs and consumers, extreme ids), the type-15 (Redis 5/6)
layout, the AOF rewrite's command form, and corrupt payloads refused cleanly."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.base.crc64 import crc64
from cluster.encoding import dump_stream as DS
from cluster.encoding.dump import BAD_FORMAT, Reader, dump, encode_len, load, verify
from cluster.keyspace.stream import Consumer, ConsumerGroup, PendingEntry, Stream
from cluster.persistence.aof_stream import stream_commands
from cluster.resp.reply import ReplyError

U64 = 2**64 - 1

# Captured from a real redis-server 7.0.15 (default config, rdbcompression yes):
#   XADD s 1700000000000-0 a 1 b hello; XADD s 1700000000000-1 a 2 b world;
#   XADD s 1700000000005-0 c -7; XADD s 1700000000005-3 a 3 b <30 x>;
#   XGROUP CREATE s g 0; XGROUP CREATE s empty $;
#   XREADGROUP GROUP g alice COUNT 2 ...; XREADGROUP GROUP g bob COUNT 1 ...;
#   XGROUP CREATECONSUMER s g carol;
#   XCLAIM s g bob 0 1700000000000-1 TIME 1700000001234 RETRYCOUNT 3 FORCE JUSTID;
#   XCLAIM s g alice 0 1700000000000-0 TIME 1700000001000 RETRYCOUNT 1 FORCE JUSTID
# -> DUMP s = REAL_S0; then XDEL s 1700000000005-0 -> DUMP s = REAL_S (a tombstone).
#   XADD e 5-5 x y; XTRIM e MAXLEN 0; XGROUP CREATE e g $ -> DUMP e = REAL_E.
REAL_S0 = (
    b'\x13\x01\x10\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3@U@q'
    b'\x11q\x00\x00\x00\x1f\x00\x04\x01\x00\x01\x02\x01\x81a\x02\x81b\x02@\t\x00\x00 \x01'
    b'\t\x01\x01\x85hello\x06\x05 \x1a@\x0e\x07\x02\x01\x85world \x10\x01\x00\x01@\x03\x08'
    b'\x01\x01\x81c\x02\xdf\xf9\x02\x06 \x1a\x02\x05\x01\x03 \x01\x01\x9ex\xe0\x14\x00\x03'
    b'\x1f\x05\x01\xff\x04\x81\x00\x00\x01\x8b\xcf\xe5h\x05\x03\x81\x00\x00\x01\x8b\xcf'
    b'\xe5h\x00\x00\x00\x00\x04\x02\x05empty\x81\x00\x00\x01\x8b\xcf\xe5h\x05\x03\x81\xff'
    b'\xff\xff\xff\xff\xff\xff\xff\x00\x00\x01g\x81\x00\x00\x01\x8b\xcf\xe5h\x05\x00\x03'
    b'\x03\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe8k\xe5\xcf\x8b'
    b'\x01\x00\x00\x01\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x01\xd2l'
    b'\xe5\xcf\x8b\x01\x00\x00\x03\x00\x00\x01\x8b\xcf\xe5h\x05\x00\x00\x00\x00\x00\x00'
    b'\x00\x00\x1eJ\xc0R\xa2\x01\x00\x00\x01\x03\x05alice\x1fJ\xc0R\xa2\x01\x00\x00\x01'
    b'\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03bob\x1fJ\xc0R\xa2'
    b'\x01\x00\x00\x02\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00'
    b'\x00\x01\x8b\xcf\xe5h\x05\x00\x00\x00\x00\x00\x00\x00\x00\x05carol\x1fJ\xc0R\xa2\x01'
    b'\x00\x00\x00\n\x00\xa8G\x11dA\x7f\x9e-')
REAL_S = (
    b'\x13\x01\x10\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3@S@q'
    b'\x12q\x00\x00\x00\x1f\x00\x03\x01\x01\x01\x02\x01\x81a\x02\x81b\x02\x00 \t\x00\x00 '
    b'\x01\t\x01\x01\x85hello\x06\x05`\x10@ \x05\x85world \x10\x02\x01\x01\x05`!\x06\x81c'
    b'\x02\xdf\xf9\x02\x06  \x02\x05\x01\x03 \x01\x01\x9ex\xe0\x14\x00\x03\x1f\x05\x01\xff'
    b'\x03\x81\x00\x00\x01\x8b\xcf\xe5h\x05\x03\x81\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x81'
    b'\x00\x00\x01\x8b\xcf\xe5h\x05\x00\x04\x02\x05empty\x81\x00\x00\x01\x8b\xcf\xe5h\x05'
    b'\x03\x81\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x01g\x81\x00\x00\x01\x8b\xcf\xe5h'
    b'\x05\x00\x03\x03\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe8k'
    b'\xe5\xcf\x8b\x01\x00\x00\x01\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00'
    b'\x00\x01\xd2l\xe5\xcf\x8b\x01\x00\x00\x03\x00\x00\x01\x8b\xcf\xe5h\x05\x00\x00\x00'
    b'\x00\x00\x00\x00\x00\x1eJ\xc0R\xa2\x01\x00\x00\x01\x03\x05alice\x1fJ\xc0R\xa2\x01'
    b'\x00\x00\x01\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03bob\x1f'
    b'J\xc0R\xa2\x01\x00\x00\x02\x00\x00\x01\x8b\xcf\xe5h\x00\x00\x00\x00\x00\x00\x00\x00'
    b'\x01\x00\x00\x01\x8b\xcf\xe5h\x05\x00\x00\x00\x00\x00\x00\x00\x00\x05carol\x1fJ\xc0R'
    b'\xa2\x01\x00\x00\x00\n\x00\x83;62\xdf\xd7+\xaa')
REAL_E = (
    b'\x13\x00\x00\x05\x05\x00\x00\x00\x00\x01\x01\x01g\x05\x05\x81\xff\xff\xff\xff\xff'
    b'\xff\xff\xff\x00\x00\n\x00\\"$\xc8BX\x81\x15')


def wrap(body: bytes, version: int = 10) -> bytes:
    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def picture(s: Stream) -> dict:
    """Everything a stream holds that a payload carries, comparable with ==."""
    groups = {}
    for name, g in s.groups.items():
        assert g.name == name
        for sid, p in g.pel.items():
            assert p.consumer.pel[sid] is p
        groups[name] = (
            g.last_id, g.entries_read,
            [(sid, p.delivery_time, p.delivery_count, p.consumer.name)
             for sid, p in g.pel.items()],
            {c: (cons.seen_time, list(cons.pel)) for c, cons in g.consumers.items()})
    return {"entries": list(s.entries.items()), "last_id": s.last_id,
            "max_deleted_id": s.max_deleted_id, "entries_added": s.entries_added,
            "groups": groups}


def nodes_of(s: Stream) -> list:
    return [(n.master, n.fields, n.live, n.deleted, n.last, n.nbytes) for n in s.nodes]


def roundtrip(s: Stream, compress: bool = True) -> Stream:
    payload = dump(s, compress_strings=compress)
    assert verify(payload)
    back = load(payload)
    assert picture(back) == picture(s)
    assert dump(back, compress_strings=compress) == payload
    return back


def add_group(s: Stream, name: bytes, last_id, entries_read=-1, pending=(), idle=()):
    """pending: (consumer, id, delivery time, count); idle: consumers without entries."""
    g = ConsumerGroup(name, last_id, entries_read)
    for cname, sid, when, count in pending:
        c = g.consumers.get(cname) or g.consumers.setdefault(cname, Consumer(cname, when))
        p = PendingEntry(c, when, count)
        g.pel[sid] = p
        c.pel[sid] = p
    for cname in idle:
        g.consumers[cname] = Consumer(cname, 42)
    s.groups[name] = g
    return g


def build(n: int, seed: int = 1, max_bytes: int = 4096, max_entries: int = 100) -> Stream:
    rnd = random.Random(seed)
    s = Stream()
    ms = 1
    for i in range(n):
        ms += rnd.choice((0, 0, 1, 1000))
        seq = s.last_id[1] + 1 if ms == s.last_id[0] else rnd.choice((0, 7))
        fields = rnd.choice(((b"a",), (b"a", b"b"), (b"temp", b"hum"), (b"1",)))
        fv = tuple(x for f in fields for x in (f, rnd.choice(
            (b"%d" % rnd.randint(-10**12, 10**12), b"v" * rnd.randint(0, 80), b"", b"007"))))
        s.append((ms, seq), fv, max_bytes, max_entries)
    return s


# -- Redis's own payloads ---------------------------------------------------------------
def test_real_payload_reads_and_writes_back_byte_for_byte():
    s = load(REAL_S0)
    assert list(s.entries.items()) == [
        ((1700000000000, 0), (b"a", b"1", b"b", b"hello")),
        ((1700000000000, 1), (b"a", b"2", b"b", b"world")),
        ((1700000000005, 0), (b"c", b"-7")),
        ((1700000000005, 3), (b"a", b"3", b"b", b"x" * 30))]
    assert (s.last_id, s.max_deleted_id, s.entries_added) == ((1700000000005, 3), (0, 0), 4)
    assert list(s.groups) == [b"empty", b"g"]
    g = s.groups[b"g"]
    assert (g.last_id, g.entries_read) == ((1700000000005, 0), 3)
    assert [(sid, p.consumer.name, p.delivery_time, p.delivery_count)
            for sid, p in g.pel.items()][:2] == [
        ((1700000000000, 0), b"alice", 1700000001000, 1),
        ((1700000000000, 1), b"bob", 1700000001234, 3)]
    assert list(g.consumers) == [b"alice", b"bob", b"carol"]
    assert not g.consumers[b"carol"].pel
    assert s.groups[b"empty"].entries_read == -1
    assert nodes_of(s) == [((1700000000000, 0), (b"a", b"b"), 4, 0, (1700000000005, 3), 113)]
    assert dump(s) == REAL_S0


def test_real_payload_with_a_tombstone():
    s = load(REAL_S)
    assert list(s.entries) == [(1700000000000, 0), (1700000000000, 1), (1700000000005, 3)]
    assert s.max_deleted_id == (1700000000005, 0)
    # the node keeps Redis's size and its tombstone count (later XADDs cut as Redis does)
    assert nodes_of(s) == [((1700000000000, 0), (b"a", b"b"), 3, 1, (1700000000005, 3), 113)]
    again = roundtrip(s)          # written without the tombstone
    assert dump(again) != REAL_S
    assert nodes_of(again)[0][:3] == ((1700000000000, 0), (b"a", b"b"), 3)


def test_real_empty_stream_with_a_group():
    s = load(REAL_E)
    assert not s.entries and not s.nodes
    assert (s.last_id, s.entries_added) == ((5, 5), 1)
    assert s.groups[b"g"].last_id == (5, 5)
    assert dump(s) == REAL_E


# -- round trips --------------------------------------------------------------------------
def test_empty_stream():
    s = Stream()
    assert roundtrip(s).entries_added == 0
    s.last_id, s.entries_added, s.max_deleted_id = (99, 3), 17, (99, 1)
    roundtrip(s)


@pytest.mark.parametrize("limits", [(4096, 100), (200, 5), (0, 0), (1, 1), (0, 7), (50, 1000)])
def test_many_nodes_follow_the_models_nodes(limits):
    s = build(400, seed=len(limits), max_bytes=limits[0], max_entries=limits[1])
    back = roundtrip(s)
    assert [n[:3] for n in nodes_of(back)] == [n[:3] for n in nodes_of(s)]
    assert [n.live for n in back.nodes] == [n.live for n in s.nodes]
    # a freshly cut stream's listpack sizes are the model's own estimate, byte for byte
    assert [n.nbytes for n in back.nodes] == [n.nbytes for n in s.nodes]
    roundtrip(s, compress=False)


def test_deleted_entries_and_trims():
    s = build(500, seed=3)
    rnd = random.Random(4)
    for sid in rnd.sample(list(s.entries), 200):
        s.delete(sid)
        s.max_deleted_id = max(s.max_deleted_id, sid)
    s.trim(minid=list(s.entries)[40])
    back = roundtrip(s)
    # nodes keep their master ids and fields (a node left with tombstones only goes)
    assert [(n.master, n.fields, n.live) for n in back.nodes] == [
        (n.master, n.fields, n.live) for n in s.nodes if n.live]
    assert all(n.deleted == 0 for n in back.nodes)


def test_untracked_entries_are_cut_as_redis_defaults_would():
    ref = build(300, seed=9)
    s = Stream()
    s.entries = ref.entries.copy()           # filled directly: the model tracks no node
    s.last_id, s.entries_added = ref.last_id, ref.entries_added
    assert dump(s) == dump(ref)


def test_groups_pels_and_consumers():
    s = build(50, seed=5)
    ids = list(s.entries)
    add_group(s, b"zeta", ids[10], 11, pending=[(b"bob", ids[3], 1700000000123, 2),
                                               (b"al", ids[1], -5, U64),
                                               (b"bob", (0, 1), 0, 0)],   # entry long gone
              idle=[b"", b"carol"])
    add_group(s, b"alpha", (U64, U64), -1)
    add_group(s, b"", (0, 0), 0, idle=[b"x" * 100])
    back = roundtrip(s)
    assert list(back.groups) == [b"", b"alpha", b"zeta"]
    assert list(back.groups[b"zeta"].consumers) == [b"", b"al", b"bob", b"carol"]
    roundtrip(s, compress=False)


def test_extreme_ids_and_values():
    s = Stream()
    s.append((0, 1), (b"f", b"v"))
    s.append((0, U64), (b"f", b"-9223372036854775808"))
    s.append((1, 0), (b"9223372036854775807", b"x" * 5000))
    s.append((2**63, 5), (b"f", b"18446744073709551615"))
    s.append((U64, U64 - 1), (b"g", b"\x00\xff"))
    s.last_id = (U64, U64)
    s.entries_added = U64
    s.max_deleted_id = (U64, 3)
    roundtrip(s)
    roundtrip(s, compress=False)


def test_dump_of_appended_entries_matches_what_redis_writes():
    """The same XADDs as REAL_S0 (through the model, with the default limits) give
    REAL_S0's node byte for byte."""
    s = Stream()
    s.append((1700000000000, 0), (b"a", b"1", b"b", b"hello"))
    s.append((1700000000000, 1), (b"a", b"2", b"b", b"world"))
    s.append((1700000000005, 0), (b"c", b"-7"))
    s.append((1700000000005, 3), (b"a", b"3", b"b", b"x" * 30))
    real = load(REAL_S0)
    s.groups = real.groups
    assert dump(s) == REAL_S0


# -- type 15 (Redis 5 / 6) ------------------------------------------------------------------
def _v1_from(payload: bytes) -> bytes:
    """Rewrite a type-19 payload as type 15: drop first id, max deleted id, entries added
    and the groups' entries read."""
    r = Reader(payload, 1)
    out = [bytes((DS.TYPE_STREAM_LISTPACKS,))]
    start = r.pos
    for _ in range(r.plain_length()):
        r.string()
        r.string()
    for _ in range(3):
        r.plain_length()
    out.append(payload[start:r.pos])
    for _ in range(5):
        r.plain_length()
    start = r.pos
    ngroups = r.plain_length()
    out.append(payload[start:r.pos])
    for _ in range(ngroups):
        start = r.pos
        r.string()
        r.plain_length()
        r.plain_length()
        out.append(payload[start:r.pos])
        r.plain_length()                    # entries read
        start = r.pos
        for _ in range(r.plain_length()):
            r.read(16 + 8)
            r.plain_length()
        for _ in range(r.plain_length()):
            r.string()
            r.read(8)
            for _ in range(r.plain_length()):
                r.read(16)
        out.append(payload[start:r.pos])
    return wrap(b"".join(out), 9)


def test_type_15_derives_the_7_0_counters():
    s = load(_v1_from(REAL_S0))
    real = load(REAL_S0)
    assert list(s.entries.items()) == list(real.entries.items())
    assert (s.entries_added, s.max_deleted_id) == (4, (0, 0))
    # streamEstimateDistanceFromFirstEverEntry: g's last id is inside the stream
    assert s.groups[b"g"].entries_read == -1
    assert s.groups[b"empty"].entries_read == 4         # at the last id
    assert picture(s)["groups"][b"g"][2] == picture(real)["groups"][b"g"][2]
    assert dump(s)[0] == DS.TYPE_STREAM_LISTPACKS_2


# -- the AOF rewrite's commands ------------------------------------------------------------
def test_aof_rewrite_commands():
    s = load(REAL_S)
    cmds = list(stream_commands(b"k", s))
    assert cmds[:3] == [
        [b"XADD", b"k", b"1700000000000-0", b"a", b"1", b"b", b"hello"],
        [b"XADD", b"k", b"1700000000000-1", b"a", b"2", b"b", b"world"],
        [b"XADD", b"k", b"1700000000005-3", b"a", b"3", b"b", b"x" * 30]]
    assert cmds[3] == [b"XSETID", b"k", b"1700000000005-3", b"ENTRIESADDED", b"4",
                       b"MAXDELETEDID", b"1700000000005-0"]
    assert cmds[4] == [b"XGROUP", b"CREATE", b"k", b"empty", b"1700000000005-3",
                       b"ENTRIESREAD", b"-1"]
    assert cmds[5] == [b"XGROUP", b"CREATE", b"k", b"g", b"1700000000005-0",
                       b"ENTRIESREAD", b"3"]
    assert cmds[6] == [b"XCLAIM", b"k", b"g", b"alice", b"0", b"1700000000000-0", b"TIME",
                       b"1700000001000", b"RETRYCOUNT", b"1", b"JUSTID", b"FORCE"]
    assert cmds[7][:6] == [b"XCLAIM", b"k", b"g", b"bob", b"0", b"1700000000000-1"]
    assert cmds[9] == [b"XGROUP", b"CREATECONSUMER", b"k", b"g", b"carol"]
    assert len(cmds) == 10


def test_aof_rewrite_of_an_empty_stream():
    assert list(stream_commands(b"e", load(REAL_E))) == [
        [b"XADD", b"e", b"MAXLEN", b"0", b"0-1", b"x", b"y"],
        [b"XSETID", b"e", b"5-5", b"ENTRIESADDED", b"1", b"MAXDELETEDID", b"0-0"],
        [b"XGROUP", b"CREATE", b"e", b"g", b"5-5", b"ENTRIESREAD", b"-1"]]


# -- corrupt payloads ---------------------------------------------------------------------
def _refused(payload: bytes) -> None:
    with pytest.raises(ReplyError) as err:
        load(payload)
    assert str(err.value) == BAD_FORMAT


def _body(n=3, fields=(b"a",)):
    """A hand-made type-19 body of one node, for targeted corruption."""
    return DS.cut_nodes({(1, i): tuple(x for f in fields for x in (f, b"v%d" % i))
                         for i in range(n)})


def _stream_body(nodes, length, last=(1, 2), added=None, groups=b"\x00") -> bytes:
    parts = [bytes((19,)), encode_len(len(nodes))]
    for key, blob in nodes:
        parts.append(encode_len(len(key)) + key)
        parts.append(encode_len(len(blob)) + blob)
    for v in (length, *last, 1, 0, 0, 0, length if added is None else added):
        parts.append(encode_len(v))
    return b"".join(parts) + groups


def test_hand_made_body_is_valid():
    assert list(load(wrap(_stream_body(_body(), 3))).entries) == [(1, 0), (1, 1), (1, 2)]


@pytest.mark.parametrize("case", [
    "length", "last_id", "added", "key_size", "dup_node", "order", "count", "flags",
    "lpcount", "no_terminator", "node_without_entries"])
def test_inconsistent_streams_are_refused(case):
    nodes = _body()
    key, blob = nodes[0]
    items = DS.parse_listpack(blob)

    def lp(items):
        return DS.listpack([DS.listpack_entry(x) for x in items])
    length, last, added = 3, (1, 2), None
    if case == "length":
        length = 4
    elif case == "last_id":
        last = (1, 1)
    elif case == "added":
        added = 2
    elif case == "key_size":
        nodes = [(key[:15], blob)]
    elif case == "dup_node":
        nodes = [nodes[0], nodes[0]]
    elif case == "order":
        items[12] = b"0"          # the second entry's seq delta: ids not increasing
        nodes = [(key, lp(items))]
    elif case == "count":
        items[0] = b"2"
        nodes = [(key, lp(items))]
    elif case == "flags":
        items[5] = b"6"
        nodes = [(key, lp(items))]
    elif case == "lpcount":
        items[9] = b"5"           # the first entry's lp-count (4)
        nodes = [(key, lp(items))]
    elif case == "no_terminator":
        items[4] = b"1"
        nodes = [(key, lp(items))]
    elif case == "node_without_entries":
        nodes = [(key, lp([b"0", b"0", b"1", b"a", b"0"]))]
    _refused(wrap(_stream_body(nodes, length, last, added)))


def _group_payload(pel_owners: list[list[int]], pel=(0, 1), dup_group=False) -> bytes:
    """One group "g" with PEL `pel` (seqs) and consumers owning `pel_owners`."""
    g = [encode_len(1) + b"g", encode_len(0), encode_len(0), encode_len(0), encode_len(len(pel))]
    for seq in pel:
        g.append(DS.raw_id((1, seq)) + (7).to_bytes(8, "little") + encode_len(1))
    g.append(encode_len(len(pel_owners)))
    for i, owned in enumerate(pel_owners):
        g.append(encode_len(2) + b"c%d" % i + (7).to_bytes(8, "little") + encode_len(len(owned)))
        g.extend(DS.raw_id((1, seq)) for seq in owned)
    one = b"".join(g)
    groups = encode_len(2) + one + one if dup_group else encode_len(1) + one
    return wrap(_stream_body(_body(), 3, groups=groups))


def test_group_consistency():
    s = load(_group_payload([[0], [1]]))
    assert {sid: p.consumer.name for sid, p in s.groups[b"g"].pel.items()} == {
        (1, 0): b"c0", (1, 1): b"c1"}
    _refused(_group_payload([[0]]))                  # a PEL entry nobody owns
    _refused(_group_payload([[0, 1], [1]]))          # owned twice
    _refused(_group_payload([[0, 1, 2]]))            # owned but not pending
    _refused(_group_payload([[0, 1]], pel=(0, 0)))   # duplicate PEL entry
    _refused(_group_payload([[0, 1]], dup_group=True))
    _refused(_group_payload([[0, 1], []])[:-20])     # truncated


def _valid_payloads() -> list[bytes]:
    s = build(60, seed=11, max_bytes=300, max_entries=10)
    ids = list(s.entries)
    add_group(s, b"g", ids[30], 30, pending=[(b"a", ids[2], 5, 1), (b"b", ids[4], 6, 2)],
              idle=[b"c"])
    return [REAL_S, REAL_S0, REAL_E, dump(s, compress_strings=False), dump(s)]


VALID = _valid_payloads()


def _check_mutant(payload: bytes) -> None:
    try:
        s = load(payload)
    except ReplyError as err:
        assert str(err) == BAD_FORMAT
        return
    # accepted: a whole, consistent stream that writes and reads back the same
    assert isinstance(s, Stream)
    assert sum(n.live for n in s.nodes) == len(s.entries)
    assert picture(load(dump(s))) == picture(s)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(VALID))), st.data())
def test_mutated_payloads_never_raise_anything_else(which, data):
    payload = bytearray(VALID[which])
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(("flip", "set", "cut", "insert", "delete")))
        if len(payload) < 2:
            break
        pos = data.draw(st.integers(1, len(payload) - 1))      # the type byte stays
        if kind == "flip":
            payload[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set":
            payload[pos] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del payload[pos:]
        elif kind == "insert":
            payload[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            del payload[pos:pos + data.draw(st.integers(1, 4))]
    _check_mutant(bytes(payload))


def test_every_truncation_is_refused():
    for payload in VALID[:3]:
        body = payload[:-10]
        for end in range(1, len(body)):
            _refused(body[:end])
