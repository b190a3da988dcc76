"""`fix HOST:PORT [--cluster-search-multiple-owners] [--cluster-fix-with-unreachable-masters]`.

The check of check.py with redis-cli's repairs (facts 5.5):
- open slots (clusterManagerFixOpenSlot): find the owner (or the master with most keys),
  then Case 1 (one migrating + one importing: move the slot), Case 2 (only importing:
  move the keys to the owner, SETSLOT NODE everywhere), Case 3 (one migrating, several
  importing), Case 4 (a migrating node without keys: SETSLOT STABLE);
- uncovered slots: no keys -> a random master, keys on one node -> that node, keys on
  several -> the one with most keys, the others' keys moved there (each group confirmed
  with `yes`, even with --cluster-yes, as redis-cli 7.0 does);
- multiple owners: the one with most keys keeps it (MULTI DELSLOTS ADDSLOTS BUMPEPOCH
  EXEC), the others DELSLOTS + SETSLOT NODE and move their keys.
The check calls these through REPAIRS (check.Repairs, passed in CheckOptions), so fix
imports check and check never imports fix.
"""
from __future__ import annotations

import random
import sys

from cli.admin import output
from cli.admin.args import admin_main, parse_args
from cli.admin.check import CheckOptions, Repairs, check_cluster, show_cluster_info
from cli.admin.connection import (CLUSTER_SLOTS, AdminNode, ClusterView, full_error,
                                  load_cluster)
from cli.admin.move import MoveError, MoveOptions, Mover
from cli.admin.output import slots_string
from cli.admin.progress import Progress
from cli.admin.reshard import move_options

UNREACHABLE = ("*** Fixing {what} with {n} unreachable masters is dangerous: redis-cli will "
               "assume that slots about masters that are not reachable are not covered, and "
               "will try to reassign them to the reachable nodes. This can cause data loss "
               "and is rarely what you want to do. If you really want to proceed use the "
               "--cluster-fix-with-unreachable-masters option.\n")


class FixAborted(Exception):
    pass


def run(command: str, argv: list[str]) -> int:
    return admin_main(lambda: _run(command, argv))


def _run(command: str, argv: list[str]) -> int:
    args = parse_args(argv, command)
    view = load_cluster(args.positional, args.auth)
    view.move_options = move_options(args)
    try:
        if not show_cluster_info(view):
            return 1
        opts = CheckOptions(
            repairs=REPAIRS,
            search_multiple_owners=args.flag("--cluster-search-multiple-owners"),
            fix_with_unreachable_masters=args.flag("--cluster-fix-with-unreachable-masters"))
        try:
            return 0 if check_cluster(view, opts) else 1
        except FixAborted:
            return 1
    finally:
        mover = getattr(view, "mover", None)
        if mover is not None:
            mover.close()
        view.close()


def confirm(question: str) -> bool:
    output.plain(f"{question} (type 'yes' to accept): ")
    return sys.stdin.readline()[:3] == "yes"


def _refuse_unreachable(view: ClusterView, opts: CheckOptions, what: str) -> None:
    if view.unreachable_masters > 0 and not opts.fix_with_unreachable_masters:
        output.warn(UNREACHABLE.format(what=what, n=view.unreachable_masters))
        raise FixAborted


# -- primitives (redis-cli's clusterManagerSetSlot & co) -------------------------------
def set_slot(node: AdminNode, slot: int, state: str, target: AdminNode | None = None,
             quiet_errors: tuple[str, ...] = ()) -> bool:
    args = ["CLUSTER", "SETSLOT", slot, state] + ([target.id] if target is not None else [])
    _, error = node.try_call(*args)
    if error is not None and not error.startswith(quiet_errors or ("\0",)):
        output.reply_error(node, error)
        return False
    return True


def count_keys(node: AdminNode, slot: int) -> int:
    reply, error = node.try_call("CLUSTER", "COUNTKEYSINSLOT", slot)
    return reply if error is None and isinstance(reply, int) else -1


