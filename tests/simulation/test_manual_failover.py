"""CLUSTER FAILOVER in the simulation: the default handshake (MFSTART, the primary's
write pause and offset, the replica catching up, an election without delay), FORCE with
the primary dead, TAKEOVER in a minority, and the default mode's timeout."""
from __future__ import annotations

from gossip.messages import MsgType
from tests.simulation.scenarios import build

SLOTS_OF_0 = set(range(0, 5461))


def cluster(seed: int, node_timeout: int = 5000):
    """3 primaries (0, 1, 2) with one replica each (3, 4, 5), converged."""
    sim = build(6, seed, replicas=1, node_timeout=node_timeout, log_lines=400)
    sim.run_until(lambda s: settled(s), 60_000, "setup")
    return sim


def roles_agree(sim) -> bool:
    """Every live node sees every live node's own role (primary or replica of whom)."""
    live = sim.live()
    truth = {n.id: n.state.myself.primary_id for n in live}
    for n in live:
        for node_id, primary_id in truth.items():
            rec = n.state.nodes.get(node_id)
            if rec is None or rec.primary_id != primary_id:
                return False
    return True


def settled(sim) -> bool:
    """All ok, the same slot map and the same roles everywhere. (Simulation.converged
    also wants every record's config epoch to equal the node's own, which a replica that
    was a primary never satisfies: it advertises its new primary's epoch.)"""
    return sim.all_ok() and sim.views_agree() and roles_agree(sim)


def promoted(sim, new: int, old: int | None = 0) -> bool:
    """Node `new` owns old primary 0's slots in every live view; `old` (if alive) is its
    replica in every live view; the cluster converged."""
    new_id = sim.nodes[new].id
    for n in sim.live():
        rec = n.state.nodes.get(new_id)
        if rec is None or not rec.is_primary or set(rec.slots) != SLOTS_OF_0:
            return False
    if old is not None and sim.nodes[old].state.myself.primary_id != new_id:
        return False
    return settled(sim)


def logged(sim, i: int, text: str) -> bool:
    return any(text in line for line in sim.nodes[i].logs)


def test_default_manual_failover_waits_for_the_primary_offset(seed):
    sim = cluster(seed)
    sim.write(0, 1000, lag={3: 200})            # replica 3 is 200 bytes behind
    sim.failover(3, "default")
    sim.run_until(lambda s: s.nodes[3].state.mf is not None
                  and s.nodes[3].state.mf.primary_offset == 1000, 2000, "paused offset")
    assert sim.writes_paused(0) and sim.nodes[0].pauses == 1
    assert logged(sim, 0, f"Manual failover requested by replica {sim.nodes[3].id}.")
    assert logged(sim, 3, "Received replication offset for paused master manual "
                          "failover: 1000")
    sim.run_for(1000)                           # still behind: nothing may happen
    assert sim.nodes[3].state.myself.is_replica and not sim.nodes[3].state.mf.can_start
    assert sim.nodes[3].state.stats_sent[MsgType.AUTH_REQUEST] == 0
    sim.nodes[3].repl_offset = 1000             # the replication stream arrives
    took = sim.run_until(lambda s: promoted(s, 3), 10_000, "manual failover done")
    assert took < 3000
    assert logged(sim, 3, "All master replication stream processed, manual failover "
                          "can start.")
    assert logged(sim, 3, "Start of election delayed for 0 milliseconds")
    assert sim.nodes[3].state.mf is None and sim.nodes[0].state.mf is None
    assert not sim.writes_paused(0)             # the old primary, now a replica, unpaused
    assert sim.nodes[0].state.myself.is_replica


def test_force_with_the_primary_dead_needs_no_fail_flag(seed):
    sim = cluster(seed, node_timeout=15000)
    sim.kill(0)
    sim.run_for(200)
    sim.failover(3, "force")
    took = sim.run_until(lambda s: promoted(s, 3, old=None), 5000, "forced failover")
    assert took < 15000                         # long before the primary could be FAIL
    assert logged(sim, 3, "Forced failover user request accepted.")
    assert sim.nodes[0].state.myself.is_primary          # dead, never told


def test_force_without_a_majority_of_primaries_does_not_win(seed):
    sim = cluster(seed, node_timeout=15000)
    sim.kill(0)
    sim.kill(1)
    sim.run_for(200)
    sim.failover(3, "force")
    sim.run_for(6000)
    assert sim.nodes[3].state.myself.is_replica
    assert sim.nodes[3].state.stats_sent[MsgType.AUTH_REQUEST] >= 1
    assert not set(sim.nodes[3].state.myself.slots)


def test_takeover_in_a_minority_partition_needs_no_vote(seed):
    sim = cluster(seed)
    sim.partition([3])                          # the replica alone
    sim.failover(3, "takeover")
    me = sim.nodes[3].state.myself
    assert me.is_primary and set(me.slots) == SLOTS_OF_0
    assert me.config_epoch == sim.nodes[3].state.current_epoch
    assert me.config_epoch > max(n.state.myself.config_epoch for n in sim.nodes if n.index != 3)
    assert sim.nodes[3].state.stats_sent[MsgType.AUTH_REQUEST] == 0
    assert logged(sim, 3, "Taking over the master (user request).")
    sim.run_for(2000)
    sim.heal()
    sim.run_until(lambda s: promoted(s, 3), 30_000, "takeover known everywhere")


def test_default_mode_times_out_when_the_primary_never_answers(seed):
    sim = cluster(seed, node_timeout=15000)
    sim.partition([3], [0])                     # only replica <-> primary is cut
    sim.failover(3, "default")
    sim.run_until(lambda s: logged(s, 3, "Manual failover timed out."), 6000, "timeout")
    assert sim.nodes[3].state.mf is None
    assert sim.nodes[0].pauses == 0 and sim.nodes[0].state.mf is None
    sim.run_for(1000)
    assert sim.nodes[3].state.myself.is_replica
    assert sim.nodes[3].state.myself.primary_id == sim.nodes[0].id
    assert set(sim.nodes[0].state.myself.slots) == SLOTS_OF_0
    assert sim.nodes[3].state.stats_sent[MsgType.AUTH_REQUEST] == 0
