"""The read-only CLUSTER replies built from the bus state: INFO, SLOTS, SHARDS, LINKS.

Pure functions of a `gossip.state.ClusterState` (and, for LINKS, the transport's link
table). Shapes and orders are Redis 7.0.15's (shared/reference/redis-cluster-facts.md 1.7-1.9).
None walks the 16384 slots: INFO reads the state's per-owner counts (`slots_by_owner`),
SLOTS and SHARDS its cached runs (`slot_runs()`), so monitoring polls stay cheap.
"""
from __future__ import annotations

from gossip.messages import MsgType
from gossip.records import Flag, NodeRecord
from slots import CLUSTER_SLOTS

# Redis prints the per-type counters in its message type id order.
STATS_ORDER = (MsgType.PING, MsgType.PONG, MsgType.MEET, MsgType.FAIL, MsgType.PUBLISH,
               MsgType.AUTH_REQUEST, MsgType.AUTH_ACK, MsgType.UPDATE, MsgType.MFSTART,
               MsgType.PUBLISHSHARD)


def my_epoch(state) -> int:
    me = state.myself
    if me.is_replica and me.primary_id in state.nodes:
        return state.nodes[me.primary_id].config_epoch
    return me.config_epoch


def info_text(state, links_buffer_limit_exceeded: int = 0) -> bytes:
    assigned = ok = pfail = fail = 0
    nodes = state.nodes
    for owner, count in state.slots_by_owner.items():
        assigned += count
        rec = nodes.get(owner)
        flags = rec.flags if rec is not None else 0
        if flags & Flag.FAIL:
            fail += count
        elif flags & Flag.PFAIL:
            pfail += count
        else:
            ok += count
    lines = [
        f"cluster_state:{'ok' if state.state_ok else 'fail'}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(nodes)}",
        f"cluster_size:{state.size}",
        f"cluster_current_epoch:{state.current_epoch}",
        f"cluster_my_epoch:{my_epoch(state)}",
    ]
    for counter, word in ((state.stats_sent, "sent"), (state.stats_received, "received")):
        total = 0
        for mtype in STATS_ORDER:
            n = counter.get(mtype, 0)
            if n:
                total += n
                lines.append(f"cluster_stats_messages_{mtype.value}_{word}:{n}")
        lines.append(f"cluster_stats_messages_{word}:{total}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{links_buffer_limit_exceeded}")
    return ("\r\n".join(lines) + "\r\n").encode()


def slot_runs(slot_owner) -> list[tuple[int, int, str]]:
    """Maximal runs of consecutive slots with one owner: (start, end, owner id), by a walk
    of the whole table (the replies use the state's cached `slot_runs()`; this is the
    reference the tests compare it with)."""
    runs = []
    start = None
    current = None
    for slot in range(CLUSTER_SLOTS + 1):
        owner = slot_owner[slot] if slot < CLUSTER_SLOTS else None
        if owner != current:
            if current is not None:
                runs.append((start, slot - 1, current))
            start, current = slot, owner
    return runs


def _endpoint(node: NodeRecord, endpoint_type: str):
    if endpoint_type == "hostname":
        return (node.hostname or "?").encode()
    if endpoint_type == "unknown-endpoint":
        return None
    return node.ip.encode()


def _slots_node(node: NodeRecord, endpoint_type: str) -> list:
    extra = {}
    if endpoint_type != "ip":
        extra[b"ip"] = node.ip.encode()
    if endpoint_type != "hostname" and node.hostname:
        extra[b"hostname"] = node.hostname.encode()
    return [_endpoint(node, endpoint_type), node.port, node.id.encode(), extra]


def replica_available(node: NodeRecord, my_offset: int) -> bool:
    """Redis lists a replica in CLUSTER SLOTS only if not FAIL and past its first sync."""
    if node.flags & Flag.FAIL:
        return False
    offset = my_offset if node.flags & Flag.MYSELF else node.repl_offset
    return offset != 0


def slots_reply(state, endpoint_type: str = "ip", my_offset: int = 0) -> list:
    out = []
    for start, end, owner in state.slot_runs():
        primary = state.nodes.get(owner)
        if primary is None:
            continue
        entry = [start, end, _slots_node(primary, endpoint_type)]
        for replica in state.replicas_of(owner):
            if replica_available(replica, my_offset):
                entry.append(_slots_node(replica, endpoint_type))
        out.append(entry)
    return out


def _shard_node(node: NodeRecord, endpoint_type: str, my_offset: int) -> dict:
    out: dict = {b"id": node.id.encode()}
    if node.port:
        out[b"port"] = node.port
    out[b"ip"] = node.ip.encode()
    endpoint = _endpoint(node, endpoint_type)
    out[b"endpoint"] = b"" if endpoint is None else endpoint
    if node.hostname:
        out[b"hostname"] = node.hostname.encode()
    offset = my_offset if node.flags & Flag.MYSELF else node.repl_offset
    out[b"role"] = b"replica" if node.is_replica else b"master"
    out[b"replication-offset"] = offset
    if node.flags & Flag.FAIL:
        health = b"fail"
    elif node.is_replica and offset == 0:
        health = b"loading"
    else:
        health = b"online"
    out[b"health"] = health
    return out


def shards_reply(state, endpoint_type: str = "ip", my_offset: int = 0) -> list:
    """One shard per node that is not a replica (as Redis 7.0 iterates its node table)."""
    runs: dict[str, list[int]] = {}
    for start, end, owner in state.slot_runs():
        runs.setdefault(owner, []).extend((start, end))
    out = []
    for node in list(state.nodes.values()):
        if node.is_replica:
            continue
        members = [node, *state.replicas_of(node.id)]
        out.append({b"slots": runs.get(node.id, []),
                    b"nodes": [_shard_node(n, endpoint_type, my_offset) for n in members]})
    return out


def links_reply(state, links) -> list:
    """`links(link_id) -> (create_ms, events, allocated, used) | None` for a live link;
    `inbound` maps node id -> inbound link id."""
    out = []
    for node in list(state.nodes.values()):
        if node.flags & Flag.MYSELF:
            continue
        for direction, link in (("to", node.link), ("from", links.inbound_of(node.id))):
            if link is None:
                continue
            info = links.describe(link)
            if info is None:
                continue
            created, events, allocated, used = info
            out.append({b"direction": direction.encode(), b"node": node.id.encode(),
                        b"create-time": created, b"events": events.encode(),
                        b"send-buffer-allocated": allocated, b"send-buffer-used": used})
    return out
