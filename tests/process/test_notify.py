"""Keyspace notifications over real sockets, message for message against a real
redis-server (same commands, same sequence), in RESP2 and RESP3."""
from __future__ import annotations

import pytest
import redis

from tests.support import wait_until

COMMANDS = [
    ("SET", "s", "1"), ("INCR", "s"), ("INCRBYFLOAT", "s", "1.5"), ("APPEND", "s", "x"),
    ("SET", "t", "v", "EX", "100"), ("PERSIST", "t"), ("EXPIRE", "t", "50"),
    ("RENAME", "t", "u"), ("GETDEL", "u"), ("MSET", "a", "1", "b", "2"), ("DEL", "a", "b", "nx"),
    ("HSET", "h", "f", "1", "g", "2"), ("HINCRBY", "h", "f", "3"), ("HDEL", "h", "f", "g"),
    ("SADD", "st", "m", "n"), ("SREM", "st", "m", "n"),
    ("ZADD", "z", "1", "a"), ("ZINCRBY", "z", "2", "a"), ("ZREM", "z", "a"),
    ("RPUSH", "l", "a", "b"), ("LPUSH", "l", "c"), ("LPOP", "l"), ("RPOP", "l", "5"),
    ("SET", "gone", "1", "PX", "1"),
]
# The rest of Redis 7.0's notifyKeyspaceEvent calls, one command each (deterministic ones).
MORE = [
    ("SET", "s", "hello"), ("SETRANGE", "s", "1", "EY"), ("SETBIT", "b", "7", "1"),
    ("BITOP", "OR", "bo", "b", "s"), ("BITOP", "AND", "bo", "nx1", "nx2"),
    ("BITFIELD", "bf", "SET", "u8", "0", "200", "GET", "u8", "0"),
    ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "100"),
    ("COPY", "s", "s2"), ("COPY", "s", "s2", "REPLACE"), ("MOVE", "s2", "1"),
    ("MSETNX", "m1", "1", "m2", "2"), ("GETEX", "m1", "EX", "100"), ("GETEX", "m1", "PERSIST"),
    ("GETEX", "m2", "PXAT", "1"), ("HSETNX", "h", "f", "1"), ("HSETNX", "h", "f", "2"),
    ("RPUSH", "l", "a", "b", "c", "d", "b"), ("LINSERT", "l", "BEFORE", "c", "x"),
    ("LSET", "l", "0", "A"), ("LREM", "l", "0", "b"), ("LTRIM", "l", "0", "2"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "l2"), ("LMPOP", "1", "l", "LEFT"),
    ("BLPOP", "l2", "0"), ("BLMOVE", "l2", "l3", "RIGHT", "LEFT", "0"), ("LTRIM", "l3", "1", "0"),
    ("SADD", "a", "1", "2", "3"), ("SADD", "c", "3", "4"), ("SINTERSTORE", "d", "a", "c"),
    ("SUNIONSTORE", "d", "a", "c"), ("SDIFFSTORE", "d", "a", "a"), ("SINTERSTORE", "d", "a", "nx"),
    ("SMOVE", "c", "a", "4"), ("SMOVE", "c", "e", "3"), ("SPOP", "e"), ("SPOP", "a", "10"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZADD", "y", "5", "a"),
    ("ZUNIONSTORE", "zu", "2", "z", "y"), ("ZINTERSTORE", "zi", "2", "z", "y"),
    ("ZDIFFSTORE", "zd", "2", "z", "z"), ("ZDIFFSTORE", "zu", "2", "z", "z"),
    ("ZRANGESTORE", "zr", "z", "0", "1"), ("ZRANGESTORE", "zr", "z", "5", "9"),
    ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYSCORE", "z", "2", "2"),
    ("ZREMRANGEBYLEX", "y", "-", "+"), ("ZREMRANGEBYSCORE", "z", "9", "10"),
    ("ZADD", "z", "7", "e"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "1"),
    ("ZMPOP", "1", "z", "MIN", "COUNT", "5"), ("ZADD", "z", "1", "q"), ("BZPOPMAX", "z", "0"),
    ("PFADD", "hl", "a", "b"), ("PFADD", "hl", "a"), ("PFADD", "hl2", "z"),
    ("PFMERGE", "hl3", "hl", "hl2"), ("RPUSH", "sl", "3", "1", "2"),
    ("SORT", "sl", "STORE", "so"), ("SORT", "nx", "STORE", "so"), ("HINCRBYFLOAT", "h", "f", "1.5"),
    ("SET", "dumped", "v"),
]


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _messages(port: int, protocol: int, commands=COMMANDS, flags: str = "KEA") -> list:
    with redis.Redis(port=port, protocol=protocol, socket_timeout=10) as r:
        r.config_set("notify-keyspace-events", flags)
        ps = r.pubsub()
        ps.psubscribe("__key*__:*")
        ps.subscribe("end")
        got = []

        def until(kind, pred):
            def step():
                msg = ps.get_message(timeout=0.05)
                if msg is not None:
                    got.append(msg)
                return got and pred(got[-1])
            wait_until(step, 10, message=kind)
        until("subscriptions", lambda m: m["type"] == "subscribe")
        got.clear()
        with redis.Redis(port=port, socket_timeout=10) as w:
            for cmd in commands:
                w.execute_command(*cmd)
            if commands is COMMANDS:
                wait_until(lambda: w.exists("gone") == 0)    # lazy expiry: "expired"
            else:
                payload = w.dump("dumped")
                w.restore("restored", 0, payload)
                w.restore("restored", 0, payload, replace=True)
                w.get("missing")                             # "keymiss" with m
                w.hget("missing", "f")
            w.publish("end", "x")
        until("the end marker", lambda m: m["channel"] == b"end")
        r.config_set("notify-keyspace-events", "")
        ps.close()
        r.flushall()
    return [(m["type"], m["pattern"], m["channel"], m["data"]) for m in got]


@pytest.mark.parametrize("protocol", [2, 3])
def test_same_messages_as_redis(node, module_real, protocol):
    ours = _messages(node.port, protocol)
    real = _messages(module_real.port, protocol)
    assert len(ours) > 40
    assert ours == real


@pytest.mark.parametrize("protocol", [2, 3])
def test_more_events_same_as_redis(node, module_real, protocol):
    ours = _messages(node.port, protocol, MORE)
    real = _messages(module_real.port, protocol, MORE)
    assert len(real) > 150
    assert ours == real


def test_new_and_keymiss_same_as_redis(node, module_real):
    ours = _messages(node.port, 3, MORE, "KEAnm")
    real = _messages(module_real.port, 3, MORE, "KEAnm")
    assert any(m[2] == b"__keyevent@0__:new" for m in real)
    assert any(m[2] == b"__keyevent@0__:keymiss" for m in real)
    assert ours == real
