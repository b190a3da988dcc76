"""cluster.persistence.loading.loading_gate: the -LOADING rule, alone and in the dispatcher."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401  (registers the command table)
from cluster.execution.dispatch import execute
from cluster.execution.table import lookup
from cluster.node import Node
from cluster.persistence import loading
from cluster.resp.reply import ReplyError


def _gate(client, *words: bytes):
    argv = list(words)
    return loading.loading_gate(client, lookup(argv), argv)


def test_gate_refuses_commands_without_the_loading_flag_while_loading():
    node = Node()
    client = node.new_client(fd=99)
    assert _gate(client, b"GET", b"k") is None            # not loading: everything passes
    loading.begin(node, 0)
    assert _gate(client, b"GET", b"k") == loading.LOADING
    assert _gate(client, b"SET", b"k", b"v") == loading.LOADING
    assert _gate(client, b"INFO") is None                  # flagged `loading`
    assert _gate(client, b"CONFIG", b"GET", b"port") is None
    assert _gate(node.new_client(), b"GET", b"k") is None  # fd -1: an internal client
    reply = execute(client, [b"GET", b"k"])
    assert isinstance(reply, ReplyError) and str(reply) == loading.LOADING
    loading.end(node)
    assert node.persist.loading is None and not node.keyspace.loading
    assert _gate(client, b"GET", b"k") is None
    assert execute(client, [b"GET", b"k"]) is None
