"""SORT / SORT_RO in-process: numeric and ALPHA order, BY/GET patterns, LIMIT, STORE."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.commands.sort import sort_keys, strtod
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node


@pytest.fixture
def run():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
    return lambda *argv: execute(client, [a if isinstance(a, bytes) else str(a).encode()
                                          for a in argv])


def test_strtod_like_c():
    assert strtod(b" 1.5") == 1.5
    assert strtod(b"0x10") == 16.0
    assert strtod(b"") == 0.0
    assert strtod(b"-inf") == float("-inf")
    assert strtod(b"7\0junk") == 7.0
    for bad in (b"1e400", b"1e-400", b"abc", b"nan", b"3 ", b"1.5e"):
        assert strtod(bad) is None, bad


def test_numeric_alpha_limit(run):
    run("RPUSH", "l", 10, 2, 33, 2.5)
    assert run("SORT", "l") == [b"2", b"2.5", b"10", b"33"]
    assert run("SORT", "l", "ALPHA", "DESC") == [b"33", b"2.5", b"2", b"10"]
    assert run("SORT", "l", "LIMIT", 1, 2) == [b"2.5", b"10"]
    run("RPUSH", "bad", "x")
    assert run("SORT", "bad").message == "ERR One or more scores can't be converted into double"


def test_by_get_store(run):
    run("RPUSH", "l", "a", "b", "c")
    run("MSET", "w_a", 3, "w_b", 1, "w_c", 2)
    run("HSET", "h_a", "f", "x")
    assert run("SORT", "l", "BY", "w_*") == [b"b", b"c", b"a"]
    assert run("SORT", "l", "BY", "nosort", "DESC") == [b"c", b"b", b"a"]
    assert run("SORT", "l", "BY", "w_*", "GET", "#", "GET", "h_*->f") == \
        [b"b", None, b"c", None, b"a", b"x"]
    assert run("SORT", "l", "BY", "w_*", "GET", "h_*->f", "STORE", "dst") == 3
    assert run("LRANGE", "dst", 0, -1) == [b"", b"", b"x"]
    assert run("SORT_RO", "l", "STORE", "dst").message == "ERR syntax error"


def test_sets_zsets_and_keys(run):
    run("SADD", "s", 3, 1, 2)
    assert run("SORT", "s") == [b"1", b"2", b"3"]
    run("ZADD", "z", 1, "b", 2, "a")
    assert run("SORT", "z", "BY", "nosort") == [b"b", b"a"]
    assert run("SORT", "z", "ALPHA") == [b"a", b"b"]
    assert run("SORT", "nokey", "STORE", "dst") == 0
    run("SET", "str", "x")
    assert run("SORT", "str").message.startswith("WRONGTYPE")
    argv = [b"SORT", b"l", b"BY", b"store", b"STORE", b"a", b"STORE", b"b"]
    assert sort_keys(argv) == [1, 7]
    assert run("EXISTS", "dst") == 0
