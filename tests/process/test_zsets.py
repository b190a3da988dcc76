"""Sorted set commands over real sockets: raw replies compared byte for byte with a real
redis-server 7.0.15 (both protocols), and redis-py in RESP2 and RESP3."""
from __future__ import annotations

import math

import pytest

from tests.support import assert_same_replies, real_redis, wait_until

NODE_ARGS = ("--enable-debug-command", "yes")


@pytest.fixture(scope="module")
def node(module_node):
    """The module's one node (rr from conftest uses it)."""
    return module_node


@pytest.fixture
def k(request):
    return lambda name="z": f"{request.node.name}:{name}"


SCRIPT = [
    ["FLUSHALL"], ["SET", "str", "v"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"],
    ["ZADD", "z", "NX", "GT", "1", "a"], ["ZADD", "z", "NX", "LT", "1", "a"],
    ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "x", "a"],
    ["ZADD", "z", "1", "a", "2"], ["ZADD", "z", "1"], ["ZADD", "z", "nan", "a"],
    ["ZADD", "z", " 1", "a"], ["ZADD", "z", "1 ", "a"], ["ZADD", "z", "1_0", "a"],
    ["ZADD", "z", "1e400", "a"], ["ZADD", "z", "1e-400", "a"], ["ZADD", "z", "0x10", "hx"],
    ["ZADD", "z", "infinity", "inf1"], ["ZADD", "z", "-INF", "ninf"],
    ["ZADD", "z", "+inf", "pinf"], ["ZADD", "z", "CH", "5", "a", "6", "new"],
    ["ZADD", "z", "XX", "CH", "7", "a", "8", "nope"], ["ZADD", "z", "NX", "9", "a", "10", "nx1"],
    ["ZADD", "z", "GT", "CH", "1", "a", "100", "b"],
    ["ZADD", "z", "LT", "CH", "1", "a", "100", "c"], ["ZADD", "z", "INCR", "2.5", "a"],
    ["ZADD", "z", "XX", "INCR", "1", "nope"], ["ZADD", "z", "NX", "INCR", "1", "a"],
    ["ZADD", "z", "GT", "INCR", "-1", "a"], ["ZADD", "z", "LT", "INCR", "-1", "a"],
    ["ZADD", "z", "INCR", "0", "a"], ["ZADD", "z", "INCR", "-inf", "pinf"],
    ["ZADD", "z", "1", "b", "INCR", "1", "a"], ["ZADD", "str", "1", "a"],
    ["ZADD", "nokey", "XX", "1", "a"], ["ZADD", "nokey", "XX", "INCR", "1", "a"],
    ["EXISTS", "nokey"], ["ZINCRBY", "z", "1", "a"], ["ZINCRBY", "z", "x", "a"],
    ["ZINCRBY", "z", "-inf", "pinf"], ["ZINCRBY", "str", "1", "a"], ["ZINCRBY", "zi", "0.1", "m"],
    ["ZINCRBY", "zi", "0.2", "m"], ["ZSCORE", "zi", "m"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["ZCARD", "z"], ["ZCARD", "nokey"], ["ZCARD", "str"], ["ZSCORE", "z", "a"],
    ["ZSCORE", "z", "zz"], ["ZSCORE", "nokey", "a"], ["ZSCORE", "str", "a"],
    ["ZMSCORE", "z", "a", "zz", "b"], ["ZMSCORE", "nokey", "a", "b"], ["ZMSCORE", "str", "a"],
    ["ZRANK", "z", "a"], ["ZRANK", "z", "zz"], ["ZREVRANK", "z", "a"], ["ZRANK", "nokey", "a"],
    ["ZRANK", "str", "a"], ["DEL", "r"],
    ["ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "-inf", "m", "inf", "p"],
    ["ZRANGE", "r", "0", "-1"], ["ZRANGE", "r", "1", "3", "WITHSCORES"],
    ["ZRANGE", "r", "-3", "-1", "REV"], ["ZRANGE", "r", "5", "2"], ["ZRANGE", "r", "x", "2"],
    ["ZRANGE", "r", "0", "100"], ["ZRANGE", "r", "-100", "1"],
    ["ZRANGE", "r", "0", "-1", "LIMIT", "0", "1"],
    ["ZRANGE", "r", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "r", "(1", "4", "BYSCORE"],
    ["ZRANGE", "r", "(1", "(4", "BYSCORE", "WITHSCORES"],
    ["ZRANGE", "r", "4", "(1", "BYSCORE", "REV"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
    ["ZRANGE", "r", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "2", "WITHSCORES"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "0"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "1"],
    ["ZRANGE", "r", "-inf", "+inf", "BYSCORE", "LIMIT", "x", "1"],
    ["ZRANGE", "r", "x", "1", "BYSCORE"], ["ZRANGE", "r", "1", "nan", "BYSCORE"],
    ["ZRANGE", "r", "(inf", "inf", "BYSCORE"], ["ZRANGE", "r", "(-inf", "(inf", "BYSCORE"],
    ["ZRANGE", "r", "inf", "inf", "BYSCORE"], ["ZRANGE", "r", " 2", "3", "BYSCORE"],
    ["ZRANGE", "r", "((2", "3", "BYSCORE"], ["ZRANGE", "r", "0", "1", "BYLEX"],
    ["ZRANGE", "r", "0", "1", "FOO"], ["ZRANGE", "r", "0", "1", "BYSCORE", "BYLEX"],
    ["ZRANGE", "nokey", "0", "1"], ["ZRANGE", "nokey", "x", "1"], ["ZRANGE", "str", "0", "1"],
    ["ZRANGEBYSCORE", "r", "2", "4"],
    ["ZRANGEBYSCORE", "r", "2", "4", "WITHSCORES", "LIMIT", "1", "5"],
    ["ZRANGEBYSCORE", "r", "2", "4", "REV"], ["ZRANGEBYSCORE", "r", "2", "4", "BYLEX"],
    ["ZREVRANGEBYSCORE", "r", "4", "2", "WITHSCORES"], ["ZREVRANGEBYSCORE", "r", "2", "4"],
    ["ZREVRANGEBYSCORE", "r", "+inf", "-inf", "LIMIT", "0", "3"],
    ["ZREVRANGE", "r", "0", "2", "WITHSCORES"], ["ZREVRANGE", "r", "0", "2", "LIMIT", "0", "1"],
    ["ZREVRANGE", "r", "-2", "-1"], ["ZCOUNT", "r", "-inf", "+inf"], ["ZCOUNT", "r", "(1", "3"],
    ["ZCOUNT", "r", "3", "1"], ["ZCOUNT", "r", "x", "1"], ["ZCOUNT", "nokey", "1", "2"],
    ["ZCOUNT", "nokey", "x", "2"], ["ZCOUNT", "str", "1", "2"], ["DEL", "l"],
    ["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g"],
    ["ZRANGEBYLEX", "l", "-", "+"], ["ZRANGEBYLEX", "l", "[b", "(e"],
    ["ZRANGEBYLEX", "l", "(b", "[e", "LIMIT", "1", "2"], ["ZREVRANGEBYLEX", "l", "+", "-"],
    ["ZREVRANGEBYLEX", "l", "[e", "(b"], ["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"],
    ["ZRANGEBYLEX", "l", "b", "e"], ["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"],
    ["ZRANGEBYLEX", "l", "+", "-"], ["ZRANGEBYLEX", "l", "[z", "+"],
    ["ZRANGEBYLEX", "l", "--", "+"], ["ZRANGEBYLEX", "l", "-", "++"],
    ["ZRANGE", "l", "[e", "(b", "BYLEX", "REV"],
    ["ZRANGE", "l", "(b", "[e", "BYLEX", "LIMIT", "0", "2"], ["ZLEXCOUNT", "l", "-", "+"],
    ["ZLEXCOUNT", "l", "[c", "[c"], ["ZLEXCOUNT", "l", "(c", "[c"], ["ZLEXCOUNT", "l", "x", "+"],
    ["ZLEXCOUNT", "nokey", "-", "+"], ["ZLEXCOUNT", "nokey", "x", "+"],
    ["ZLEXCOUNT", "str", "-", "+"], ["ZRANGESTORE", "dst", "r", "0", "-1"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "r", "1", "3", "BYSCORE", "LIMIT", "0", "2"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["ZRANGESTORE", "dst", "l", "[b", "[d", "BYLEX", "REV"], ["ZRANGE", "dst", "0", "-1"],
    ["ZRANGESTORE", "dst", "r", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "r", "5", "1"],
    ["EXISTS", "dst"], ["ZRANGESTORE", "dst", "nokey", "0", "-1"],
    ["ZRANGESTORE", "str", "r", "0", "0"], ["TYPE", "str"], ["SET", "str", "v"],
    ["ZRANGESTORE", "dst", "str", "0", "-1"], ["ZREM", "r", "a", "zz", "b"], ["ZREM", "r", "zz"],
    ["ZREM", "nokey", "a"], ["ZREM", "str", "a"], ["ZREMRANGEBYRANK", "r", "0", "0"],
    ["ZREMRANGEBYRANK", "r", "x", "0"], ["ZREMRANGEBYRANK", "r", "5", "1"],
    ["ZREMRANGEBYSCORE", "r", "(3", "5"], ["ZREMRANGEBYSCORE", "r", "x", "5"],
    ["ZRANGE", "r", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "l", "[b", "(d"],
    ["ZREMRANGEBYLEX", "l", "b", "(d"], ["ZRANGE", "l", "0", "-1"],
    ["ZREMRANGEBYLEX", "l", "-", "+"], ["EXISTS", "l"], ["ZREMRANGEBYRANK", "nokey", "0", "1"],
    ["ZREMRANGEBYSCORE", "str", "0", "1"], ["ZREMRANGEBYRANK", "r", "0", "-1"], ["EXISTS", "r"],
    ["DEL", "p"], ["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"],
    ["ZPOPMIN", "p"], ["ZPOPMAX", "p"], ["ZPOPMIN", "p", "2"], ["ZPOPMAX", "p", "0"],
    ["ZPOPMIN", "p", "-1"], ["ZPOPMIN", "p", "x"], ["ZPOPMIN", "p", "1", "2"],
    ["ZPOPMIN", "nokey"], ["ZPOPMIN", "nokey", "2"], ["ZPOPMIN", "str"], ["ZPOPMIN", "str", "0"],
    ["ZPOPMAX", "p", "100"], ["EXISTS", "p"], ["ZADD", "p", "1", "a", "2", "b", "3", "c"],
    ["ZMPOP", "1", "p", "MIN"], ["ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "5"],
    ["ZMPOP", "1", "p", "MIN"], ["ZMPOP", "0", "p", "MIN"], ["ZMPOP", "x", "p", "MIN"],
    ["ZMPOP", "-1", "p", "MIN"], ["ZMPOP", "5", "p", "MIN"], ["ZMPOP", "1", "p", "MID"],
    ["ZMPOP", "1", "p", "MIN", "COUNT"], ["ZMPOP", "1", "p", "MIN", "COUNT", "0"],
    ["ZMPOP", "1", "p", "MIN", "COUNT", "x"],
    ["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "2"], ["ZMPOP", "1", "p", "MIN", "FOO"],
    ["ZMPOP", "2", "str", "p", "MIN"], ["ZMPOP", "1", "p"], ["DEL", "a1", "a2", "a3"],
    ["ZADD", "a1", "1", "x", "2", "y", "3", "z"], ["ZADD", "a2", "10", "y", "20", "z", "30", "w"],
    ["ZUNION", "2", "a1", "a2", "WITHSCORES"],
    ["ZUNION", "2", "a1", "a2", "WEIGHTS", "2", "0.5", "WITHSCORES"],
    ["ZUNION", "2", "a1", "a2", "AGGREGATE", "MIN", "WITHSCORES"],
    ["ZUNION", "2", "a1", "a2", "AGGREGATE", "MAX"], ["ZINTER", "2", "a1", "a2", "WITHSCORES"],
    ["ZINTER", "2", "a1", "a2", "AGGREGATE", "max", "WITHSCORES"],
    ["ZDIFF", "2", "a1", "a2", "WITHSCORES"], ["ZDIFF", "2", "a1", "a2", "WEIGHTS", "1", "2"],
    ["ZDIFF", "1", "nokey"], ["ZUNION", "0", "a1"], ["ZUNION", "-1", "a1"], ["ZUNION", "x", "a1"],
    ["ZUNION", "3", "a1", "a2"], ["ZINTER", "0", "a1"], ["ZDIFF", "0", "a1"],
    ["ZUNIONSTORE", "d", "0", "a1"], ["ZINTERSTORE", "d", "0", "a1"],
    ["ZDIFFSTORE", "d", "0", "a1"], ["ZUNION", "2", "a1", "a2", "WEIGHTS", "1"],
    ["ZUNION", "2", "a1", "a2", "WEIGHTS", "1", "x"],
    ["ZUNION", "2", "a1", "a2", "AGGREGATE", "AVG"], ["ZUNION", "2", "a1", "a2", "AGGREGATE"],
    ["ZUNION", "2", "a1", "str"], ["ZUNION", "2", "a1", "a2", "FOO"],
    ["ZUNIONSTORE", "d", "2", "a1", "a2", "WITHSCORES"],
    ["ZUNIONSTORE", "d", "2", "a1", "a2", "WEIGHTS", "inf", "0"],
    ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZINTERSTORE", "d", "2", "a1", "a2"],
    ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZDIFFSTORE", "d", "2", "a1", "a2"],
    ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZINTERSTORE", "d", "2", "a1", "nokey"],
    ["EXISTS", "d"], ["ZUNIONSTORE", "d", "2", "a1", "str"], ["SADD", "s1", "x", "q"],
    ["SADD", "s2", "1", "2", "x"], ["ZUNION", "2", "a1", "s1", "WITHSCORES"],
    ["ZINTER", "2", "s1", "a1", "WITHSCORES"],
    ["ZINTER", "3", "s1", "s2", "a1", "WEIGHTS", "2", "3", "4", "WITHSCORES"],
    ["ZDIFF", "2", "s2", "a1", "WITHSCORES"], ["ZINTERCARD", "2", "s1", "s2"],
    ["ZUNIONSTORE", "d", "2", "s1", "s2"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
    ["OBJECT", "ENCODING", "d"], ["ZRANGE", "s1", "0", "-1"], ["ZADD", "s1", "1", "a"],
    ["ZINTERCARD", "2", "a1", "a2"], ["ZINTERCARD", "2", "a1", "a2", "LIMIT", "1"],
    ["ZINTERCARD", "2", "a1", "a2", "LIMIT", "-1"], ["ZINTERCARD", "2", "a1", "a2", "LIMIT", "x"],
    ["ZINTERCARD", "0", "a1"], ["ZINTERCARD", "x", "a1"], ["ZINTERCARD", "3", "a1"],
    ["ZINTERCARD", "1", "a1", "WITHSCORES"], ["ZINTERCARD", "2", "a1", "str"],
    ["ZUNION", "2", "a1", "a2", "WEIGHTS", "nan", "1"],
    ["ZUNION", "2", "a1", "a2", "WEIGHTS", "1e400", "1", "WITHSCORES"],
    ["ZADD", "ninf", "-inf", "x"], ["ZADD", "pinf", "inf", "x"],
    ["ZUNION", "2", "ninf", "pinf", "WITHSCORES"], ["ZINTER", "2", "ninf", "pinf", "WITHSCORES"],
    ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "5"], ["ZRANDMEMBER", "str"],
    ["ZRANDMEMBER", "a1", "0"], ["ZRANDMEMBER", "a1", "x"], ["ZRANDMEMBER", "a1", "1", "FOO"],
    ["ZRANDMEMBER", "a1", "1", "WITHSCORES", "x"], ["ZRANDMEMBER", "a1", "-9223372036854775808"],
    ["ZRANDMEMBER", "a1", "-9223372036854775807", "WITHSCORES"],
    ["ZRANDMEMBER", "a1", "9223372036854775807", "WITHSCORES"], ["ZRANDMEMBER", "a1", "3"],
    ["ZRANDMEMBER", "a1", "10", "WITHSCORES"], ["ZSCAN", "a1", "0"],
    ["ZSCAN", "a1", "0", "MATCH", "x*"], ["ZSCAN", "a1", "x"], ["ZSCAN", "a1", "0", "COUNT", "0"],
    ["ZSCAN", "a1", "0", "TYPE", "zset"], ["ZSCAN", "nokey", "0"], ["ZSCAN", "str", "0"],
    ["ZSCAN", "nokey", "x"],
    ["ZADD", "ints", "123456789012345678", "g", "0.1", "h", "5", "j", "-0", "k", "1e300", "i"],
    ["ZSCAN", "ints", "0"], ["ZRANGE", "ints", "0", "-1", "WITHSCORES"], ["TYPE", "a1"],
    ["OBJECT", "ENCODING", "a1"], ["ZADD", "long", "1", "x" * 65], ["OBJECT", "ENCODING", "long"],
    ["ZADD", "ok64", "1", "x" * 64], ["OBJECT", "ENCODING", "ok64"],
    ["ZADD", "big"] + [str(i) if j == 0 else "m%d" % i for i in range(129) for j in (0, 1)],
    ["OBJECT", "ENCODING", "big"], ["ZREMRANGEBYRANK", "big", "0", "-3"],
    ["OBJECT", "ENCODING", "big"], ["ZADD", "big", "-0", "zero"], ["ZSCORE", "big", "zero"],
    ["ZRANGESTORE", "sm", "big", "0", "-1"], ["OBJECT", "ENCODING", "sm"],
    ["ZADD", "b128"] + [str(i) if j == 0 else "m%d" % i for i in range(128) for j in (0, 1)],
    ["OBJECT", "ENCODING", "b128"], ["ZADD", "b128", "1", "extra"], ["OBJECT", "ENCODING", "b128"],
    ["ZADD", "dupe"] + ["1", "same"] * 129, ["OBJECT", "ENCODING", "dupe"],
    ["ZUNIONSTORE", "u", "1", "big"], ["OBJECT", "ENCODING", "u"], ["ZADD"], ["ZADD", "z"],
    ["ZADD", "z", "1"], ["ZCARD"], ["ZRANGE", "z", "0"], ["ZMPOP", "1"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def tuples(pairs) -> list:
    """redis-py gives (member, score) tuples in RESP2 and [member, score] lists in RESP3."""
    return [tuple(p) for p in pairs]


def test_zadd_and_ranges_with_redis_py(rr, k):
    assert rr.zadd(k(), {"a": 1, "b": 2.5, "c": 3}) == 3
    assert rr.zscore(k(), "b") == 2.5
    assert rr.zincrby(k(), 0.5, "b") == 3.0
    assert tuples(rr.zrange(k(), 0, -1, withscores=True)) == [(b"a", 1.0), (b"b", 3.0), (b"c", 3.0)]
    assert rr.zrangebyscore(k(), "(1", "+inf") == [b"b", b"c"]
    assert rr.zrevrange(k(), 0, 0) == [b"c"]
    assert rr.zrank(k(), "c") == 2 and rr.zrevrank(k(), "c") == 0
    assert rr.zmscore(k(), ["a", "nope"]) == [1.0, None]
    assert tuples(rr.zpopmin(k(), 1)) == [(b"a", 1.0)]
    assert tuples(rr.zpopmax(k(), 2)) == [(b"c", 3.0), (b"b", 3.0)]
    assert rr.exists(k()) == 0


def test_algebra_with_redis_py(rr, k):
    rr.zadd(k("a"), {"x": 1, "y": 2})
    rr.zadd(k("b"), {"y": 10, "z": 20})
    assert tuples(rr.zunion([k("a"), k("b")], withscores=True)) == [
        (b"x", 1.0), (b"y", 12.0), (b"z", 20.0)]
    assert rr.zinterstore(k("d"), {k("a"): 2, k("b"): 1}, aggregate="MAX") == 1
    assert tuples(rr.zrange(k("d"), 0, -1, withscores=True)) == [(b"y", 10.0)]
    assert rr.zdiff([k("a"), k("b")]) == [b"x"]
    assert rr.zintercard(2, [k("a"), k("b")]) == 1


def test_zrandmember_properties(rr, k):
    members = {b"m%d" % i: float(i) for i in range(20)}
    rr.zadd(k(), members)
    assert rr.zrandmember(k()) in members
    distinct = rr.zrandmember(k(), 10)
    assert len(distinct) == len(set(distinct)) == 10 and set(distinct) <= set(members)
    assert sorted(rr.zrandmember(k(), 50)) == sorted(members)
    repeated = rr.zrandmember(k(), -50)
    assert len(repeated) == 50 and set(repeated) <= set(members)
    raw = rr.execute_command("ZRANDMEMBER", k(), -5, "WITHSCORES")
    pairs = raw if rr.get_connection_kwargs().get("protocol") == 3 else \
        list(zip(raw[::2], raw[1::2]))
    assert len(pairs) == 5
    for member, score in pairs:
        assert float(score) == members[member]


def test_zscan_big_set_returns_every_member(rr, k):
    members = {b"m%d" % i: i for i in range(300)}
    rr.zadd(k(), members)
    assert rr.object("encoding", k()) == b"skiplist"
    seen = dict(rr.zscan_iter(k(), count=20))
    assert seen == {m: float(s) for m, s in members.items()}
    small = dict(rr.zscan_iter(k(), match="m1?"))
    assert set(small) == {b"m%d" % i for i in range(10, 20)}


def test_multi_exec_and_watch(rr, k):
    rr.zadd(k(), {"a": 1})
    with rr.pipeline() as pipe:
        pipe.watch(k())
        pipe.multi()
        pipe.zadd(k(), {"b": 2})
        pipe.zcard(k())
        assert pipe.execute() == [1, 2]
    with rr.pipeline() as pipe:
        pipe.watch(k())
        rr.zincrby(k(), 1, "a")          # another client changes the key
        pipe.multi()
        pipe.zrem(k(), "a")
        with pytest.raises(Exception):
            pipe.execute()
    assert rr.zscore(k(), "a") == 2.0


def test_type_scan_filter_and_digest(rr, k):
    rr.zadd(k(), {"a": 1, "b": 2})
    rr.zadd(k("same"), {"b": 2, "a": 1})
    assert rr.type(k()) == b"zset"
    rr.set(k("str"), "v")
    keys = set(rr.scan_iter(_type="zset", count=1000))
    assert {k().encode(), k("same").encode()} <= keys
    assert k("str").encode() not in keys
    d1, d2 = rr.execute_command("DEBUG", "DIGEST-VALUE", k(), k("same"))
    assert d1 == d2 and d1 != b"0" * 40


DUMP_CASES = {
    "small": {"a": 1, "b": 2.5, "c": -3, "d": 0.1, "e": 123456789012345678, "f": "inf",
              "g": "-inf", "h": 1e300, "i": -0.0, "x" * 40: 7},
    "big": {("m%d" % i): i * 1.5 for i in range(200)},
    "long": {"x" * 100: 1, "y": 2},
}


@pytest.mark.parametrize("name", sorted(DUMP_CASES))
def test_dump_restore_both_ways_with_redis(pair, name):
    import redis
    ours_node, real_node = pair
    ours, real = redis.Redis(port=ours_node.port), redis.Redis(port=real_node.port)
    for r in (ours, real):
        r.delete(name, "rt")
        r.zadd(name, DUMP_CASES[name])
    want = real.zrange(name, 0, -1, withscores=True)
    assert ours.object("encoding", name) == real.object("encoding", name)
    for compression in ("no", "yes"):               # LZF as Redis applies it, or none
        for r in (ours, real):
            r.config_set("rdbcompression", compression)
        assert ours.dump(name) == real.dump(name)
        for r in (ours, real):
            r.delete("rt")
        ours.restore("rt", 0, real.dump(name))
        real.restore("rt", 0, ours.dump(name))
        for r in (ours, real):
            assert r.zrange("rt", 0, -1, withscores=True) == want
            assert r.object("encoding", "rt") == real.object("encoding", name)
    for r in (ours, real):
        r.config_set("rdbcompression", "yes")


def test_real_replica_loads_our_rdb_and_follows_zset_writes(node, r, k, tmp_path):
    """A real redis-server replica full-syncs zsets (both encodings) from our RDB, then
    applies our stream, where ZMPOP arrives rewritten as ZPOPMIN/ZPOPMAX."""
    import redis
    r.zadd(k("small"), {"a": 1.5, "b": "-inf", "c": 3})
    r.zadd(k("big"), {("m%d" % i): i for i in range(300)})
    with real_redis("--replicaof", "127.0.0.1", str(node.port), "--dir",
                    str(tmp_path)) as real:
        rep = redis.Redis(port=real.port)
        wait_until(lambda: rep.info("replication")["master_link_status"] == "up", 15)
        assert rep.zrange(k("small"), 0, -1, withscores=True) == [
            (b"b", -math.inf), (b"a", 1.5), (b"c", 3.0)]
        assert rep.object("encoding", k("big")) == b"skiplist"
        assert rep.zrange(k("big"), 0, -1, withscores=True) == \
            r.zrange(k("big"), 0, -1, withscores=True)
        r.execute_command("ZMPOP", 1, k("small"), "MAX", "COUNT", 2)
        r.zincrby(k("big"), 0.5, "m0")
        r.zunionstore(k("u"), [k("small"), k("big")])
        wait_until(lambda: rep.exists(k("u")) == 1, 10)
        assert rep.zrange(k("small"), 0, -1) == [b"b"]
        assert rep.zscore(k("big"), "m0") == 0.5
        assert rep.zcard(k("u")) == 301
