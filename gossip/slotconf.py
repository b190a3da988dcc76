"""Slot ownership and config epochs: rebinding claimed slots by config epoch, UPDATE
messages, config epoch collisions, bumping without consensus, role changes seen in
headers, dropping the keys of slots this primary lost (clusterUpdateSlotsConfigWith,
clusterHandleConfigEpochCollision, clusterBumpConfigEpochWithoutConsensus,
clusterSetNodeAsMaster, clusterSetMaster).
Functions take the ClusterState as `st`.

Myself's role changes only here: set_node_as_master(st, st.myself) and set_my_primary are
the two places that change myself's flags or primary id, and each announces the change
as an effect (BecamePrimary / FollowPrimary) for the node to replicate accordingly;
nothing is announced when the role stays the same.
"""
from __future__ import annotations

from gossip.effects import BecamePrimary, DeleteSlotKeys, FollowPrimary
from gossip.messages import Header, Message, MsgType
from gossip.records import Flag, NodeRecord, SlotBitmap


def slots_in(raw: bytes):
    """The slots set in a 2048-byte wire bitmap, in order."""
    for index, byte in enumerate(raw):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte >> bit & 1:
                    yield base + bit


def has_slot(raw: bytes, slot: int) -> bool:
    return bool(raw[slot >> 3] >> (slot & 7) & 1)


def update_slots_config_with(st, sender: NodeRecord, epoch: int, slots: bytes) -> None:
    """Rebind every slot `sender` claims that is unassigned (or whose owner stopped
    claiming it) or owned by a node with a smaller config epoch; slots still bound to
    `sender` but no longer claimed are marked 'owner not claiming'."""
    me = st.myself
    if sender is me:
        st.log("warning", "Discarding UPDATE message about myself.")
        return
    current_primary = me if me.is_primary else st.primary_of(me)
    current_id = current_primary.id if current_primary is not None else None
    owners, nodes, importing = st.slot_owner, st.nodes, st.importing
    not_claiming = st.owner_not_claiming
    sender_slots = migrated_our_slots = 0
    new_primary = None
    changed = False
    lost: list[int] = []        # my slots taken over: their keys go (dirty slots)
    for slot in slots_in(slots):
        sender_slots += 1
        owner_id = owners[slot]
        if owner_id == sender.id:
            not_claiming.discard(slot)
            continue
        if slot in importing:
            continue
        if owner_id is None or slot in not_claiming or nodes[owner_id].config_epoch < epoch:
            if owner_id is not None and owner_id == me.id:
                lost.append(slot)
            if owner_id is not None and owner_id == current_id:
                new_primary = sender
                migrated_our_slots += 1
            st.del_slot(slot)
            st.add_slot(sender, slot)
            changed = True
    if changed:
        st.todo(save=True, fsync=True, update=True)
    for slot in [s for s in sender.slots if not has_slot(slots, s)]:
        not_claiming.add(slot)

    grand = None
    if me.is_replica and (primary := st.primary_of(me)) is not None and primary.primary_id:
        grand = st.nodes.get(primary.primary_id)
    if (new_primary is not None and len(current_primary.slots) == 0
            and (st.config.allow_replica_migration or sender_slots == migrated_our_slots)):
        st.log("warning", "Configuration change detected. Reconfiguring myself "
                          f"as a replica of {sender.id}")
        set_my_primary(st, sender)
        st.todo(save=True, fsync=True, update=True)
    elif grand is not None and grand is not me:
        st.log("warning", "I'm a sub-replica! Reconfiguring myself as a replica of "
                          f"grandmaster {grand.id}")
        set_my_primary(st, grand)
        st.todo(save=True, fsync=True, update=True)
    elif lost:
        st.emit(DeleteSlotKeys(tuple(lost)))


def send_update_if_stale(st, sender: NodeRecord, epoch: int, slots: bytes) -> None:
    """The sender claims a slot I know is owned with a greater config epoch: UPDATE it
    (about the first such owner only, as Redis)."""
    for slot in slots_in(slots):
        owner_id = st.slot_owner[slot]
        if owner_id == sender.id or st.slot_unclaimed(slot):
            continue
        owner = st.nodes[owner_id]
        if owner.config_epoch > epoch:
            st.log("verbose", f"Node {sender.id} has old slots configuration, sending "
                              f"an UPDATE message about {owner.id}")
            send_update(st, sender, owner)
            return


