"""cluster.keyspace.snapshot: point-in-time views with copy-on-write, and the chunked RDB writer."""
from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cluster.commands.registry  # noqa: F401
from cluster.keyspace import snapshot
from cluster.execution.dispatch import execute
from cluster.keyspace.databases import Keyspace
from cluster.node import Node
from cluster.encoding.rdb import load_into, rdb_chunks, read_rdb, write_rdb

AUX = {b"redis-ver": b"7.0.15", b"redis-bits": b"64", b"ctime": b"0"}
NOW = 1_700_000_000_000


def _node():
    node = Node()
    node.keyspace.set_time(NOW)
    return node


def _run(client, *argv):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in argv])


def _state(ks) -> dict:
    """{db: {key: (value as plain data, expire)}} of a keyspace."""
    out = {}
    for db in ks.dbs:
        if db.data:
            out[db.id] = {k: (list(v) if isinstance(v, deque) else v, db.expires.get(k))
                          for k, v in db.data.items()}
    return out


def _populated():
    node = _node()
    c = node.new_client()
    for i in range(50):
        _run(c, "SET", f"s{i}", f"value{i}")
    _run(c, "RPUSH", "list", *[f"e{i}" for i in range(20)])
    _run(c, "RPUSH", "other", "a", "b", "c")
    _run(c, "PEXPIRE", "s3", 500000)
    _run(c, "SELECT", 2)
    _run(c, "RPUSH", "l2", "x", "y")
    _run(c, "SET", "two", "2")
    _run(c, "SELECT", 0)
    return node, c


def test_view_keeps_the_rdb_of_its_instant_while_the_live_data_changes():
    node, c = _populated()
    ks = node.keyspace
    before = write_rdb(ks, aux=AUX)
    expected_state = _state(ks)
    view = snapshot.take(ks)
    assert ks.views == [view] and view.keys() == 54
    _run(c, "SET", "s1", "changed")
    _run(c, "DEL", "s2")
    _run(c, "RPUSH", "list", "tail")
    _run(c, "LPOP", "other")
    _run(c, "EXPIRE", "s4", 100)
    _run(c, "RENAME", "other", "renamed")
    _run(c, "RPUSH", "renamed", "more")      # the moved list is a copy, not the frozen one
    _run(c, "MOVE", "list", 3)
    _run(c, "SELECT", 3)
    _run(c, "LPUSH", "list", "head")
    _run(c, "SWAPDB", 2, 5)
    _run(c, "SELECT", 5)
    _run(c, "RPUSH", "l2", "z")               # db 2's old dict now lives in db 5
    _run(c, "SELECT", 0)
    _run(c, "FLUSHDB")
    _run(c, "SET", "fresh", "1")
    # The live keyspace has every change ...
    assert ks[0].data == {b"fresh": b"1"}
    assert list(ks[3].data[b"list"])[0] == b"head" and list(ks[3].data[b"list"])[-1] == b"tail"
    assert list(ks[5].data[b"l2"]) == [b"x", b"y", b"z"] and not ks[2].data
    # ... and the view none: its RDB is byte-equal to the one written before them.
    assert write_rdb(view, aux=AUX) == before
    assert b"".join(rdb_chunks(view, AUX, chunk_size=100)) == before
    fresh = Keyspace()
    load_into(fresh, before)
    assert _state(fresh) == expected_state
    assert view.copies >= 3
    view.release()
    assert ks.views == [] and view.released
    view.release()                            # idempotent


def test_no_copy_without_a_view_and_one_copy_per_key_with_one():
    node, c = _populated()
    ks = node.keyspace
    original = ks[0].data[b"list"]
    _run(c, "RPUSH", "list", "x")
    assert ks[0].data[b"list"] is original    # no view: changed in place
    with snapshot.take(ks) as view:
        _run(c, "RPUSH", "list", "y")
        copied = ks[0].data[b"list"]
        assert copied is not original and view.copies == 1
        _run(c, "RPUSH", "list", "z")
        assert ks[0].data[b"list"] is copied and view.copies == 1
        assert list(original)[-1] == b"x" and list(copied)[-2:] == [b"y", b"z"]
        # reads never copy
        _run(c, "LRANGE", "other", 0, -1)
        assert view.copies == 1
    assert ks.views == []
    _run(c, "RPUSH", "list", "after")
    assert ks[0].data[b"list"] is copied


