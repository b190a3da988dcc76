"""Automatic failover in the simulation: a replica's election, the primaries' votes, the
promotion, and what the rest of the cluster does about it (gossip/failover.py).

Invariants checked after every event (tests/simulation/invariants.py): at most one
winner per election epoch, at most one vote per node per epoch, no two primaries claim a
slot with the same config epoch in any two views. SIM_SEEDS_MANY=<n> sets how many seeds
the cheap many-seeds test runs (default 200; scripts/sim-nightly runs thousands)."""
from __future__ import annotations

import os

import pytest

from gossip.effects import BecamePrimary, FollowPrimary
from gossip.records import Flag
from tests.simulation.harness import Simulation
from tests.simulation.invariants import ownership_problem
from tests.simulation.scenarios import (build, converge, kill_to_failover,
                                        new_owner_everywhere)

WON = "Failover election won: I'm the new master."
STARTED = "Starting a failover election for epoch"


def logged(sim: Simulation, i: int, text: str) -> bool:
    return any(text in line for line in sim.nodes[i].logs)


def winners(sim: Simulation) -> list[int]:
    return [n.index for n in sim.nodes if logged(sim, n.index, WON)]


def check_ownership(sim: Simulation) -> None:
    problem = ownership_problem(sim)
    if problem:
        sim.fail(problem)


def is_replica_of(sim: Simulation, i: int, primary: int) -> bool:
    """Every live node (node i included) sees node i as a replica of `primary`."""
    pid, rid = sim.nodes[primary].id, sim.nodes[i].id
    for n in sim.live():
        r = n.state.nodes.get(rid)
        if r is None or not r.is_replica or r.primary_id != pid or r.failing:
            return False
    return True


@pytest.mark.parametrize("node_timeout", [1000, 5000])
def test_killed_primary_is_replaced_by_its_replica(seed, node_timeout):
    r = kill_to_failover(seed, node_timeout)
    sim, winner = r["sim"], r["winner"]
    print(f"\nnode-timeout {node_timeout}, seed {seed}: kill -> new primary ok everywhere "
          f"{r['ms']} ms")
    assert winner == 3
    assert r["ms"] <= node_timeout + 1000, r           # the target
    assert winners(sim) == [3]
    me = sim.nodes[3].state.myself
    assert me.is_primary and me.primary_id is None
    assert me.config_epoch == sim.nodes[3].state.current_epoch
    # the node was told: replicate node 0 (CLUSTER REPLICATE), then stop (election won)
    assert sim.nodes[3].role_effects == [FollowPrimary(sim.nodes[0].id), BecamePrimary()]
    for line in ("Start of election delayed for", STARTED, WON,
                 f"configEpoch set to {me.config_epoch} after successful failover"):
        assert logged(sim, 3, line), list(sim.nodes[3].logs)
    assert any(logged(sim, i, f"Failover auth granted to {me.id} for epoch "
                              f"{me.config_epoch}") for i in (1, 2))
    converge(sim, max_ms=10_000)
    check_ownership(sim)
    assert sim.nodes[3].fsyncs > 0 and sim.nodes[1].fsyncs > 0


def test_killed_primary_restarted_comes_back_as_replica_of_the_winner(seed):
    r = kill_to_failover(seed, 1000)
    sim, winner = r["sim"], r["winner"]
    old_id = sim.nodes[0].id
    sim.run_for(500)
    sim.restart(0)
    assert sim.nodes[0].state.myself.is_primary       # its nodes.conf still says primary
    sim.run_until(lambda s: is_replica_of(s, 0, winner), 10_000, "old primary follows")
    converge(sim, max_ms=15_000)
    me = sim.nodes[0].state.myself
    assert me.id == old_id and len(me.slots) == 0
    assert sim.nodes[0].role_effects == [FollowPrimary(sim.nodes[winner].id)]
    check_ownership(sim)
    assert winners(sim) == [winner]


def test_primary_isolated_in_a_minority_is_replaced_and_follows_after_heal(seed):
    sim = build(6, seed, replicas=1, node_timeout=1000)
    converge(sim)
    sim.write(0, 500)
    sim.partition([0])
    took = sim.run_until(lambda s: not s.nodes[0].state.state_ok, 3000, poll_ms=5)
    assert took <= 1000 + 500                          # fenced within ~node-timeout
    majority = [n for n in sim.live() if n.index != 0]
    sim.run_until(lambda s: all(n.state.slot_owner[0] == s.nodes[3].id
                                and n.state.state_ok for n in majority),
                  5000, "replica wins on the majority side")
    assert not sim.nodes[0].state.state_ok             # the minority side stays down
    assert sim.nodes[0].state.myself.is_primary
    sim.heal()
    sim.run_until(lambda s: is_replica_of(s, 0, 3), 10_000, "old primary follows")
    converge(sim, max_ms=15_000)
    check_ownership(sim)
    assert winners(sim) == [3]


def test_primary_and_its_replica_dying_together_leaves_the_cluster_down(seed):
    sim = build(6, seed, replicas=1, node_timeout=1000)
    converge(sim)
    dead = sim.nodes[0].id
    sim.kill(0)
    sim.kill(3)
    sim.run_for(6000)
    assert winners(sim) == []
    assert not any(logged(sim, n.index, STARTED) for n in sim.nodes)
    for n in sim.live():
        assert not n.state.state_ok
        assert n.state.slot_owner[0] == dead               # slots uncovered (FAIL owner)


