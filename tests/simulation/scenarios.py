"""Cluster scenarios shared by the simulation tests and scripts/sim-report."""
from __future__ import annotations

from gossip.records import Flag
from tests.simulation.harness import TICK_MS, Simulation


def build(n: int, seed: int, primaries: int = 3, epochs: str = "distinct",
          replicas: int = 0, **kwargs) -> Simulation:
    """n fresh nodes set up as redis-cli --cluster create would: config epochs (distinct
    1..n, all "zero", or all "equal"), slots split over nodes 0..primaries-1, then every
    node meets node 0. With `replicas` = r, once everyone knows everyone, node
    primaries + k*primaries + p replicates primary p (k < r), as redis-cli does with
    CLUSTER REPLICATE."""
    if replicas and n < primaries * (1 + replicas):
        raise ValueError("not enough nodes for the replicas")
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
    if replicas:
        sim.run_until(Simulation.full_membership, 60_000, "membership before REPLICATE")
        for k in range(replicas):
            for p in range(primaries):
                sim.command(primaries * (1 + k) + p, "replicate", sim.nodes[p].id, 0)
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


def new_owner_everywhere(sim: Simulation, slot: int, owner: int) -> bool:
    """Every live node maps `slot` to node `owner` and is cluster_state ok."""
    owner_id = sim.nodes[owner].id
    return all(n.state.slot_owner[slot] == owner_id and n.state.state_ok
               for n in sim.live())


def kill_to_failover(seed: int, node_timeout: int, primaries: int = 3, replicas: int = 1,
                     victim: int = 0, **kwargs) -> dict:
    """Converge a cluster with replicas, kill primary `victim` at a random cron phase,
    and time kill -> one of its replicas owns its slots and is ok on every live node."""
    n = primaries * (1 + replicas)
    sim = build(n, seed, primaries=primaries, replicas=replicas, node_timeout=node_timeout,
                **kwargs)
    converge(sim)
    sim.write(victim, 1000)
    sim.run_for(sim.net.randrange(1000))
    candidates = sim.replicas_of(victim)
    slot = next(iter(sim.nodes[victim].state.myself.slots))
    sim.kill(victim)
    ms = sim.run_until(
        lambda s: any(new_owner_everywhere(s, slot, c) for c in candidates),
        node_timeout * 4 + 15_000, "failover", poll_ms=1)
    winner = next(c for c in candidates if new_owner_everywhere(sim, slot, c))
    return {"node_timeout": node_timeout, "seed": seed, "ms": ms, "winner": winner,
            "sim": sim}
