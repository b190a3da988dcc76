"""Slot split and replica placement exactly as `redis-cli --cluster create` plans them.

Pure functions over node objects that have an `ip` attribute (AdminNode in practice):

    plan = plan_cluster(nodes, replicas, rng)
    plan.masters            # nodes that get slots, in order
    plan.slots[node]        # (first, last) range of a master
    plan.replica_of[node]   # master of each replica
    plan.messages           # [(level, text)]: what redis-cli prints while planning
                            #   level in {"plain", "info", "ok", "warn"}

The steps (facts 5.3): nodes interleaved by IP (round-robin over hosts in first-seen
order); the first N/(replicas+1) are masters; slot ranges computed in single precision
like redis-cli's floats; the rest rotated by one and handed out, each master preferring
replicas on another host, leftovers as extra replicas; then the anti-affinity optimizer
(random replica swaps that do not worsen the score) and its verdict.
"""
from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass, field

CLUSTER_SLOTS = 16384
SAME_AS_MASTER = 10000


def f32(x: float) -> float:
    """Round to IEEE single precision, as C `float` arithmetic does."""
    return struct.unpack("f", struct.pack("f", x))[0]


def lround(x: float) -> int:
    """C lround: halves away from zero."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def masters_count(nodes: int, replicas: int) -> int:
    return nodes // (replicas + 1)


def split_slots(masters: int) -> list[tuple[int, int]]:
    """redis-cli's ranges: 3 masters -> 0-5460, 5461-10922, 10923-16383."""
    per = f32(CLUSTER_SLOTS / f32(masters))
    ranges, first, cursor = [], 0, f32(0.0)
    for i in range(masters):
        last = lround(f32(f32(cursor + per) - 1))
        if last > CLUSTER_SLOTS or i == masters - 1:
            last = CLUSTER_SLOTS - 1
        if last < first:
            last = first
        ranges.append((first, last))
        first = last + 1
        cursor = f32(cursor + per)
    return ranges


def group_by_ip(nodes: list) -> list[list]:
    """Nodes per host, hosts in first-seen order, nodes in argument order."""
    groups: dict[str, list] = {}
    for n in nodes:
        groups.setdefault(n.ip, []).append(n)
    return list(groups.values())


def interleave(nodes: list) -> list:
    """Round-robin over hosts: one node of each host in turn."""
    queues = [list(g) for g in group_by_ip(nodes)]
    out = []
    while len(out) < len(nodes):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out


@dataclass(eq=False)
class Plan:
    nodes: list
    masters: list = field(default_factory=list)
    slots: dict = field(default_factory=dict)          # master -> (first, last)
    replica_of: dict = field(default_factory=dict)     # replica -> master
    messages: list = field(default_factory=list)       # (level, text)

    def say(self, level: str, text: str) -> None:
        self.messages.append((level, text))


def assign_replicas(plan: Plan, pool: list, replicas: int) -> None:
    """redis-cli's assignment loop, including its cursor quirk when a replica must share
    its master's host (the cursor jumps past the node taken)."""
    pool = list(pool)
    start, available, extra = 0, len(pool), False
    while True:
        for master in plan.masters:
            assigned = 0
            while assigned < replicas:
                if available == 0:
                    break
                found, first_idx = None, -1
                for j in range(start, len(pool)):
                    n = pool[j]
                    if n is None:
                        continue
                    if n.ip != master.ip:
                        found, pool[j] = n, None
                        break
                    if first_idx < 0:
                        first_idx = j
                if found is not None:
                    replica = found
                elif first_idx >= 0:
                    replica = pool[first_idx]
                    start = first_idx + 1
                else:
                    break
                assigned += 1
                available -= 1
                plan.replica_of[replica] = master
                plan.say("plain", f"Adding replica {replica.ip}:{replica.port} to "
                                  f"{master.ip}:{master.port}\n")
                if extra:
                    break
        if not extra and available > 0:
            extra = True
            plan.say("plain", "Adding extra replicas...\n")
            continue
        break


def anti_affinity_score(nodes: list, replica_of: dict) -> tuple[int, list]:
    """(score, offenders): 10000 per replica on its master's host, 1 per replica sharing
    a host with another replica of the same master; one offender per offending group."""
    score, offenders = 0, []
    for group in group_by_ip(nodes):
        ip = group[0].ip
        related: dict = {}
        for n in group:
            master = replica_of.get(n)
            key = n if master is None else master
            types = related.get(key, "")
            related[key] = types + "s" if master is not None else "m" + types
        for master, types in related.items():
            if len(types) < 2:
                continue
            score += SAME_AS_MASTER * (len(types) - 1) if types[0] == "m" else len(types)
            for n in nodes:
                if replica_of.get(n) is master and n.ip == ip:
                    offenders.append(n)
                    break
    return score, offenders


def optimize_anti_affinity(plan: Plan, rng: random.Random) -> None:
    nodes, replica_of = plan.nodes, plan.replica_of
    score, _ = anti_affinity_score(nodes, replica_of)
    if score == 0:
        return
    plan.say("info", ">>> Trying to optimize slaves allocation for anti-affinity\n")
    for _ in range(500 * len(nodes)):
        score, offenders = anti_affinity_score(nodes, replica_of)
        if score == 0 or not offenders:
            break
        first = offenders[rng.randrange(len(offenders))]
        others = [n for n in nodes if n is not first and n in replica_of]
        if not others:
            break
        second = others[rng.randrange(len(others))]
        m1, m2 = replica_of[first], replica_of[second]
        replica_of[first], replica_of[second] = m2, m1
        if anti_affinity_score(nodes, replica_of)[0] > score:
            replica_of[first], replica_of[second] = m1, m2
    score, _ = anti_affinity_score(nodes, replica_of)
    if score == 0:
        plan.say("ok", "[OK] Perfect anti-affinity obtained!\n")
    elif score >= SAME_AS_MASTER:
        plan.say("warn", "[WARNING] Some slaves are in the same host as their master\n")
    else:
        plan.say("warn", "[WARNING] Some slaves of the same master are in the same host\n")


def plan_cluster(nodes: list, replicas: int, rng: random.Random | None = None) -> Plan:
    """The whole allocation (the caller checked masters_count >= 3)."""
    rng = rng or random.Random()
    plan = Plan(list(nodes))
    plan.say("info", f">>> Performing hash slots allocation on {len(nodes)} nodes...\n")
    order = interleave(nodes)
    count = masters_count(len(nodes), replicas)
    plan.masters = order[:count]
    for i, (master, rng_slots) in enumerate(zip(plan.masters, split_slots(count))):
        plan.slots[master] = rng_slots
        plan.say("plain", f"Master[{i}] -> Slots {rng_slots[0]} - {rng_slots[1]}\n")
    pool = order[count:]
    if pool:
        pool = pool[1:] + pool[:1]
    assign_replicas(plan, pool, replicas)
    optimize_anti_affinity(plan, rng)
    return plan
