"""Message loss, duplication and reordering across links: the cluster still converges,
detects a dead primary, and keeps every invariant on the way."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.scenarios import build, converge


def test_ten_percent_loss_converges(seed):
    """Single frames lost on live links (TCP never does that; Redis recovers with its
    link-reset rule): the cluster converges, and converges again after 30 s of it (a
    node may meanwhile suspect a peer whose ping and pong were both lost)."""
    sim = build(6, seed, drop=0.10, node_timeout=5000)
    took = converge(sim, max_ms=40_000)
    sim.run_for(30_000)
    again = converge(sim, max_ms=40_000)
    assert sim.stats["dropped"] > 10
    print(f"\n10% loss, seed {seed}: converged in {took} ms; again after {again} ms")


def test_broken_connections_converge_and_stay_converged(seed):
    """5% of frames break their connection instead (as real network errors do): links are
    re-established by cron and nobody is ever suspected."""
    sim = build(6, seed, reset=0.05, node_timeout=5000)
    converge(sim, max_ms=20_000)
    for _ in range(30):
        sim.run_for(1000)
        assert sim.converged(), sim.report("lost convergence with broken connections")
    assert sim.stats["resets"] > 10


def test_duplicates_converge(seed):
    sim = build(6, seed, duplicate=0.25)
    converge(sim, max_ms=30_000)
    assert sim.stats["duplicated"] > 0


def test_loss_duplication_and_slow_links_together(seed):
    sim = build(10, seed, drop=0.05, duplicate=0.10, delay_ms=(0.5, 40.0), node_timeout=3000)
    converge(sim, max_ms=40_000)
    sim.kill(1)
    sim.run_until(lambda s: all(s.flagged(n.index, 1, Flag.FAIL) for n in s.live()),
                  3000 + 10_000)
    sim.run_for(1000)
    assert not any(n.state.state_ok for n in sim.live())   # node 1's slots are down
