"""The cluster bus's role effects applied to replication (cluster.bus.cluster_node):
BecamePrimary / FollowPrimary from the state machine, the start-up role, a primary whose
address is not known yet, and the offset the node advertises."""
from __future__ import annotations

from cluster import commands  # noqa: F401
from cluster.bus.cluster_node import ClusterNode, cluster_config
from cluster.config.live import Config
from cluster.node import Node
from gossip.effects import BecamePrimary, FollowPrimary
from gossip.records import Flag
from gossip.state import ClusterState
from tests.unit.test_cluster_commands import PEER, add_peer, make, run

OTHER = "d" * 40


def _replica_at_start(primary_known: bool = True):
    """A node whose nodes.conf made it a replica of PEER."""
    config = Config()
    config.load_args(["--cluster-enabled", "yes", "--port", "7100", "--databases", "1"])
    node = Node(config, clock=lambda: 1_700_000_000.0)
    state = ClusterState(cluster_config(config), node.rng, node.now_ms)
    me = state.myself
    me.flags = (me.flags & ~Flag.MASTER) | Flag.SLAVE
    me.primary_id = PEER
    cl = ClusterNode(node, state)
    if primary_known:
        add_peer(cl)                                    # 10.0.0.2:7200
    return node, cl


def _target(node):
    link = node.repl.link
    return None if link is None else (link.host, link.port)


def test_start_up_role_waits_for_the_link_supervisor():
    node, cl = _replica_at_start()
    assert cl.role == FollowPrimary(PEER)
    node.cron()                                         # still loading: nothing yet
    assert node.repl.link is None
    node.repl.replid, node.repl.master_repl_offset = "e" * 40, 700    # the dump's history
    node.repl.supervising = True
    node.cron()
    assert _target(node) == ("10.0.0.2", 7200)
    assert (node.repl.link.replid, node.repl.link.offset) == ("e" * 40, 700)   # PSYNC2
    assert cl.state.myself.repl_offset == 700


def test_a_primary_at_start_stays_a_primary():
    node, cl, _ = make()
    assert cl.role == BecamePrimary()
    node.repl.supervising = True
    node.cron()
    assert node.repl.link is None and cl.role_applied


def test_follow_primary_whose_address_is_unknown_waits_for_it():
    node, cl, _ = make()
    node.repl.supervising = True
    rec = add_peer(cl)
    rec.ip, rec.port = "", 0                            # met by id only so far
    cl.deliver(FollowPrimary(PEER))
    assert node.repl.link is None and not cl.role_applied
    node.cron()
    assert node.repl.link is None
    rec.ip, rec.port = "10.0.0.2", 7200                 # a heartbeat told us
    node.cron()
    assert _target(node) == ("10.0.0.2", 7200) and cl.role_applied


def test_follow_another_primary_and_a_primary_that_moved():
    node, cl, _ = make()
    node.repl.supervising = True
    add_peer(cl)
    add_peer(cl, OTHER, port=7300)
    cl.deliver(FollowPrimary(PEER))
    first = node.repl.link
    assert _target(node) == ("10.0.0.2", 7200)
    cl.deliver(FollowPrimary(PEER))                     # the same: the link stays
    assert node.repl.link is first
    cl.deliver(FollowPrimary(OTHER))
    assert _target(node) == ("10.0.0.2", 7300) and first.stopped
    cl.state.nodes[OTHER].port = 7301                   # our primary's address changed
    node.cron()
    assert _target(node) == ("10.0.0.2", 7301)


def test_became_primary_keeps_the_data_and_shifts_the_replid():
    node, cl, c = make()
    node.repl.supervising = True
    add_peer(cl)
    cl.deliver(FollowPrimary(PEER))
    link = node.repl.link
    link.start_stream("a" * 40, 1000)
    node.keyspace[0].store(b"k", b"v")
    cl.deliver(BecamePrimary())
    repl = node.repl
    assert repl.link is None and link.stopped
    assert (repl.replid2, repl.second_repl_offset, repl.master_repl_offset) == \
        ("a" * 40, 1001, 1000)
    assert repl.replid not in ("a" * 40, None)
    assert node.keyspace[0].peek(b"k") == b"v"
    assert run(c, "ROLE")[0] == b"master"
    assert cl.state.myself.repl_offset == 1000
    cl.deliver(BecamePrimary())                         # again: nothing changes
    assert repl.replid2 == "a" * 40 and repl.link is None


def test_cluster_replicate_and_reset_reach_replication_without_a_transport():
    node, cl, c = make()
    node.repl.supervising = True
    add_peer(cl)
    assert run(c, "CLUSTER", "REPLICATE", PEER) == b"OK"    # emits FollowPrimary(PEER)
    assert cl.role == FollowPrimary(PEER) and _target(node) == ("10.0.0.2", 7200)
    assert run(c, "CLUSTER", "RESET") == b"OK"             # a primary again: BecamePrimary
    assert cl.role == BecamePrimary() and node.repl.link is None


def test_the_advertised_offset_follows_the_link():
    node, cl = _replica_at_start()
    node.repl.supervising = True
    node.cron()
    node.repl.link.offset = 4242
    node.cron()
    assert cl.state.myself.repl_offset == 4242 == cl.offset()
