"""FAILOVER without sockets: the argument parsing and every refusal (Redis 7.0.15's words and
order), the state machine of cluster.replication.failover (start, catch-up, TIMEOUT with
and without FORCE, ABORT, the target's PSYNC answer) and its effects on a node: the write
pause, REPLICAOF to the target, PSYNC ... FAILOVER on the target's side, INFO."""
from __future__ import annotations

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.commands import failover as cmd
from cluster.config.live import Config
from cluster.execution import pause
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.replication import failover as fo
from cluster.replication import primary as repl_primary
from cluster.replication import replica as repl_replica
from cluster.resp.outcomes import Await, Block
from cluster.resp.reply import OK, ReplyError

NOW = 1_700_000_000_000
PING = b"*1\r\n$4\r\nPING\r\n"


def run(client, *words):
    return execute(client, [w if isinstance(w, bytes) else str(w).encode() for w in words])


def error(client, *words) -> str:
    reply = run(client, *words)
    assert isinstance(reply, ReplyError), reply
    return reply.message


@pytest.fixture
def node():
    n = Node(Config(), clock=lambda: NOW / 1000)
    n.set_time(NOW)
    return n


def attach_replica(node, port: int, online: bool = True, acked: int | None = None):
    """A replica attached to `node` as after PSYNC, announced as 127.0.0.1:port."""
    client = node.new_client("127.0.0.1:5555")
    run(client, "REPLCONF", "listening-port", port)
    run(client, "REPLCONF", "capa", "eof", "capa", "psync2")
    run(client, "PSYNC", "?", "-1")
    link = client.replica_link
    link.full_sync = None
    link.state = "online" if online else "wait_bgsave"
    if acked is not None:
        link.ack_offset = acked
    return link


# -- parsing -------------------------------------------------------------------------
@pytest.mark.parametrize("words, want", [
    ([], cmd.Request(None, 0, 0, False)),
    (["TO", "h", "7"], cmd.Request("h", 7, 0, False)),
    (["to", "h", "-3", "force", "timeout", "5"], cmd.Request("h", -3, 5, True)),
    (["TIMEOUT", "100", "TO", "1.2.3.4", "1"], cmd.Request("1.2.3.4", 1, 100, False)),
    (["FORCE"], cmd.Request(None, 0, 0, True)),
])
def test_parse_accepts(words, want):
    assert cmd.parse([b"FAILOVER", *[w.encode() for w in words]]) == want


@pytest.mark.parametrize("words, message", [
    (["TIMEOUT", "0"], cmd.BAD_TIMEOUT),
    (["TIMEOUT", "-1"], cmd.BAD_TIMEOUT),
    (["TIMEOUT", "x"], "ERR value is not an integer or out of range"),
    (["TO", "h", "p"], "ERR value is not an integer or out of range"),
    (["TIMEOUT", "5", "TIMEOUT", "6"], "ERR syntax error"),
    (["TO", "h", "1", "TO", "h", "2"], "ERR syntax error"),
    (["FORCE", "FORCE"], "ERR syntax error"),
    (["TO"], "ERR syntax error"),
    (["TO", "h"], "ERR syntax error"),
    (["TIMEOUT"], "ERR syntax error"),
    (["ABORT", "TIMEOUT", "5"], "ERR syntax error"),
    (["bogus"], "ERR syntax error"),
    (["TIMEOUT", "x", "bogus"], "ERR value is not an integer or out of range"),
    (["bogus", "TIMEOUT", "x"], "ERR syntax error"),
])
def test_parse_errors_first_one_wins(words, message):
    with pytest.raises(ReplyError) as err:
        cmd.parse([b"FAILOVER", *[w.encode() for w in words]])
    assert err.value.message == message


# -- refusals, in Redis's order ------------------------------------------------------------
def test_refusals_without_replicas(node):
    c = node.new_client()
    assert error(c, "FAILOVER") == cmd.NO_REPLICAS
    assert error(c, "FAILOVER", "ABORT") == cmd.NOTHING_TO_ABORT
    assert error(c, "FAILOVER", "abort", "x") == "ERR syntax error"
    assert error(c, "FAILOVER", "TO", "h", "1", "FORCE") == cmd.NO_REPLICAS
    assert error(c, "FAILOVER", "TIMEOUT", "0") == cmd.BAD_TIMEOUT   # parsing first
    assert not node.failover.active and "pause" not in node.gates.on


