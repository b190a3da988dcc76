"""Partitions: the minority side computes cluster_state fail, the majority stays ok, and
after the heal everybody is ok again (Redis's minority rule, rejoin delay, FAIL clearing)."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.scenarios import build, converge

NODE_TIMEOUT = 1000


def _states(sim, group):
    return [sim.nodes[i].state.state_ok for i in group]


def test_slotless_minority_fails_majority_stays_ok(seed):
    sim = build(6, seed, node_timeout=NODE_TIMEOUT)
    converge(sim)
    minority, majority = [3, 4], [0, 1, 2, 5]
    sim.partition(minority)
    # the minority cannot reach any voting primary: fail once a ping (sent when the last
    # pong is node-timeout/2 old) has waited node-timeout: at most 1.5 x node-timeout
    took = sim.run_until(lambda s: not any(_states(s, minority)), 3 * NODE_TIMEOUT)
    assert NODE_TIMEOUT <= took <= NODE_TIMEOUT * 3 // 2 + 300
    # the majority flags the minority FAIL (slotless primaries) and stays ok throughout
    for _ in range(50):
        sim.run_for(100)
        assert all(_states(sim, majority)), sim.report("majority went down")
        assert not any(_states(sim, minority)), sim.report("minority came back up")
    assert all(sim.flagged(i, j, Flag.FAIL) for i in majority for j in minority)
    assert not any(sim.flagged(i, j, Flag.FAIL) for i in minority for j in majority)
    sim.heal()
    healed = converge(sim, max_ms=30_000)
    print(f"\nseed {seed}: minority down after {took} ms; converged {healed} ms after heal")


def test_minority_with_a_primary_fails_majority_stays_ok(seed):
    """Without full coverage the majority keeps serving; the minority primary stops."""
    sim = build(6, seed, node_timeout=NODE_TIMEOUT, require_full_coverage=False)
    converge(sim)
    minority, majority = [0, 3], [1, 2, 4, 5]
    sim.partition(minority)
    sim.run_until(lambda s: not any(_states(s, minority)), 3 * NODE_TIMEOUT)
    for _ in range(30):
        sim.run_for(100)
        assert all(_states(sim, majority)), sim.report("majority went down")
    # the majority's voting primaries (1, 2) are a quorum: node 0 ends up FAIL there
    sim.run_until(lambda s: all(s.flagged(i, 0, Flag.FAIL) for i in majority), 5000)
    sim.heal()
    # node 0's FAIL clears only after 2 x node-timeout (it still serves its slots)
    converge(sim, max_ms=30_000)
    assert all(n.state.state_ok for n in sim.nodes)


def test_full_coverage_majority_goes_down_with_a_failed_primary(seed):
    """With require-full-coverage (default), slots of a FAIL primary take the whole
    cluster down, majority included; all recovers after the heal."""
    sim = build(6, seed, node_timeout=NODE_TIMEOUT)
    converge(sim)
    sim.partition([0])
    sim.run_until(lambda s: not any(n.state.state_ok for n in s.nodes), 5000)
    assert all(sim.flagged(i, 0, Flag.FAIL) for i in range(1, 6))
    sim.heal()
    converge(sim, max_ms=30_000)


def test_rejoining_minority_primary_waits_before_ok(seed):
    """A primary back from a minority waits the rejoin delay (node-timeout clamped to
    500..5000 ms) before it says ok again."""
    sim = build(6, seed, node_timeout=NODE_TIMEOUT, require_full_coverage=False)
    converge(sim)
    sim.partition([0])
    sim.run_until(lambda s: not s.nodes[0].state.state_ok, 3 * NODE_TIMEOUT)
    sim.run_for(2000)
    sim.heal()
    # node 0 hears a pong again quickly (no longer in a minority), but stays fail for
    # the rejoin delay
    sim.run_until(lambda s: not all(s.flagged(0, j, Flag.PFAIL) for j in (1, 2)), 3000,
                  poll_ms=1)
    back = sim.now_ms
    sim.run_until(lambda s: s.nodes[0].state.state_ok, 10_000, poll_ms=1)
    assert NODE_TIMEOUT - 100 <= sim.now_ms - back <= NODE_TIMEOUT + 500, sim.now_ms - back