def slot_owner_id(node: AdminNode, slot: int) -> str | None:
    """Who serves the slot in node's CLUSTER SLOTS (None if unassigned)."""
    reply, error = node.try_call("CLUSTER", "SLOTS")
    if error is not None:
        return None
    for entry in reply or []:
        if entry[0] <= slot <= entry[1] and len(entry[2]) >= 3:
            return entry[2][2]
    return None


def del_slot(node: AdminNode, slot: int) -> bool:
    _, error = node.try_call("CLUSTER", "DELSLOTS", slot)
    if error is None or slot_owner_id(node, slot) is None:
        return True
    output.reply_error(node, error)
    return False


def set_slot_owner(owner: AdminNode, slot: int, do_clear: bool) -> bool:
    """MULTI; DELSLOTS; ADDSLOTS; [SETSLOT STABLE]; BUMPEPOCH; EXEC (only ADDSLOTS may fail)."""
    pipe = owner.conn.pipeline(transaction=True)
    pipe.execute_command("CLUSTER", "DELSLOTS", slot)
    pipe.execute_command("CLUSTER", "ADDSLOTS", slot)
    if do_clear:
        pipe.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    pipe.execute_command("CLUSTER", "BUMPEPOCH")
    try:
        replies = pipe.execute(raise_on_error=False)
    except Exception as exc:  # EXECABORT and the like
        output.reply_error(owner, str(exc))
        return False
    if isinstance(replies[1], Exception):
        output.reply_error(owner, full_error(replies[1]))
        return False
    return True


def node_with_most_keys(nodes: list[AdminNode], slot: int) -> AdminNode | None:
    best, most = None, 0
    for n in nodes:
        if n.is_replica or n.replicate:
            continue
        reply, error = n.try_call("CLUSTER", "COUNTKEYSINSLOT", slot)
        if error is not None:
            output.reply_error(n, error)
            return None
        if best is None or reply > most:
            best, most = n, reply
    return best


def _mover(view: ClusterView) -> Mover:
    """The view's Mover (move.py) in fix mode, made on first use; _run closes it."""
    mover = getattr(view, "mover", None)
    if mover is None:
        options = getattr(view, "move_options", None) or MoveOptions()
        options.fix = True
        progress = Progress(0, style="reshard", tty=False)
        mover = view.mover = Mover(view.nodes, options, progress)
    return mover


def move_slot(view: ClusterView, source: AdminNode, target: AdminNode, slot: int, *,
              cold: bool = False, update: bool = False) -> bool:
    """redis-cli's clusterManagerMoveSlot (as fix uses it): move.py's Mover; a failed
    SETSLOT is shown as the node's error reply, as fix's own calls show it."""
    try:
        _mover(view).move_slot(source, target, slot, cold=cold, update=update)
    except MoveError as exc:
        if exc.node is not None and exc.error is not None:
            output.reply_error(exc.node, exc.error)
        return False
    return True


