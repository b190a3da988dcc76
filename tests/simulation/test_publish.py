"""PUBLISH reaches every other node once; PUBLISHSHARD stays within the shard."""
from __future__ import annotations

from gossip.effects import Deliver
from tests.simulation.scenarios import build, converge


def test_publish_reaches_every_other_node_once(seed):
    sim = build(6, seed)
    converge(sim)
    sim.run_for(500)
    sim.publish(2, b"news", b"hello")
    sim.run_for(100)
    for n in sim.nodes:
        expected = [] if n.index == 2 else [Deliver(b"news", b"hello", False)]
        assert n.delivered == expected, n.index


def test_publishshard_stays_in_the_shard(seed):
    """Without replicas every primary is alone in its shard: nobody else gets it."""
    sim = build(6, seed)
    converge(sim)
    sim.run_for(500)
    sim.publish(0, b"orders", b"x", shard=True)
    sim.run_for(100)
    assert all(n.delivered == [] for n in sim.nodes)
    assert sum(n.state.stats_sent.get(k, 0) for n in sim.nodes
               for k in n.state.stats_sent if k.value == "publishshard") == 0
