"""List commands over real sockets: redis-py in RESP2 and RESP3, and raw replies compared
byte for byte with a real redis-server 7.0.15."""
from __future__ import annotations

import pytest
import redis

from tests.support import assert_same_replies


@pytest.fixture(scope="module")
def node(module_node):
    """The module's one node (rr / cli from conftest use it)."""
    return module_node


@pytest.fixture
def k(request):
    return lambda name="l": f"{request.node.name}:{name}"


SCRIPT = [
    ["DEL", "rl", "rs"], ["SET", "rs", "v"],
    ["LPOP", "rl"], ["LPOP", "rl", 0], ["LPOP", "rl", 1], ["RPOP", "rl", 5], ["LLEN", "rl"],
    ["LRANGE", "rl", 0, -1], ["LINDEX", "rl", 0], ["LINDEX", "rl", "x"],
    ["LPUSHX", "rl", "a"], ["RPUSHX", "rl", "a"], ["EXISTS", "rl"],
    ["RPUSH", "rl", "a", "b", "c", "d", "e"], ["LPUSH", "rl", "z", "y"], ["LPUSHX", "rl", "x"],
    ["RPUSHX", "rl", "f", "g"], ["LLEN", "rl"], ["LRANGE", "rl", 0, -1],
    ["LRANGE", "rl", -3, 100], ["LRANGE", "rl", 5, 2], ["LRANGE", "rl", "a", 1],
    ["LRANGE", "rl", 0, "99999999999999999999"], ["LINDEX", "rl", -1], ["LINDEX", "rl", 99],
    ["LINDEX", "rl", "1.5"], ["LPOP", "rl"], ["RPOP", "rl"], ["LPOP", "rl", 0],
    ["LPOP", "rl", 2], ["RPOP", "rl", 3], ["LPOP", "rl", -1], ["LPOP", "rl", "x"],
    ["LPOP", "rl", 1, 2], ["RPOP", "rl", 100], ["EXISTS", "rl"], ["RPOP", "rl"],
    ["LPUSH", "rs", "a"], ["RPUSH", "rs", "a"], ["LPUSHX", "rs", "a"], ["RPUSHX", "rs", "a"],
    ["LPOP", "rs"], ["RPOP", "rs", 1], ["RPOP", "rs", -1], ["LLEN", "rs"],
    ["LRANGE", "rs", 0, -1], ["LRANGE", "rs", "x", -1], ["LINDEX", "rs", 0],
    ["LINDEX", "rs", "x"], ["LPUSH", "rl"], ["LRANGE", "rl", 0], ["LINDEX", "rl"], ["LLEN"],
    ["RPUSH", "rl", "", b"\x00\xff\r\n"], ["LRANGE", "rl", 0, -1], ["TYPE", "rl"],
    ["GET", "rl"], ["DEL", "rl"], ["TYPE", "rl"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_push_pop_range(rr, k):
    assert rr.rpush(k(), "a", "b", "c") == 3
    assert rr.lpush(k(), "x", "y") == 5
    assert rr.lrange(k(), 0, -1) == [b"y", b"x", b"a", b"b", b"c"]
    assert rr.lpushx(k(), "w") == 6 and rr.rpushx(k(), "d") == 7
    assert rr.lpushx(k("none"), "w") == 0 and rr.exists(k("none")) == 0
    assert rr.llen(k()) == 7
    assert rr.lindex(k(), 0) == b"w" and rr.lindex(k(), -1) == b"d"
    assert rr.lindex(k(), 100) is None
    assert rr.lpop(k()) == b"w" and rr.rpop(k()) == b"d"
    assert rr.lpop(k(), 2) == [b"y", b"x"]
    assert rr.rpop(k(), 10) == [b"c", b"b", b"a"]
    assert rr.exists(k()) == 0
    assert rr.lpop(k()) is None
    assert rr.lpop(k(), 3) is None
    assert rr.type(k()) in (b"none", "none")


def test_wrongtype(rr, k):
    rr.set(k(), "v")
    for call in (lambda: rr.lpush(k(), "a"), lambda: rr.rpop(k()), lambda: rr.llen(k()),
                 lambda: rr.lrange(k(), 0, -1), lambda: rr.lindex(k(), 0)):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key "
                                                      "holding the wrong kind of value$"):
            call()
    assert rr.get(k()) == b"v"


def test_big_list(rr, k):
    items = [str(i).encode() for i in range(5000)]
    for start in range(0, 5000, 1000):
        assert rr.rpush(k(), *items[start:start + 1000]) == start + 1000
    assert rr.lrange(k(), 0, 99) == items[:100]
    assert rr.lrange(k(), -100, -1) == items[-100:]
    assert rr.lrange(k(), 2400, 2600) == items[2400:2601]
    assert rr.lindex(k(), 4321) == b"4321"


def test_list_commands_in_redis_cli(node, k):
    from tests.support import redis_cli
    key = k()
    assert redis_cli(node.port, "RPUSH", key, "a", "b").strip() == "2"
    assert redis_cli(node.port, "LRANGE", key, "0", "-1").split() == ["a", "b"]
    assert redis_cli(node.port, "--no-raw", "LPOP", key + "x", "1").strip() == "(nil)"
    assert redis_cli(node.port, "--no-raw", "LRANGE", key, "5", "9").strip() == "(empty array)"
