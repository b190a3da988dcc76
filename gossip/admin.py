"""The CLUSTER commands that read or change the bus state (MEET, ADDSLOTS, DELSLOTS,
FLUSHSLOTS, FORGET, RESET, REPLICATE, SET-CONFIG-EPOCH, BUMPEPOCH, COUNT-FAILURE-REPORTS,
REPLICAS)
and PUBLISH propagation. Errors are ClusterError with Redis's exact text. Argument
parsing and the data-dependent checks (DB empty, keys) are the node's. Functions take the
ClusterState as `st`; every check happens before anything changes."""
from __future__ import annotations

import ipaddress

from gossip import failure, slotconf
from gossip.config import new_node_id
from gossip.errors import ClusterError
from gossip.messages import Message, MsgType
from gossip.records import Flag, NodeRecord
from slots import CLUSTER_SLOTS


def meet(st, ip: str, port: int, cport: int) -> None:
    """clusterStartHandshake: a HANDSHAKE|MEET node with a random id, connected now.
    A handshake already in progress with that address is not started twice."""
    try:
        norm_ip = str(ipaddress.ip_address(ip))
    except ValueError:
        norm_ip = ""
    if not norm_ip or not 0 < port <= 65535 or not 0 < cport <= 65535:
        raise ClusterError(f"ERR Invalid node address specified: {ip}:{port}")
    for node in st.nodes.values():
        if (node.flags & Flag.HANDSHAKE and node.ip.lower() == norm_ip.lower()
                and node.port == port and node.cport == cport):
            return
    node = NodeRecord(id=new_node_id(st.rng), ip=norm_ip, port=port, cport=cport,
                      flags=Flag.HANDSHAKE | Flag.MEET, created=st.now,
                      shard_id=new_node_id(st.rng))
    st.add_node(node)
    st.connect(node)


def _check_slots(st, slots: list[int], deleting: bool) -> list[int]:
    """checkSlotAssignmentsOrReply, in argument order; all-or-nothing."""
    seen: set[int] = set()
    for slot in slots:
        if not 0 <= slot < CLUSTER_SLOTS:
            raise ClusterError("ERR Invalid or out of range slot")
    for slot in slots:
        if deleting and st.slot_owner[slot] is None:
            raise ClusterError(f"ERR Slot {slot} is already unassigned")
        if not deleting and st.slot_owner[slot] is not None:
            raise ClusterError(f"ERR Slot {slot} is already busy")
        if slot in seen:
            raise ClusterError(f"ERR Slot {slot} specified multiple times")
        seen.add(slot)
    return sorted(seen)


def add_slots(st, slots: list[int]) -> None:
    for slot in _check_slots(st, slots, deleting=False):
        st.importing.pop(slot, None)
        st.add_slot(st.myself, slot)
    st.todo(save=True, update=True)


def del_slots(st, slots: list[int]) -> None:
    for slot in _check_slots(st, slots, deleting=True):
        st.importing.pop(slot, None)
        st.del_slot(slot)
    st.todo(save=True, update=True)


def flush_slots(st) -> None:
    for slot in list(st.myself.slots):
        st.del_slot(slot)
    st.todo(save=True, update=True)


def forget(st, node_id: str) -> None:
    me = st.myself
    node = st.nodes.get(node_id)
    if node is None:
        raise ClusterError(f"ERR Unknown node {node_id}")
    if node is me:
        raise ClusterError("ERR I tried hard but I can't forget myself...")
    if me.is_replica and me.primary_id == node.id:
        raise ClusterError("ERR Can't forget my master!")
    st.blacklisted(node.id)                      # drops expired entries first
    st.blacklist[node.id] = st.now + st.config.blacklist_ttl
    st.del_node(node)
    st.todo(save=True, update=True)


def reset(st, hard: bool) -> None:
    """clusterReset: become a primary, close and unassign all slots, forget every node,
    empty the blacklist; HARD also zeroes the epochs and takes a new id and shard id."""
    me = st.myself
    if me.is_replica:
        slotconf.set_node_as_master(st, me)
    st.migrating.clear()
    st.importing.clear()
    for slot in range(CLUSTER_SLOTS):
        if st.slot_owner[slot] is not None:
            st.del_slot(slot)
    for node in list(st.nodes.values()):
        if node is not me:
            st.del_node(node)
    st.blacklist.clear()
    if hard:
        st.current_epoch = st.last_vote_epoch = me.config_epoch = 0
        st.log("notice", "configEpoch set to 0 via CLUSTER RESET HARD")
        del st.nodes[me.id]
        me.id = new_node_id(st.rng)
        me.shard_id = new_node_id(st.rng)
        st.nodes[me.id] = me
        st.log("notice", f"Node hard reset, now I'm {me.id}")
    st.todo(save=True, fsync=True, update=True)


def replicate(st, node_id: str, keys: int) -> None:
    """CLUSTER REPLICATE: myself becomes a replica of primary `node_id` in the topology
    (flags, primary id, shard id; heartbeats then advertise it). `keys` is how many keys
    the node holds in db 0: a primary must own no slot and no key. The change reaches
    the node's replication as a FollowPrimary effect (slotconf.set_my_primary)."""
    me = st.myself
    node = st.nodes.get(node_id)
    if node is None:
        raise ClusterError(f"ERR Unknown node {node_id}")
    if node is me:
        raise ClusterError("ERR Can't replicate myself")
    if node.is_replica:
        raise ClusterError("ERR I can only replicate a master, not a replica.")
    if me.is_primary and (len(me.slots) or keys):
        raise ClusterError("ERR To set a master the node must be empty and "
                           "without assigned slots.")
    slotconf.set_my_primary(st, node)
    st.todo(save=True, update=True)


def set_config_epoch(st, epoch: int) -> None:
    me = st.myself
    if epoch < 0:
        raise ClusterError(f"ERR Invalid config epoch specified: {epoch}")
    if len(st.nodes) > 1:
        raise ClusterError("ERR The user can assign a config epoch only when the "
                           "node does not know any other node.")
    if me.config_epoch != 0:
        raise ClusterError("ERR Node config epoch is already non-zero")
    me.config_epoch = epoch
    st.log("notice", f"configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH")
    if st.current_epoch < epoch:
        st.current_epoch = epoch
    st.todo(save=True, update=True)


def bump_epoch(st) -> bool:
    return slotconf.bump_without_consensus(st)


def count_failure_reports(st, node_id: str) -> int:
    node = st.nodes.get(node_id)
    if node is None:
        raise ClusterError(f"ERR Unknown node {node_id}")
    return failure.count_reports(st, node)


def replicas_of(st, node_id: str) -> list[NodeRecord]:
    node = st.nodes.get(node_id)
    if node is None:
        raise ClusterError(f"ERR Unknown node {node_id}")
    if node.is_replica:
        raise ClusterError("ERR The specified node is not a master")
    return [n for n in st.nodes.values() if n.is_replica and n.primary_id == node.id]


def publish(st, channel: bytes, payload: bytes, shard: bool) -> None:
    """PUBLISH goes to every connected node; SPUBLISH only to the nodes of my shard."""
    kind = MsgType.PUBLISHSHARD if shard else MsgType.PUBLISH
    msg = Message(kind, st.header(), channel=channel, payload=payload)
    if not shard:
        st.broadcast(msg)
        return
    for node in list(st.nodes.values()):
        if (node.shard_id == st.myself.shard_id
                and not node.flags & (Flag.MYSELF | Flag.HANDSHAKE)):
            st.send_to(node, msg)
