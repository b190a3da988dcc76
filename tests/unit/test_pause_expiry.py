"""While writes are paused (CLIENT PAUSE WRITE, a manual failover), a due key reads as
absent but is not deleted, and WAIT sends no GETACK: the replication offset stays put."""
from __future__ import annotations

import cluster.commands.registry  # noqa: F401  (registers the commands)
from cluster.execution import pause
from cluster.replication import primary as repl_primary
from cluster.execution.dispatch import execute
from cluster.node import Node


def test_due_key_is_hidden_not_deleted_while_writes_are_paused():
    node = Node()
    client = node.new_client()
    node.set_time(1_000_000)
    execute(client, [b"SET", b"k", b"v", b"PX", b"10"])
    primary = repl_primary.get(node)
    primary.create_backlog()
    primary.attach(node.new_client(), {"eof", "psync2"}).state = "online"
    before = primary.offset
    pause.pause(node, "client", pause.WRITE, 2_000_000)
    node.set_time(1_000_100)
    assert execute(client, [b"GET", b"k"]) is None
    assert b"k" in node.keyspace[0].data             # still stored: no DEL went out
    primary.request_acks()
    assert primary.offset == before                   # neither a DEL nor a GETACK
    pause.unpause(node, "client")
    assert node.keyspace.hold_expired is None
    assert execute(client, [b"GET", b"k"]) is None
    assert b"k" not in node.keyspace[0].data          # expired for real once unpaused
    assert primary.offset > before
    moved = primary.offset
    primary.request_acks()
    assert primary.offset > moved                     # GETACK flows again
