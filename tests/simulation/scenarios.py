"""Cluster scenarios shared by the simulation tests and scripts/sim-report."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.harness import TICK_MS, Simulation


def build(n: int, seed: int, primaries: int = 3, epochs: str = "distinct",
          **kwargs) -> Simulation:
    """n fresh nodes set up as redis-cli --cluster create would (without replicas):
    config epochs (distinct 1..n, all "zero", or all "equal"), slots split over nodes
    0..primaries-1, then every node meets node 0."""
    sim = Simulation(n, seed, **kwargs)
    if epochs == "distinct":
        sim.set_config_epochs(range(1, n + 1))
    elif epochs == "equal":
        sim.set_config_epochs([7] * n)
    elif epochs != "zero":
        raise ValueError(epochs)
    if primaries:
        sim.assign_slots(primaries)
    sim.meet_all()
    return sim


def converge(sim: Simulation, max_ms: int = 60_000) -> int:
    """Run until every live node knows every other, all views agree, all states ok."""
    return sim.run_until(Simulation.converged, max_ms, "convergence")


def convergence_time(n: int, seed: int, **kwargs) -> dict:
    sim = build(n, seed, **kwargs)
    ms = converge(sim)
    return {"nodes": n, "seed": seed, "ms": ms, "rounds": ms / TICK_MS,
            "events": sim.events, "messages": sim.stats["sent"]}


def everyone_flags(sim: Simulation, target: int, flag: Flag) -> bool:
    return all(sim.flagged(n.index, target, flag) for n in sim.live())


def anyone_flags(sim: Simulation, target: int, flag: Flag) -> bool:
    return any(sim.flagged(n.index, target, flag) for n in sim.live())


def kill_to_fail(seed: int, node_timeout: int, n: int = 6, victim: int = 0,
                 **kwargs) -> dict:
    """Converge, kill primary `victim`, time first PFAIL, first FAIL, FAIL on all."""
    sim = build(n, seed, node_timeout=node_timeout, **kwargs)
    converge(sim)
    sim.run_for(sim.net.randrange(1000))          # kill at a random cron phase
    sim.kill(victim)
    limit = node_timeout * 3 + 5000
    first_pfail = sim.run_until(
        lambda s: anyone_flags(s, victim, Flag.PFAIL) or anyone_flags(s, victim, Flag.FAIL),
        limit, "first fail? flag", poll_ms=1)
    first_fail = first_pfail + sim.run_until(
        lambda s: anyone_flags(s, victim, Flag.FAIL), limit, "first fail flag", poll_ms=1)
    all_fail = first_fail + sim.run_until(
        lambda s: everyone_flags(s, victim, Flag.FAIL), limit, "fail flag on all", poll_ms=1)
    return {"node_timeout": node_timeout, "seed": seed, "first_pfail": first_pfail,
            "first_fail": first_fail, "all_fail": all_fail, "sim": sim}
