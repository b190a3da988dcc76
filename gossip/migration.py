"""Replica migration (clusterCron's orphaned-primary scan + clusterHandleSlaveMigration).
Functions take the ClusterState as `st`.

An orphaned primary owns slots, has no working replica (none without fail?/fail) and the
MIGRATE_TO flag (it had replicas once, or took over a primary that had). A replica
migrates to one when, all at once: cluster state ok; config.allow_replica_migration; its
primary keeps > config.migration_barrier working replicas (itself included, as Redis
counts); its primary has the greatest number of working replicas (>= 2) of all the
non-failing primaries; it has the smallest node id among the replicas of the primaries
with that number; the target has been orphaned for more than MIGRATION_DELAY_MS. Then it
becomes the target's replica (clusterSetMaster: records here, the node resyncs), saves
the config with fsync and broadcasts a PONG so the others learn it at once.
cluster-replica-no-failover does not block a migration (as in Redis).

Where we differ from Redis: a node's orphaned time (NodeRecord.orphaned_time) is tracked
on every cron tick of a replica, so "orphaned for 5 s" means continuously; Redis only
refreshes it while the other preconditions hold, so a stale start time can let a
migration happen at once when they start holding.
"""
from __future__ import annotations

from gossip import heartbeat, mfstate, slotconf
from gossip.records import Flag

MIGRATION_DELAY_MS = 5000        # CLUSTER_SLAVE_MIGRATION_DELAY
SKIPPED = Flag.MYSELF | Flag.NOADDR | Flag.HANDSHAKE


def _replicas(st) -> dict[str, list]:
    """primary id -> the records naming it as their primary (myself included)."""
    out: dict[str, list] = {}
    for node in st.nodes.values():
        if node.is_replica and node.primary_id:
            out.setdefault(node.primary_id, []).append(node)
    return out


def _working(replicas) -> int:
    return sum(1 for r in replicas if not r.failing)


def cron(st) -> None:
    me = st.myself
    if not me.is_replica:
        return
    replicas = _replicas(st)
    now = st.now
    orphaned = max_ok = this_ok = 0
    target = None
    for node in st.nodes.values():
        if node.flags & SKIPPED or not node.is_primary or node.failing:
            node.orphaned_time = 0
            continue
        ok = _working(replicas.get(node.id, ()))
        if ok == 0 and node.flags & Flag.MIGRATE_TO:
            if node.orphaned_time == 0:
                node.orphaned_time = now
            if len(node.slots) > 0:
                orphaned += 1
                if target is None:
                    target = node
        else:
            node.orphaned_time = 0
        max_ok = max(max_ok, ok)
        if me.primary_id == node.id:
            this_ok = ok
    if (orphaned and max_ok >= 2 and this_ok == max_ok
            and st.config.allow_replica_migration):
        _migrate(st, target, replicas, max_ok)


def _migrate(st, target, replicas, max_ok: int) -> None:
    """clusterHandleSlaveMigration (the orphan scan is done by cron)."""
    me = st.myself
    if not st.state_ok:
        return
    mine = replicas.get(me.primary_id or "", ())
    if _working(mine) <= st.config.migration_barrier:
        return
    candidate = me.id
    for node in st.nodes.values():
        if not node.is_primary:
            continue
        theirs = replicas.get(node.id, ())
        if _working(theirs) == max_ok:
            candidate = min([candidate] + [r.id for r in theirs])
    if candidate != me.id or st.now - target.orphaned_time <= MIGRATION_DELAY_MS:
        return
    st.log("notice", f"Migrating to orphaned master {target.id}")
    slotconf.set_my_primary(st, target)
    mfstate.reset(st)
    st.todo(save=True, fsync=True, update=True)
    heartbeat.broadcast_pong(st)
