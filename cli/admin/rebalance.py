"""`rebalance HOST:PORT [--cluster-weight <id=w>...] [--cluster-use-empty-masters]
[--cluster-threshold pct] [--cluster-simulate] [--cluster-timeout ms]
[--cluster-pipeline n] [--cluster-replace]`.

redis-cli's algorithm (facts 5.5), in its single-precision arithmetic:
- weights: 1 per primary, `--cluster-weight <id-prefix>=<w>` overrides; primaries without
  slots take part only with --cluster-use-empty-masters; replicas never;
- expected slots = (int)(16384 / total_weight * weight), balance = slots - expected;
- nothing to do unless some node is off by more than the threshold (2%):
  "*** No rebalancing needed! All nodes are within the 2.00% threshold.";
- rounding leftovers are taken by receivers, nodes sorted by balance (receivers first),
  and the most-needing receiver is paired with the most-giving donor until all settle;
  each pair moves min(|balances|) slots, the donor's lowest slots first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from cli.admin import output
from cli.admin.allocate import f32
from cli.admin.args import admin_main, parse_args
from cli.admin.check import CheckOptions, check_cluster
from cli.admin.connection import CLUSTER_SLOTS, AdminNode, ClusterView, load_cluster
from cli.admin.move import MoveError, Mover
from cli.admin.progress import Progress
from cli.admin.reshard import move_options, reshard_table

DEFAULT_THRESHOLD = 2.0
_FLOAT_PREFIX = re.compile(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)",
                           re.IGNORECASE)


def atof(text: str) -> float:
    """C atof: the leading number of `text`, 0.0 if none."""
    match = _FLOAT_PREFIX.match(text)
    if not match:
        return 0.0
    try:
        return float(match.group(0))
    except ValueError:
        return 0.0


@dataclass
class Rebalance:
    """The outcome of planning: who takes part, and the moves (src, dst, count)."""
    involved: list[AdminNode]
    total_weight: float
    needed: bool
    moves: list[tuple[AdminNode, AdminNode, int]] = field(default_factory=list)


def plan_rebalance(nodes: list[AdminNode], weights: dict[str, float], use_empty: bool,
                   threshold: float) -> Rebalance:
    """Pure: balances from slot counts and weights (node id -> weight), then the moves.
    Sets node.weight and node.balance as redis-cli does."""
    involved: list[AdminNode] = []
    total = f32(0.0)
    for n in nodes:
        n.weight = f32(weights.get(n.id, 1.0))
        if n.is_replica or n.replicate:
            continue
        if not use_empty and not n.slots:
            n.weight = 0.0
            continue
        total = f32(total + n.weight)
        involved.append(n)
    threshold = f32(threshold)
    reached = False
    total_balance = 0
    per_weight = f32(CLUSTER_SLOTS / total) if total else float("inf")
    for n in involved:
        expected = _trunc(f32(per_weight * n.weight))
        n.balance = len(n.slots) - expected
        total_balance += n.balance
        if threshold > 0:
            if n.slots:
                err_perc = f32(abs(100 - (100.0 * expected / len(n.slots))))
                if err_perc > threshold:
                    reached = True
            elif expected > 1:
                reached = True
    plan = Rebalance(involved, total, reached)
    if not reached:
        return plan
    while total_balance > 0:
        for n in involved:
            if n.balance <= 0 and total_balance > 0:
                n.balance -= 1
                total_balance -= 1
    ordered = sorted(involved, key=lambda n: n.balance)
    balance = {id(n): n.balance for n in ordered}
    dst_idx, src_idx = 0, len(ordered) - 1
    while dst_idx < src_idx:
        dst, src = ordered[dst_idx], ordered[src_idx]
        count = min(abs(balance[id(dst)]), abs(balance[id(src)]))
        if count > 0:
            plan.moves.append((src, dst, count))
        balance[id(dst)] += count
        balance[id(src)] -= count
        if balance[id(dst)] == 0:
            dst_idx += 1
        if balance[id(src)] == 0:
            src_idx -= 1
    return plan


def _trunc(value: float) -> int:
    """C's (int) cast of a float (huge values clamp instead of being undefined)."""
    if value != value:
        return 0
    return int(max(min(value, 2**31 - 1), -2**31))


# -- the command ----------------------------------------------------------------------

def run(command: str, argv: list[str]) -> int:
    return admin_main(lambda: _run(command, argv))


def _run(command: str, argv: list[str]) -> int:
    args = parse_args(argv, command)
    view = load_cluster(args.positional, args.auth)
    try:
        return rebalance(view, args)
    finally:
        view.close()


def parse_weights(view: ClusterView, items: list[str]) -> dict[str, float] | None:
    """`<id-prefix>=<w>` items -> {node id: weight}; None after printing the error."""
    weights: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            output.err(f"*** invalid input {item}\n")
            return None
        node = view.by_prefix(name)
        if node is None:
            output.err(f"*** No such master node {name}\n")
            return None
        weights[node.id] = atof(value)
    return weights


def rebalance(view: ClusterView, args) -> int:
    weights = parse_weights(view, args.weights)
    if weights is None:
        return 1
    threshold = f32(atof(args.value("--cluster-threshold", str(DEFAULT_THRESHOLD))))
    plan = plan_rebalance(view.nodes, weights, args.flag("--cluster-use-empty-masters"),
                          threshold)
    if not check_cluster(view, CheckOptions(quiet=True)):
        output.err("*** Please fix your cluster problems before rebalancing\n")
        return 1
    if not plan.needed:
        output.warn(f"*** No rebalancing needed! All nodes are within the "
                    f"{threshold:.2f}% threshold.\n")
        return 0
    output.info(f">>> Rebalancing across {len(plan.involved)} nodes. "
                f"Total weight = {plan.total_weight:.2f}\n")
    simulate = args.flag("--cluster-simulate")
    total = sum(count for _, _, count in plan.moves)
    progress = Progress(total, style="rebalance", tty=False if simulate else None)
    mover = Mover(view.nodes, move_options(args), progress)
    try:
        for src, dst, count in plan.moves:
            progress.group(count, src.address, dst.address)
            table = reshard_table([src], count)
            if len(table) != count:
                output.err("*** Assertion failed: Reshard table != number of slots")
                return 1
            if simulate:
                progress.simulated(count)
                continue
            for source, slot in table:
                try:
                    mover.move_slot(source, dst, slot)
                except MoveError as exc:
                    progress.break_line(newline=False)
                    output.err(f"*** clusterManagerMoveSlot: {exc.error or '(null)'}\n")
                    return 1
            progress.group_done()
        progress.finish()
    except KeyboardInterrupt:
        mover.interrupted(view.nodes[0].address)
        raise
    finally:
        mover.close()
    return 0