def send_update(st, to: NodeRecord, about: NodeRecord) -> None:
    slots = SlotBitmap(bytes(about.slots))
    for slot in st.owner_not_claiming:
        if st.slot_owner[slot] == about.id:
            slots.discard(slot)
    st.send_to(to, Message(MsgType.UPDATE, st.header(), node_id=about.id,
                           config_epoch=about.config_epoch, slots=bytes(slots)))


def process_update(st, sender: NodeRecord, msg: Message) -> None:
    """An UPDATE: a newer config (epoch + slots) of node `msg.node_id`."""
    node = st.nodes.get(msg.node_id or "")
    if node is None or node.config_epoch >= msg.config_epoch or msg.slots is None:
        return
    if node.is_replica:
        set_node_as_master(st, node)
    node.config_epoch = msg.config_epoch
    st.todo(save=True, fsync=True)
    update_slots_config_with(st, node, msg.config_epoch, msg.slots)


def handle_collision(st, sender: NodeRecord) -> None:
    """Two primaries with the same config epoch: the one with the smaller id moves on."""
    me = st.myself
    if (sender.config_epoch != me.config_epoch or not sender.is_primary
            or not me.is_primary or sender.id <= me.id):
        return
    st.current_epoch += 1
    me.config_epoch = st.current_epoch
    st.todo(save=True, fsync=True)
    st.log("verbose", f"WARNING: configEpoch collision with node {sender.id}. "
                      f"configEpoch set to {me.config_epoch}")


def max_epoch(st) -> int:
    return max([st.current_epoch] + [n.config_epoch for n in st.nodes.values()])


def bump_without_consensus(st) -> bool:
    """New config epoch for myself unless I already hold the unique maximum."""
    me = st.myself
    if me.config_epoch != 0 and me.config_epoch == max_epoch(st):
        return False
    st.current_epoch += 1
    me.config_epoch = st.current_epoch
    st.todo(save=True, fsync=True)
    st.log("notice", f"New configEpoch set to {me.config_epoch}")
    return True


def my_role(st) -> tuple[bool, str | None]:
    """Myself's role as the role effects announce it: (True, primary id) for a replica,
    (False, None) otherwise."""
    me = st.myself
    return (True, me.primary_id) if me.is_replica else (False, None)


def set_node_as_master(st, node: NodeRecord) -> None:
    """clusterSetNodeAsMaster: `node` (a replica) is a primary now. For myself this is
    a role change: BecamePrimary."""
    if node.is_primary:
        return
    before = my_role(st)
    if node.primary_id and node is not st.myself:
        node.flags |= Flag.MIGRATE_TO
    node.flags = (node.flags & ~Flag.SLAVE) | Flag.MASTER
    node.primary_id = None
    st.todo(save=True, update=True)
    if my_role(st) != before:
        st.emit(BecamePrimary())


def set_my_primary(st, node: NodeRecord) -> None:
    """clusterSetMaster (records only): myself becomes a replica of `node`;
    FollowPrimary(node.id) unless myself already was one."""
    me = st.myself
    before = my_role(st)
    if me.is_primary:
        me.flags = (me.flags & ~(Flag.MASTER | Flag.MIGRATE_TO)) | Flag.SLAVE
        st.migrating.clear()
        st.importing.clear()
    me.primary_id = node.id
    node.flags |= Flag.MIGRATE_TO           # clusterNodeAddSlave: it has had replicas
    if node.shard_id and me.shard_id != node.shard_id:
        me.shard_id = node.shard_id
    if my_role(st) != before:
        st.emit(FollowPrimary(node.id))


def process_role(st, sender: NodeRecord, hdr: Header) -> None:
    """A header says primary or replica-of-X: update the sender's role."""
    if hdr.primary_id is None:
        set_node_as_master(st, sender)
        return
    if not sender.is_replica:
        for slot in list(sender.slots):
            st.del_slot(slot)
        sender.flags = (sender.flags & ~(Flag.MASTER | Flag.MIGRATE_TO)) | Flag.SLAVE
        st.todo(save=True, update=True)
    primary = st.nodes.get(hdr.primary_id)
    if primary is not None and sender.primary_id != primary.id:
        sender.primary_id = primary.id
        primary.flags |= Flag.MIGRATE_TO    # clusterNodeAddSlave
        st.todo(save=True)
