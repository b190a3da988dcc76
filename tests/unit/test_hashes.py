"""Hash commands in-process: replies, errors, encodings, propagation, DUMP/RESTORE,
copy-on-write under a snapshot, HSCAN's cursor, and a model test with hypothesis."""
from __future__ import annotations

import hiredis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.commands import registry  # noqa: F401
from cluster.encoding import dump
from cluster.keyspace import snapshot
from cluster.keyspace.hash import Hash
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError

NOW = 1_700_000_000_000
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class Env:
    def __init__(self):
        self.node = Node(clock=lambda: NOW / 1000)
        self.node.set_time(NOW)
        self.client = self.node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
        self.sent: list = []
        self._reader = hiredis.Reader()
        self.node.propagator.sinks.append(self._sink)

    def _sink(self, data: bytes) -> None:
        self._reader.feed(data)
        while (item := self._reader.gets()) is not False:
            if item[0].upper() != b"SELECT":
                self.sent.append(item)

    def __call__(self, *args):
        return execute(self.client, [a if isinstance(a, bytes) else str(a).encode()
                                     for a in args])

    def err(self, *args) -> str:
        reply = self(*args)
        assert isinstance(reply, ReplyError), reply
        return reply.message

    def propagated(self, *args):
        self.sent.clear()
        reply = self(*args)
        return reply, self.sent[:]


@pytest.fixture
def env():
    return Env()


def test_basic_replies(env):
    assert env("HSET", "h", "a", "1", "b", "2") == 2
    assert env("HSET", "h", "a", "3") == 0
    assert env("HMSET", "h", "c", "4") == OK
    assert env("HGETALL", "h") == {b"a": b"3", b"b": b"2", b"c": b"4"}
    assert env("HKEYS", "h") == [b"a", b"b", b"c"]
    assert env("HVALS", "h") == [b"3", b"2", b"4"]
    assert env("HMGET", "h", "a", "x") == [b"3", None]
    assert env("HMGET", "nope", "a", "x") == [None, None]
    assert env("HLEN", "h") == 3 and env("HSTRLEN", "h", "c") == 1
    assert env("HSETNX", "h", "a", "9") == 0 and env("HSETNX", "h", "d", "9") == 1
    assert env("HDEL", "h", "a", "b", "c", "d", "e") == 4
    assert env("EXISTS", "h") == 0
    assert env("TYPE", "h") == b"none"


def test_errors(env):
    env("SET", "s", "v")
    assert env.err("HSET", "s", "a", "b") == WRONGTYPE
    assert env.err("HSET", "h", "a", "b", "c") == "ERR wrong number of arguments for 'hset' command"
    assert env.err("HMSET", "h", "a") == "ERR wrong number of arguments for 'hmset' command"
    env("HSET", "h", "s", "abc", "n", "9223372036854775807")
    assert env.err("HINCRBY", "h", "s", "1") == "ERR hash value is not an integer"
    assert env.err("HINCRBY", "h", "n", "1") == "ERR increment or decrement would overflow"
    assert env.err("HINCRBY", "h", "n", "x") == "ERR value is not an integer or out of range"
    assert env.err("HINCRBYFLOAT", "h", "s", "1") == "ERR hash value is not a float"
    assert env.err("HINCRBYFLOAT", "h", "s", "inf") == "ERR value is NaN or Infinity"
    assert env.err("HRANDFIELD", "h", "1", "x") == "ERR syntax error"
    assert env.err("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES") == \
        "ERR value is out of range"
    assert env.err("HSCAN", "h", "x") == "ERR invalid cursor"
    assert env.err("HSCAN", "h", "0", "COUNT", "0") == "ERR syntax error"
    assert env("HSCAN", "missing", "0", "bad") == [b"0", []]


def test_encodings(env):
    env("HSET", "h", "a", "x" * 64)
    assert env("OBJECT", "ENCODING", "h") == b"listpack"
    env("HSET", "h", "b", "x" * 65)
    assert env("OBJECT", "ENCODING", "h") == b"hashtable"
    env("HDEL", "h", "b")
    assert env("OBJECT", "ENCODING", "h") == b"hashtable"       # never converted back
    env("CONFIG", "SET", "hash-max-listpack-entries", "2")
    env("HSET", "g", "a", "1", "b", "2")
    assert env("OBJECT", "ENCODING", "g") == b"listpack"
    env("HINCRBY", "g", "c", "1")
    assert env("OBJECT", "ENCODING", "g") == b"hashtable"