def test_refusals_with_replicas(node):
    attach_replica(node, 7001)
    attach_replica(node, 7002, online=False)
    c = node.new_client()
    assert error(c, "FAILOVER", "FORCE", "TIMEOUT", "100") == cmd.FORCE_NEEDS
    assert error(c, "FAILOVER", "TO", "127.0.0.1", "7001", "FORCE") == cmd.FORCE_NEEDS
    assert error(c, "FAILOVER", "TO", "127.0.0.1", "7009") == cmd.NOT_A_REPLICA
    assert error(c, "FAILOVER", "TO", "localhost", "7001") == cmd.NOT_A_REPLICA
    assert error(c, "FAILOVER", "TO", "127.0.0.1", "7002") == cmd.NOT_ONLINE
    assert not node.failover.active


def test_refused_on_a_replica_and_in_cluster_mode(node):
    repl_replica.set_master(node, "127.0.0.1", 1)
    c = node.new_client()
    assert error(c, "FAILOVER") == cmd.ON_A_REPLICA
    node.cluster = object()             # only its presence matters to the handler
    with pytest.raises(ReplyError) as err:
        cmd.failover(c, [b"FAILOVER", b"ABORT"])
    assert err.value.message == cmd.IN_CLUSTER
    node.cluster = None


def test_second_failover_and_replicaof_and_sync_refused_while_on(node):
    attach_replica(node, 7001, acked=0)
    c = node.new_client()
    assert run(c, "FAILOVER", "TO", "127.0.0.1", "7001", "TIMEOUT", "5000") is OK
    assert node.failover.state == fo.WAIT_FOR_SYNC
    assert error(c, "FAILOVER") == cmd.ALREADY
    assert error(c, "REPLICAOF", "NO", "ONE") == "ERR REPLICAOF not allowed while failing over."
    newcomer = node.new_client("127.0.0.1:6000")
    assert error(newcomer, "PSYNC", "?", "-1") == "NOMASTERLINK Can't SYNC while failing over"
    assert error(newcomer, "SYNC") == "NOMASTERLINK Can't SYNC while failing over"
    assert run(c, "FAILOVER", "ABORT") is OK
    assert node.failover.state == fo.NO_FAILOVER
    assert error(c, "FAILOVER", "ABORT") == cmd.NOTHING_TO_ABORT


# -- the state machine alone -----------------------------------------------------------
def cand(port, acked, online=True, host="10.0.0.1"):
    return fo.Candidate(host, port, online, acked)


def test_machine_picks_the_first_online_replica_that_caught_up():
    m = fo.Failover()
    assert m.start(None, 0, 0, False, NOW) == [
        fo.Log("FAILOVER requested to any replica."), fo.PauseWrites()]
    replicas = [cand(1, 90), cand(2, 100, online=False), cand(3, 100), cand(4, 100)]
    assert m.tick(NOW + 10**9, 100, [cand(1, 90)]) == []       # no TIMEOUT: waits for ever
    assert m.state == fo.WAIT_FOR_SYNC and m.target_host is None
    assert m.tick(NOW + 100, 100, replicas) == [
        fo.Log("Failover target 10.0.0.1:3 is synced, failing over."),
        fo.BecomeReplica("10.0.0.1", 3)]
    assert m.state == fo.IN_PROGRESS
    assert m.tick(NOW + 200, 100, replicas) == []               # only while waiting
    assert m.psync_answered("+CONTINUE " + "a" * 40) == [fo.UnpauseWrites()]
    assert m.state == fo.NO_FAILOVER and m.target_host is None


def test_machine_waits_for_the_named_target_only():
    m = fo.Failover()
    assert m.start("10.0.0.1", 2, 0, False, NOW)[0] == fo.Log(
        "FAILOVER requested to 10.0.0.1:2.")
    assert m.tick(NOW, 100, [cand(1, 100), cand(2, 99)]) == []
    effects = m.tick(NOW, 100, [cand(1, 100), cand(2, 100, host="10.0.0.1".upper())])
    assert effects[-1] == fo.BecomeReplica("10.0.0.1", 2)