def test_two_primaries_dying_in_a_five_primary_cluster_are_both_replaced(seed):
    sim = build(10, seed, primaries=5, replicas=1, node_timeout=1000)
    converge(sim)
    slot0 = next(iter(sim.nodes[0].state.myself.slots))
    slot1 = next(iter(sim.nodes[1].state.myself.slots))
    sim.kill(0)
    sim.kill(1)
    sim.run_until(lambda s: new_owner_everywhere(s, slot0, 5)
                  and new_owner_everywhere(s, slot1, 6), 10_000, "both replaced")
    converge(sim, max_ms=10_000)
    check_ownership(sim)
    assert sorted(winners(sim)) == [5, 6]


def test_the_replica_with_the_greater_offset_wins(seed):
    """Two replicas (3 and 6) of primary 0; one lags clearly: the other one is rank 0."""
    sim = build(9, seed, replicas=2, node_timeout=1000)
    converge(sim)
    ahead, behind = (3, 6) if seed % 2 else (6, 3)
    sim.write(0, 10_000, lag={behind: 4000})
    sim.run_for(1000)                                  # offsets travel in heartbeats
    sim.kill(0)
    sim.run_until(lambda s: new_owner_everywhere(s, 0, ahead), 10_000, "ahead one wins")
    assert winners(sim) == [ahead]
    assert logged(sim, ahead, "(rank #0, offset 10000)")
    converge(sim, max_ms=10_000)
    check_ownership(sim)
    sim.run_until(lambda s: is_replica_of(s, behind, ahead), 5000, "sibling follows")
    assert sim.nodes[behind].role_effects[-1] == FollowPrimary(sim.nodes[ahead].id)
    assert sim.nodes[ahead].role_effects[-1] == BecamePrimary()


def test_a_nofailover_replica_never_starts_an_election(seed):
    sim = build(6, seed, replicas=1, node_timeout=1000)
    sim.set_config(3, replica_no_failover=True)
    converge(sim)
    sim.run_for(500)
    assert all(n.state.nodes[sim.nodes[3].id].flags & Flag.NOFAILOVER for n in sim.live())
    sim.kill(0)
    sim.run_for(5000)
    assert not logged(sim, 3, STARTED) and winners(sim) == []
    assert not any(n.state.state_ok for n in sim.live())


@pytest.mark.parametrize("factor", [1, 10])
def test_a_replica_with_too_old_data_does_not_start_an_election(seed, factor):
    """The replica lost its primary 3 s before the primary died: data age 3 s - 1 s.
    Validity factor 1 (and repl-ping-replica-period 0) allows 1 s: no election; the
    default factor 10 allows 10 s + 10 s: failover."""
    sim = build(6, seed, replicas=1, node_timeout=1000)
    sim.set_config(3, replica_validity_factor=factor, repl_ping_replica_period=0)
    converge(sim)
    sim.partition([3], [0])
    sim.run_for(3000)
    sim.kill(0)
    sim.heal()
    if factor == 10:
        sim.run_until(lambda s: new_owner_everywhere(s, 0, 3), 5000, "failover")
        return
    sim.run_for(8000)
    assert not logged(sim, 3, STARTED) and winners(sim) == []
    assert logged(sim, 3, "Currently unable to failover: Disconnected from master for "
                          "longer than allowed.")
    assert not any(n.state.state_ok for n in sim.live())


def test_minority_primary_is_fenced_until_the_rejoin_delay(seed):
    """No replicas: the isolated primary goes fail within about node-timeout and comes
    back to ok only the rejoin delay (clamp(node-timeout, 500, 5000)) after the heal."""
    sim = build(6, seed, node_timeout=1000)
    converge(sim)
    sim.partition([0])
    took = sim.run_until(lambda s: not s.nodes[0].state.state_ok, 3000, poll_ms=5)
    assert 1000 <= took <= 1500
    sim.run_for(2000)
    assert not sim.nodes[0].state.state_ok
    sim.heal()
    back = sim.run_until(lambda s: s.nodes[0].state.state_ok, 10_000, poll_ms=5)
    assert back >= 1000
    converge(sim, max_ms=10_000)
    assert winners(sim) == []


def test_failover_over_many_seeds():
    """The cheap scenario (3 primaries, one replica, node-timeout 1000) over many seeds:
    exactly one winner, the right one, within node-timeout + 1 s, invariants all along."""
    count = int(os.environ.get("SIM_SEEDS_MANY", "200"))
    worst = 0
    for seed in range(1000, 1000 + count):
        sim = build(4, seed, node_timeout=1000, keep_config=False)
        sim.run_until(Simulation.full_membership, 30_000, "membership")
        sim.command(3, "replicate", sim.nodes[0].id, 0)
        converge(sim)
        sim.run_for(sim.net.randrange(1000))
        sim.kill(0)
        took = sim.run_until(lambda s: new_owner_everywhere(s, 0, 3), 5000, "failover",
                             poll_ms=5)
        worst = max(worst, took)
        if winners(sim) != [3] or took > 2000:
            sim.fail(f"seed {seed}: winners {winners(sim)}, {took} ms")
        check_ownership(sim)
    print(f"\n{count} seeds: worst kill -> failover {worst} ms")
