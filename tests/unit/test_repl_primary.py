"""cluster.replication.primary's pure state: backlog, PSYNC acceptance, acks, limits (no sockets)."""
from __future__ import annotations

import cluster.commands.registry  # noqa: F401
from cluster.replication import primary as repl_primary
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.encoding.rdb import rdb_chunks, read_rdb


def _replica(node, port=7010):
    client = node.new_client("127.0.0.1:5555")
    assert execute(client, [b"REPLCONF", b"listening-port", b"%d" % port]) is not None
    execute(client, [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
    return client


def test_fullresync_queues_header_and_rdb_then_stream():
    node = Node()
    writer = node.new_client()
    execute(writer, [b"SET", b"k", b"v"])
    client = _replica(node)
    assert execute(client, [b"PSYNC", b"?", b"-1"]) is None
    link = client.replica_link
    primary = repl_primary.get(node)
    assert client.handover is repl_primary.serve_replica
    job = link.full_sync          # the RDB is produced from the view by the writer task
    assert link.pending == [] and job.eof
    assert job.header == b"+FULLRESYNC %s 0\r\n" % primary.replid.encode()
    execute(writer, [b"SET", b"a", b"b"])
    snap = read_rdb(b"".join(rdb_chunks(job.view, job.aux, job.list_fill)))
    assert snap.entries == [(0, b"k", b"v", None)]      # as at PSYNC time
    assert snap.aux[b"repl-id"] == primary.replid.encode()
    stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert link.pending == [stream]
    assert primary.offset == len(stream)
    assert node.stats.sync_full == 1 and link.state == "wait_bgsave"
    primary.drop(link)
    assert job.view.released and node.keyspace.views == []


def test_partial_resync_from_backlog_and_psync2_previous_id():
    node = Node()
    writer = node.new_client()
    first = _replica(node)
    execute(first, [b"PSYNC", b"?", b"-1"])
    primary = repl_primary.get(node)
    execute(writer, [b"SET", b"a", b"1"])
    mid = primary.offset
    execute(writer, [b"SET", b"b", b"2"])
    again = _replica(node)
    execute(again, [b"PSYNC", primary.replid.encode(), b"%d" % (mid + 1)])
    header, tail = again.replica_link.pending
    assert header == b"+CONTINUE %s\r\n" % primary.replid.encode()
    assert tail == b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert node.stats.sync_partial_ok == 1
    # After a promotion-style id shift, the previous id is accepted up to its end.
    old = primary.replid
    node.repl.replid2, node.repl.second_repl_offset = old, primary.offset + 1
    node.repl.replid = "1" * 40
    assert primary.try_partial(old, primary.offset + 1) == b""
    assert primary.try_partial(old, primary.offset + 2) is None
    assert primary.try_partial("2" * 40, mid + 1) is None
    # Out of the backlog: full.
    late = _replica(node)
    execute(late, [b"PSYNC", b"1" * 40, b"99999"])
    assert late.replica_link.full_sync.header.startswith(b"+FULLRESYNC")
    assert node.stats.sync_partial_err == 1


def test_backlog_is_trimmed_to_its_size():
    config = Config()
    config.set("repl-backlog-size", "16384")
    node = Node(config)
    execute(_replica(node), [b"PSYNC", b"?", b"-1"])
    primary = repl_primary.get(node)
    writer = node.new_client()
    for i in range(2000):
        execute(writer, [b"SET", b"key", b"%040d" % i])
    assert len(primary.backlog) <= 2 * 16384
    assert primary.histlen() == 16384
    assert primary.first_byte() == primary.offset - 16384 + 1
    assert primary.try_partial(primary.replid, 2) is None


def test_acks_wait_count_and_role():
    node = Node()
    client = _replica(node, 6390)
    execute(client, [b"PSYNC", b"?", b"-1"])
    primary = repl_primary.get(node)
    client.replica_link.state = "online"
    execute(node.new_client(), [b"SET", b"x", b"y"])
    assert primary.acked(primary.offset) == 0
    execute(client, [b"REPLCONF", b"ACK", b"%d" % primary.offset])
    assert primary.acked(primary.offset) == 1
    assert execute(node.new_client(), [b"WAIT", b"1", b"0"]) == 1
    assert execute(node.new_client(), [b"ROLE"]) == [
        b"master", primary.offset, [[b"127.0.0.1", b"6390", b"%d" % primary.offset]]]


def test_min_replicas_refuses_writes_and_exec():
    config = Config()
    config.set("min-replicas-to-write", "1")
    node = Node(config)
    c = node.new_client()
    err = execute(c, [b"SET", b"k", b"v"])
    assert err.message == "NOREPLICAS Not enough good replicas to write."
    assert execute(c, [b"GET", b"k"]) is None
    execute(c, [b"MULTI"])
    execute(c, [b"GET", b"k"])
    assert execute(c, [b"EXEC"]) == [None]


def test_output_buffer_hard_limit_drops_replica():
    config = Config()
    config.set("client-output-buffer-limit", "replica 1kb 0 0")
    node = Node(config)
    client = _replica(node)
    execute(client, [b"PSYNC", b"?", b"-1"])
    client.replica_link.state = "online"
    writer = node.new_client()
    for i in range(40):
        execute(writer, [b"SET", b"k", b"%050d" % i])
    assert repl_primary.get(node).replicas == []
    assert client.close_after_reply


def test_cron_pings_times_out_and_frees_backlog():
    config = Config()
    config.set("repl-backlog-ttl", "5")
    node = Node(config, clock=lambda: 1000.0)
    client = _replica(node)
    execute(client, [b"PSYNC", b"?", b"-1"])
    primary = repl_primary.get(node)
    client.replica_link.state = "online"
    start = primary.offset
    node.set_time(1000_000 + 10_000)
    node.cron()
    assert primary.offset == start + len(b"*1\r\n$4\r\nPING\r\n")
    assert client.replica_link.pending[-1] == b"*1\r\n$4\r\nPING\r\n"
    node.set_time(1000_000 + 61_000)
    node.cron()
    assert primary.replicas == [] and client.close_after_reply
    assert primary.backlog is not None
    node.set_time(1000_000 + 67_000)
    node.cron()
    assert primary.backlog is None and node.propagator.sinks == []
