"""Hash commands over real sockets: raw replies byte for byte against a real redis-server
7.0.15 (RESP2 and RESP3), redis-py in both protocols, DUMP/RESTORE both ways, encodings,
HSCAN through redis-py's hscan_iter, MULTI/WATCH."""
from __future__ import annotations

import pytest
import redis

from tests.support import assert_same_replies, raw_replies


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture
def k(request):
    return lambda name="h": f"{request.node.name}:{name}"


SCRIPT = [
    ["FLUSHALL"], ["SET", "str", "v"],
    ["HSET", "h"], ["HSET", "h", "a"], ["HSET", "h", "a", "1", "b"], ["HMSET", "h", "a"],
    ["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "10", "c", "3"],
    ["HMSET", "h", "d", "4"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"],
    ["HGET", "h", "a"], ["HGET", "h", "zz"], ["HGET", "nh", "a"],
    ["HMGET", "h", "a", "zz", "b"], ["HMGET", "nh", "a", "b"], ["HLEN", "h"], ["HLEN", "nh"],
    ["HEXISTS", "h", "a"], ["HEXISTS", "h", "zz"], ["HEXISTS", "nh", "a"],
    ["HSTRLEN", "h", "a"], ["HSTRLEN", "h", "zz"], ["HSTRLEN", "nh", "a"],
    ["HSETNX", "h", "a", "x"], ["HSETNX", "h", "e", "5"], ["HSETNX", "nh2", "f", "v"],
    ["HDEL", "h", "zz"], ["HDEL", "h", "a", "b", "zz"], ["HDEL", "nh", "a"],
    ["HDEL", "nh2", "f"], ["EXISTS", "nh2"],
    ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-7"], ["HINCRBY", "h", "n", "x"],
    ["HINCRBY", "h", "c", "9223372036854775807"], ["HINCRBY", "h", "big",
                                                   "9223372036854775807"],
    ["HINCRBY", "h", "big", "1"], ["HSET", "h", "s", "abc"], ["HINCRBY", "h", "s", "1"],
    ["HINCRBYFLOAT", "h", "s", "1"], ["HINCRBYFLOAT", "h", "f", "1.5"],
    ["HINCRBYFLOAT", "h", "f", "0.1"], ["HINCRBYFLOAT", "h", "f", "x"],
    ["HINCRBYFLOAT", "h", "f", "inf"], ["HINCRBYFLOAT", "hf", "f", "1e400"],
    ["OBJECT", "ENCODING", "hf"], ["HGET", "hf", "f"],
    ["HINCRBYFLOAT", "h", "g", "5.0e3"], ["HINCRBYFLOAT", "h", "g", "-5000"],
    ["HINCRBYFLOAT", "h", "n", "0x10"], ["HGETALL", "h"],
    ["HRANDFIELD", "nh"], ["HRANDFIELD", "nh", "2"], ["HRANDFIELD", "nh", "2", "WITHVALUES"],
    ["HRANDFIELD", "h", "0"], ["HRANDFIELD", "h", "x"], ["HRANDFIELD", "h", "1", "foo"],
    ["HRANDFIELD", "h", "1", "withvalues", "x"], ["HRANDFIELD", "h", "100"],
    ["HRANDFIELD", "h", "100", "WITHVALUES"],
    ["HRANDFIELD", "h", "-9223372036854775808"],
    ["HRANDFIELD", "h", "-9223372036854775807", "withvalues"],
    ["HRANDFIELD", "h", "-4611686018427387904", "withvalues"],
    ["HSCAN", "h", "0"], ["HSCAN", "h", "x"], ["HSCAN", "h", "0", "MATCH", "?"],
    ["HSCAN", "h", "0", "COUNT", "0"], ["HSCAN", "h", "0", "COUNT", "x"],
    ["HSCAN", "h", "0", "TYPE", "string"], ["HSCAN", "h", "0", "foo"],
    ["HSCAN", "nh", "0", "foo"], ["HSCAN", "h", "123", "COUNT", "1"],
    ["TYPE", "h"], ["OBJECT", "ENCODING", "h"], ["DUMP", "h"],
    ["HSET", "str", "a", "b"], ["HGET", "str", "a"], ["HMGET", "str", "a"],
    ["HGETALL", "str"], ["HDEL", "str", "a"], ["HLEN", "str"], ["HEXISTS", "str", "a"],
    ["HSTRLEN", "str", "a"], ["HKEYS", "str"], ["HVALS", "str"], ["HSETNX", "str", "a", "b"],
    ["HINCRBY", "str", "a", "x"], ["HINCRBY", "str", "a", "1"],
    ["HINCRBYFLOAT", "str", "a", "x"], ["HINCRBYFLOAT", "str", "a", "1"],
    ["HRANDFIELD", "str"], ["HRANDFIELD", "str", "x"], ["HRANDFIELD", "str", "1"],
    ["HSCAN", "str", "0"], ["HSCAN", "str", "x"],
    ["HSET", "ints", "1", "2", "-300", "70000", "x", "-9223372036854775808"],
    ["DUMP", "ints"], ["HSET", "long", "f", "x" * 65], ["OBJECT", "ENCODING", "long"],
    ["HSET", "edge", "f", "x" * 64], ["OBJECT", "ENCODING", "edge"],
    ["HINCRBYFLOAT", "edge", "g", "1e100"], ["OBJECT", "ENCODING", "edge"],
    ["HSET", "bin", "", "", b"\x00\xff", b"\r\n"], ["HGETALL", "bin"], ["DUMP", "bin"],
    ["DEL", "h"], ["TYPE", "h"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_encoding_thresholds_match_redis(pair):
    fields = []
    for i in range(513):
        fields += [f"f{i}", str(i)]
    script = [["FLUSHALL"], ["HSET", "h", *fields[:1024]], ["OBJECT", "ENCODING", "h"],
              ["HSET", "h", *fields[1024:]], ["OBJECT", "ENCODING", "h"],
              ["HDEL", "h", "f0", "f1", "f2"], ["OBJECT", "ENCODING", "h"],
              ["HSET", "k", "a", "b"], ["HINCRBY", "k", "n", "1"], ["OBJECT", "ENCODING", "k"],
              ["CONFIG", "SET", "hash-max-listpack-entries", "2"],
              ["HSET", "k", "c", "d"], ["OBJECT", "ENCODING", "k"],
              ["CONFIG", "SET", "hash-max-listpack-entries", "512"],
              ["HSETNX", "n", "a", "x" * 100], ["OBJECT", "ENCODING", "n"]]
    assert_same_replies(pair, script)


def test_dump_restore_both_ways(pair):
    ours, real = pair
    fields = [x for i in range(600) for x in (f"f{i}", str(i * 7))]
    setup = [["FLUSHALL"], ["HSET", "small", "a", "1", "b", "hello", "c", "-77777"],
             ["HSET", "big", *fields], ["HSET", "long", "k", "v" * 100]]
    for server in pair:
        raw_replies(server.port, setup)
    for src, dst in ((ours, real), (real, ours)):
        for key in ("small", "big", "long"):
            payload = redis.Redis(port=src.port).dump(key)
            c = redis.Redis(port=dst.port)
            c.delete(key + "-copy")
            assert c.restore(key + "-copy", 0, payload)
            assert c.hgetall(key + "-copy") == redis.Redis(port=src.port).hgetall(key)
            assert c.object("encoding", key + "-copy") == \
                redis.Redis(port=src.port).object("encoding", key)
    # small listpack hashes are byte-identical
    assert redis.Redis(port=ours.port).dump("small") == redis.Redis(port=real.port).dump("small")


def test_redis_py_both_protocols(rr, k):
    assert rr.hset(k(), mapping={"a": "1", "b": "2"}) == 2
    assert rr.hset(k(), "c", "3") == 1
    assert rr.hgetall(k()) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert rr.hmget(k(), ["a", "x", "c"]) == [b"1", None, b"3"]
    assert rr.hincrby(k(), "a", 10) == 11
    assert rr.hincrbyfloat(k(), "b", 0.5) == 2.5
    assert rr.hlen(k()) == 3 and rr.hexists(k(), "a") and not rr.hexists(k(), "zz")
    assert rr.hstrlen(k(), "a") == 2
    assert sorted(rr.hkeys(k())) == [b"a", b"b", b"c"]
    assert rr.hrandfield(k()) in (b"a", b"b", b"c")
    assert sorted(rr.hrandfield(k(), 5)) == [b"a", b"b", b"c"]
    pairs = rr.hrandfield(k(), -5, withvalues=True)
    flat = [x for p in pairs for x in p] if isinstance(pairs[0], list) else pairs
    assert len(flat) == 10 and all(flat[i + 1] == rr.hget(k(), flat[i])
                                   for i in range(0, 10, 2))
    assert rr.hdel(k(), "a", "b", "c") == 3 and rr.exists(k()) == 0


def test_hscan_iter_big_hash(rr, k):
    mapping = {f"field:{i}": str(i) for i in range(3000)}
    rr.hset(k(), mapping=mapping)
    assert rr.object("encoding", k()) in (b"hashtable", "hashtable")
    seen = {}
    cursor, batch = rr.hscan(k(), 0, count=50)
    assert cursor != 0 and 0 < len(batch) < 3000
    for field, value in rr.hscan_iter(k(), count=100):
        seen[field] = value
    assert seen == {f.encode(): v.encode() for f, v in mapping.items()}
    matched = dict(rr.hscan_iter(k(), match="field:1??"))
    assert len(matched) == 100


def test_hscan_survives_changes(r, k):
    r.hset(k(), mapping={f"f{i}": i for i in range(1000)})
    cursor, seen = 0, set()
    first = True
    while first or cursor:
        first = False
        cursor, batch = r.hscan(k(), cursor, count=37)
        seen.update(batch)
        r.hset(k(), f"new{cursor}", 1)          # changes between calls
        r.hdel(k(), f"new{cursor}")
    assert {f"f{i}".encode() for i in range(1000)} <= seen


def test_wrongtype_and_transactions(r, k):
    r.set(k("s"), "v")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.hset(k("s"), "a", "b")
    r.hset(k(), "a", "1")
    p = r.pipeline(transaction=True)
    p.hincrby(k(), "a", 1).hget(k(), "a").hincrbyfloat(k(), "a", "0.5")
    assert p.execute() == [2, b"2", 2.5]
    # WATCH is broken by a change to the hash from another client
    with r.pipeline() as p:
        p.watch(k())
        redis.Redis(port=r.connection_pool.connection_kwargs["port"]).hset(k(), "b", "2")
        p.multi()
        p.hset(k(), "c", "3")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.hexists(k(), "c") == 0


def test_redis_cli(cli, k):
    assert cli("HSET", k(), "a", "1").strip() == "1"
    assert cli("HGETALL", k()).split() == ["a", "1"]
    assert cli("TYPE", k()).strip() == "hash"