def test_machine_timeout_aborts_or_forces():
    m = fo.Failover()
    m.start("h", 2, 500, False, NOW)
    assert m.tick(NOW + 499, 100, [cand(2, 50, host="h")]) == []
    assert m.tick(NOW + 500, 100, [cand(2, 50, host="h")]) == [
        fo.Log("FAILOVER to h:2 aborted: Replica never caught up before timeout"),
        fo.UnpauseWrites()]
    assert not m.active
    m.start("h", 2, 500, True, NOW)
    assert m.tick(NOW + 500, 100, []) == [
        fo.Log("FAILOVER to h:2 time out exceeded, failing over."), fo.BecomeReplica("h", 2)]
    assert m.state == fo.IN_PROGRESS
    assert m.psync_answered("+FULLRESYNC " + "b" * 40 + " 7") == [fo.UnpauseWrites()]


def test_machine_abort_and_rejected_psync():
    m = fo.Failover()
    assert m.abort("x") == []                                   # nothing on
    m.start(None, 0, 0, False, NOW)
    assert m.abort("Failover manually aborted") == [
        fo.Log("FAILOVER to any replica aborted: Failover manually aborted"),
        fo.UnpauseWrites()]
    m.start("h", 1, 0, False, NOW)
    m.tick(NOW, 5, [cand(1, 5, host="h")])
    assert m.psync_answered("-NOPERM no") == [
        fo.Log("Unexpected reply to PSYNC from master: -NOPERM no", "warning"),
        fo.Log("FAILOVER to h:1 aborted: Failover target rejected psync request"),
        fo.BecomePrimary(), fo.UnpauseWrites()]
    m.start("h", 1, 0, False, NOW)
    m.tick(NOW, 5, [cand(1, 5, host="h")])
    effects = m.psync_answered("-ERR PSYNC FAILOVER replid must match my replid.")
    assert effects[0].text.startswith("Master does not support PSYNC or is in error state")
    m.start("h", 1, 0, False, NOW)
    m.tick(NOW, 5, [cand(1, 5, host="h")])
    assert m.psync_answered("-NOMASTERLINK later")[0].text.startswith(
        "Master is currently unable to PSYNC but should be in the future")


# -- on a node ---------------------------------------------------------------------------
def test_node_pauses_writes_then_follows_the_caught_up_target(node):
    link = attach_replica(node, 7001, acked=0)
    writer = node.new_client()
    assert run(writer, "SET", "k", "1") is OK                  # offset moves past the ack
    offset = node.repl.master_repl_offset
    assert offset > 0
    c = node.new_client()
    assert run(c, "FAILOVER") is OK
    assert pause.writes_paused(node)
    assert isinstance(run(writer, "SET", "k", "2"), Await)     # postponed
    assert run(writer, "GET", "k") == b"1"                      # reads go on
    assert repl_primary.get(node).info_tail()[0] == ("master_failover_state",
                                                      "waiting-for-sync")
    node.set_time(NOW + 20_000)
    node.cron()                                                 # not caught up, no PING
    assert node.repl.master_repl_offset == offset and node.repl.link is None
    link.ack_offset = offset
    node.cron()
    assert node.failover.state == fo.IN_PROGRESS
    assert node.repl.link is not None
    assert (node.repl.link.host, node.repl.link.port) == ("127.0.0.1", 7001)
    assert node.repl.link.replid == node.repl.replid and node.repl.link.offset == offset
    assert pause.writes_paused(node)                            # until the target answers
    assert fo.psync_answered(node, "+CONTINUE " + "c" * 40) is True
    assert node.failover.state == fo.NO_FAILOVER and not pause.writes_paused(node)
    assert error(writer, "SET", "k", "3").startswith("READONLY")


def test_node_timeout_abort_unpauses_and_stays_primary(node):
    attach_replica(node, 7001, acked=0)
    run(node.new_client(), "SET", "k", "1")
    c = node.new_client()
    assert run(c, "FAILOVER", "TIMEOUT", "300") is OK
    node.set_time(NOW + 300)
    node.cron()
    assert node.failover.state == fo.NO_FAILOVER and node.repl.link is None
    assert not pause.writes_paused(node)
    assert run(c, "SET", "k", "2") is OK


