"""clusterCron, every CRON_PERIOD_MS: handshake timeouts, (re)connects, the random and the
freshness pings, link resets, PFAIL, and the cluster state. Takes the ClusterState."""
from __future__ import annotations

from gossip import config, failover, failure, health, heartbeat, manual, migration
from gossip.config import (MIN_HANDSHAKE_TIMEOUT_MS, RANDOM_PING_EVERY_TICKS,
                           RANDOM_PING_SAMPLES)
from gossip.messages import MsgType
from gossip.records import Flag

NOT_CONNECTED = Flag.MYSELF | Flag.NOADDR
NOT_RANDOM_PINGED = Flag.MYSELF | Flag.HANDSHAKE
NOT_CHECKED = Flag.MYSELF | Flag.NOADDR | Flag.HANDSHAKE


def cron(st) -> None:
    st.iteration += 1
    now, timeout = st.now, st.config.node_timeout
    handshake_timeout = max(timeout, MIN_HANDSHAKE_TIMEOUT_MS)

    for node in list(st.nodes.values()):
        if node.flags & NOT_CONNECTED:
            continue
        if node.flags & Flag.HANDSHAKE and now - node.created > handshake_timeout:
            st.del_node(node)
            continue
        if node.link is None and node.ip and node.cport:
            st.connect(node)

    if st.iteration % RANDOM_PING_EVERY_TICKS == 0:
        nodes = list(st.nodes.values())
        oldest = None
        for _ in range(RANDOM_PING_SAMPLES):
            node = st.rng.choice(nodes)
            if (node.link is None or not node.link_up or node.ping_sent != 0
                    or node.flags & NOT_RANDOM_PINGED):
                continue
            if oldest is None or oldest.pong_received > node.pong_received:
                oldest = node
        if oldest is not None:
            st.log("debug", f"Pinging node {oldest.id}")
            heartbeat.send_ping(st, oldest.link, MsgType.PING)

    update = False
    ping_interval = config.ping_interval(timeout)
    for node in list(st.nodes.values()):
        if node.flags & NOT_CHECKED:
            continue
        ping_delay, data_delay = now - node.ping_sent, now - node.data_received
        if (node.link is not None and now - node.link_created > timeout
                and node.ping_sent and ping_delay > timeout // 2
                and data_delay > timeout // 2):
            st.drop_link(node)        # reconnected by the next cron run
        if (node.link is not None and node.link_up and node.ping_sent == 0
                and now - node.pong_received > ping_interval):
            heartbeat.send_ping(st, node.link, MsgType.PING)
            continue
        update |= failure.check_timeout(st, node)

    if update or not st.state_ok:
        health.update_state(st)
    if update and st.is_voting_primary(st.myself):
        heartbeat.broadcast_pong(st)  # my new failure report travels now (failover.py)
    failover.cron(st)
    manual.cron(st)
    migration.cron(st)