# -- open slots -----------------------------------------------------------------------
def fix_open_slot(view: ClusterView, slot: int, opts: CheckOptions) -> bool:
    _refuse_unreachable(view, opts, "open slots")
    output.info(f">>> Fixing open slot {slot}\n")
    masters = [n for n in view.nodes if not n.is_replica]
    owners = []
    for n in masters:
        if slot in n.slots:
            owners.append(n)
        else:
            count = count_keys(n, slot)
            if count < 0:
                return False
            if count > 0:
                output.warn(f"*** Found keys about slot {slot} in non-owner node "
                            f"{n.ip}:{n.port}!\n")
                owners.append(n)
    owner = owners[0] if len(owners) == 1 else None
    migrating, importing = [], []
    for n in masters:
        if slot in n.migrating:
            migrating.append(n)
        elif slot in n.importing:
            importing.append(n)
        elif n is not owner:
            count = count_keys(n, slot)
            if count < 0:
                return False
            if count > 0:
                output.warn(f"*** Found keys about slot {slot} in node {n.ip}:{n.port}!\n")
                importing.append(n)
    migrating_str = ",".join(f"{n.ip}:{n.port}" for n in migrating)
    importing_str = ",".join(f"{n.ip}:{n.port}" for n in importing)
    if migrating_str:
        output.plain(f"Set as migrating in: {migrating_str}\n")
    if importing_str:
        output.plain(f"Set as importing in: {importing_str}\n")
    if owner is None:
        output.info(">>> No single clear owner for the slot, selecting an owner by # of "
                    "keys...\n")
        owner = node_with_most_keys(view.nodes, slot)
        if owner is None:
            output.err("[ERR] Can't select a slot owner. Impossible to fix.\n")
            return False
        output.warn(f"*** Configuring {owner.ip}:{owner.port} as the slot owner\n")
        if not set_slot(owner, slot, "STABLE"):
            return False
        if not set_slot_owner(owner, slot, False):
            return False
        owner.slots.add(slot)
        migrating = [n for n in migrating if n is not owner]
        importing = [n for n in importing if n is not owner]
    if len(owners) > 1:
        for n in owners:
            if n is owner:
                continue
            if not del_slot(n, slot):
                return False
            n.slots.discard(slot)
            if not set_slot(n, slot, "node", owner):
                return False
            if not set_slot(n, slot, "importing", owner):
                return False
            importing = [m for m in importing if m is not n] + [n]
            migrating = [m for m in migrating if m is not n]
    if len(migrating) == 1 and len(importing) == 1:
        src, dst = migrating[0], importing[0]
        output.info(f">>> Case 1: Moving slot {slot} from {src.ip}:{src.port} to "
                    f"{dst.ip}:{dst.port}\n")
        return move_slot(view, src, dst, slot, update=True)
    if not migrating and importing:
        output.info(f">>> Case 2: Moving all the {slot} slot keys to its owner "
                    f"{owner.ip}:{owner.port}\n")
        for n in importing:
            if n is owner:
                continue
            if not move_slot(view, n, owner, slot, cold=True):
                return False
            output.info(f">>> Setting {slot} as STABLE in {n.ip}:{n.port}\n")
            if not set_slot(n, slot, "STABLE"):
                return False
        for n in view.nodes:
            if n is owner or n.is_replica:
                continue
            if not set_slot(n, slot, "NODE", owner):
                return False
        return True
    if len(migrating) == 1 and len(importing) > 1:
        src = migrating[0]
        target_id = src.migrating.get(slot)
        dst = None
        for n in importing:
            if count_keys(n, slot) > 0:
                return _unhandled(slot, migrating_str, importing_str, owner)
            if n.id == target_id:
                dst = n
        if dst is not None:
            output.info(f">>> Case 3: Moving slot {slot} from {src.ip}:{src.port} to "
                        f"{dst.ip}:{dst.port} and closing it on all the other importing "
                        "nodes.\n")
            if not move_slot(view, src, dst, slot):
                return False
            return all(set_slot(n, slot, "STABLE") for n in importing if n is not dst)
        output.info(f">>> Case 3: Closing slot {slot} on both migrating and importing "
                    "nodes.\n")
        return set_slot(src, slot, "STABLE") and all(set_slot(n, slot, "STABLE")
                                                     for n in importing)
    close = not importing and len(migrating) == 1
    if close and owner is not migrating[0]:
        keys, error = migrating[0].try_call("CLUSTER", "GETKEYSINSLOT", slot, 10)
        if error is not None:
            return False
        close = not keys
    if close:
        n = migrating[0]
        output.info(f">>> Case 4: Closing slot {slot} on {n.ip}:{n.port}\n")
        return set_slot(n, slot, "STABLE")
    return _unhandled(slot, migrating_str, importing_str, owner)


def _unhandled(slot, migrating_str, importing_str, owner) -> bool:
    output.err(f"[ERR] Sorry, redis-cli can't fix this slot yet (work in progress). Slot is "
               f"set as migrating in {migrating_str}, as importing in {importing_str}, "
               f"owner is {owner.ip}:{owner.port}\n")
    return False


