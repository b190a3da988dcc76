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


SCRIPT_MORE = [
    ["DEL", "ml", "md", "ms"], ["SET", "ms", "v"],
    ["RPUSH", "ml", "a", "b", "c", "b", "d", "b", "e"],
    ["LINSERT", "ml", "BEFORE", "c", "x"], ["LINSERT", "ml", "after", "e", "y"],
    ["LINSERT", "ml", "middle", "c", "x"], ["LINSERT", "ml", "before", "nope", "x"],
    ["LINSERT", "none", "before", "a", "x"], ["LINSERT", "ms", "before", "a", "x"],
    ["LINSERT", "none", "bad", "a", "x"], ["LRANGE", "ml", 0, -1],
    ["LSET", "ml", 0, "A"], ["LSET", "ml", -1, "Y"], ["LSET", "ml", 100, "z"],
    ["LSET", "ml", "x", "z"], ["LSET", "none", 0, "z"], ["LSET", "none", "x", "z"],
    ["LSET", "ms", 0, "z"], ["LRANGE", "ml", 0, -1],
    ["LPOS", "ml", "b"], ["LPOS", "ml", "b", "RANK", 2], ["LPOS", "ml", "b", "RANK", -1],
    ["LPOS", "ml", "b", "COUNT", 0], ["LPOS", "ml", "b", "COUNT", 2, "RANK", -1],
    ["LPOS", "ml", "b", "MAXLEN", 2], ["LPOS", "ml", "b", "COUNT", 0, "MAXLEN", 4],
    ["LPOS", "ml", "zz"], ["LPOS", "ml", "zz", "COUNT", 1], ["LPOS", "none", "a"],
    ["LPOS", "none", "a", "COUNT", 3], ["LPOS", "ml", "b", "RANK", 0],
    ["LPOS", "ml", "b", "RANK", "x"], ["LPOS", "ml", "b", "COUNT", -1],
    ["LPOS", "ml", "b", "COUNT", "x"], ["LPOS", "ml", "b", "MAXLEN", -1],
    ["LPOS", "ml", "b", "MAXLEN", "x"], ["LPOS", "ml", "b", "RANK"], ["LPOS", "ml", "b", "FOO", 1],
    ["LPOS", "ml", "b", "RANK", "-9223372036854775808"], ["LPOS", "ms", "a"],
    ["LPOS", "ml", "b", "RANK", 5], ["LPOS", "ml", "b", "RANK", -5, "COUNT", 0],
    ["LREM", "ml", 1, "b"], ["LRANGE", "ml", 0, -1], ["LREM", "ml", -1, "b"],
    ["LRANGE", "ml", 0, -1], ["RPUSH", "ml", "b", "b"], ["LREM", "ml", 0, "b"],
    ["LREM", "ml", 0, "nope"], ["LREM", "ml", "x", "b"], ["LREM", "none", 1, "b"],
    ["LREM", "ms", 1, "b"], ["LRANGE", "ml", 0, -1],
    ["LTRIM", "ml", 1, -2], ["LRANGE", "ml", 0, -1], ["LTRIM", "ml", "x", 1],
    ["LTRIM", "none", 0, 1], ["LTRIM", "ms", 0, 1], ["LTRIM", "ml", -100, 100],
    ["LRANGE", "ml", 0, -1], ["LTRIM", "ml", 5, 1], ["EXISTS", "ml"],
    ["RPUSH", "ml", 1, 2, 3, 4], ["LMOVE", "ml", "md", "LEFT", "RIGHT"],
    ["LMOVE", "ml", "md", "right", "left"], ["LMOVE", "ml", "ml", "left", "right"],
    ["LRANGE", "ml", 0, -1], ["LRANGE", "md", 0, -1], ["LMOVE", "ml", "md", "up", "left"],
    ["LMOVE", "none", "md", "left", "left"], ["LMOVE", "ml", "ms", "left", "left"],
    ["LMOVE", "ms", "md", "left", "left"], ["RPOPLPUSH", "ml", "md"],
    ["RPOPLPUSH", "none", "md"], ["RPOPLPUSH", "ml", "ms"], ["LRANGE", "md", 0, -1],
    ["LMPOP", 2, "none", "md", "LEFT"], ["LMPOP", 2, "none", "md", "right", "COUNT", 10],
    ["LMPOP", 1, "none", "LEFT"], ["LMPOP", 0, "md", "LEFT"], ["LMPOP", "x", "md", "LEFT"],
    ["LMPOP", 3, "md", "LEFT"], ["LMPOP", 1, "md", "UP"], ["LMPOP", 1, "md", "LEFT", "COUNT"],
    ["LMPOP", 1, "md", "LEFT", "COUNT", 0], ["LMPOP", 1, "md", "LEFT", "COUNT", 1, "COUNT", 1],
    ["LMPOP", 1, "ms", "LEFT"], ["LMPOP", 2, "none", "ms", "LEFT"],
    ["BLPOP", "ms", 0], ["BLPOP", "none", "x"], ["BLPOP", "none", -1], ["BLPOP", "none", "inf"],
    ["BLPOP", "none", "nan"], ["BRPOP", "none", "1e30"], ["BLMOVE", "none", "d", "up", "left", 0],
    ["BLMOVE", "none", "d", "left", "left", "x"], ["BLMPOP", "x", 1, "none", "LEFT"],
    ["BLMPOP", 0, 0, "none", "LEFT"], ["BLMPOP", 0, 1, "none", "UP"],
    ["BZPOPMIN", "none", -1], ["BZMPOP", 0, 1, "none", "UP"], ["BZMPOP", 0, 1, "ms", "MIN"],
    ["RPUSH", "ml", "p", "q", "r"], ["BLPOP", "none", "ml", 0], ["BRPOP", "ml", 0.01],
    ["BLMOVE", "ml", "md", "left", "right", 0], ["BRPOPLPUSH", "md", "ml", 0],
    ["BLMPOP", 0, 1, "ml", "RIGHT", "COUNT", 5], ["BLPOP", "ml", "0.01"],
    ["BLMOVE", "ml", "md", "left", "right", "0.01"], ["BLMPOP", "0.01", 1, "ml", "LEFT"],
    ["ZADD", "mz", 1, "a", 2, "b", 3, "c"], ["BZPOPMIN", "mz", 0], ["BZPOPMAX", "mz", 0],
    ["BZMPOP", 0, 1, "mz", "MAX", "COUNT", 3], ["BZPOPMIN", "mz", "0.01"],
    ["BZMPOP", "0.01", 1, "mz", "MIN"], ["BZPOPMIN", "ml", "ms", 0],
    ["CLIENT", "UNBLOCK", 999999], ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK", 1, "foo"],
    ["CLIENT", "UNBLOCK", 1, "error", "x"],
    ["MULTI"], ["BLPOP", "none", 0], ["BLMOVE", "none", "x", "left", "left", 0],
    ["BZPOPMIN", "none", 0], ["BLMPOP", 0, 1, "none", "LEFT"], ["BZMPOP", 0, 1, "none", "MIN"],
    ["BRPOPLPUSH", "none", "x", 0], ["EXEC"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_more_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT_MORE, protocol)


def test_more_commands(rr, k):
    assert rr.rpush(k(), "a", "b", "c", "b") == 4
    assert rr.linsert(k(), "BEFORE", "c", "x") == 5
    assert rr.lpos(k(), "b") == 1 and rr.lpos(k(), "b", rank=-1) == 4
    assert rr.lpos(k(), "b", count=0) == [1, 4]
    assert rr.lset(k(), 0, "A") is True
    assert rr.lrem(k(), 0, "b") == 2
    assert rr.lrange(k(), 0, -1) == [b"A", b"x", b"c"]
    assert rr.ltrim(k(), 1, -1) is True
    assert rr.lmove(k(), k("d"), "LEFT", "RIGHT") == b"x"
    assert rr.rpoplpush(k(), k("d")) == b"c"
    assert rr.exists(k()) == 0
    assert rr.lmpop(1, k("d"), direction="LEFT", count=5) == [k("d").encode(), [b"c", b"x"]]
    assert rr.lmpop(1, k("d"), direction="LEFT") is None
