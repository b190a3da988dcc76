"""The harness itself: violations are caught with the seed and a replay command, and the
network model does what it says."""
from __future__ import annotations

import pytest

from gossip.records import Flag
from tests.simulation.harness import (BASE_PORT, IP, Simulation, SimulationFailure,
                                      allocate_slots)
from tests.simulation.scenarios import build, converge


def test_redis_cli_slot_allocation():
    assert allocate_slots(3) == [(0, 5460), (5461, 10922), (10923, 16383)]
    assert allocate_slots(1) == [(0, 16383)]
    ranges = allocate_slots(7)
    assert ranges[0][0] == 0 and ranges[-1][1] == 16383
    assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))


@pytest.fixture
def converged():
    sim = build(6, 5, node_timeout=2000)
    converge(sim)
    return sim


def _violation(sim, ms: int = 200) -> str:
    with pytest.raises(SimulationFailure) as info:
        sim.run_for(ms)
    text = str(info.value)
    assert "seed=5" in text and "SIM_SEED=5 " in text
    return text


def test_slot_table_out_of_step_with_bitmaps_is_caught(converged):
    converged.nodes[1].state.slot_owner[7] = None
    assert "slot_owner[7]" in _violation(converged)


def test_myself_flagged_failing_is_caught(converged):
    converged.nodes[2].state.myself.flags |= Flag.PFAIL
    assert "myself is flagged" in _violation(converged)


def test_current_epoch_going_back_is_caught(converged):
    converged.nodes[3].state.current_epoch -= 1
    assert "current_epoch decreased" in _violation(converged)


def test_config_epoch_above_current_epoch_is_caught(converged):
    state = converged.nodes[4].state
    state.nodes[converged.nodes[0].id].config_epoch = state.current_epoch + 5
    assert "> current_epoch" in _violation(converged)


def test_two_owners_of_a_slot_with_one_epoch_are_caught(converged):
    sim = converged
    n0, n2 = sim.nodes[0].id, sim.nodes[2].id
    view1 = sim.nodes[1].state                 # node 1: slot 0 belongs to node 2 (epoch 3)
    view1.nodes[n0].slots.discard(0)
    view1.nodes[n2].slots.add(0)
    view1.slot_owner[0] = n2
    sim.nodes[3].state.nodes[n0].config_epoch = 3   # node 3: node 0 (epoch 3) owns it
    text = _violation(sim)
    assert "slot 0:" in text and "config epoch 3" in text


def test_run_until_reports_the_seed_and_a_dump():
    sim = Simulation(3, 77)
    with pytest.raises(SimulationFailure) as info:
        sim.run_until(lambda s: False, 500, "the impossible")
    text = str(info.value)
    assert "the impossible not reached within 500 ms" in text
    assert "seed=77" in text and "SIM_SEED=77" in text
    assert text.count("\nnode ") == 3


def test_sends_go_through_the_codec_and_are_counted(seed):
    sim = build(4, seed)
    converge(sim)
    sent_by_states = sum(sum(n.state.stats_sent.values()) for n in sim.nodes)
    assert sent_by_states == sim.stats["sent"] + sim.stats["send_no_link"]
    received = sum(sum(n.state.stats_received.values()) for n in sim.nodes)
    assert received == sim.stats["delivered"]
    assert sim.stats["delivered"] <= sim.stats["sent"]


def test_partition_stops_traffic_and_heal_restores_it(seed):
    sim = build(4, seed, node_timeout=1000)
    converge(sim)
    sim.partition([0], [1])
    before = sum(sim.nodes[1].state.stats_received.values())
    sim.run_for(3000)
    assert sim.flagged(1, 0, Flag.PFAIL) or sim.flagged(1, 0, Flag.FAIL)
    assert not sim.flagged(2, 0, Flag.PFAIL) and not sim.flagged(2, 0, Flag.FAIL)
    assert sim.stats["lost_partition"] > 0
    assert sum(sim.nodes[1].state.stats_received.values()) > before   # others still talk
    sim.heal()
    converge(sim, max_ms=10_000)


def test_killed_node_closes_its_links(seed):
    sim = build(4, seed)
    converge(sim)
    sim.kill(3)
    dead = sim.nodes[3].id
    sim.run_for(300)       # peers see their links go down; reconnects are refused
    assert sim.nodes[3].links == {}
    for n in sim.live():
        assert not n.state.nodes[dead].link_up
    assert sim.stats["connect_refused"] > 0


def test_meet_with_a_wrong_port_goes_nowhere(seed):
    sim = Simulation(2, seed, node_timeout=1000)
    sim.command(0, "meet", IP, BASE_PORT + 50, BASE_PORT + 10050)
    sim.run_for(3000)           # refused connects, then the handshake times out
    assert len(sim.nodes[0].state.nodes) == 1
    assert sim.stats["connect_refused"] > 0
