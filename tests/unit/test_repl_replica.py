"""The replica side without sockets: stream splitting, offsets, refusals, REPLICAOF state."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.replication import primary as repl_primary
from cluster.replication import replica as repl_replica
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.replication.propagate import encode_command
from cluster.replication.replica import LinkError, ReplicaLink, StreamParser
from cluster.resp.reply import ReplyError
from gossip.effects import BecamePrimary


def _linked(node: Node, replid="a" * 40, offset=100) -> ReplicaLink:
    repl_replica.set_master(node, "127.0.0.1", 1)
    link = node.repl.link
    link.start_stream(replid, offset)
    client = node.new_client("127.0.0.1:1")
    client.is_master_link = True
    link.client = client
    link.state = "connected"
    return link


def test_parser_splits_commands_at_any_byte_boundary():
    stream = (encode_command([b"SELECT", b"0"]) + encode_command([b"SET", b"k", b"v" * 10])
              + encode_command([b"PING"]))
    for cut in range(len(stream) + 1):
        p = StreamParser()
        got = []
        for part in (stream[:cut], stream[cut:]):
            p.feed(part)
            while (one := p.next()) is not None:
                got.append(one)
        assert [argv for argv, _ in got] == [[b"SELECT", b"0"], [b"SET", b"k", b"v" * 10],
                                            [b"PING"]]
        assert sum(n for _, n in got) == len(stream)


def test_parser_rejects_garbage():
    p = StreamParser()
    p.feed(b"*2\r\n:1\r\n")
    with pytest.raises(LinkError):
        p.next()
    p = StreamParser()
    p.feed(b"*x\r\n")
    with pytest.raises(LinkError):
        p.next()


def test_apply_executes_and_counts_every_byte():
    node = Node()
    link = _linked(node)
    data = (encode_command([b"SELECT", b"3"]) + encode_command([b"SET", b"k", b"v"])
            + encode_command([b"PING"]) + encode_command([b"RPUSH", b"l", b"a", b"b"]))
    half = len(data) // 2
    assert link.apply(data[:half]) is False
    assert link.read_offset == 100 + half
    assert link.apply(data[half:]) is False
    assert link.offset == link.read_offset == 100 + len(data)
    assert node.repl.master_repl_offset == link.offset and node.repl.replid == "a" * 40
    assert node.keyspace[3].peek(b"k") == b"v"
    assert list(node.keyspace[3].peek(b"l")) == [b"a", b"b"]
    assert link.ack_command() == encode_command([b"REPLCONF", b"ACK", b"%d" % link.offset])


def test_getack_acks_the_offset_before_it():
    node = Node()
    link = _linked(node, offset=0)
    set_cmd = encode_command([b"SET", b"a", b"1"])
    getack = encode_command([b"REPLCONF", b"GETACK", b"*"])
    assert link.apply(set_cmd + getack) is True
    assert link.ack_offset == len(set_cmd)
    assert link.offset == len(set_cmd) + len(getack)


def test_readonly_and_masterdown_refusals():
    node = Node()
    repl_replica.set_master(node, "127.0.0.1", 1)
    c = node.new_client()
    err = execute(c, [b"SET", b"k", b"v"])
    assert isinstance(err, ReplyError) and err.message == repl_replica.READONLY_ERR
    assert execute(c, [b"GET", b"k"]) is None
    node.config.set("replica-serve-stale-data", "no")
    err = execute(c, [b"GET", b"k"])
    assert isinstance(err, ReplyError) and err.message == repl_replica.MASTERDOWN_ERR
    assert not isinstance(execute(c, [b"INFO", b"replication"]), ReplyError)
    # MULTI with a write: EXEC refused with EXECABORT (the queued SET was refused already).
    node.config.set("replica-serve-stale-data", "yes")
    execute(c, [b"MULTI"])
    assert isinstance(execute(c, [b"SET", b"k", b"v"]), ReplyError)
    err = execute(c, [b"EXEC"])
    assert isinstance(err, ReplyError) and err.message.startswith("EXECABORT")


def test_info_and_role_shape_and_promotion():
    node = Node()
    node.repl.replid = "b" * 40
    link = _linked(node, replid="c" * 40, offset=500)
    assert link.role_reply() == [b"slave", b"127.0.0.1", 1, b"connected", 500]
    pairs = dict(link.info_fields(node.now_ms))
    assert pairs["master_link_status"] == "up" and pairs["slave_repl_offset"] == 500
    assert "master_link_down_since_seconds" not in pairs
    c = node.new_client()
    assert execute(c, [b"REPLICAOF", b"no", b"one"]).__class__.__name__ == "Status"
    assert node.repl.link is None and node.config["replicaof"] == ""
    assert node.repl.replid2 == "c" * 40 and node.repl.second_repl_offset == 501
    assert node.repl.replid != "c" * 40 and node.repl.master_repl_offset == 500
    assert execute(c, [b"SET", b"k", b"v"]).__class__.__name__ == "Status"


def test_replicaof_errors():
    node = Node()
    c = node.new_client()
    for bad in (b"x", b"65536", b"-1", b"01"):
        err = execute(c, [b"REPLICAOF", b"h", bad])
        assert isinstance(err, ReplyError) and err.message == "ERR Invalid master port"
    assert node.repl.link is None
    execute(c, [b"SLAVEOF", b"h", b"5"])
    assert node.repl.link.port == 5
    assert execute(c, [b"CONFIG", b"GET", b"replicaof"]) == {b"replicaof": b"h 5"} or \
        execute(c, [b"CONFIG", b"GET", b"replicaof"]) == [b"replicaof", b"h 5"]
    assert execute(c, [b"REPLICAOF", b"H", b"5"]) == b"OK Already connected to specified master"


def test_stream_is_passed_on_verbatim_and_own_propagation_muted():
    node = Node()
    primary = repl_primary.get(node)
    primary.create_backlog()                    # the replication stream's sink
    aof = []
    node.propagator.sinks.append(aof.append)   # an AOF-like sink
    link = _linked(node, offset=0)
    node.config.set("replica-read-only", "no")
    data = (encode_command([b"SELECT", b"2"]) + encode_command([b"SET", b"a", b"1"])
            + encode_command([b"PING"]) + encode_command([b"SET", b"b", b"2", b"EX", b"9"]))
    link.apply(data[:-3])
    link.apply(data[-3:])
    assert bytes(primary.backlog) == data       # verbatim, nothing re-encoded (no PXAT)
    assert b"".join(aof).endswith(data)
    aof.clear()
    c = node.new_client()
    execute(c, [b"SET", b"own", b"1"])         # a writable replica's own write: AOF only
    assert aof == [encode_command([b"SELECT", b"0"]) + encode_command([b"SET", b"own", b"1"])]
    assert bytes(primary.backlog) == data and node.repl.master_repl_offset == len(data)
    link.apply(encode_command([b"SET", b"c", b"3"]))       # the stream is in db 2 again
    assert aof[-1] == encode_command([b"SELECT", b"2"]) + encode_command([b"SET", b"c", b"3"])


def test_cluster_mode_refuses_replicaof_and_follows_cluster_replicate():
    from tests.unit.test_cluster_commands import PEER, add_peer, make, run
    node, cl, c = make()
    node.repl.supervising = True                     # as once the link supervisor runs
    assert err_of(run(c, "REPLICAOF", "127.0.0.1", "1")) == \
        "ERR REPLICAOF not allowed in cluster mode."
    add_peer(cl)                                     # PEER: a primary at 10.0.0.2:7200
    node.cron()
    assert node.repl.link is None                    # still a primary: nothing to follow
    assert run(c, "CLUSTER", "REPLICATE", PEER) == b"OK"     # FollowPrimary(PEER)
    link = node.repl.link
    assert (link.host, link.port) == ("10.0.0.2", 7200)
    assert run(c, "ROLE") == [b"slave", b"10.0.0.2", 7200, b"connect", -1]
    # Promoted by the cluster (e.g. a failover): the link stops, the data stays.
    cl.deliver(BecamePrimary())
    assert node.repl.link is None and run(c, "ROLE")[0] == b"master"


def err_of(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message
