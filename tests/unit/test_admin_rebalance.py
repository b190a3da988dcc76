"""rebalance's plan and reshard's table, as redis-cli 7.0.15 computes them (single
precision, stable ordering). The expected moves below are what the real
`redis-cli --cluster rebalance/reshard` printed for the same slot counts."""
from __future__ import annotations

from cli.admin.connection import AdminNode
from cli.admin.rebalance import atof, plan_rebalance
from cli.admin.reshard import atoi, reshard_table


def primary(name: str, slots, port: int = 7000) -> AdminNode:
    node = AdminNode("127.0.0.1", port)
    node.id = name * 40 if len(name) == 1 else name
    node.slots = set(slots)
    node.flags = ["master"]
    return node


def replica(name: str, of: AdminNode, port: int = 7100) -> AdminNode:
    node = AdminNode("127.0.0.1", port)
    node.id = name * 40
    node.state = {"slave"}
    node.flags = ["slave"]
    node.replicate = of.id
    return node


def moves(plan):
    return [(src.id[0], dst.id[0], count) for src, dst, count in plan.moves]


def three_plus_empty():
    return [primary("a", range(0, 5461), 7000), primary("b", range(5461, 10923), 7001),
            primary("c", range(10923, 16384), 7002), primary("d", [], 7003)]


def test_empty_master_ignored_without_use_empty_masters():
    nodes = three_plus_empty()
    plan = plan_rebalance(nodes, {}, use_empty=False, threshold=2.0)
    assert not plan.needed
    assert [n.id[0] for n in plan.involved] == ["a", "b", "c"]
    assert plan.total_weight == 3.0
    assert nodes[3].weight == 0.0


def test_use_empty_masters_fills_the_empty_primary():
    nodes = three_plus_empty()
    plan = plan_rebalance(nodes, {}, use_empty=True, threshold=2.0)
    assert plan.needed and plan.total_weight == 4.0
    # receivers first; among equal balances the view order is kept (a before c)
    assert moves(plan) == [("b", "d", 1366), ("c", "d", 1365), ("a", "d", 1365)]
    assert sum(c for _, _, c in plan.moves) == 4096


def test_counts_seen_with_the_real_redis_cli():
    # the real redis-cli printed: Moving 1363 / 1362 / 1324 slots to the small node
    nodes = [primary("a", range(41, 5461)), primary("c", range(10926, 16384)),
             primary("d", list(range(0, 41)) + [5461, 5462, 5463, 10923, 10924, 10925]),
             primary("b", range(5464, 10923))]
    assert [len(n.slots) for n in nodes] == [5420, 5458, 47, 5459]
    plan = plan_rebalance(nodes, {}, use_empty=False, threshold=2.0)
    assert moves(plan) == [("b", "d", 1363), ("c", "d", 1362), ("a", "d", 1324)]


def test_weight_two_and_rounding_leftovers_go_to_receivers():
    # 4 x 4096 slots, weight 2 on `a`: expected 6553 / 3276; the 3 slots of rounding
    # are taken by `a` (the only receiver), so it gets 820 from each of the others,
    # the donor at the end of the balance order first
    nodes = [primary(x, range(i * 4096, (i + 1) * 4096)) for i, x in enumerate("abcd")]
    plan = plan_rebalance(nodes, {"a" * 40: 2.0}, use_empty=False, threshold=2.0)
    assert plan.total_weight == 5.0
    assert moves(plan) == [("d", "a", 820), ("c", "a", 820), ("b", "a", 820)]
    assert nodes[0].balance == -2460


def test_weight_zero_drains_a_node():
    nodes = [primary(x, range(i * 4096, (i + 1) * 4096)) for i, x in enumerate("abcd")]
    plan = plan_rebalance(nodes, {"d" * 40: 0.0}, use_empty=False, threshold=2.0)
    assert plan.total_weight == 3.0
    assert moves(plan) == [("d", "a", 1366), ("d", "b", 1365), ("d", "c", 1365)]


def test_threshold_decides_whether_anything_moves():
    nodes = [primary("a", range(0, 5600)), primary("b", range(5600, 10923)),
             primary("c", range(10923, 16384))]
    # expected 5461 each: a is 2.48% over, b (5323 slots) 2.59% under
    assert plan_rebalance(nodes, {}, False, 2.5).needed
    assert not plan_rebalance(nodes, {}, False, 2.6).needed
    assert plan_rebalance(nodes, {}, False, 0.0).needed is False   # 0 disables the test


def test_replicas_never_take_part():
    nodes = three_plus_empty()
    nodes.append(replica("r", nodes[0]))
    plan = plan_rebalance(nodes, {}, use_empty=True, threshold=2.0)
    assert "r" not in [n.id[0] for n in plan.involved]
    assert sum(c for _, _, c in plan.moves) == 4096


def test_reshard_table_shares_first_rounded_up():
    # as the real reshard of 4 slots from 'all' planned it (captured)
    a, b, c = (primary("a", range(40, 5461)), primary("b", range(10924, 16384)),
               primary("c", range(5463, 10923)))
    table = reshard_table([a, b, c], 4)
    assert [(n.id[0], s) for n, s in table] == [("b", 10924), ("b", 10925), ("c", 5463),
                                                ("a", 40)]


def test_reshard_table_single_source_lowest_slots():
    a = primary("a", range(0, 5461))
    table = reshard_table([a], 5)
    assert [s for _, s in table] == [0, 1, 2, 3, 4]
    assert reshard_table([primary("e", [])], 5) == []


def test_reshard_table_never_exceeds_the_request():
    # shares rounded down may leave the table short, as in redis-cli; never longer
    sources = [primary(x, range(i * 100, i * 100 + 33)) for i, x in enumerate("abc")]
    for n in range(1, 100):
        assert n - 2 <= len(reshard_table(sources, n)) <= n
    assert len(reshard_table(sources, 2)) == 1          # ceil(0.67) + floor + floor
    assert len(reshard_table(sources[:1], 7)) == 7


def test_c_number_parsing():
    assert atoi("100\n") == 100 and atoi("  12abc") == 12 and atoi("x") == 0
    assert atoi("-5") == -5
    assert atof("2.5") == 2.5 and atof("3x") == 3.0 and atof("abc") == 0.0
    assert atof(".5") == 0.5 and atof("1e1") == 10.0