def test_chunks_are_bounded_and_crc_matches_write_rdb():
    node, c = _populated()
    for i in range(3000):
        _run(c, "SET", f"k{i:05d}", "v" * 10)
    chunks = list(rdb_chunks(snapshot.take(node.keyspace), AUX, chunk_size=4096))
    assert len(chunks) > 10
    assert all(len(ch) < 3 * 4096 for ch in chunks)
    whole = b"".join(chunks)
    assert whole == write_rdb(node.keyspace, aux=AUX)
    assert len(read_rdb(whole).entries) == node.keyspace.total_keys()


KEYS = [b"a", b"b", b"c"]
OPS = st.one_of(
    st.tuples(st.just("SET"), st.sampled_from(KEYS), st.binary(max_size=8)),
    st.tuples(st.sampled_from(["RPUSH", "LPUSH"]), st.sampled_from(KEYS),
              st.binary(max_size=8)),
    st.tuples(st.sampled_from(["LPOP", "RPOP", "DEL"]), st.sampled_from(KEYS)),
    st.tuples(st.just("RENAME"), st.sampled_from(KEYS), st.sampled_from(KEYS)),
    st.tuples(st.just("MOVE"), st.sampled_from(KEYS), st.sampled_from([b"0", b"1"])),
    st.tuples(st.just("PEXPIRE"), st.sampled_from(KEYS),
              st.integers(1000, 10**9).map(lambda n: b"%d" % n)),
    st.tuples(st.just("SWAPDB"), st.just(b"0"), st.just(b"1")),
    st.tuples(st.just("SELECT"), st.sampled_from([b"0", b"1"])),
    st.tuples(st.just("FLUSHDB")),
    st.tuples(st.just("SNAPSHOT")),
    st.tuples(st.just("CHUNK")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=15, max_size=80))
def test_snapshot_under_random_commands_loads_as_the_state_at_its_instant(ops):
    node = _node()
    c = node.new_client()
    for i in range(40):                       # enough keys for several small chunks
        _run(c, "SET", f"pad{i}", "p" * 20)
    running = []                               # (view, chunk generator, parts, expected)
    done = []

    def step(job):
        view, gen, parts, expected = job
        chunk = next(gen, None)
        if chunk is None:
            view.release()
            running.remove(job)
            done.append((b"".join(parts), expected))
        else:
            parts.append(chunk)

    for op in ops:
        name = op[0]
        if name == "SNAPSHOT":
            view = snapshot.take(node.keyspace)
            running.append((view, rdb_chunks(view, AUX, chunk_size=64), [],
                            _state(node.keyspace)))
        elif name == "CHUNK":
            for job in list(running):
                step(job)
        else:
            execute(c, [name.encode(), *op[1:]])
    while running:
        step(running[0])
    assert node.keyspace.views == []
    for rdb, expected in done:
        fresh = Keyspace()
        load_into(fresh, rdb)
        assert _state(fresh) == expected


class _WithCopy(set):
    def copy(self):
        return _WithCopy(self)


class _Plain:
    def __init__(self, items):
        self.items = list(items)


def test_types_without_a_copier_are_copied_by_their_copy_method_or_deepcopy():
    ks = Keyspace()
    db = ks[0]
    a, b = _WithCopy({b"x"}), _Plain([b"y"])
    db.store(b"a", a)
    db.store(b"b", b)
    with snapshot.take(ks) as view:
        a2, b2 = db.lookup_write(b"a"), db.lookup_write(b"b")
        assert a2 is not a and a2.__class__ is _WithCopy and a2 == a
        assert b2 is not b and b2.items == b.items and b2.items is not b.items
        assert db.data[b"a"] is a2 and db.data[b"b"] is b2 and view.copies == 2
        frozen = dict(view.triples[0][1])
        assert frozen[b"a"] is a and frozen[b"b"] is b
