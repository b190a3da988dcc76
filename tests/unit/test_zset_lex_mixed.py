"""Lex ranges over a sorted set whose scores differ (found by redis-py's test_zrangestore):
Redis walks the members in score order comparing members only, it does not return empty."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.keyspace.zset import ZSet


def make(*pairs) -> ZSet:
    zs = ZSet()
    for member, score in pairs:
        zs.add(member, score)
    return zs


def test_mixed_scores_members_in_order():
    zs = make((b"a1", 1.0), (b"a2", 2.0), (b"a3", 3.0))
    assert zs.lex_span((b"a2", False), (b"a3", True)) == (1, 2)
    assert zs.lex_span((b"a2", False), (b"a3", True), reverse=True) == (1, 2)
    assert zs.lex_span("-", "+") == (0, 3)
    assert zs.lex_span((b"a3", False), (b"a2", False)) == (0, 0)
    assert zs.lex_span((b"a2", True), (b"a2", False)) == (0, 0)
    assert zs.lex_span("+", "+") == (0, 0)


def test_mixed_scores_members_out_of_order():
    # score order: c(1) a(2) b(3); forward starts at the first member >= min and stops at
    # the first one > max; reverse starts at the last member <= max and walks back.
    zs = make((b"c", 1.0), (b"a", 2.0), (b"b", 3.0))
    assert zs.lex_span((b"b", False), "+") == (0, 3)
    assert zs.lex_span("-", (b"b", False)) == (0, 0)        # first member c > b
    assert zs.lex_span((b"c", True), "+") == (0, 0)         # last member b < (c
    assert zs.lex_span((b"a", False), (b"b", False), reverse=True) == (0, 0)  # c > b
    assert zs.lex_span((b"a", False), "+", reverse=True) == (0, 3)


def test_zrangestore_bylex_limit_through_dispatch():
    node = Node()
    client = node.new_client()
    execute(client, [b"ZADD", b"a", b"1", b"a1", b"2", b"a2", b"3", b"a3"])
    assert execute(client, [b"ZRANGESTORE", b"b", b"a", b"[a2", b"(a3", b"BYLEX",
                            b"LIMIT", b"0", b"1"]) == 1
    assert execute(client, [b"ZRANGE", b"b", b"0", b"-1"]) == [b"a2"]
    assert execute(client, [b"ZREVRANGEBYLEX", b"a", b"+", b"(a1"]) == [b"a3", b"a2"]
    assert execute(client, [b"ZLEXCOUNT", b"a", b"[a2", b"+"]) == 2
    assert execute(client, [b"ZREMRANGEBYLEX", b"a", b"-", b"[a1"]) == 1
