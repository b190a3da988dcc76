"""Sentinels on a virtual clock with fake instances: failover happens once per epoch,
each sentinel votes at most once per epoch, also under partitions."""
from __future__ import annotations

import pytest

from tests.simulation.sentinel_sim import World


def check_invariants(world: World) -> None:
    for epoch, addrs in world.promotions_by_epoch().items():
        assert len(addrs) == 1, f"two promotions in epoch {epoch}: {addrs}"
    for i, votes in enumerate(world.votes):
        for epoch, runids in votes.items():
            assert len(runids) == 1, f"sentinel {i} voted twice in epoch {epoch}"


def test_failover_after_primary_dies():
    w = World(3, 2, seed=1)
    w.run_for(5000)
    assert all(len(st.masters["mymaster"].sentinels) == 2 for st in w.sentinels)
    assert all(len(st.masters["mymaster"].replicas) == 2 for st in w.sentinels)
    old = w.redis[("10.0.0.1", 6000)]
    old.alive = False
    w.run_for(8000)
    check_invariants(w)
    new = [r for r in w.primaries()]
    assert len(new) == 1 and new[0].addr == ("10.0.0.1", 6002)   # highest offset wins
    assert all(st.masters["mymaster"].addr == new[0].addr for st in w.sentinels)
    other = w.redis[("10.0.0.1", 6001)]
    assert other.master == new[0].addr
    switches = [p for ev in w.events for _, n, p in ev if n == "+switch-master"]
    assert switches and switches[0] == "mymaster 10.0.0.1 6000 10.0.0.1 6002"
    # the old primary returns and is made a replica of the new one
    old.alive = True
    w.run_for(15000)
    assert old.master == new[0].addr
    check_invariants(w)


def test_minority_partition_does_not_fail_over():
    w = World(3, 2, seed=2)
    w.run_for(5000)
    # sentinel 0 alone loses the primary: it is SDOWN for it only, never ODOWN
    w.partition([w.s_addr(0)], [("10.0.0.1", 6000)])
    w.run_for(6000)
    assert "s_down" in w.sentinels[0].masters["mymaster"].flags
    assert "o_down" not in w.sentinels[0].masters["mymaster"].flags
    assert all(not st.promotions for st in w.sentinels)
    assert len(w.primaries()) == 1


@pytest.mark.parametrize("world_seed", range(6))
def test_partitions_never_two_promotions_per_epoch(world_seed):
    seed = world_seed
    w = World(5, 3, seed=seed, quorum=2, failover_timeout=3000)
    w.run_for(5000)
    primary = ("10.0.0.1", 6000)
    # the primary dies while the sentinels are split 2 | 3, then heal, then flap
    w.redis[primary].alive = False
    group_a = [w.s_addr(0), w.s_addr(1)]
    group_b = [w.s_addr(i) for i in (2, 3, 4)]
    w.partition(group_a, group_b)
    w.run_for(3000 + 500 * seed)
    check_invariants(w)
    w.heal()
    w.run_for(4000)
    w.partition([w.s_addr(seed % 5)], [a for a in w.redis])
    w.run_for(4000)
    w.heal()
    w.run_for(20000)
    check_invariants(w)
    assert len(w.primaries()) == 1
    leader_view = {st.masters["mymaster"].addr for st in w.sentinels}
    assert leader_view == {w.primaries()[0].addr}