# -- uncovered slots ------------------------------------------------------------------
def fix_slots_coverage(view: ClusterView, covered: set[int], opts: CheckOptions) -> int:
    """Number of slots fixed, -1 on error."""
    _refuse_unreachable(view, opts, "slots coverage")
    output.info(">>> Fixing slots coverage...\n")
    masters = [n for n in view.nodes if not n.is_replica and not n.replicate]
    holders: dict[int, list[AdminNode]] = {}
    for slot in range(CLUSTER_SLOTS):
        if slot in covered:
            continue
        holders[slot] = []
        for n in masters:
            keys, error = n.try_call("CLUSTER", "GETKEYSINSLOT", slot, 1)
            if error is not None:
                output.reply_error(n, error)
                return -1
            if keys:
                holders[slot].append(n)
    none = [s for s, h in holders.items() if not h]
    single = [s for s, h in holders.items() if len(h) == 1]
    multi = [s for s, h in holders.items() if len(h) > 1]
    fixed = 0
    all_masters = [n for n in view.nodes if not n.is_replica]
    if none:
        output.plain("The following uncovered slots have no keys across the cluster:\n")
        output.plain(slots_string(none) + "\n")
        if confirm("Fix these slots by covering with a random node?"):
            for slot in none:
                n = random.choice(all_masters)
                output.info(f">>> Covering slot {slot} with {n.ip}:{n.port}\n")
                if not set_slot_owner(n, slot, False):
                    return -1
                n.slots.add(slot)
                fixed += 1
    if single:
        output.plain("The following uncovered slots have keys in just one node:\n")
        output.plain(slots_string(single) + "\n")
        if confirm("Fix these slots by covering with those nodes?"):
            for slot in single:
                n = holders[slot][0]
                output.info(f">>> Covering slot {slot} with {n.ip}:{n.port}\n")
                if not set_slot_owner(n, slot, False):
                    return -1
                n.slots.add(slot)
                fixed += 1
    if multi:
        output.plain("The following uncovered slots have keys in multiple nodes:\n")
        output.plain(slots_string(multi) + "\n")
        if confirm("Fix these slots by moving keys into a single node?"):
            for slot in multi:
                target = node_with_most_keys(holders[slot], slot)
                if target is None:
                    return -1
                output.info(f">>> Covering slot {slot} moving keys to "
                            f"{target.ip}:{target.port}\n")
                if not set_slot_owner(target, slot, True):
                    return -1
                target.slots.add(slot)
                for src in holders[slot]:
                    if src is target:
                        continue
                    if not (set_slot(src, slot, "NODE", target)
                            and set_slot(src, slot, "IMPORTING", target)
                            and move_slot(view, src, target, slot, cold=True)
                            and set_slot(src, slot, "STABLE")):
                        return -1
                fixed += 1
    return fixed


# -- multiple owners ------------------------------------------------------------------
def fix_multiple_owners(view: ClusterView, slot: int, owners: list[AdminNode]) -> bool:
    output.info(f">>> Fixing multiple owners for slot {slot}...\n")
    owner = node_with_most_keys(owners, slot) or owners[0]
    output.info(f">>> Setting slot {slot} owner: {owner.ip}:{owner.port}\n")
    if not set_slot_owner(owner, slot, False):
        return False
    success = False
    for n in view.nodes:
        if n is owner or n.is_replica:
            continue
        count = count_keys(n, slot)
        success = count >= 0
        if not success:
            break
        del_slot(n, slot)
        if not set_slot(n, slot, "node", owner):
            return False
        if count > 0:
            success = move_slot(view, n, owner, slot, cold=True)
            if not success:
                break
    return success


# The repairs the check (check.py) calls when fixing.
REPAIRS = Repairs(open_slot=fix_open_slot, slots_coverage=fix_slots_coverage,
                  multiple_owners=fix_multiple_owners)