def test_node_rejected_psync_makes_us_a_primary_again(node):
    replica = attach_replica(node, 7001)
    replica.ack_offset = node.repl.master_repl_offset
    old_id = node.repl.replid
    assert run(node.new_client(), "FAILOVER", "TO", "127.0.0.1", "7001") is OK
    node.cron()
    assert node.repl.link is not None
    assert fo.psync_answered(node, "-NOPERM this user has no permissions") is False
    assert node.repl.link is None and node.failover.state == fo.NO_FAILOVER
    assert node.repl.replid2 == old_id and node.repl.replid != old_id
    assert replica.client.close_after_reply                    # resyncs to learn the new id
    assert not pause.writes_paused(node)


def test_abort_in_progress_returns_to_primary(node):
    attach_replica(node, 7001, acked=0)
    c = node.new_client()
    assert run(c, "FAILOVER", "TO", "127.0.0.1", "7001", "TIMEOUT", "10", "FORCE") is OK
    node.set_time(NOW + 10)
    node.cron()
    assert node.failover.state == fo.IN_PROGRESS and node.repl.link is not None
    assert fo.in_progress(node)
    assert run(c, "FAILOVER", "ABORT") is OK
    assert node.repl.link is None and not node.failover.active
    assert run(c, "SET", "k", "1") is OK


def _as_replica(node, replid="a" * 40, offset=100):
    repl_replica.set_master(node, "127.0.0.1", 1)
    link = node.repl.link
    link.start_stream(replid, offset)
    repl_primary.get(node).create_backlog()
    link.state = "connected"
    return link


def test_target_promotes_itself_on_psync_failover(node):
    _as_replica(node)
    old = node.new_client("127.0.0.1:7000")
    run(old, "REPLCONF", "capa", "psync2")
    assert error(old, "PSYNC", "b" * 40, "101", "FAILOVER") == fo.WRONG_REPLID
    assert node.repl.link is not None
    assert run(old, "PSYNC", "a" * 40, "101", "failover") is None   # served as a PSYNC
    assert node.repl.link is None
    assert node.repl.replid2 == "a" * 40 and node.repl.second_repl_offset == 101
    link = old.replica_link
    assert link.pending[0] == b"+CONTINUE %s\r\n" % node.repl.replid.encode()


def test_psync_failover_to_a_primary_is_refused(node):
    c = node.new_client()
    assert error(c, "PSYNC", "a" * 40, "1", "FAILOVER") == fo.TO_A_PRIMARY


def test_no_ping_while_failing_over(node):
    attach_replica(node, 7001, acked=0)
    run(node.new_client(), "SET", "k", "1")
    primary = repl_primary.get(node)
    run(node.new_client(), "FAILOVER")
    offset = primary.offset
    node.set_time(NOW + 60_000)
    node.cron()
    assert primary.offset == offset
    run(node.new_client(), "FAILOVER", "ABORT")
    node.cron()
    assert primary.offset == offset + len(PING)


def test_becoming_a_replica_unblocks_blocked_clients(node):
    """replicationSetMaster's disconnectAllBlockedClients: BLPOP (and WAIT) end with
    -UNBLOCKED and the connection closes; a client a pause postponed is not blocked."""
    attach_replica(node, 7001)
    popper, waiter_c, writer = node.new_client(), node.new_client(), node.new_client()
    block = run(popper, "BLPOP", "list", "0")
    assert isinstance(block, Block)
    run(writer, "SET", "k", "1")
    wait = run(writer, "WAIT", "1", "0")
    assert isinstance(wait, Block)
    run(waiter_c, "FAILOVER")
    postponed = run(writer, "SET", "k", "2")
    assert isinstance(postponed, Await)
    repl_replica.set_master(node, "127.0.0.1", 7001)
    for one, client in ((block, popper), (wait, writer)):
        assert one.ready.done and isinstance(one.ready.reply, ReplyError)
        assert one.ready.reply.message == repl_replica.ROLE_CHANGED_ERR
        assert client.close_after_reply
    assert not waiter_c.close_after_reply
