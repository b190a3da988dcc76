"""Automatic failover: the replica's election, the primaries' votes, the winner's
promotion (clusterHandleSlaveFailover, clusterGetSlaveRank, clusterRequestFailoverAuth,
clusterSendFailoverAuthIfNeeded, clusterFailoverReplaceYourMaster). Functions take the
ClusterState as `st`; the election's bookkeeping lives in `st.election` (an Election).

Rules as in Redis (shared/reference/redis-cluster-facts.md 2.5-2.7): a replica whose
primary is FAIL (and owned slots), that is not `nofailover` and whose data is not too old
(cluster-replica-validity-factor) schedules an election after a delay that grows with its
rank (replicas of the same primary with a greater replication offset; equal offsets: the
smaller node id goes first; re-ranked while waiting), then bumps currentEpoch and asks
every primary for its vote (AUTH_REQUEST). A voting primary grants one vote per epoch
(last_vote_epoch, saved with fsync), only for a replica whose primary is FAIL (or
FORCEACK), not twice for the same primary within 2 x node-timeout, and only if no claimed
slot is owned with a greater config epoch. A majority (size/2+1) of AUTH_ACKs from
primaries whose currentEpoch >= the election epoch wins: the replica takes the election
epoch as its config epoch and every slot of its old primary, saves (fsync) and broadcasts
a PONG. The old primary and sibling replicas follow through the UPDATE / slot-rebinding
rules of gossip/slotconf.py. Auth timeout max(2 x node-timeout, 2000 ms), retry after 2x.

WHERE WE DIFFER FROM REDIS (speed; every safety rule above is kept):
- Election delay: Redis waits 500 ms + random(0..499) + rank x 1000 ms. We wait
  50 ms + random(0..min(500, node_timeout/10)) + rank x min(1000, node_timeout/5)
  (election_delay). The fixed part only has to let the FAIL broadcast reach the
  primaries before our AUTH_REQUEST (FAIL is broadcast at once; when this replica
  declared FAIL itself the FAIL precedes the request on the same links), the random part
  separates replicas of equal rank, and the rank step only has to exceed one
  election's round trip, so scaling both to node-timeout is safe: a collision costs a
  retry, never a second winner (one vote per epoch per primary).
- Heartbeats (gossip/cron.py, config.ping_interval): every node is pinged once its last
  PONG is min(node_timeout/2, max(100, node_timeout/10)) ms old (Redis: node_timeout/2),
  so a ping is in flight soon after a death and PFAIL follows node-timeout after it.
- A voting primary that newly flags a node PFAIL sends a PONG to every connected node at
  once (gossip/failure.py), so its failure report reaches the others within a round trip
  instead of on the next random ping, and FAIL follows almost at once.
"""
from __future__ import annotations

import attrs

from gossip import heartbeat, mfstate, slotconf
from gossip.messages import MFLAG_FORCEACK, Message, MsgType
from gossip.records import Flag

MIN_AUTH_TIMEOUT_MS = 2000
CANT_FAILOVER_RELOG_PERIOD_MS = 10_000
CANT_FAILOVER_NOLOG_EXTRA_MS = 5000     # no "unable to failover" logs this soon after FAIL

NONE, DATA_AGE, WAITING_DELAY, EXPIRED, WAITING_VOTES = range(5)
CANT_FAILOVER_TEXT = {
    DATA_AGE: "Disconnected from master for longer than allowed. Please check the "
              "'cluster-replica-validity-factor' configuration option.",
    WAITING_DELAY: "Waiting the delay before I can start a new failover.",
    EXPIRED: "Failover attempt expired.",
    WAITING_VOTES: "Waiting for votes, but majority still not reached.",
}


@attrs.define
class Election:
    """The replica's election in progress (Redis's failover_auth_* fields)."""
    auth_time: int = 0          # when the election starts (scheduled), unix ms
    auth_count: int = 0         # votes received
    auth_sent: bool = False     # AUTH_REQUEST broadcast for auth_epoch
    auth_rank: int = 0
    auth_epoch: int = 0
    cant_reason: int = NONE
    cant_logged: int = 0        # when the last "unable to failover" was logged
    won_epoch: int = 0          # the last election this node won (for the simulation)
    grants: int = 0             # votes this node granted so far (for the simulation)


