"""Set commands in-process: replies, errors, intset/hashtable encodings, propagation of
SPOP/SMOVE/*STORE, DUMP/RESTORE, copy-on-write, SSCAN's cursor, and a hypothesis model."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.commands import registry  # noqa: F401
from cluster.commands.server_debug import dataset_digest
from cluster.keyspace import snapshot
from cluster.keyspace.set import Set
from cluster.resp.reply import OK, ReplyError, RespSet, SetReply
from tests.unit.test_hashes import WRONGTYPE, Env


@pytest.fixture
def env():
    return Env()


def test_basic_replies(env):
    assert env("SADD", "s", "3", "1", "2", "1") == 3
    assert env("SMEMBERS", "s") == [b"1", b"2", b"3"]          # intset order
    assert isinstance(env("SMEMBERS", "s"), SetReply)
    assert env("SCARD", "s") == 3 and env("SISMEMBER", "s", "2") == 1
    assert env("SMISMEMBER", "s", "2", "9") == [1, 0]
    assert env("SREM", "s", "1", "9") == 1
    assert env("SMEMBERS", "missing") == RespSet()
    assert env("SREM", "s", "2", "3") == 2 and env("EXISTS", "s") == 0


def test_errors(env):
    env("SET", "str", "v")
    assert env.err("SADD", "str", "a") == WRONGTYPE
    assert env.err("SINTER", "missing", "str") == WRONGTYPE
    assert env.err("SPOP", "s", "-1") == "ERR value is out of range, must be positive"
    assert env.err("SPOP", "s", "1", "2") == "ERR syntax error"
    assert env.err("SRANDMEMBER", "s", "-9223372036854775808").startswith(
        "ERR value is out of range, value must between")
    assert env.err("SINTERCARD", "0", "a") == "ERR numkeys should be greater than 0"
    assert env.err("SINTERCARD", "2", "a") == \
        "ERR Number of keys can't be greater than number of args"
    assert env.err("SINTERCARD", "1", "a", "LIMIT", "x") == "ERR LIMIT can't be negative"
    assert env("SMOVE", "missing", "str", "a") == 0
    env("SADD", "s", "a")
    assert env.err("SMOVE", "s", "str", "a") == WRONGTYPE


def test_encodings(env):
    env("SADD", "i", "1", "-9223372036854775808")
    assert env("OBJECT", "ENCODING", "i") == b"intset"
    env("SADD", "i", "9223372036854775808")
    assert env("OBJECT", "ENCODING", "i") == b"hashtable"
    env("SREM", "i", "9223372036854775808")
    assert env("OBJECT", "ENCODING", "i") == b"hashtable"
    env("SADD", "w", "abc")
    assert env("OBJECT", "ENCODING", "w") == b"hashtable"
    env("SADD", "z", "01")
    assert env("OBJECT", "ENCODING", "z") == b"hashtable"
    env("CONFIG", "SET", "set-max-intset-entries", "2")
    env("SADD", "n", "1", "2")
    assert env("OBJECT", "ENCODING", "n") == b"intset"
    env("SADD", "n", "3")
    assert env("OBJECT", "ENCODING", "n") == b"hashtable"


def test_algebra(env):
    env("SADD", "a", "1", "2", "3", "x")
    env("SADD", "b", "2", "3", "4")
    assert sorted(env("SINTER", "a", "b")) == [b"2", b"3"]
    assert sorted(env("SUNION", "a", "b")) == [b"1", b"2", b"3", b"4", b"x"]
    assert sorted(env("SDIFF", "a", "b")) == [b"1", b"x"]
    assert env("SINTER", "a", "missing") == []
    assert env("SINTERCARD", "2", "a", "b") == 2
    assert env("SINTERCARD", "2", "a", "b", "LIMIT", "1") == 1
    assert env("SINTERSTORE", "d", "a", "b") == 2
    assert env("OBJECT", "ENCODING", "d") == b"intset"
    assert env("SDIFFSTORE", "d", "a", "a") == 0 and env("EXISTS", "d") == 0
    assert env("SUNIONSTORE", "d", "a", "b") == 5
    assert env("OBJECT", "ENCODING", "d") == b"hashtable"


def test_propagation(env):
    env("SADD", "s", *range(10))
    reply, sent = env.propagated("SPOP", "s")
    assert sent == [[b"SREM", b"s", reply]]
    reply, sent = env.propagated("SPOP", "s", "3")   # 7.0.15: one SREM each, as one unit
    assert len(reply) == 3
    assert sent == [[b"MULTI"], *([b"SREM", b"s", m] for m in reply), [b"EXEC"]]
    reply, sent = env.propagated("SPOP", "s", "1")
    assert sent == [[b"SREM", b"s", *reply]]            # a single command: no MULTI/EXEC
    reply, sent = env.propagated("SPOP", "s", "100")
    assert len(reply) == 5 and sent == [[b"DEL", b"s"]]
    assert env.propagated("SPOP", "s", "0")[1] == []
    env("SADD", "a", "1")
    assert env.propagated("SMOVE", "a", "b", "1")[1] == [[b"SMOVE", b"a", b"b", b"1"]]
    assert env.propagated("SMOVE", "b", "b", "1")[1] == []
    assert env.propagated("SADD", "b", "1")[1] == []
    assert env.propagated("SINTERSTORE", "d", "nothing")[1] == []


def test_spop_batches(env):
    env("SADD", "s", *range(3000))
    reply, sent = env.propagated("SPOP", "s", "2500")
    # as a real 7.0.15's AOF shows: MULTI, one SREM per popped member, EXEC
    assert len(reply) == 2500 and sent[0] == [b"MULTI"] and sent[-1] == [b"EXEC"]
    assert sent[1:-1] == [[b"SREM", b"s", m] for m in reply]
    assert env("SCARD", "s") == 500


def test_dump_restore_roundtrip(env):
    env("SADD", "ints", "5", "-70000", "3")
    env("SADD", "words", "a", "b", "7")
    env("SADD", "many", *range(600))
    for key in ("ints", "words", "many"):
        payload = env("DUMP", key)
        assert env("RESTORE", key + "2", "0", payload) == OK
        assert sorted(env("SMEMBERS", key + "2")) == sorted(env("SMEMBERS", key))
        assert env("OBJECT", "ENCODING", key + "2") == env("OBJECT", "ENCODING", key)
    assert env("DUMP", "ints")[:2] == b"\x0b\x14"     # intset, 8 + 3 * 4 bytes


def test_copy_on_write_under_snapshot(env):
    env("SADD", "s", "a")
    view = snapshot.take(env.node.keyspace)
    env("SADD", "s", "b")
    env("SPOP", "s")
    frozen = {db_id: data for db_id, data, _ in view}[0]
    assert frozen[b"s"] == {b"a"} and frozen[b"s"].__class__ is Set
    view.release()
    env("SADD", "c", "1")
    env("COPY", "c", "c2")
    env("SADD", "c2", "x")
    assert env("SCARD", "c") == 1 and env("OBJECT", "ENCODING", "c2") == b"hashtable"


def test_sscan_cursor(env):
    env("SADD", "s", *[f"m{i}" for i in range(1000)])
    seen, cursor = set(), b"0"
    while True:
        cursor, items = env("SSCAN", "s", cursor, "COUNT", "30")
        seen.update(items)
        env("SADD", "s", b"tmp" + cursor)
        env("SREM", "s", b"tmp" + cursor)
        if cursor == b"0":
            break
    assert {f"m{i}".encode() for i in range(1000)} <= seen
    env("SADD", "small", "1", "2")
    assert env("SSCAN", "small", "99") == [b"0", [b"1", b"2"]]


ops = st.lists(st.tuples(st.sampled_from(["SADD", "SREM", "SPOP", "SMOVE"]),
                         st.sampled_from([b"1", b"2", b"a", b"-5"])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_model(script):
    env = Env()
    model: dict[bytes, set] = {b"s": set(), b"t": set()}
    for op, member in script:
        if op == "SADD":
            assert env("SADD", "s", member) == (0 if member in model[b"s"] else 1)
            model[b"s"].add(member)
        elif op == "SREM":
            assert env("SREM", "s", member) == (1 if member in model[b"s"] else 0)
            model[b"s"].discard(member)
        elif op == "SPOP":
            popped = env("SPOP", "s")
            assert (popped is None) == (not model[b"s"])
            model[b"s"].discard(popped)
        else:
            moved = env("SMOVE", "s", "t", member)
            assert moved == (1 if member in model[b"s"] else 0)
            if moved:
                model[b"s"].discard(member)
                model[b"t"].add(member)
        for key, members in model.items():
            reply = env("SMEMBERS", key)
            assert not isinstance(reply, ReplyError)
            assert set(reply) == members
            assert env("EXISTS", key) == (1 if members else 0)


def test_rdb_snapshot_roundtrip(env):
    from cluster.encoding.rdb import load_into, write_rdb
    from cluster.keyspace.databases import Keyspace
    env("SADD", "ints", "1", "2")
    env("SADD", "words", "a", "b")
    env("HSET", "h", "f", "v")
    buf = write_rdb(env.node.keyspace)
    ks = Keyspace()
    load_into(ks, buf)
    assert ks[0].data[b"ints"] == {b"1", b"2"} and not ks[0].data[b"ints"].big
    assert ks[0].data[b"words"] == {b"a", b"b"} and ks[0].data[b"words"].big
    assert ks[0].data[b"h"] == {b"f": b"v"}


def test_digest_ignores_insertion_order():
    one, two = Env(), Env()
    one("SADD", "s", "a", "b", "c")
    two("SADD", "s", "c", "b", "a")
    one("HSET", "h", "x", "1", "y", "2")
    two("HSET", "h", "y", "2", "x", "1")
    digest = dataset_digest(one.node.keyspace)
    assert digest == dataset_digest(two.node.keyspace) != b"0" * 40
    two("SADD", "s", "d")
    assert dataset_digest(two.node.keyspace) != digest