def test_propagation(env):
    env("HSET", "h", "f", "1.5")
    reply, sent = env.propagated("HINCRBYFLOAT", "h", "f", "1")
    assert reply == b"2.5" and sent == [[b"HSET", b"h", b"f", b"2.5"]]
    assert env.propagated("HSETNX", "h", "f", "x")[1] == []
    assert env.propagated("HDEL", "h", "zz")[1] == []
    assert env.propagated("HINCRBY", "h", "n", "2")[1] == [[b"HINCRBY", b"h", b"n", b"2"]]


def test_dump_restore_roundtrip(env):
    env("HSET", "small", "a", "1", "b", "-300", "c", "text")
    big = [x for i in range(600) for x in (f"f{i}", f"v{i}")]
    env("HSET", "big", *big)
    for key in ("small", "big"):
        payload = env("DUMP", key)
        assert env("RESTORE", key + "2", "0", payload) == OK
        assert env("HGETALL", key + "2") == env("HGETALL", key)
        assert env("OBJECT", "ENCODING", key + "2") == env("OBJECT", "ENCODING", key)
    assert dump.dump(Hash({b"a": b"1"}))[0] == 16


def test_restore_rejects_bad_payloads(env):
    env("HSET", "h", "a", "1")
    good = env("DUMP", "h")
    body = bytearray(good[:-10])
    body[-2] ^= 0x01                     # damage the listpack terminator
    bad = bytes(body) + good[-10:-8]
    from cluster.base.crc64 import crc64
    bad += crc64(bad).to_bytes(8, "little")
    assert env.err("RESTORE", "x", "0", bad) == "ERR Bad data format"
    dup = bytes((4,)) + dump.encode_len(2) + b"".join(
        dump.encode_string(x) for x in (b"a", b"1", b"a", b"2")) + b"\n\x00"
    dup += crc64(dup).to_bytes(8, "little")
    assert env.err("RESTORE", "x", "0", dup) == "ERR Bad data format"


def test_copy_on_write_under_snapshot(env):
    env("HSET", "h", "a", "1")
    view = snapshot.take(env.node.keyspace)
    env("HSET", "h", "b", "2")
    frozen = {db_id: data for db_id, data, _ in view}[0]
    assert frozen[b"h"] == {b"a": b"1"} and frozen[b"h"].__class__ is Hash
    assert env("HLEN", "h") == 2
    view.release()
    env("COPY", "h", "h2")
    env("HSET", "h2", "c", "3")
    assert env("HLEN", "h") == 2 and env("HLEN", "h2") == 3


def test_hscan_cursor_big(env):
    env("HSET", "h", *[x for i in range(1000) for x in (f"f{i}", str(i))])
    seen = {}
    cursor = b"0"
    calls = 0
    while True:
        cursor, items = env("HSCAN", "h", cursor, "COUNT", "25")
        seen.update(zip(items[::2], items[1::2]))
        calls += 1
        if cursor == b"0":
            break
    assert len(seen) == 1000 and calls > 10
    assert seen[b"f7"] == b"7"


def test_hrandfield_shapes(env):
    env("HSET", "h", "a", "1", "b", "2")
    assert sorted(env("HRANDFIELD", "h", "5")) == [b"a", b"b"]
    assert len(env("HRANDFIELD", "h", "-5")) == 5
    flat = env("HRANDFIELD", "h", "-3", "WITHVALUES")
    assert len(flat) == 6 and all(flat[i + 1] == {b"a": b"1", b"b": b"2"}[flat[i]]
                                  for i in range(0, 6, 2))
    env.client.resp = 3
    nested = env("HRANDFIELD", "h", "1", "WITHVALUES")
    assert len(nested) == 1 and len(nested[0]) == 2
    assert env("HRANDFIELD", "missing", "3") == []


ops = st.lists(st.tuples(
    st.sampled_from(["HSET", "HDEL", "HINCRBY", "HSETNX"]),
    st.sampled_from([b"a", b"b", b"c", b"1"]),
    st.sampled_from([b"1", b"-2", b"x", b"10"])), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_model(script):
    env = Env()
    model: dict = {}
    for op, field, value in script:
        reply = env(op, "h", field, value) if op != "HDEL" else env(op, "h", field)
        if op == "HSET":
            assert reply == (0 if field in model else 1)
            model[field] = value
        elif op == "HSETNX":
            assert reply == (0 if field in model else 1)
            model.setdefault(field, value)
        elif op == "HDEL":
            assert reply == (1 if model.pop(field, None) is not None else 0)
        else:
            old = model.get(field, b"0")
            if old.lstrip(b"-").isdigit() and value != b"x":
                model[field] = b"%d" % (int(old) + int(value))
                assert reply == int(model[field])
            else:
                assert isinstance(reply, ReplyError)
        assert env("HGETALL", "h") == model
    assert env("EXISTS", "h") == (1 if model else 0)
