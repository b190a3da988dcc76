"""Random partitions, kills, restarts, loss and duplication for a while (invariants checked
after every event), then heal: the cluster converges again. And a slot move that leaves a
partitioned primary with a stale claim (it is corrected by UPDATE / higher epochs)."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.harness import Simulation
from tests.simulation.scenarios import build, converge

NODE_TIMEOUT = 1000


def test_random_faults_then_heal_converges(seed):
    sim = build(8, seed, node_timeout=NODE_TIMEOUT, drop=0.02, duplicate=0.05)
    converge(sim)
    rng = sim.net
    dead: set[int] = set()
    for _ in range(25):
        action = rng.choice(["partition", "heal", "kill", "restart", "wait"])
        if action == "partition":
            side = rng.sample(range(8), rng.randrange(1, 4))
            sim.partition(side)
        elif action == "heal":
            sim.heal()
        elif action == "kill" and len(dead) < 2:
            victim = rng.choice(sorted(set(range(8)) - dead))
            sim.kill(victim)
            dead.add(victim)
        elif action == "restart" and dead:
            back = rng.choice(sorted(dead))
            sim.restart(back)
            dead.discard(back)
        sim.run_for(rng.randrange(200, 3000))
    sim.heal()
    for i in sorted(dead):
        sim.restart(i)
    took = converge(sim, max_ms=60_000)
    ids = sorted(n.id for n in sim.nodes)
    assert all(sorted(n.state.nodes) == ids for n in sim.nodes)
    print(f"\nchaos seed {seed}: converged {took} ms after the last heal; {dict(sim.stats)}")


def test_stale_slot_claim_after_a_partition_is_corrected(seed):
    sim = build(6, seed, node_timeout=NODE_TIMEOUT)
    converge(sim)
    moved = list(range(16000, 16384))
    sim.partition([2])
    # node 0 takes over 16000-16383 from node 2 (which cannot hear it) with a new epoch
    sim.command(0, "del_slots", moved)
    sim.command(0, "add_slots", moved)
    bumped, _ = sim.command(0, "bump_epoch")
    assert bumped and sim.nodes[0].state.myself.config_epoch == 7
    sim.run_until(lambda s: all(s.nodes[i].state.slot_owner[16000] == s.nodes[0].id
                                for i in (0, 1, 3, 4, 5)), 5000)
    assert sim.nodes[2].state.slot_owner[16000] == sim.nodes[2].id   # still stale
    sim.heal()
    converge(sim, max_ms=30_000)
    for n in sim.nodes:
        owner = n.state.slot_owner
        assert owner[16000] == owner[16383] == owner[0] == sim.nodes[0].id
        assert owner[15999] == owner[10923] == sim.nodes[2].id
    assert len(sim.nodes[2].state.myself.slots) == 16000 - 10923
    # node 2 was told to drop its keys in the slots it lost (Redis's dirty slots)
    assert sorted(s for e in sim.nodes[2].data_effects for s in e.slots) == moved
    assert not sim.flagged(1, 2, Flag.FAIL)


def test_moved_slots_follow_the_higher_epoch_everywhere(seed):
    """DELSLOTS on the owner, ADDSLOTS + BUMPEPOCH on the new one: every view agrees."""
    sim = build(6, seed, node_timeout=NODE_TIMEOUT)
    converge(sim)
    moved = list(range(5000, 5461))
    sim.command(0, "del_slots", moved)
    sim.command(1, "del_slots", moved)      # node 1 still sees node 0 owning them
    sim.command(1, "add_slots", moved)
    sim.command(1, "bump_epoch")
    sim.run_until(Simulation.converged, 10_000)
    for n in sim.nodes:
        assert all(n.state.slot_owner[s] == sim.nodes[1].id for s in (5000, 5460, 5461))
        assert n.state.nodes[sim.nodes[1].id].config_epoch == 7
