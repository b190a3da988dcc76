"""What a received bus message does (clusterProcessPacket). Takes the ClusterState.

Links: `link` > 0 is one of my outbound links (the node it goes to is known); `link` < 0
is an inbound link named by the driver (its sender is looked up by the header's id and
remembered in st.inbound).
"""
from __future__ import annotations

from gossip import failover, failure, heartbeat, manual, slotconf
from gossip.config import new_node_id
from gossip.effects import Deliver
from gossip.messages import Message, MsgType
from gossip.records import Flag, NodeRecord

HEARTBEATS = (MsgType.PING, MsgType.PONG, MsgType.MEET)


def process(st, msg: Message, link: int, local_ip: str, peer_ip: str) -> None:
    hdr = msg.header
    link_node = st.outbound.get(link) if link > 0 else None
    if link > 0 and link_node is None:
        return                      # a link we already closed
    if hdr.sender == st.myself.id:
        return                      # talking to myself (e.g. CLUSTER MEET of my own address)
    if link_node is not None and not link_node.flags & Flag.HANDSHAKE:
        sender = link_node
    else:
        sender = st.nodes.get(hdr.sender)
        if sender is not None and sender.flags & Flag.HANDSHAKE:
            sender = None
        if sender is not None and link < 0:
            st.inbound[link] = sender
    if sender is not None:
        sender.data_received = st.now
        if hdr.current_epoch > st.current_epoch:
            st.current_epoch = hdr.current_epoch
        if hdr.config_epoch > sender.config_epoch:
            sender.config_epoch = hdr.config_epoch
            st.todo(save=True, fsync=True)
        sender.repl_offset = hdr.repl_offset
        manual.on_primary_header(st, sender, hdr)

    if msg.type in (MsgType.PING, MsgType.MEET):
        _answer_ping(st, msg, link, sender, local_ip, peer_ip)
    if msg.type in HEARTBEATS:
        _heartbeat(st, msg, link, link_node, sender, peer_ip)
    elif msg.type is MsgType.FAIL:
        _fail(st, msg, sender)
    elif msg.type in (MsgType.PUBLISH, MsgType.PUBLISHSHARD):
        if sender is not None:
            st.emit(Deliver(msg.channel, msg.payload, msg.type is MsgType.PUBLISHSHARD))
    elif msg.type is MsgType.UPDATE:
        if sender is not None:
            slotconf.process_update(st, sender, msg)
    elif msg.type is MsgType.AUTH_REQUEST:
        failover.on_auth_request(st, sender, msg, link)
    elif msg.type is MsgType.AUTH_ACK:
        failover.on_auth_ack(st, sender, msg)
    elif msg.type is MsgType.MFSTART:
        manual.on_mfstart(st, sender, link)
    manual.after_message(st)


def _answer_ping(st, msg: Message, link: int, sender, local_ip: str, peer_ip: str) -> None:
    """Learn my own IP, add a stranger that MEETs us (handshake), reply PONG."""
    hdr, me = msg.header, st.myself
    if ((msg.type is MsgType.MEET or not me.ip) and not st.config.announce_ip
            and local_ip and local_ip != me.ip):
        me.ip = local_ip
        st.log("notice", f"IP address for this node updated to {me.ip}")
        st.todo(save=True)
    if sender is None and msg.type is MsgType.MEET:
        ip = hdr.myip or peer_ip
        if ip:
            st.add_node(NodeRecord(
                id=new_node_id(st.rng), ip=ip, port=hdr.port, cport=hdr.cport,
                flags=Flag.HANDSHAKE, created=st.now, shard_id=new_node_id(st.rng)))
            st.todo(save=True)
        else:
            st.log("notice", "Error converting peer IP to string: unknown peer address")
        heartbeat.process_gossip(st, None, msg.gossip)
    heartbeat.send_ping(st, link, MsgType.PONG)


