"""`reshard HOST:PORT [--cluster-from <id,...|all>] [--cluster-to <id>] [--cluster-slots N]
[--cluster-yes] [--cluster-timeout ms] [--cluster-pipeline n] [--cluster-replace]`.

As redis-cli: load and check the cluster (a failed check stops: "*** Please fix your
cluster problems before resharding"), ask for what the options did not say ("How many
slots do you want to move (from 1 to 16384)? ", "What is the receiving node ID? ", the
source node IDs or 'all'), print the plan, ask "Do you want to proceed with the proposed
reshard plan (yes/no)? " unless --cluster-yes, then move the slots (move.py) showing
progress (progress.py). Unlike redis-cli, end of input at a prompt aborts instead of
asking forever.
"""
from __future__ import annotations

import math
import sys

from cli.admin import output
from cli.admin.allocate import f32
from cli.admin.args import admin_main, parse_args
from cli.admin.check import check_cluster
from cli.admin.connection import CLUSTER_SLOTS, AdminNode, ClusterView, load_cluster
from cli.admin.move import MoveError, MoveOptions, Mover
from cli.admin.progress import Progress

NOT_A_MASTER = "*** The specified node ({}) is not known or not a master, please retry.\n"
TARGET_AS_SOURCE = "*** It is not possible to use the target node as source node.\n"


class NoInput(Exception):
    """Standard input ended while a question was pending."""


def run(command: str, argv: list[str]) -> int:
    return admin_main(lambda: _run(command, argv))


def move_options(args) -> MoveOptions:
    return MoveOptions(timeout=args.int_value("--cluster-timeout", 60000),
                       pipeline=args.int_value("--cluster-pipeline", 10),
                       replace=args.flag("--cluster-replace"), auth=args.auth)


def _run(command: str, argv: list[str]) -> int:
    args = parse_args(argv, command)
    view = load_cluster(args.positional, args.auth)
    try:
        return reshard(view, args)
    except NoInput:
        output.stderr("\n*** No more input, operation aborted.\n")
        return 1
    finally:
        view.close()


# -- the plan (pure) ----------------------------------------------------------------

def reshard_table(sources: list[AdminNode], numslots: int) -> list[tuple[AdminNode, int]]:
    """redis-cli's clusterManagerComputeReshardTable: (source, slot) pairs. Sources by
    slot count, largest first; each gives its share numslots*own/total (single
    precision), the first rounded up, the others down, lowest slots first."""
    total = sum(len(n.slots) for n in sources)
    if total == 0:
        return []
    ordered = sorted(sources, key=lambda n: len(n.slots), reverse=True)
    moved: list[tuple[AdminNode, int]] = []
    for i, node in enumerate(ordered):
        share = f32(f32(numslots / f32(total)) * len(node.slots))
        limit = int(math.ceil(share) if i == 0 else math.floor(share))
        count = 0
        for slot in sorted(node.slots):
            if count >= limit or len(moved) >= numslots:
                break
            moved.append((node, slot))
            count += 1
    return moved


def atoi(text: str) -> int:
    """C atoi: optional spaces and sign, then the leading digits; 0 if none."""
    text = text.lstrip(" \t\n\v\f\r")
    sign, digits = 1, ""
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


# -- the command ----------------------------------------------------------------------

def ask(question: str) -> str:
    output.plain(question)
    line = sys.stdin.readline()
    if not line:
        raise NoInput()
    return line.rstrip("\r\n")


def node_for_resharding(view: ClusterView, node_id: str,
                        target: AdminNode | None) -> tuple[AdminNode | None, bool]:
    """(node, raise_err) as redis-cli's clusterNodeForResharding."""
    node = view.by_id(node_id)
    if node is None or node.is_replica:
        output.err(NOT_A_MASTER.format(node_id))
        return None, True
    if target is not None and node.id == target.id:
        output.err(TARGET_AS_SOURCE)
        return None, False
    return node, False


def reshard(view: ClusterView, args) -> int:
    if not check_cluster(view):
        output.stderr("*** Please fix your cluster problems before resharding\n")
        return 1
    slots = args.int_value("--cluster-slots", 0)
    while slots <= 0 or slots > CLUSTER_SLOTS:
        if args.value("--cluster-slots") is not None and slots != 0:
            break                       # given on the command line: taken as is
        slots = atoi(ask(f"How many slots do you want to move (from 1 to {CLUSTER_SLOTS})? "))
    to = args.value("--cluster-to")
    while not to:
        to = ask("What is the receiving node ID? ")
    target, _ = node_for_resharding(view, to, None)
    if target is None:
        return 1
    sources: list[AdminNode] = []
    use_all = False
    if args.value("--cluster-from") is None:
        output.plain("Please enter all the source node IDs.\n"
                     "  Type 'all' to use all the nodes as source nodes for the hash slots.\n"
                     "  Type 'done' once you entered all the source nodes IDs.\n")
        while True:
            answer = ask(f"Source node #{len(sources) + 1}: ")
            if answer == "done":
                break
            if answer == "all":
                use_all = True
                break
            src, raise_err = node_for_resharding(view, answer, target)
            if src is not None:
                sources.append(src)
            elif raise_err:
                return 1
    else:
        for name in args.value("--cluster-from").split(","):
            if name == "all":
                use_all = True
                break
            if not name:
                continue
            src, raise_err = node_for_resharding(view, name, target)
            if src is not None:
                sources.append(src)
            elif raise_err:
                return 1
    if use_all:
        sources = [n for n in view.nodes
                   if not n.is_replica and not n.replicate and n.id != target.id]
    if not sources:
        output.stderr("*** No source nodes given, operation aborted.\n")
        return 1
    output.plain(f"\nReady to move {slots} slots.\n  Source nodes:\n")
    for src in sources:
        output.plain(output.node_info(src, 4) + "\n")
    output.plain("  Destination node:\n" + output.node_info(target, 4) + "\n")
    table = reshard_table(sources, slots)
    output.plain("  Resharding plan:\n")
    output.plain("".join(f"    Moving slot {slot} from {src.id}\n" for src, slot in table))
    if not args.yes:
        answer = ask("Do you want to proceed with the proposed reshard plan (yes/no)? ")
        if answer[:3] != "yes":
            return 1
    return move_table(view, table, target, move_options(args))


def move_table(view: ClusterView, table: list[tuple[AdminNode, int]], target: AdminNode,
               options: MoveOptions) -> int:
    progress = Progress(len(table), style="reshard")
    mover = Mover(view.nodes, options, progress)
    try:
        for source, slot in table:
            try:
                mover.move_slot(source, target, slot)
            except MoveError as exc:
                progress.break_line(newline=False)
                if exc.error is not None:
                    output.err(f"clusterManagerMoveSlot failed: {exc.error}\n")
                return 1
        progress.finish()
    except KeyboardInterrupt:
        mover.interrupted(view.nodes[0].address)
        raise
    finally:
        mover.close()
    return 0
