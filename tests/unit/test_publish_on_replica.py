"""PUBLISH is propagated by a primary only: a replica (which real sentinels send their
__sentinel__:hello PUBLISHes to) keeps its stream, offset and backlog its primary's."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.node import Node


class _Link:
    """Stands for a replica's link to its primary: refuses nothing here."""

    def refusal(self, client, cmd):
        return None


class _ReplSink:
    """Stands for the replication backlog (cluster.replication.propagate tells it by `repl_sink`)."""

    repl_sink = True

    def __init__(self):
        self.out: list[bytes] = []

    def feed(self, data: bytes) -> None:
        self.out.append(data)


def _fed(node: Node) -> list[bytes]:
    sink = _ReplSink()
    node.propagator.sinks.append(sink.feed)
    return sink.out


def test_primary_propagates_publish():
    node = Node()
    fed = _fed(node)
    aof: list[bytes] = []
    node.propagator.sinks.append(aof.append)       # an AOF-like sink
    c = node.new_client()
    assert execute(c, [b"PUBLISH", b"__sentinel__:hello", b"hi"]) == 0
    assert fed and fed[-1].endswith(b"$7\r\nPUBLISH\r\n$18\r\n__sentinel__:hello\r\n$2\r\nhi\r\n")
    assert aof == []                  # PUBLISH is PROPAGATE_REPL only: never the AOF
    execute(c, [b"SET", b"k", b"v"])
    assert aof[-1].startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0")   # its own SELECT
    assert fed[-1].endswith(b"$1\r\nk\r\n$1\r\nv\r\n") and b"SELECT" not in fed[-1]


def test_replica_delivers_publish_but_does_not_propagate_it():
    node = Node()
    node.repl.link = _Link()
    fed = _fed(node)
    sub = node.new_client()
    execute(sub, [b"SUBSCRIBE", b"__sentinel__:hello"])
    c = node.new_client()
    assert execute(c, [b"PUBLISH", b"__sentinel__:hello", b"hi"]) == 1
    assert fed == []