def _heartbeat(st, msg: Message, link: int, link_node, sender, peer_ip: str) -> None:
    hdr = msg.header
    if link_node is not None:
        if link_node.flags & Flag.HANDSHAKE:
            if sender is not None:
                st.log("verbose", f"Handshake: we already know node {sender.id}, "
                                  "updating the address if needed.")
                if _update_address(st, sender, link, hdr, peer_ip):
                    st.todo(save=True, update=True)
                st.del_node(link_node)
                return
            st.rename_node(link_node, hdr.sender)
            st.log("debug", f"Handshake with node {link_node.id} completed.")
            link_node.flags &= ~Flag.HANDSHAKE
            link_node.flags |= Flag(hdr.flags) & (Flag.MASTER | Flag.SLAVE)
            st.todo(save=True)
        elif link_node.id != hdr.sender:
            st.log("debug", f"PONG contains mismatching sender ID. About node {link_node.id} "
                            f"added {st.now - link_node.created} ms ago, having flags "
                            f"{int(link_node.flags)}")
            link_node.flags |= Flag.NOADDR
            link_node.ip, link_node.port, link_node.cport = "", 0, 0
            st.drop_link(link_node)
            st.todo(save=True)
            return

    if sender is not None:
        sender.flags = (sender.flags & ~Flag.NOFAILOVER) | (Flag(hdr.flags) & Flag.NOFAILOVER)
        if msg.type is MsgType.PING and _update_address(st, sender, link, hdr, peer_ip):
            st.todo(save=True, update=True)

    if link_node is not None and msg.type is MsgType.PONG:
        link_node.pong_received = st.now
        link_node.ping_sent = 0
        if link_node.flags & Flag.PFAIL:
            link_node.flags &= ~Flag.PFAIL
            st.todo(save=True, update=True)
        elif link_node.flags & Flag.FAIL:
            failure.clear_failure_if_needed(st, link_node)

    if sender is None:
        return
    slotconf.process_role(st, sender, hdr)
    sender_primary = sender if sender.is_primary else st.primary_of(sender)
    dirty = sender_primary is not None and bytes(sender_primary.slots) != hdr.slots
    if dirty and sender.is_primary:
        slotconf.update_slots_config_with(st, sender, hdr.config_epoch, hdr.slots)
    if dirty:
        slotconf.send_update_if_stale(st, sender, hdr.config_epoch, hdr.slots)
    if (st.myself.is_primary and sender.is_primary
            and hdr.config_epoch == st.myself.config_epoch):
        slotconf.handle_collision(st, sender)
    if hdr.shard_id and sender.shard_id != hdr.shard_id:
        sender.shard_id = hdr.shard_id
        st.todo(save=True)
    if hdr.hostname != sender.hostname:
        sender.hostname = hdr.hostname
        st.todo(save=True)
    heartbeat.process_gossip(st, sender, msg.gossip)


def _update_address(st, node, link: int, hdr, peer_ip: str) -> bool:
    """nodeUpdateAddressIfNeeded: the address a node's PING shows (its announced IP, else
    the connection's peer address) differs from what we know -> update, reconnect."""
    if link == node.link:
        return False
    ip = hdr.myip or peer_ip
    if not ip:
        return False
    if (node.ip, node.port, node.cport) == (ip, hdr.port, hdr.cport):
        return False
    node.ip, node.port, node.cport = ip, hdr.port, hdr.cport
    st.drop_link(node)
    node.flags &= ~Flag.NOADDR
    st.log("warning", f"Address updated for node {node.id}, now {node.ip}:{node.port}")
    return True


def _fail(st, msg: Message, sender) -> None:
    hdr = msg.header
    if sender is None:
        st.log("notice", f"Ignoring FAIL message from unknown node {hdr.sender} "
                         f"about {msg.node_id}")
        return
    failing = st.nodes.get(msg.node_id or "")
    if failing is None or failing.flags & (Flag.FAIL | Flag.MYSELF):
        return
    st.log("notice", f"FAIL message received from {hdr.sender} about {msg.node_id}")
    failing.flags = (failing.flags & ~Flag.PFAIL) | Flag.FAIL
    failing.fail_time = st.now
    st.todo(save=True, update=True)
