"""Set commands over real sockets: raw replies byte for byte against a real redis-server
7.0.15 (RESP2 and RESP3), redis-py in both protocols, intset/hashtable encodings,
DUMP/RESTORE both ways, SSCAN through sscan_iter, MULTI/WATCH, redis-cli."""
from __future__ import annotations

import pytest
import redis

from tests.support import assert_same_replies, raw_replies


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture
def k(request):
    return lambda name="s": f"{{{request.node.name}}}:{name}"


SCRIPT = [
    ["FLUSHALL"], ["SET", "str", "v"],
    ["SADD", "s", "3", "1", "2", "1"], ["SADD", "s", "2"], ["SMEMBERS", "s"], ["SCARD", "s"],
    ["SCARD", "ns"], ["SISMEMBER", "s", "1"], ["SISMEMBER", "s", "9"], ["SISMEMBER", "ns", "1"],
    ["SMISMEMBER", "s", "1", "9", "3"], ["SMISMEMBER", "ns", "1"], ["OBJECT", "ENCODING", "s"],
    ["DUMP", "s"], ["SADD", "s", "-70000", "9223372036854775807"],
    ["SMEMBERS", "s"], ["SSCAN", "s", "0"], ["SSCAN", "s", "77", "MATCH", "*7*"],
    ["SSCAN", "s", "0", "COUNT", "0"], ["SSCAN", "s", "0", "COUNT", "x"], ["SSCAN", "s", "x"],
    ["SSCAN", "s", "0", "TYPE", "set"], ["SSCAN", "ns", "0", "foo"], ["SSCAN", "str", "0"],
    ["SREM", "s", "9", "1"], ["SREM", "ns", "1"], ["SREM", "s", "2", "3", "-70000",
                                                    "9223372036854775807"],
    ["EXISTS", "s"], ["SADD", "a", "1", "2", "3", "4"], ["SADD", "b", "3", "4", "5"],
    ["SADD", "c", "4", "9"], ["SINTER", "a", "b"], ["SINTER", "a", "b", "c"],
    ["SINTER", "a", "ns"], ["SUNION", "a", "b"], ["SUNION", "ns"], ["SDIFF", "a", "b"],
    ["SDIFF", "ns", "a"], ["SDIFF", "a", "ns", "c"], ["SINTER", "ns", "str"],
    ["SUNION", "a", "str"], ["SDIFF", "ns", "str"],
    ["SINTERCARD", "2", "a", "b"], ["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
    ["SINTERCARD", "1", "a", "LIMIT", "0"], ["SINTERCARD", "0", "a"],
    ["SINTERCARD", "x", "a"], ["SINTERCARD", "3", "a", "b"], ["SINTERCARD", "1", "a", "foo"],
    ["SINTERCARD", "1", "a", "LIMIT", "-1"], ["SINTERCARD", "1", "a", "LIMIT"],
    ["SINTERCARD", "2", "a", "ns"], ["SINTERCARD", "2", "ns", "str"],
    ["SINTERSTORE", "d", "a", "b"], ["SMEMBERS", "d"], ["SUNIONSTORE", "d", "a", "b"],
    ["SMEMBERS", "d"], ["SDIFFSTORE", "d", "a", "b"], ["SMEMBERS", "d"],
    ["SINTERSTORE", "d", "a", "ns"], ["EXISTS", "d"], ["SUNIONSTORE", "d", "ns"],
    ["SINTERSTORE", "str2", "a"], ["SET", "str2", "x"], ["SUNIONSTORE", "str2", "a", "b"],
    ["TYPE", "str2"], ["SDIFFSTORE", "d", "a", "str"],
    ["SMOVE", "a", "b", "1"], ["SMOVE", "a", "b", "1"], ["SMOVE", "a", "b", "3"],
    ["SMOVE", "ns", "str", "1"], ["SMOVE", "a", "str", "2"], ["SMOVE", "str", "a", "2"],
    ["SMOVE", "a", "a", "2"], ["SMOVE", "a", "a", "zz"], ["SMOVE", "a", "new", "2"],
    ["SMEMBERS", "a"], ["SMEMBERS", "b"], ["SMEMBERS", "new"], ["SMOVE", "c", "w", "x"],
    ["SADD", "w", "a"], ["OBJECT", "ENCODING", "w"], ["SMOVE", "w", "c", "a"],
    ["OBJECT", "ENCODING", "c"], ["EXISTS", "w"],
    ["SPOP", "ns"], ["SPOP", "ns", "2"], ["SPOP", "a", "0"], ["SPOP", "a", "-1"],
    ["SPOP", "a", "x"], ["SPOP", "a", "1", "2"], ["SPOP", "str"], ["SPOP", "str", "1"],
    ["SPOP", "a", "100"], ["EXISTS", "a"], ["SADD", "one", "x"], ["SPOP", "one"],
    ["SRANDMEMBER", "ns"], ["SRANDMEMBER", "ns", "3"], ["SRANDMEMBER", "b", "0"],
    ["SRANDMEMBER", "b", "100"], ["SRANDMEMBER", "b", "x"], ["SRANDMEMBER", "b", "1", "2"],
    ["SRANDMEMBER", "b", "-9223372036854775808"], ["SRANDMEMBER", "str"],
    ["SRANDMEMBER", "str", "1"], ["SADD", "str", "a"], ["SREM", "str", "a"],
    ["SCARD", "str"], ["SISMEMBER", "str", "a"], ["SMISMEMBER", "str", "a"],
    ["SMEMBERS", "str"], ["SADD", "m", "a"], ["OBJECT", "ENCODING", "m"],
    ["SADD", "j", "01"], ["OBJECT", "ENCODING", "j"], ["SADD", "k", "1", "a"],
    ["SREM", "k", "a"], ["OBJECT", "ENCODING", "k"], ["SADD", "big", "9223372036854775808"],
    ["OBJECT", "ENCODING", "big"], ["SADD", "lo", "-9223372036854775808"],
    ["OBJECT", "ENCODING", "lo"], ["DUMP", "lo"], ["TYPE", "lo"],
    ["SADD", "bin", b"\x00\xff"], ["SMEMBERS", "bin"], ["DUMP", "bin"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_encoding_thresholds_match_redis(pair):
    ints = [str(i) for i in range(513)]
    script = [["FLUSHALL"], ["SADD", "s", *ints[:512]], ["OBJECT", "ENCODING", "s"],
              ["SMEMBERS", "s"], ["DUMP", "s"],
              ["SADD", "s", ints[512]], ["OBJECT", "ENCODING", "s"],
              ["SREM", "s", *ints[:100]], ["OBJECT", "ENCODING", "s"],
              ["SADD", "t", *ints[:10]], ["SINTERSTORE", "u", "s", "t"],
              ["SUNIONSTORE", "v", "t"], ["OBJECT", "ENCODING", "v"], ["DUMP", "v"],
              ["CONFIG", "SET", "set-max-intset-entries", "3"],
              ["SADD", "w", "1", "2", "3"], ["OBJECT", "ENCODING", "w"],
              ["SADD", "w", "4"], ["OBJECT", "ENCODING", "w"],
              ["CONFIG", "SET", "set-max-intset-entries", "512"]]
    assert_same_replies(pair, script)


def test_dump_restore_both_ways(pair):
    ours, real = pair
    setup = [["FLUSHALL"], ["SADD", "ints", "1", "-5", "100000", "-3000000000"],
             ["SADD", "words", "a", "bb", "ccc", "7"],
             ["SADD", "many", *[str(i) for i in range(700)]]]
    for server in pair:
        raw_replies(server.port, setup)
    for src, dst in ((ours, real), (real, ours)):
        s, d = redis.Redis(port=src.port), redis.Redis(port=dst.port)
        for key in ("ints", "words", "many"):
            d.delete(key + "-copy")
            assert d.restore(key + "-copy", 0, s.dump(key))
            assert d.smembers(key + "-copy") == s.smembers(key)
            assert d.object("encoding", key + "-copy") == s.object("encoding", key)
    assert redis.Redis(port=ours.port).dump("ints") == redis.Redis(port=real.port).dump("ints")


def test_redis_py_both_protocols(rr, k):
    assert rr.sadd(k(), "a", "b", "c") == 3
    assert rr.smembers(k()) == {b"a", b"b", b"c"}
    assert rr.sismember(k(), "a") and rr.smismember(k(), ["a", "z"]) == [1, 0]
    assert rr.scard(k()) == 3
    assert rr.srandmember(k()) in {b"a", b"b", b"c"}
    assert len(rr.srandmember(k(), -7)) == 7
    popped = rr.spop(k(), 2)
    assert len(popped) == 2 and rr.scard(k()) == 1
    rr.sadd(k("b"), "x", "y")
    assert rr.sunion(k(), k("b")) == set(rr.smembers(k())) | {b"x", b"y"}
    assert rr.sinter(k(), k("b")) == set()
    assert rr.sintercard(2, [k(), k("b")]) == 0
    assert rr.sunionstore(k("u"), [k(), k("b")]) == 3
    assert rr.sdiff(k("u"), k("b")) == set(rr.smembers(k()))
    assert rr.smove(k("b"), k(), "x") == 1 and rr.sismember(k(), "x")
    assert rr.srem(k(), "x") == 1


def test_sscan_iter_big_set(rr, k):
    members = {f"m:{i}".encode() for i in range(3000)}
    rr.sadd(k(), *members)
    assert rr.object("encoding", k()) in (b"hashtable", "hashtable")
    cursor, batch = rr.sscan(k(), 0, count=20)
    assert cursor != 0 and 0 < len(batch) < 3000
    assert set(rr.sscan_iter(k(), count=200)) == members
    assert len(set(rr.sscan_iter(k(), match="m:2??"))) == 100


def test_sscan_survives_changes(r, k):
    r.sadd(k(), *range(100000, 101000), "x")
    cursor, seen, first = 0, set(), True
    while first or cursor:
        first = False
        cursor, batch = r.sscan(k(), cursor, count=41)
        seen.update(batch)
        r.sadd(k(), f"tmp{cursor}")
        r.srem(k(), f"tmp{cursor}")
    assert {str(i).encode() for i in range(100000, 101000)} <= seen


def test_transactions_and_watch(r, k):
    r.sadd(k(), "a")
    p = r.pipeline(transaction=True)
    p.sadd(k(), "b").spop(k(), 5).scard(k())
    res = p.execute()
    assert res[0] == 1 and set(res[1]) == {b"a", b"b"} and res[2] == 0
    r.sadd(k(), "a")
    other = redis.Redis(port=r.connection_pool.connection_kwargs["port"])
    with r.pipeline() as p:
        p.watch(k())
        other.srem(k(), "a")
        p.multi()
        p.sadd(k(), "z")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.exists(k()) == 0


def test_scan_type_filter(r, k):
    r.sadd(k(), "a")
    r.hset(k("h"), "a", "b")
    found = set(r.scan_iter(match=f"{{*", _type="set"))
    assert k().encode() in found and k("h").encode() not in found
    assert k("h").encode() in set(r.scan_iter(_type="hash"))


def test_redis_cli(cli, k):
    assert cli("SADD", k(), "2", "1").strip() == "2"
    assert cli("SMEMBERS", k()).split() == ["1", "2"]
    assert cli("TYPE", k()).strip() == "set"
