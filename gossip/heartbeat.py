"""Heartbeats: the header every message carries, PING/PONG/MEET with their gossip section,
and what a received gossip section teaches us (clusterBuildMessageHdr, clusterSendPing,
clusterProcessGossipSection). Functions take the ClusterState as `st`."""
from __future__ import annotations

from gossip import failure
from gossip.config import PONG_TIME_TOLERANCE_MS, new_node_id
from gossip.messages import MFLAG_PAUSED, GossipEntry, Header, Message, MsgType
from gossip.records import Flag, NodeRecord

FAILING = Flag.PFAIL | Flag.FAIL
NOT_GOSSIPED = Flag.PFAIL | Flag.HANDSHAKE | Flag.NOADDR     # (PFAIL ones are added apart)
HIDDEN = Flag.HANDSHAKE | Flag.NOADDR
# Flags a node learned from gossip may start with (never myself/handshake/meet).
LEARNABLE = (Flag.MASTER | Flag.SLAVE | Flag.PFAIL | Flag.FAIL | Flag.NOADDR
             | Flag.MIGRATE_TO | Flag.NOFAILOVER)


def header(st) -> Header:
    """The sender's view: a replica advertises its primary's config epoch and slots."""
    me = st.myself
    primary = st.primary_of(me) if me.is_replica else None
    source = primary or me
    return Header(
        sender=me.id, current_epoch=st.current_epoch, config_epoch=source.config_epoch,
        flags=int(me.flags & ~Flag.MYSELF),
        primary_id=me.primary_id if me.is_replica else None,
        slots=bytes(source.slots), repl_offset=me.repl_offset,
        myip=st.config.announce_ip or me.ip, port=me.port, cport=me.cport,
        state_ok=st.state_ok, mflags=_mflags(st), shard_id=me.shard_id,
        hostname=me.hostname)


def _mflags(st) -> int:
    """PAUSED while I am a primary paused for a manual failover (gossip/manual.py)."""
    mf = getattr(st, "mf", None)
    return MFLAG_PAUSED if mf is not None and mf.paused and st.myself.is_primary else 0


def entry(node: NodeRecord) -> GossipEntry:
    """Times travel in whole seconds as in Redis (ms value truncated to the second)."""
    return GossipEntry(id=node.id, ping_sent=node.ping_sent // 1000 * 1000,
                       pong_received=node.pong_received // 1000 * 1000,
                       ip=node.ip, port=node.port, cport=node.cport, flags=int(node.flags))


def gossip_section(st) -> tuple[GossipEntry, ...]:
    """max(3, N/10) random nodes (capped at N-2) plus every PFAIL node."""
    nodes = list(st.nodes.values())
    wanted = min(max(3, len(nodes) // 10), len(nodes) - 2)
    picked: list[NodeRecord] = []
    if wanted > 0:
        candidates = [
            n for n in nodes
            if n is not st.myself and not n.flags & NOT_GOSSIPED
            and not (n.link is None and len(n.slots) == 0)]
        picked = st.rng.sample(candidates, min(wanted, len(candidates)))
    picked += [n for n in nodes
               if n.flags & Flag.PFAIL and not n.flags & HIDDEN]
    return tuple(entry(n) for n in picked)


def send_ping(st, link: int, kind: MsgType) -> None:
    """clusterSendPing: PING / PONG / MEET on `link`; a PING on an outbound link is the
    node's pending ping."""
    if kind is MsgType.PING and link > 0:
        node = st.outbound.get(link)
        if node is not None:
            node.ping_sent = st.now
    st.send(link, Message(kind, header(st), gossip=gossip_section(st)))


def broadcast_pong(st) -> None:
    """clusterBroadcastPong(ALL): tell every connected node our new config now."""
    for node in list(st.nodes.values()):
        if node.flags & (Flag.MYSELF | Flag.HANDSHAKE) or node.link is None or not node.link_up:
            continue
        send_ping(st, node.link, MsgType.PONG)


def process_gossip(st, sender: NodeRecord | None, entries) -> None:
    """clusterProcessGossipSection. `sender` is None for a MEET from a stranger."""
    now = st.now
    for g in entries:
        node = st.nodes.get(g.id)
        failing = g.flags & FAILING
        if node is not None:
            if sender is not None and st.is_voting_primary(sender) and node is not st.myself:
                if failing:
                    if failure.add_report(st, node, sender):
                        st.log("verbose", f"Node {sender.id} reported node {node.id} "
                                          "as not reachable.")
                    failure.mark_failing_if_needed(st, node)
                elif failure.del_report(st, node, sender):
                    st.log("verbose", f"Node {sender.id} reported node {node.id} "
                                      "is back online.")
            if (not failing and node.ping_sent == 0
                    and failure.count_reports(st, node) == 0
                    and node.pong_received < g.pong_received <= now + PONG_TIME_TOLERANCE_MS):
                node.pong_received = g.pong_received
            if (node.failing and not g.flags & Flag.NOADDR and not failing
                    and (node.ip, node.port, node.cport) != (g.ip, g.port, g.cport)):
                st.drop_link(node)
                node.ip, node.port, node.cport = g.ip, g.port, g.cport
                node.flags &= ~Flag.NOADDR
        elif (sender is not None and not g.flags & Flag.NOADDR
              and not st.blacklisted(g.id)):
            st.add_node(NodeRecord(
                id=g.id, ip=g.ip, port=g.port, cport=g.cport,
                flags=Flag(g.flags & LEARNABLE), created=now, shard_id=new_node_id(st.rng)))
