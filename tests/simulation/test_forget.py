"""CLUSTER FORGET: the node is dropped and not re-learned from gossip for 60 s."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.scenarios import build, converge


def test_forgotten_dead_node_stays_forgotten(seed):
    """redis-cli del-node: FORGET on every other node; nobody brings it back."""
    sim = build(6, seed, node_timeout=1000)
    converge(sim)
    sim.kill(5)
    gone = sim.nodes[5].id
    sim.run_until(lambda s: all(s.flagged(n.index, 5, Flag.FAIL) for n in s.live()), 5000)
    for n in sim.live():
        sim.command(n.index, "forget", gone)
    sim.run_for(70_000)
    assert all(gone not in n.state.nodes for n in sim.live())
    assert all(n.state.state_ok for n in sim.live())


def test_node_forgotten_by_one_comes_back_after_the_blacklist(seed):
    sim = build(6, seed, node_timeout=1000)
    converge(sim)
    target = sim.nodes[4].id
    sim.command(0, "forget", target)
    assert target not in sim.nodes[0].state.nodes
    sim.run_for(55_000)           # gossip names it all the time, but it is blacklisted
    assert target not in sim.nodes[0].state.nodes
    took = sim.run_until(lambda s: target in s.nodes[0].state.nodes, 20_000)
    assert took <= 10_000         # re-learned from gossip once the 60 s ban expires
    converge(sim, max_ms=10_000)
