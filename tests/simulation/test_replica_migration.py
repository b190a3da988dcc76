"""Replica migration in the simulation: a primary loses its only replica; after more
than 5 s one replica of the primary with the most replicas (the one with the smallest id)
moves to it, unless cluster-allow-replica-migration is off."""
from __future__ import annotations

from gossip.effects import FollowPrimary
from tests.simulation.scenarios import build
from tests.simulation.test_manual_failover import settled


def cluster(seed: int, allow: bool = True):
    """Primaries 0, 1, 2; replicas 3 -> 0, 4 -> 1, 5 -> 2 and 6 -> 0; converged (build
    waits for full membership before the REPLICATE commands)."""
    sim = build(7, seed, replicas=1, node_timeout=2000, log_lines=400)
    for n in sim.nodes:
        sim.set_config(n.index, allow_replica_migration=allow)
    sim.command(6, "replicate", sim.nodes[0].id, 0)
    sim.run_until(lambda s: settled(s) and replica_count_seen(s, 0) == 2, 60_000,
                  "setup")
    return sim


def replica_count_seen(sim, primary: int) -> int:
    """Live replicas of `primary` every live node agrees on (min over the views)."""
    pid = sim.nodes[primary].id
    live = {n.id for n in sim.live()}
    return min(sum(1 for r in n.state.nodes.values()
                   if r.is_replica and r.primary_id == pid and r.id in live)
               for n in sim.live())


def moved(sim) -> list[int]:
    one = sim.nodes[1].id
    return [i for i in (3, 6) if sim.nodes[i].state.myself.primary_id == one]


def test_a_replica_migrates_to_the_orphaned_primary(seed):
    sim = cluster(seed)
    sim.kill(4)                                     # primary 1's only replica
    took = sim.run_until(lambda s: moved(s), 30_000, "migration")
    assert took > 5000 + 2000                        # PFAIL (node timeout), then 5 s
    smallest = min((3, 6), key=lambda i: sim.nodes[i].id)
    assert moved(sim) == [smallest]
    assert any(f"Migrating to orphaned master {sim.nodes[1].id}" in line
               for line in sim.nodes[smallest].logs)
    assert sim.nodes[smallest].role_effects[-1] == FollowPrimary(sim.nodes[1].id)
    other = 9 - smallest
    sim.run_until(lambda s: settled(s) and replica_count_seen(s, 1) == 1
                  and replica_count_seen(s, 0) == 1, 20_000, "everyone sees the move")
    sim.run_for(10_000)                              # nobody else moves
    assert moved(sim) == [smallest]
    assert sim.nodes[other].state.myself.primary_id == sim.nodes[0].id
    assert sim.nodes[other].role_effects == [FollowPrimary(sim.nodes[0].id)]


def test_nothing_moves_when_migration_is_not_allowed(seed):
    sim = cluster(seed, allow=False)
    sim.kill(4)
    sim.run_for(20_000)
    assert moved(sim) == []
    assert replica_count_seen(sim, 0) == 2
