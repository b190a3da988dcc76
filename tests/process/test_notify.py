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


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _messages(port: int, protocol: int) -> list:
    with redis.Redis(port=port, protocol=protocol, socket_timeout=10) as r:
        r.config_set("notify-keyspace-events", "KEA")
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
            for cmd in COMMANDS:
                w.execute_command(*cmd)
            wait_until(lambda: w.exists("gone") == 0)    # lazy expiry: "expired"
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