def election_delay(st, rank: int) -> int:
    """Milliseconds from now to the election (see the module docstring)."""
    timeout = st.config.node_timeout
    jitter = max(1, min(500, timeout // 10))
    return 50 + st.rng.randrange(jitter) + rank * min(1000, timeout // 5)


def rank_delay(st) -> int:
    return min(1000, st.config.node_timeout // 5)


def _manual(st) -> bool:
    """A manual failover (gossip/manual.py) lets this election start now."""
    return mfstate.can_start(st)


def cant_failover(node) -> bool:
    return bool(node.flags & Flag.NOFAILOVER)


def replica_rank(st) -> int:
    """Other failover-capable replicas of my primary ahead of me: a greater offset, or
    the same offset and a smaller node id."""
    me = st.myself
    primary = st.primary_of(me)
    if primary is None:
        return 0
    mine = me.repl_offset
    rank = 0
    for node in st.nodes.values():
        if node is me or node.primary_id != primary.id or not node.is_replica:
            continue
        if cant_failover(node):
            continue
        if node.repl_offset > mine or (node.repl_offset == mine and node.id < me.id):
            rank += 1
    return rank


def cron(st) -> None:
    """The end of clusterCron, and beforeSleep (st.todo(handle_failover=True))."""
    if st.myself.is_replica:
        handle(st)


def handle(st) -> None:
    """clusterHandleSlaveFailover."""
    me, el, now = st.myself, st.election, st.now
    timeout = st.config.node_timeout
    manual = _manual(st)
    primary = st.primary_of(me)
    auth_age = now - el.auth_time
    needed = st.size // 2 + 1
    auth_timeout = max(timeout * 2, MIN_AUTH_TIMEOUT_MS)
    auth_retry = auth_timeout * 2

    if (me.is_primary or primary is None
            or (not primary.flags & Flag.FAIL and not manual)
            or (st.config.replica_no_failover and not manual)
            or len(primary.slots) == 0):
        el.cant_reason = NONE
        return

    last_io = st.repl_last_io or primary.data_received
    data_age = now - last_io
    if data_age > timeout:
        data_age -= timeout
    factor = st.config.replica_validity_factor
    if (factor and not manual
            and data_age > st.config.repl_ping_replica_period * 1000 + timeout * factor):
        _log_cant(st, DATA_AGE)
        return

    if auth_age > auth_retry:
        el.auth_time = now + election_delay(st, 0)
        el.auth_count = 0
        el.auth_sent = False
        el.auth_rank = replica_rank(st)
        el.auth_time += el.auth_rank * rank_delay(st)
        if manual:
            el.auth_time = now
            el.auth_rank = 0
        st.log("notice", f"Start of election delayed for {el.auth_time - now} milliseconds "
                         f"(rank #{el.auth_rank}, offset {me.repl_offset}).")
        _pong_to_siblings(st, primary)
        if not manual:
            return
        auth_age = 0            # manual: no delay, the election starts right away

    if not el.auth_sent and not manual:
        rank = replica_rank(st)
        if rank > el.auth_rank:
            added = (rank - el.auth_rank) * rank_delay(st)
            el.auth_time += added
            el.auth_rank = rank
            st.log("notice", f"Replica rank updated to #{rank}, added {added} "
                             "milliseconds of delay.")

    if now < el.auth_time:
        _log_cant(st, WAITING_DELAY)
        return
    if auth_age > auth_timeout:
        _log_cant(st, EXPIRED)
        return

    if not el.auth_sent:
        st.current_epoch += 1
        el.auth_epoch = st.current_epoch
        st.log("notice", f"Starting a failover election for epoch {st.current_epoch}.")
        _request_auth(st, manual)
        el.auth_sent = True
        st.todo(save=True, fsync=True, update=True)
        return

    if el.auth_count >= needed:
        st.log("notice", "Failover election won: I'm the new master.")
        if me.config_epoch < el.auth_epoch:
            me.config_epoch = el.auth_epoch
            st.log("notice", f"configEpoch set to {me.config_epoch} after successful "
                             "failover")
        el.won_epoch = el.auth_epoch
        replace_my_primary(st)
    else:
        _log_cant(st, WAITING_VOTES)


def _log_cant(st, reason: int) -> None:
    """clusterLogCantFailover: rate limited, and quiet for a while after the FAIL."""
    el, now = st.election, st.now
    if reason == el.cant_reason and now - el.cant_logged < CANT_FAILOVER_RELOG_PERIOD_MS:
        return
    el.cant_reason = reason
    primary = st.primary_of(st.myself)
    nolog = st.config.node_timeout + CANT_FAILOVER_NOLOG_EXTRA_MS
    if primary is not None and primary.flags & Flag.FAIL and now - primary.fail_time < nolog:
        return
    el.cant_logged = now
    st.log("notice", f"Currently unable to failover: {CANT_FAILOVER_TEXT[reason]}")


def _pong_to_siblings(st, primary) -> None:
    """clusterBroadcastPong(LOCAL_SLAVES): the other replicas learn my offset."""
    for node in list(st.nodes.values()):
        if (node is st.myself or node.primary_id != primary.id or not node.is_replica
                or node.link is None or not node.link_up):
            continue
        heartbeat.send_ping(st, node.link, MsgType.PONG)


def _request_auth(st, manual: bool) -> None:
    hdr = st.header()
    if manual:
        hdr = attrs.evolve(hdr, mflags=hdr.mflags | MFLAG_FORCEACK)
    st.broadcast(Message(MsgType.AUTH_REQUEST, hdr))


def replace_my_primary(st) -> None:
    """clusterFailoverReplaceYourMaster: myself primary with the old primary's slots
    (set_node_as_master announces BecamePrimary), saved with fsync, PONG broadcast, and
    any manual failover ended (resetManualFailover)."""
    me = st.myself
    old = st.primary_of(me)
    if me.is_primary or old is None:
        return
    slotconf.set_node_as_master(st, me)
    for slot in list(old.slots):
        st.del_slot(slot)
        st.add_slot(me, slot)
    st.todo(save=True, fsync=True, update=True)
    heartbeat.broadcast_pong(st)
    mfstate.reset(st)


# -- messages ------------------------------------------------------------------------------
def on_auth_request(st, sender, msg: Message, link: int) -> None:
    """clusterSendFailoverAuthIfNeeded (sender: the requesting replica, known)."""
    if sender is None:
        return
    me = st.myself
    if me.is_replica or len(me.slots) == 0:
        return
    hdr = msg.header
    who = sender.id
    if hdr.current_epoch < st.current_epoch:
        st.log("warning", f"Failover auth denied to {who}: reqEpoch ({hdr.current_epoch}) "
                          f"< curEpoch({st.current_epoch})")
        return
    if st.last_vote_epoch == st.current_epoch:
        st.log("warning", f"Failover auth denied to {who}: already voted for epoch "
                          f"{st.current_epoch}")
        return
    primary = st.primary_of(sender) if sender.is_replica else None
    force = bool(hdr.mflags & MFLAG_FORCEACK)
    if sender.is_primary or primary is None or (not primary.flags & Flag.FAIL and not force):
        if sender.is_primary:
            why = "it is a master node"
        elif primary is None:
            why = "I don't know its master"
        else:
            why = "its master is up"
        st.log("warning", f"Failover auth denied to {who}: {why}")
        return
    timeout2 = st.config.node_timeout * 2
    if st.now - primary.voted_time < timeout2:
        left = timeout2 - (st.now - primary.voted_time)
        st.log("warning", f"Failover auth denied to {sender.id}: can't vote about this "
                          f"master before {left} milliseconds")
        return
    for slot in slotconf.slots_in(hdr.slots):
        if st.slot_unclaimed(slot):
            continue
        owner = st.owner(slot)
        if owner.config_epoch <= hdr.config_epoch:
            continue
        st.log("warning", f"Failover auth denied to {who}: slot {slot} epoch "
                          f"({owner.config_epoch}) > reqEpoch ({hdr.config_epoch})")
        return
    st.last_vote_epoch = st.current_epoch
    primary.voted_time = st.now
    st.election.grants += 1
    st.todo(save=True, fsync=True)
    ack = Message(MsgType.AUTH_ACK, st.header())
    if not st.send_to(sender, ack):
        st.send(link, ack)
    st.log("notice", f"Failover auth granted to {sender.id} for epoch {st.current_epoch}")


def on_auth_ack(st, sender, msg: Message) -> None:
    """A vote: counted if it comes from a voting primary that saw our epoch."""
    if sender is None:
        return
    if (sender.is_primary and len(sender.slots) > 0
            and msg.header.current_epoch >= st.election.auth_epoch):
        st.election.auth_count += 1
        st.todo(handle_failover=True)
