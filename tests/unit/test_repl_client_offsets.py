"""WAIT counts acks of the calling client's own last write; REPLCONF ACK/GETACK send no
reply; a replica's due keys read as absent but stay until the primary's DEL."""
from __future__ import annotations

import cluster.commands.registry  # noqa: F401
from cluster.replication import primary as repl_primary
from cluster.replication import replica as repl_replica
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Block
from cluster.keyspace.databases import REPLICA
from cluster.node import Node
from cluster.replication.propagate import encode_command
from cluster.resp.reply import NO_REPLY, encode


def _online_replica(node):
    client = node.new_client("127.0.0.1:5555")
    execute(client, [b"REPLCONF", b"listening-port", b"7010"])
    execute(client, [b"PSYNC", b"?", b"-1"])
    client.replica_link.state = "online"
    return client


def test_wait_counts_acks_of_the_callers_own_last_write():
    node = Node()
    replica = _online_replica(node)
    primary = repl_primary.get(node)
    small, busy = node.new_client(), node.new_client()
    execute(small, [b"SET", b"mine", b"1"])
    mine = small.woff
    assert mine == primary.offset > 0
    for i in range(50):
        execute(busy, [b"SET", b"other%d" % i, b"x" * 100])
    assert busy.woff == primary.offset > mine
    execute(replica, [b"REPLCONF", b"ACK", b"%d" % mine])      # acked up to `small`'s write
    assert execute(small, [b"WAIT", b"1", b"100"]) == 1        # not waiting for `busy`'s
    assert execute(busy, [b"WAIT", b"1", b"100"]).__class__ is Block
    reader = node.new_client()
    execute(reader, [b"GET", b"mine"])                        # a read moves nothing
    assert reader.woff == 0 and execute(reader, [b"WAIT", b"1", b"0"]) == 1
    # A MULTI/EXEC block counts once it is propagated whole.
    execute(small, [b"MULTI"])
    execute(small, [b"SET", b"a", b"1"])
    execute(small, [b"SET", b"b", b"2"])
    execute(small, [b"EXEC"])
    assert small.woff == primary.offset
    execute(replica, [b"REPLCONF", b"ACK", b"%d" % primary.offset])
    assert execute(small, [b"WAIT", b"1", b"0"]) == 1
    assert execute(busy, [b"WAIT", b"1", b"0"]) == 1


def test_replconf_ack_and_getack_send_nothing():
    node = Node()
    client = node.new_client()
    for argv in ([b"REPLCONF", b"ACK", b"5"], [b"REPLCONF", b"GETACK", b"*"],
                 [b"REPLCONF", b"listening-port", b"5", b"ack", b"1"]):
        reply = execute(client, argv)
        assert reply is NO_REPLY
        assert encode(reply, False) == b"" and encode(reply, True) == b""
    assert execute(client, [b"REPLCONF", b"listening-port", b"5"]) == b"OK"


def _replica_node(clock=None):
    node = Node(clock=clock) if clock else Node()
    repl_replica.set_master(node, "127.0.0.1", 1)
    link = node.repl.link
    link.start_stream("a" * 40, 0)
    master = node.new_client("127.0.0.1:1")
    master.is_master_link = True
    link.client = master
    link.state = "connected"
    return node, link, master


def test_replica_keeps_due_keys_until_the_primarys_del():
    t = [1_700_000_000.0]
    node, link, master = _replica_node(lambda: t[0])
    assert node.keyspace.replica == REPLICA
    now = node.now_ms
    link.apply(encode_command([b"SELECT", b"0"])
               + encode_command([b"SET", b"k", b"v", b"PXAT", b"%d" % (now + 50)])
               + encode_command([b"SET", b"n", b"5", b"PXAT", b"%d" % (now + 50)]))
    c = node.new_client()
    assert execute(c, [b"GET", b"k"]) == b"v"
    t[0] += 0.1
    node.set_time()                          # due now, but no DEL came yet
    assert execute(c, [b"GET", b"k"]) is None
    assert execute(c, [b"EXISTS", b"k"]) == 0
    assert execute(c, [b"TTL", b"k"]) == -2
    assert execute(c, [b"KEYS", b"*"]) == []
    assert execute(c, [b"DBSIZE"]) == 2             # still stored
    node.cron()                                      # no active expiry on a replica
    assert execute(c, [b"DBSIZE"]) == 2
    # The master client still sees it: INCR on the primary's side went before the expiry.
    link.apply(encode_command([b"INCR", b"n"]))
    assert node.keyspace[0].data[b"n"] == b"6"
    link.apply(encode_command([b"DEL", b"k"]))
    assert execute(c, [b"DBSIZE"]) == 1 and b"k" not in node.keyspace[0].data
    assert node.keyspace.replica == REPLICA
    # Promoted: due keys expire again.
    repl_replica.unset_master(node)
    assert node.keyspace.replica == 0
    assert execute(c, [b"GET", b"n"]) is None
    assert execute(c, [b"DBSIZE"]) == 0


def test_primary_still_expires_on_read():
    node = Node()
    c = node.new_client()
    execute(c, [b"SET", b"k", b"v", b"PX", b"10"])
    node.set_time(node.now_ms + 20)
    assert execute(c, [b"DBSIZE"]) == 1
    assert execute(c, [b"GET", b"k"]) is None
    assert execute(c, [b"DBSIZE"]) == 0
