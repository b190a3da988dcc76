"""List commands on a Node in-process (no sockets): LPUSH/RPUSH[X], LPOP/RPOP, LLEN,
LRANGE, LINDEX. Replies and error words as Redis 7.0.15 gives them."""
from __future__ import annotations

from collections import deque

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.keyspace.databases import WRONGTYPE
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError
from cluster.execution.table import TABLE

NOT_INT = "ERR value is not an integer or out of range"
NOT_POSITIVE = "ERR value is out of range, must be positive"


@pytest.fixture
def env():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:6379")

    def run(*argv):
        return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in argv])
    return node, client, run


def error(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def test_push_order_and_lengths(env):
    _, client, run = env
    assert run("RPUSH", "l", "a", "b") == 2
    assert run("LPUSH", "l", "x", "y") == 4          # each pushed to the head in turn
    assert run("LRANGE", "l", 0, -1) == [b"y", b"x", b"a", b"b"]
    assert run("RPUSHX", "l", "z") == 5
    assert run("LPUSHX", "l", "w", "v") == 7
    assert run("LRANGE", "l", 0, -1) == [b"v", b"w", b"y", b"x", b"a", b"b", b"z"]
    assert run("LLEN", "l") == 7
    assert isinstance(client.db.data[b"l"], deque)
    assert run("TYPE", "l") == b"list"


def test_pushx_on_missing_key_creates_nothing(env):
    node, client, run = env
    dirty = node.keyspace.dirty
    assert run("LPUSHX", "none", "a") == 0
    assert run("RPUSHX", "none", "a", "b") == 0
    assert run("EXISTS", "none") == 0
    assert node.keyspace.dirty == dirty


def test_pop_single_and_count(env):
    _, _, run = env
    run("RPUSH", "l", "a", "b", "c", "d", "e")
    assert run("LPOP", "l") == b"a"
    assert run("RPOP", "l") == b"e"
    assert run("LPOP", "l", 0) == []
    assert run("LPOP", "l", 2) == [b"b", b"c"]
    assert run("RPOP", "l", 5) == [b"d"]
    assert run("EXISTS", "l") == 0                      # an emptied list is deleted
    assert run("LPOP", "l") is None
    assert run("RPOP", "l") is None
    assert run("LPOP", "l", 1) is NULL_ARRAY            # count given: a null array
    assert run("RPOP", "l", 0) is NULL_ARRAY
    assert run("LPOP", "l", 9223372036854775807) is NULL_ARRAY


def test_pop_count_errors(env):
    _, _, run = env
    run("SET", "s", "v")
    for bad in ("-1", "x", "1.5", "99999999999999999999", "", " 1"):
        assert error(run("LPOP", "nokey", bad)) == NOT_POSITIVE
        assert error(run("RPOP", "s", bad)) == NOT_POSITIVE    # count checked first
    assert error(run("LPOP", "l", 1, 2)) == "ERR wrong number of arguments for 'lpop' command"
    assert error(run("RPOP", "l", 1, 2)) == "ERR wrong number of arguments for 'rpop' command"
    assert error(run("LPOP", "s", 0)) == WRONGTYPE


def test_wrongtype_everywhere(env):
    _, client, run = env
    run("SET", "s", "v")
    for argv in (("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"),
                 ("RPUSHX", "s", "a"), ("LPOP", "s"), ("RPOP", "s"), ("RPOP", "s", 2),
                 ("LLEN", "s"), ("LRANGE", "s", 0, -1), ("LINDEX", "s", 0),
                 ("LINDEX", "s", "x")):
        assert error(run(*argv)) == WRONGTYPE, argv
    assert client.db.data[b"s"] == b"v"
    run("RPUSH", "l", "a")
    assert error(run("GET", "l")) == WRONGTYPE


@pytest.mark.parametrize("start,stop,expected", [
    (0, -1, "abcd"), (-100, 100, "abcd"), (1, 2, "bc"), (2, 1, ""), (-2, -1, "cd"),
    (5, 10, ""), (0, -5, ""), (-5, 0, "a"), (3, 3, "d"), (0, 0, "a"), (-1, -1, "d"),
    (1, -2, "bc"), (4, 4, ""), (-9223372036854775808, 9223372036854775807, "abcd"),
])
def test_lrange(env, start, stop, expected):
    _, _, run = env
    run("RPUSH", "l", "a", "b", "c", "d")
    assert run("LRANGE", "l", start, stop) == [c.encode() for c in expected]


def test_lrange_from_either_end_of_a_long_list(env):
    _, _, run = env
    items = [str(i).encode() for i in range(1000)]
    run("RPUSH", "l", *items)
    assert run("LRANGE", "l", 0, 99) == items[:100]
    assert run("LRANGE", "l", 900, -1) == items[900:]
    assert run("LRANGE", "l", -600, -300) == items[400:701]
    assert run("LRANGE", "l", 10, 989) == items[10:990]


def test_lrange_errors_and_missing(env):
    _, _, run = env
    run("SET", "s", "v")
    assert run("LRANGE", "nokey", 0, -1) == []
    assert error(run("LRANGE", "nokey", "x", 1)) == NOT_INT
    assert error(run("LRANGE", "s", 0, "1.0")) == NOT_INT           # numbers first
    assert error(run("LRANGE", "l", 0, "99999999999999999999")) == NOT_INT


def test_lindex(env):
    _, _, run = env
    run("RPUSH", "l", "a", "b", "c", "d")
    assert [run("LINDEX", "l", i) for i in (0, 1, 3, -1, -4)] == [b"a", b"b", b"d", b"d", b"a"]
    assert run("LINDEX", "l", 4) is None
    assert run("LINDEX", "l", -5) is None
    assert error(run("LINDEX", "l", "x")) == NOT_INT
    assert run("LINDEX", "nokey", "x") is None                       # key looked up first


def test_llen(env):
    _, _, run = env
    assert run("LLEN", "nokey") == 0
    run("LPUSH", "l", *"abc")
    assert run("LLEN", "l") == 3


def test_binary_and_empty_elements(env):
    _, _, run = env
    values = [b"", b"\x00\xff\r\n", bytes(range(256))]
    assert run("RPUSH", "l", *values) == 3
    assert run("LRANGE", "l", 0, -1) == values
    assert run("LINDEX", "l", 0) == b""


def test_arity(env):
    _, _, run = env
    for argv in (("LPUSH", "l"), ("RPUSH",), ("LPUSHX", "l"), ("RPUSHX", "l"), ("LPOP",),
                 ("RPOP",), ("LLEN",), ("LLEN", "a", "b"), ("LRANGE", "l", 0),
                 ("LRANGE", "l", 0, 1, 2), ("LINDEX", "l"), ("LINDEX", "l", 0, 1)):
        name = argv[0].lower()
        assert error(run(*argv)) == f"ERR wrong number of arguments for '{name}' command"


def test_writes_propagate_and_bump_dirty(env):
    node, _, run = env
    fed = []
    node.propagator.feed = lambda db, argv: fed.append(argv)
    run("RPUSH", "l", "a", "b")
    run("LPOP", "l")
    run("LPOP", "nokey")              # nothing changed: nothing propagated
    run("LPUSHX", "nokey", "a")
    run("RPOP", "l", 5)
    run("LRANGE", "l", 0, -1)
    assert fed == [[b"RPUSH", b"l", b"a", b"b"], [b"LPOP", b"l"], [b"RPOP", b"l", b"5"]]


def test_watch_is_broken_by_list_writes(env):
    node, client, run = env
    other = node.new_client("127.0.0.1:5001", "127.0.0.1:6379")
    run("RPUSH", "l", "a", "b")
    for change in (("RPUSH", "l", "c"), ("LPOP", "l"), ("RPUSHX", "l", "x"), ("RPOP", "l", 9)):
        assert run("WATCH", "l") == OK
        assert not isinstance(execute(other, [str(a).encode() for a in change]), ReplyError)
        assert run("MULTI") == OK
        run("LLEN", "l")
        assert run("EXEC") is NULL_ARRAY, change


def test_expired_list_is_gone(env):
    node, client, run = env
    run("RPUSH", "l", "a")
    client.db.set_expire(b"l", node.now_ms + 10)
    node.set_time(node.now_ms + 20)
    assert run("LLEN", "l") == 0
    assert run("RPUSHX", "l", "a") == 0
    assert run("LPUSH", "l", "b") == 1


@pytest.mark.parametrize("name,arity,flags,key_flags", [
    ("lpush", -3, {"write", "denyoom", "fast"}, ["RW", "INSERT"]),
    ("rpush", -3, {"write", "denyoom", "fast"}, ["RW", "INSERT"]),
    ("lpushx", -3, {"write", "denyoom", "fast"}, ["RW", "INSERT"]),
    ("rpushx", -3, {"write", "denyoom", "fast"}, ["RW", "INSERT"]),
    ("lpop", -2, {"write", "fast"}, ["RW", "ACCESS", "DELETE"]),
    ("rpop", -2, {"write", "fast"}, ["RW", "ACCESS", "DELETE"]),
    ("llen", 2, {"readonly", "fast"}, ["RO"]),
    ("lrange", 4, {"readonly"}, ["RO", "ACCESS"]),
    ("lindex", 3, {"readonly"}, ["RO", "ACCESS"]),
])
def test_table_entries(name, arity, flags, key_flags):
    cmd = TABLE[name]
    assert cmd.arity == arity
    assert set(cmd.flags) == flags
    assert (cmd.first_key, cmd.last_key, cmd.step) == (1, 1, 1)
    assert "list" in cmd.acl_categories and cmd.group == "list"
    assert cmd.key_specs[0]["flags"] == key_flags
    assert cmd.summary
