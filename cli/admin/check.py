"""`check HOST:PORT [--cluster-search-multiple-owners]` and `info HOST:PORT`.

As redis-cli: both load the cluster from one node (ClusterView.load) and print the
per-master summary; check then runs the cluster check (node list, slot agreement, open
slots, coverage, optionally multiple owners) and exits non-zero when it found errors.
`fix` (fix.py) is this check with repairs: it passes its Repairs in CheckOptions and the
check calls them where redis-cli's check would fix (fix imports check, never the reverse).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cli.admin import output
from cli.admin.allocate import f32
from cli.admin.args import admin_main, parse_args
from cli.admin.connection import CLUSTER_SLOTS, ClusterView, load_cluster


@dataclass(frozen=True)
class Repairs:
    """What to do about each problem the check finds, when fixing (fix.py's REPAIRS):
    open_slot(view, slot, opts) -> fixed?; slots_coverage(view, covered, opts) -> slots
    fixed (-1: error); multiple_owners(view, slot, owners) -> fixed?"""
    open_slot: Callable[[ClusterView, int, "CheckOptions"], bool]
    slots_coverage: Callable[[ClusterView, set[int], "CheckOptions"], int]
    multiple_owners: Callable[[ClusterView, int, list], bool]


@dataclass
class CheckOptions:
    repairs: Repairs | None = None      # set: fix what the check finds (redis-cli's fix)
    search_multiple_owners: bool = False
    fix_with_unreachable_masters: bool = False
    quiet: bool = False

    @property
    def fix(self) -> bool:
        return self.repairs is not None


def run(command: str, argv: list[str]) -> int:
    return admin_main(lambda: _run(command, argv))


def _run(command: str, argv: list[str]) -> int:
    args = parse_args(argv, command)
    view = load_cluster(args.positional, args.auth)
    try:
        if not show_cluster_info(view):
            return 1
        if command == "info":
            return 0
        opts = CheckOptions(search_multiple_owners=args.flag("--cluster-search-multiple-owners"))
        return 0 if check_cluster(view, opts) else 1
    finally:
        view.close()


def show_cluster_info(view: ClusterView) -> bool:
    """`ip:port (id8...) -> K keys | S slots | R slaves.` per master, then the totals."""
    masters = keys = 0
    for node in view.nodes:
        if node.is_replica or not node.id:
            continue
        replicas = sum(1 for n in view.nodes
                       if n is not node and n.is_replica and n.replicate == node.id)
        reply, error = node.try_call("DBSIZE")
        if error is not None or not isinstance(reply, int):
            output.reply_error(node, error or "")
            return False
        output.plain(f"{node.ip}:{node.port} ({node.id[:8]}...) -> {reply} keys | "
                     f"{len(node.slots)} slots | {replicas} slaves.\n")
        masters += 1
        keys += reply
    output.ok(f"[OK] {keys} keys in {masters} masters.\n")
    output.plain(f"{f32(keys / f32(CLUSTER_SLOTS)):.2f} keys per slot on average.\n")
    return True


def on_error(text: str) -> None:
    """redis-cli's clusterManagerOnError: the message and a newline, in red."""
    output.err(text + "\n")


def check_cluster(view: ClusterView, opts: CheckOptions | None = None) -> bool:
    """redis-cli's clusterManagerCheckCluster; True when nothing is wrong (or all fixed)."""
    opts = opts or CheckOptions()
    if not view.nodes:
        return False
    first = view.nodes[0]
    output.info(f">>> Performing Cluster Check (using node {first.ip}:{first.port})\n")
    result = True
    if not opts.quiet:
        output.show_nodes(view.nodes)
    if view.is_consistent():
        output.ok("[OK] All nodes agree about slots configuration.\n")
    else:
        on_error("[ERR] Nodes don't agree about configuration!")
        result = False
    output.info(">>> Check for open slots...\n")
    open_slots: dict[int, str] = {}
    for n in view.nodes:
        for state, slots in (("migrating", n.migrating), ("importing", n.importing)):
            if slots:
                open_slots.update(slots)
                listed = ",".join(str(s) for s in slots)
                on_error(f"[WARNING] Node {n.ip}:{n.port} has slots in {state} state "
                         f"{listed}.")
    if open_slots:
        result = False
        output.err("[WARNING] The following slots are open: "
                   + ",".join(str(s) for s in open_slots) + ".\n")
        if opts.repairs is not None:
            for slot in open_slots:
                result = opts.repairs.open_slot(view, slot, opts)
                if not result:
                    break
    output.info(">>> Check slots coverage...\n")
    covered = view.covered_slots()
    if len(covered) == CLUSTER_SLOTS:
        output.ok(f"[OK] All {CLUSTER_SLOTS} slots covered.\n")
    else:
        on_error(f"[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.\n")
        result = False
        if opts.repairs is not None:
            if opts.repairs.slots_coverage(view, covered, opts) > 0:
                result = True
    if opts.search_multiple_owners:
        result = check_multiple_owners(view, opts, result)
    return result


def keys_per_slot(node, slots: list[int], chunk: int = 1024) -> dict[int, int]:
    """CLUSTER COUNTKEYSINSLOT for many slots, pipelined (errors count as 0)."""
    counts: dict[int, int] = {}
    for i in range(0, len(slots), chunk):
        part = slots[i:i + chunk]
        pipe = node.conn.pipeline(transaction=False)
        for slot in part:
            pipe.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot)
        for slot, reply in zip(part, pipe.execute(raise_on_error=False)):
            counts[slot] = reply if isinstance(reply, int) else 0
    return counts


def slot_owners(view: ClusterView, slot: int, counts: dict | None = None) -> list:
    """Masters that claim the slot or hold keys in it (redis-cli's owners list)."""
    owners = []
    for n in view.nodes:
        if n.is_replica:
            continue
        if slot in n.slots:
            owners.append(n)
        elif counts is not None:
            if counts[n].get(slot, 0) > 0:
                owners.append(n)
        else:
            reply, error = n.try_call("CLUSTER", "COUNTKEYSINSLOT", slot)
            if error is None and isinstance(reply, int) and reply > 0:
                owners.append(n)
    return owners


def check_multiple_owners(view: ClusterView, opts: CheckOptions, result: bool) -> bool:
    """As redis-cli: a fix attempt's outcome overwrites the result so far."""
    output.info(">>> Check for multiple slot owners...\n")
    multiple = 0
    masters = [n for n in view.nodes if not n.is_replica]
    counts = {n: keys_per_slot(n, [s for s in range(CLUSTER_SLOTS) if s not in n.slots])
              for n in masters}
    for slot in range(CLUSTER_SLOTS):
        owners = slot_owners(view, slot, counts)
        if len(owners) <= 1:
            continue
        result = False
        output.err(f"[WARNING] Slot {slot} has {len(owners)} owners:\n")
        for n in owners:
            output.err(f"    {n.ip}:{n.port}\n")
        multiple += 1
        if opts.repairs is not None:
            result = opts.repairs.multiple_owners(view, slot, owners)
            if not result:
                output.err(f"Failed to fix multiple owners for slot {slot}\n")
                break
            multiple -= 1
    if multiple == 0:
        output.ok("[OK] No multiple owners found.\n")
    return result
