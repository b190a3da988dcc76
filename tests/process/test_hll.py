"""HyperLogLog over real sockets: PFADD/PFCOUNT/PFMERGE replies and the very bytes of the
values (sparse and dense, cached counts) equal a real redis-server 7.0.15's, DUMP/RESTORE
both ways, and redis-py in both protocols."""
from __future__ import annotations

import random

import pytest
import redis

from tests.support import assert_same_replies


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture
def k(request):
    return lambda name="h": f"{request.node.name}:{name}"


def _script() -> list:
    rnd = random.Random(5)
    c = [["FLUSHALL"], ["PFADD", "h"], ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"],
         ["PFADD", "h", "a", "b", "c"], ["GET", "h"], ["PFCOUNT", "h"], ["GET", "h"],
         ["PFADD", "h", "a"]]
    for i in range(60):
        c.append(["PFADD", "h"] + [f"e{rnd.randrange(100000)}"
                                   for _ in range(rnd.randrange(1, 40))])
        if i % 5 == 0:
            c += [["GET", "h"], ["PFCOUNT", "h"]]
    for _ in range(15):
        c.append(["PFADD", "big"] + [f"x{rnd.randrange(10**9)}" for _ in range(200)])
        c.append(["PFCOUNT", "big"])
    c += [["GET", "big"], ["PFCOUNT", "big", "h"], ["PFCOUNT", "h", "nokey"],
          ["PFMERGE", "m", "h"], ["GET", "m"], ["PFCOUNT", "m"], ["PFMERGE", "m2", "h", "big"],
          ["GET", "m2"], ["PFCOUNT", "m2"], ["PFADD", "s2", "q", "w", "e"],
          ["PFMERGE", "s2", "h"], ["GET", "s2"], ["PFMERGE", "s3"], ["GET", "s3"],
          ["PFMERGE", "big", "s2"], ["PFCOUNT", "big"],
          ["SET", "str", "hello"], ["PFADD", "str", "a"], ["PFCOUNT", "str"],
          ["PFMERGE", "str", "h"], ["PFMERGE", "h", "str"], ["LPUSH", "l", "a"],
          ["PFADD", "l", "a"], ["PFCOUNT", "l"], ["PFCOUNT", "h", "l"], ["PFMERGE", "l"],
          ["PFMERGE", "h", "l"],
          ["SET", "bad", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80\x50\x00"],
          ["PFCOUNT", "bad"], ["PFADD", "bad", "zz"], ["PFCOUNT", "bad", "h"],
          ["PFMERGE", "x", "bad"],
          ["SET", "bad2", b"HYLL\x00\x00\x00\x00" + bytes(7) + b"\x80\x50\x00"],
          ["PFCOUNT", "bad2"], ["PFADD", "bad2"], ["PFCOUNT"], ["PFADD"]]
    for n in (1, 10, 100, 1000, 5000, 20000):
        els = [f"m{n}:{i}" for i in range(n)]
        for j in range(0, n, 500):
            c.append(["PFADD", f"c{n}"] + els[j:j + 500])
        c += [["PFCOUNT", f"c{n}"], ["GET", f"c{n}"]]
    c += [["PFCOUNT", "c1", "c10", "c100", "c1000", "c5000", "c20000"],
          ["PFMERGE", "all", "c1", "c10", "c100"], ["GET", "all"],
          ["PFMERGE", "all", "c20000"], ["GET", "all"], ["PFCOUNT", "all"]]
    return c


SCRIPT = _script()


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_and_values_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_restore_both_ways(pair):
    ours, real = pair
    a, b = redis.Redis(port=ours.port), redis.Redis(port=real.port)
    for client in (a, b):
        client.delete("rt:s", "rt:d")
        client.pfadd("rt:s", *[f"s{i}" for i in range(50)])
        client.pfadd("rt:d", *[f"d{i}" for i in range(3000)])
    for key in ("rt:s", "rt:d"):
        a.restore(key + ":from_real", 0, b.dump(key), replace=True)
        b.restore(key + ":from_ours", 0, a.dump(key), replace=True)
        assert a.pfcount(key + ":from_real") == b.pfcount(key)
        assert b.pfcount(key + ":from_ours") == a.pfcount(key)
        assert a.get(key + ":from_real") == b.get(key)
        assert b.get(key + ":from_ours") == a.get(key)


def test_pf_commands_redis_py(rr, k):
    assert rr.pfadd(k(), "a", "b", "c") == 1
    assert rr.pfadd(k(), "a") == 0
    assert rr.pfcount(k()) == 3
    assert rr.pfadd(k("2"), "c", "d") == 1
    assert rr.pfcount(k(), k("2")) == 4
    assert rr.pfmerge(k("m"), k(), k("2")) is True
    assert rr.pfcount(k("m")) == 4
    assert rr.type(k("m")) == (b"string")
    rr.set(k("s"), "not an hll at all")
    with pytest.raises(redis.ResponseError,
                       match="Key is not a valid HyperLogLog string value."):
        rr.pfcount(k("s"))


def test_pfcount_cache_breaks_watch(r, k):
    r.pfadd(k(), "a", "b")
    p = r.pipeline()
    p.watch(k())
    assert r.pfcount(k()) == 2          # writes the cached count into the value
    p.multi()
    p.pfcount(k())
    with pytest.raises(redis.WatchError):
        p.execute()
