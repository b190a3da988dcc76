"""CLIENT PAUSE / UNPAUSE and the manual-failover write pause, sans I/O: which commands the
dispatcher postpones, how purposes combine, the bus effects, and the cluster glue
(offset provider, config directives, CLUSTER FAILOVER's argument errors)."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.execution import pause
from cluster.bus.cluster_node import attach
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Await
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError
from gossip.effects import PauseWrites, UnpauseWrites

NOW = 1_700_000_000_000


@pytest.fixture
def node():
    n = Node(Config(), clock=lambda: NOW / 1000)
    n.set_time(NOW)
    yield n
    for purpose in ("client", "failover"):
        pause.unpause(n, purpose)
    assert "pause" not in n.gates.on


def run(client, *words):
    return execute(client, [w.encode() if isinstance(w, str) else w for w in words])


def test_write_pause_postpones_writes_and_exec_with_writes_only(node):
    c = node.new_client()
    assert run(c, "CLIENT", "PAUSE", "1000", "WRITE") is OK
    assert pause.writes_paused(node)
    assert run(c, "GET", "k") is None
    assert isinstance(run(c, "SET", "k", "v"), Await)
    other = node.new_client()
    assert run(other, "MULTI") is OK
    assert run(other, "GET", "k") != OK         # QUEUED: a read is queued at once
    assert run(other, "EXEC") == [None]         # reads only: not postponed
    assert run(other, "MULTI") is OK
    assert isinstance(run(other, "SET", "k", "v"), Await)   # before queueing, as Redis


def test_all_pause_postpones_everything_but_master_link(node):
    c = node.new_client()
    assert run(c, "CLIENT", "PAUSE", "500") is OK
    assert isinstance(run(c, "GET", "k"), Await)
    master = node.new_client()
    master.is_master_link = True
    assert run(master, "SET", "k", "v") is OK


def test_pause_kind_only_grows_and_end_only_moves_later(node):
    pause.pause(node, "client", pause.ALL, NOW + 100)
    pause.pause(node, "client", pause.WRITE, NOW + 500)
    pauses = node.pauses
    assert pauses.purposes["client"] == (pause.ALL, NOW + 500)
    assert pauses.kind(NOW + 499) == pause.ALL
    assert pauses.kind(NOW + 500) == 0 and "pause" not in node.gates.on


def test_unpause_only_ends_the_client_purpose(node):
    c = node.new_client()
    pause.pause(node, "failover", pause.WRITE, NOW + 10_000)
    assert run(c, "CLIENT", "PAUSE", "100", "ALL") is OK
    assert isinstance(run(c, "CLIENT", "UNPAUSE"), Await)   # ALL holds UNPAUSE too
    pause.unpause(node, "client")
    assert run(c, "CLIENT", "PAUSE", "100", "WRITE") is OK
    assert run(c, "CLIENT", "UNPAUSE") is OK    # UNPAUSE itself is not a write
    assert node.pauses.kind(NOW) == pause.WRITE
    pause.unpause(node, "failover")
    assert not pause.writes_paused(node)


def test_client_pause_errors(node):
    c = node.new_client()
    for words, message in [
        (("CLIENT", "PAUSE", "abc"), "ERR timeout is not an integer or out of range"),
        (("CLIENT", "PAUSE", "-1"), "ERR timeout is negative"),
        (("CLIENT", "PAUSE", "10", "foo"), "ERR CLIENT PAUSE mode must be WRITE or ALL"),
        (("CLIENT", "PAUSE", "10", "write", "x"),
         "ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP."),
    ]:
        reply = run(c, *words)
        assert isinstance(reply, ReplyError) and reply.message == message, words
    assert run(c, "CLIENT", "PAUSE", "0") is OK
    assert not pause.writes_paused(node)


def cluster_node(*args):
    config = Config()
    config.load_args(["--cluster-enabled", "yes", "--port", "7100", *args])
    node = Node(config, clock=lambda: NOW / 1000)
    node.set_time(NOW)
    return node, attach(node)


def test_bus_effects_pause_and_unpause_writes():
    node, cl = cluster_node()
    cl.submit([PauseWrites(until_ms=NOW + 10_000)])
    assert pause.writes_paused(node)
    cl.submit([UnpauseWrites()])
    assert not pause.writes_paused(node)


def test_offset_provider_and_failover_directives():
    node, cl = cluster_node("--cluster-replica-validity-factor", "3",
                            "--repl-ping-replica-period", "4",
                            "--cluster-migration-barrier", "2",
                            "--cluster-allow-replica-migration", "no")
    st = cl.state
    cfg = st.config
    assert (cfg.replica_validity_factor, cfg.repl_ping_replica_period,
            cfg.migration_barrier, cfg.allow_replica_migration) == (3, 4, 2, False)
    node.config.set("cluster-migration-barrier", "5")
    assert st.config.migration_barrier == 5
    node.repl.master_repl_offset = 1234
    assert st.offset_provider() == 1234


def test_cluster_failover_argument_errors():
    node, cl = cluster_node()
    c = node.new_client()
    reply = run(c, "CLUSTER", "FAILOVER", "bogus")
    assert isinstance(reply, ReplyError) and reply.message == "ERR syntax error"
    reply = run(c, "CLUSTER", "FAILOVER", "force", "x")
    assert reply.message == ("ERR unknown subcommand or wrong number of arguments for "
                             "'FAILOVER'. Try CLUSTER HELP.")
    reply = run(c, "CLUSTER", "FAILOVER")
    assert reply.message == "ERR You should send CLUSTER FAILOVER to a replica"
