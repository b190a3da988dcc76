"""Config epoch collisions (Redis's clusterHandleConfigEpochCollision) end with distinct
epochs: the node with the smaller id bumps to a new current epoch."""
from __future__ import annotations

import pytest

from gossip.records import Flag
from tests.simulation.scenarios import build, converge


def _epochs_distinct_and_agreed(sim) -> bool:
    views = []
    for n in sim.live():
        primaries = {r.id: r.config_epoch for r in n.state.nodes.values()
                     if r.flags & Flag.MASTER}
        if len(primaries) != len(sim.nodes) or len(set(primaries.values())) != len(primaries):
            return False
        views.append(primaries)
    return all(v == views[0] for v in views)


@pytest.mark.parametrize("epochs", ["zero", "equal"])
def test_colliding_epochs_end_distinct(seed, epochs):
    sim = build(6, seed, epochs=epochs, node_timeout=2000, log_lines=10_000)
    start = {n.state.myself.config_epoch for n in sim.nodes}
    assert len(start) == 1
    took = sim.run_until(_epochs_distinct_and_agreed, 30_000, "distinct config epochs")
    converge(sim)
    mine = sorted(n.state.myself.config_epoch for n in sim.nodes)
    assert len(set(mine)) == 6, mine
    assert all(n.state.current_epoch >= max(mine) for n in sim.nodes)
    # the node with the largest id never needed to move
    top = max(sim.nodes, key=lambda n: n.id)
    assert top.state.myself.config_epoch == next(iter(start))
    # collisions are resolved with an fsync'ed save, and logged as Redis does
    bumped = [n for n in sim.nodes if n.state.myself.config_epoch != next(iter(start))]
    assert all(n.fsyncs > 0 for n in bumped)
    assert all(any("configEpoch collision with node" in line for line in n.logs)
               for n in bumped)
    print(f"\n{epochs} epochs, seed {seed}: distinct after {took} ms; epochs {mine}")


def test_distinct_epochs_do_not_move(seed):
    """redis-cli's SET-CONFIG-EPOCH 1..N avoids collisions: no epoch changes at all."""
    sim = build(6, seed)
    converge(sim)
    assert sorted(n.state.myself.config_epoch for n in sim.nodes) == [1, 2, 3, 4, 5, 6]
    assert all(n.state.current_epoch == 6 for n in sim.nodes)
