"""A killed node goes PFAIL, then FAIL everywhere (Redis's failure detection)."""
from __future__ import annotations

import pytest

from gossip.records import Flag
from tests.simulation.harness import TICK_MS
from tests.simulation.scenarios import anyone_flags, build, converge, kill_to_fail


@pytest.mark.parametrize("node_timeout", [1000, 5000])
def test_killed_primary_goes_pfail_then_fail_everywhere(seed, node_timeout):
    r = kill_to_fail(seed, node_timeout)
    sim = r["sim"]
    print(f"\nnode-timeout {node_timeout}, seed {seed}: kill -> first fail? "
          f"{r['first_pfail']} ms, first fail {r['first_fail']} ms, fail on all "
          f"{r['all_fail']} ms")
    # PFAIL needs node-timeout without an answer; FAIL follows within a few gossip rounds
    assert node_timeout <= r["first_pfail"] <= node_timeout + 2 * TICK_MS, r
    assert r["first_pfail"] <= r["first_fail"] <= r["all_fail"], r
    assert r["all_fail"] <= node_timeout + 20 * TICK_MS, r
    # the dead primary's slots are now served by a FAIL node: cluster down everywhere
    sim.run_for(2 * TICK_MS)
    assert not any(n.state.state_ok for n in sim.live())
    assert all(n.state.size == 3 for n in sim.live())


def test_pfail_comes_before_fail(seed):
    """fail? (local suspicion) shows up before anyone declares FAIL; the FAIL is declared
    by a node that reached the quorum and logged it, then reaches every live node."""
    sim = build(6, seed, node_timeout=2000)
    converge(sim)
    victim = sim.nodes[2].id
    sim.kill(2)
    sim.run_until(lambda s: anyone_flags(s, 2, Flag.PFAIL), 4000, poll_ms=1)
    assert not anyone_flags(sim, 2, Flag.FAIL)
    sim.run_until(lambda s: all(s.flagged(n.index, 2, Flag.FAIL) for n in s.live()), 4000)
    declared = [n.index for n in sim.live()
                if any(f"Marking node {victim} as failing" in line for line in n.logs)]
    assert declared, [list(n.logs) for n in sim.live()]


def test_killed_slotless_node_fails_without_hurting_the_cluster(seed):
    sim = build(6, seed, node_timeout=1000)
    converge(sim)
    sim.kill(5)
    sim.run_until(lambda s: all(s.flagged(n.index, 5, Flag.FAIL) for n in s.live()), 5000)
    sim.run_for(1000)
    assert all(n.state.state_ok for n in sim.live())


def test_single_primary_cluster_fails_a_dead_slotless_node_alone(seed):
    """cluster size 1: the only voting primary needs no reports to go from PFAIL to FAIL."""
    sim = build(3, seed, primaries=1, node_timeout=1000)
    converge(sim)
    sim.kill(2)
    took = sim.run_until(lambda s: s.flagged(0, 2, Flag.FAIL), 3000, poll_ms=1)
    assert took <= 1000 + 3 * TICK_MS


def test_restarted_primary_rejoins_with_its_id_and_slots(seed):
    """kill a primary, let it be FAILed, restart it from its nodes.conf: same id, same
    slots and epoch, FAIL cleared (after 2 x node-timeout, nobody took its slots), all ok."""
    sim = build(6, seed, node_timeout=1000)
    converge(sim)
    victim = sim.nodes[1]
    before = (victim.id, victim.state.myself.config_epoch, len(victim.state.myself.slots))
    sim.kill(1)
    sim.run_until(lambda s: all(s.flagged(n.index, 1, Flag.FAIL) for n in s.live()), 5000)
    sim.run_for(500)
    sim.restart(1)
    me = victim.state.myself
    assert (me.id, me.config_epoch, len(me.slots)) == before
    assert len(victim.state.nodes) == 6 and victim.state.current_epoch == 6
    took = converge(sim, max_ms=20_000)
    assert took >= 2000          # the restarted primary waits out the writable delay
    assert all(not sim.flagged(n.index, 1, Flag.FAIL) for n in sim.nodes)
