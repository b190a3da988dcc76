"""Bitmap commands over real sockets: raw replies byte for byte against a real
redis-server 7.0.15 (RESP2 and RESP3), and redis-py in both protocols."""
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
    return lambda name="k": f"{request.node.name}:{name}"


SCRIPT = [["FLUSHALL"],
 ["setbit","k","7","1"],["setbit","k","7","1"],["getbit","k","7"],["getbit","k","100"],["get","k"],
 ["setbit","k","-1","1"],["setbit","k","x","1"],["setbit","k","1","2"],["setbit","k","1","-1"],["setbit","k","4294967296","1"],
 ["setbit","k","4294967295","x"],["getbit","k","4294967296"],["getbit","nokey","a"],["lpush","l","a"],["setbit","l","1","1"],["getbit","l","1"],["getbit","l","x"],
 ["set","s","foobar"],["bitcount","s"],["bitcount","s","0","0"],["bitcount","s","1","1"],["bitcount","s","1","1","BYTE"],["bitcount","s","5","30","BIT"],
 ["bitcount","s","-3","-1"],["bitcount","s","-1","-3"],["bitcount","s","-1","-3","bit"],["bitcount","s","0"],["bitcount","s","0","1","foo"],["bitcount","s","a","b"],["bitcount","nokey","a","b"],["bitcount","nokey"],["bitcount","l"],
 ["bitcount","s","0","1","bit","x"],["bitcount","s","-100","100"],["bitcount","s","7","100","bit"],["bitcount","s","100","200"],
 ["set","p","\xff\xf0\x00"],["bitpos","p","0"],["bitpos","p","1"],["bitpos","p","0","1"],["bitpos","p","1","2"],["bitpos","p","0","2","-1"],["bitpos","p","0","7","15","bit"],["bitpos","p","0","7","bit"],
 ["set","f","\xff\xff"],["bitpos","f","0"],["bitpos","f","0","0","-1"],["bitpos","f","0","1"],["bitpos","f","0","3","bit"],["bitpos","f","0","3","-1","bit"],["bitpos","f","1","3","-1","bit"],
 ["set","z","\x00\x00"],["bitpos","z","1"],["bitpos","z","0"],["bitpos","z","1","0","-1"],["bitpos","z","1","5","bit"],
 ["bitpos","nokey","0"],["bitpos","nokey","1"],["bitpos","p","2"],["bitpos","p","x"],["bitpos","l","1"],["bitpos","p","1","x"],["bitpos","p","1","0","x"],["bitpos","p","1","0","1","xx"],["bitpos","p","1","0","1","bit","x"],
 ["bitpos","p","1","-1","-5"],["bitpos","p","0","-1","-5","bit"],["set","e",""],["bitpos","e","0"],["bitpos","e","1"],["bitcount","e"],["bitpos","p","0","100"],["bitpos","p","1","100", "200","bit"],
 ["set","a","abc"],["set","b","\x01\x02"],["bitop","and","d","a","b"],["get","d"],["bitop","or","d","a","b"],["get","d"],["bitop","xor","d","a","b","nokey"],["get","d"],["bitop","not","d","a"],["get","d"],
 ["bitop","not","d","a","b"],["bitop","foo","d","a"],["bitop","and","d","nokey","nokey2"],["exists","d"],["bitop","and","d","a","l"],["bitop","and","d"],["bitop","nOt","d","e"],
 ["set","x","1"],["expire","x","100"],["setbit","x","100","1"],["ttl","x"],["get","x"],
 ["bitfield","bf","set","i8","0","100","get","u4","0","incrby","i5","100","1","get","u4","0"],["get","bf"],
 ["bitfield","bf","incrby","u2","100","1","overflow","sat","incrby","u2","102","1"],
 ["bitfield","bf","overflow","fail","incrby","u2","102","10","get","u2","102"],
 ["bitfield","bf","set","i8","#1","-100","get","i8","#1","get","u8","8","set","u63","#2","-1","get","u63","#2"],
 ["bitfield","bf","set","i64","0","-9223372036854775808","get","i64","0","incrby","i64","0","-1","overflow","sat","incrby","i64","0","-1", "set","i64","0","9223372036854775807","incrby","i64","0","1","overflow","fail","incrby","i64","0","1"],
 ["bitfield","bf","overflow","sat","set","i8","0","-9223372036854775808","get","i8","0","set","i8","0","9223372036854775807","get","i8","0","set","u8","0","-5","get","u8","0"],
 ["bitfield","bf","overflow","wrap","set","i8","0","-9223372036854775808","get","i8","0","set","i8","0","1000","get","i8","0","set","u8","0","-5","get","u8","0","incrby","i8","0","-300"],
 ["bitfield","bf","get","u64","0"],["bitfield","bf","get","i65","0"],["bitfield","bf","get","x8","0"],["bitfield","bf","get","i0","0"],["bitfield","bf","get","i8","-1"],["bitfield","bf","get","i8","#-1"],["bitfield","bf","get","i8","x"],
 ["bitfield","bf","get","i8"],["bitfield","bf","foo"],["bitfield","bf","overflow","foo"],["bitfield","bf","overflow"],["bitfield","bf","set","i8","0","x"],["bitfield","bf","set","i8","4294967296","1"],["bitfield","bf","set","i8","#536870912","1"],
 ["bitfield","bf"],["bitfield","nokey","get","u8","0"],["exists","nokey"],["bitfield","l","get","u8","0"],["bitfield","l","set","u8","0","1"],
 ["bitfield_ro","bf","get","u8","0","get","i3","5"],["bitfield_ro","bf","set","u8","0","1"],["bitfield_ro","bf","incrby","u8","0","1","get","u8","0"],["bitfield_ro","bf","overflow","sat"],["bitfield_ro","bf"],["bitfield_ro","l","get","u8","0"],
 ["bitfield","fail","overflow","fail","incrby","u2","100","10"],["get","fail"],
 ["bitfield","bf","set","u8","#9223372036854775807","1"],["bitfield","bf","get","u1","#9223372036854775807"],["bitfield","bf","get","i64","#144115188075855871"],
 ["bitfield","bf","get","u8","8","set","u8","8","255","incrby","u8","8","10","incrby","i7","3","-100","overflow","sat","incrby","i7","3","-100","incrby","u7","3","-100"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_bitfield_random_against_redis(pair):
    """Random BITFIELD operations (all types, overflow modes, offsets) side by side."""
    rnd = random.Random(8)
    script = [["DEL", "rbf"]]
    for _ in range(150):
        args = ["BITFIELD", "rbf"]
        for _ in range(rnd.randrange(1, 4)):
            signed = rnd.random() < 0.5
            bits = rnd.randrange(1, 65 if signed else 64)
            kind = f"{'i' if signed else 'u'}{bits}"
            offset = rnd.choice([str(rnd.randrange(0, 80)), f"#{rnd.randrange(0, 4)}"])
            value = rnd.choice([rnd.randrange(-300, 300), rnd.randrange(-2**63, 2**63),
                                2**63 - 1, -2**63, 2**(bits - 1), -2**(bits - 1) - 1])
            op = rnd.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
            if op == "GET":
                args += ["GET", kind, offset]
            elif op == "OVERFLOW":
                args += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
            else:
                args += [op, kind, offset, value]
        script.append(args)
        if rnd.random() < 0.2:
            script.append(["GET", "rbf"])
    assert_same_replies(pair, script)


def test_setbit_getbit_bitcount(rr, k):
    assert rr.setbit(k(), 7, 1) == 0
    assert rr.setbit(k(), 7, 1) == 1
    assert rr.getbit(k(), 7) == 1
    assert rr.get(k()) == b"\x01"
    assert rr.bitcount(k()) == 1
    assert rr.setbit(k(), 100, 1) == 0
    assert rr.strlen(k()) == 13
    assert rr.bitcount(k(), 0, -1) == 2
    assert rr.bitcount(k(), 8, 100, "BIT") == 1
    with pytest.raises(redis.ResponseError, match="bit offset is not an integer"):
        rr.setbit(k(), -1, 1)
    with pytest.raises(redis.ResponseError, match="^bit is not an integer or out of range$"):
        rr.execute_command("SETBIT", k(), 1, 2)


def test_bitpos_bitop(rr, k):
    rr.set(k("a"), b"\x00\xff")
    assert rr.bitpos(k("a"), 1) == 8
    assert rr.bitpos(k("a"), 0, 1) == 16
    assert rr.bitpos(k("a"), 0, 1, -1) == -1
    rr.set(k("b"), b"\x0f")
    assert rr.bitop("AND", k("d"), k("a"), k("b")) == 2
    assert rr.get(k("d")) == b"\x00\x00"
    assert rr.bitop("NOT", k("d"), k("b")) == 1
    assert rr.get(k("d")) == b"\xf0"
    with pytest.raises(redis.ResponseError, match="BITOP NOT must be called"):
        rr.bitop("NOT", k("d"), k("a"), k("b"))


def test_bitfield_redis_py(rr, k):
    bf = rr.bitfield(k())
    assert bf.set("i8", 0, 100).incrby("i8", 0, 100).get("u8", 0).execute() == [0, -56, 200]
    bf = rr.bitfield(k(), default_overflow="FAIL")
    assert bf.incrby("u2", 10, 5).execute() == [None]
    assert rr.bitfield_ro(k(), "u8", 0, items=[("i8", 0)]) == [200, -56]


def test_multi_exec_and_watch(r, k):
    r.set(k(), b"\x00")
    w = r.pipeline()
    w.watch(k())
    r.setbit(k(), 3, 1)                 # breaks the WATCH
    w.multi()
    w.get(k())
    with pytest.raises(redis.WatchError):
        w.execute()
    p = r.pipeline()
    p.setbit(k(), 0, 1).bitcount(k()).execute_command("BITFIELD", k(), "INCRBY", "u4", 0, 1)
    assert p.execute() == [0, 2, [10]]
    assert r.get(k()) == b"\xa0"
