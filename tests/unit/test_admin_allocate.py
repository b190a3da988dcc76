"""Slot split and replica anti-affinity as redis-cli --cluster create plans them."""
from __future__ import annotations

import random
from dataclasses import dataclass

from cli.admin.allocate import (anti_affinity_score, interleave, masters_count, plan_cluster,
                                split_slots)


@dataclass(eq=False)
class FakeNode:
    ip: str
    port: int

    def __repr__(self):
        return f"{self.ip}:{self.port}"


def nodes(*spec: str) -> list[FakeNode]:
    out = []
    for s in spec:
        ip, port = s.split(":")
        out.append(FakeNode(ip, int(port)))
    return out


def texts(plan, level=None):
    return [t for lv, t in plan.messages if level is None or lv == level]


def test_three_masters_split():
    assert split_slots(3) == [(0, 5460), (5461, 10922), (10923, 16383)]


def test_four_and_five_masters_split():
    assert split_slots(4) == [(0, 4095), (4096, 8191), (8192, 12287), (12288, 16383)]
    assert split_slots(5) == [(0, 3276), (3277, 6553), (6554, 9829), (9830, 13106),
                              (13107, 16383)]


def test_split_covers_every_slot_once():
    for masters in (3, 6, 7, 10, 13, 100, 1000):
        ranges = split_slots(masters)
        assert ranges[0][0] == 0 and ranges[-1][1] == 16383
        for (a, b), (c, d) in zip(ranges, ranges[1:]):
            assert c == b + 1 and a <= b


def test_masters_count():
    assert masters_count(6, 1) == 3
    assert masters_count(5, 1) == 2
    assert masters_count(9, 2) == 3
    assert masters_count(3, 0) == 3


def test_interleave_round_robin_over_hosts():
    ns = nodes("a:1", "a:2", "b:1", "b:2", "c:1", "c:2")
    assert [repr(n) for n in interleave(ns)] == ["a:1", "b:1", "c:1", "a:2", "b:2", "c:2"]


def test_plan_six_nodes_one_host_like_redis_cli():
    ns = nodes(*(f"127.0.0.1:{p}" for p in range(30001, 30007)))
    plan = plan_cluster(ns, 1, random.Random(1))
    assert plan.masters == ns[:3]
    assert [plan.slots[m] for m in ns[:3]] == [(0, 5460), (5461, 10922), (10923, 16383)]
    # redis-cli's own first assignment (facts 5.4): rotated pool 30005, 30006, 30004
    assert texts(plan, "plain")[3:] == [
        "Adding replica 127.0.0.1:30005 to 127.0.0.1:30001\n",
        "Adding replica 127.0.0.1:30006 to 127.0.0.1:30002\n",
        "Adding replica 127.0.0.1:30004 to 127.0.0.1:30003\n"]
    assert texts(plan, "info")[-1] == ">>> Trying to optimize slaves allocation for anti-affinity\n"
    assert texts(plan, "warn") == ["[WARNING] Some slaves are in the same host as their master\n"]
    assert sorted(map(repr, plan.replica_of)) == ["127.0.0.1:30004", "127.0.0.1:30005",
                                                  "127.0.0.1:30006"]
    assert set(plan.replica_of.values()) == set(ns[:3])


def test_replicas_off_their_masters_host():
    ns = nodes("10.0.0.1:7000", "10.0.0.1:7001", "10.0.0.2:7000", "10.0.0.2:7001",
               "10.0.0.3:7000", "10.0.0.3:7001")
    for seed in range(5):
        plan = plan_cluster(ns, 1, random.Random(seed))
        assert [m.ip for m in plan.masters] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        for replica, master in plan.replica_of.items():
            assert replica.ip != master.ip
        assert anti_affinity_score(ns, plan.replica_of)[0] == 0
        # already perfect before optimizing: redis-cli prints no optimizer lines at all
        assert not any("anti-affinity" in t for t in texts(plan))


def test_optimizer_reaches_perfect_anti_affinity():
    # 3 hosts, 2 replicas each: the first assignment puts siblings together; the
    # optimizer separates them (or reports it) as redis-cli does
    ns = nodes(*(f"10.0.0.{h}:{7000 + i}" for h in (1, 2, 3) for i in range(3)))
    plan = plan_cluster(ns, 2, random.Random(7))
    score = anti_affinity_score(ns, plan.replica_of)[0]
    for replica, master in plan.replica_of.items():
        assert replica.ip != master.ip
    if score == 0:
        assert ("ok", "[OK] Perfect anti-affinity obtained!\n") in plan.messages \
            or not any("optimize" in t for t in texts(plan))
    else:
        assert texts(plan, "warn") == [
            "[WARNING] Some slaves of the same master are in the same host\n"]


def test_siblings_on_same_host_warning():
    # two hosts, 3 masters with 2 replicas each: siblings must share a host somewhere
    ns = nodes("10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3", "10.0.0.1:4", "10.0.0.1:5",
               "10.0.0.2:1", "10.0.0.2:2", "10.0.0.2:3", "10.0.0.2:4")
    plan = plan_cluster(ns, 2, random.Random(3))
    warn = texts(plan, "warn")
    assert len(warn) == 1 and warn[0].startswith("[WARNING] Some slaves")
    assert anti_affinity_score(ns, plan.replica_of)[0] > 0


def test_extra_replicas_assigned():
    ns = nodes(*(f"127.0.0.1:{p}" for p in range(7000, 7007)))   # 7 nodes, 1 replica
    plan = plan_cluster(ns, 1, random.Random(0))
    assert len(plan.masters) == 3
    assert "Adding extra replicas...\n" in texts(plan, "plain")
    assert len(plan.replica_of) == 4


def test_no_replicas():
    ns = nodes("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
    plan = plan_cluster(ns, 0, random.Random(0))
    assert plan.replica_of == {}
    assert texts(plan) == [">>> Performing hash slots allocation on 3 nodes...\n",
                           "Master[0] -> Slots 0 - 5460\n",
                           "Master[1] -> Slots 5461 - 10922\n",
                           "Master[2] -> Slots 10923 - 16383\n"]


def test_score_counts_like_redis():
    m1, m2, r1, r2 = nodes("a:1", "b:1", "a:2", "b:2")
    assert anti_affinity_score([m1, m2, r1, r2], {r1: m1, r2: m2})[0] == 20000
    assert anti_affinity_score([m1, m2, r1, r2], {r1: m2, r2: m1})[0] == 0
    s1, s2 = nodes("c:1", "c:2")
    score, offenders = anti_affinity_score([m1, s1, s2], {s1: m1, s2: m1})
    assert score == 2 and offenders == [s1]
