"""CLUSTER SETSLOT <slot> IMPORTING|MIGRATING|STABLE|NODE (Redis 7.0.15's clusterCommand
"setslot" branch): the open-slot tables and the manual hand-over of a slot.

The node parses the slot and the action and passes how many keys it holds in the slot
(countKeysInSlot): the state machine never sees the keyspace. Every refusal is a
ClusterError with Redis's exact text, raised before anything changes.
"""
from __future__ import annotations

from gossip import heartbeat, slotconf
from gossip.errors import ClusterError

ACTIONS = ("importing", "migrating", "stable", "node")
NOT_PRIMARY = "ERR Please use SETSLOT only with masters."
BAD_ACTION = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"


def _target(st, node_id: str, unknown: str):
    node = st.nodes.get(node_id)
    if node is None:
        raise ClusterError(unknown % node_id)
    if node.is_replica:
        raise ClusterError("ERR Target node is not a master")
    return node


def set_slot(st, slot: int, action: str, node_id: str | None, keys_in_slot: int) -> None:
    """`action` is one of ACTIONS; `node_id` is None for STABLE."""
    me = st.myself
    if me.is_replica:
        raise ClusterError(NOT_PRIMARY)
    if action == "migrating":
        if st.slot_owner[slot] != me.id:
            raise ClusterError(f"ERR I'm not the owner of hash slot {slot}")
        st.migrating[slot] = _target(st, node_id, "ERR I don't know about node %s").id
    elif action == "importing":
        if st.slot_owner[slot] == me.id:
            raise ClusterError(f"ERR I'm already the owner of hash slot {slot}")
        st.importing[slot] = _target(st, node_id, "ERR I don't know about node %s").id
    elif action == "stable":
        st.importing.pop(slot, None)
        st.migrating.pop(slot, None)
    elif action == "node":
        _assign(st, slot, _target(st, node_id, "ERR Unknown node %s"), keys_in_slot)
    else:
        raise ClusterError(BAD_ACTION)
    st.todo(save=True, update=True)


def _assign(st, slot: int, node, keys_in_slot: int) -> None:
    """SETSLOT NODE: the slot now belongs to `node` (in this node's view)."""
    me = st.myself
    was_mine = st.slot_owner[slot] == me.id
    if was_mine and node is not me and keys_in_slot:
        raise ClusterError(f"ERR Can't assign hashslot {slot} to a different node while "
                           "I still hold keys for this hash slot.")
    if keys_in_slot == 0:
        st.migrating.pop(slot, None)
    st.del_slot(slot)
    st.add_slot(node, slot)
    if was_mine and node is not me and not me.slots and st.config.allow_replica_migration:
        st.log("warning", "Configuration change detected. Reconfiguring myself as a "
                          f"replica of {node.id}")
        slotconf.set_my_primary(st, node)
        st.todo(save=True, fsync=True, update=True)
    if node is me and slot in st.importing:
        # Moved by hand: a new config epoch (no agreement asked) makes our claim win
        # everywhere; tell every node at once.
        if slotconf.bump_without_consensus(st):
            st.log("warning", f"configEpoch updated after importing slot {slot}")
        del st.importing[slot]
        heartbeat.broadcast_pong(st)
