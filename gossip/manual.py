"""Manual failover: CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, the MFSTART / paused
offset handshake with its primary, and the timeout (Redis's clusterCommand FAILOVER,
clusterSendMFStart, clusterHandleManualFailover, manualFailoverCheckTimeout,
resetManualFailover). Functions take the ClusterState as `st`; the state of a running
manual failover is `st.mf` (a ManualFailover, None when none runs). The record and its
reset live in gossip/mfstate.py (re-exported here), below both this module and the
election (gossip/failover.py) that ends it: imports go manual -> failover -> mfstate.

Replica side (the node the command was sent to):
    default   send MFSTART to my primary; wait for a message of my primary flagged PAUSED
              (its header's repl_offset is the offset it paused at), then until my own
              processed offset equals it: `can_start` -> the election (gossip/failover.py)
              starts at once, rank 0, FORCEACK. Aborted after MF_TIMEOUT_MS.
    FORCE     `can_start` at once (no handshake: works with the primary down; the
              election still needs a majority of the slot-owning primaries).
    TAKEOVER  no election: bump the config epoch without consensus, become primary with
              my primary's slots, broadcast PONG (works in a minority partition).
Primary side: MFSTART from one of my replicas -> PauseWrites for MF_TIMEOUT_MS x
MF_PAUSE_MULT, `paused` (every header I send then carries MFLAG_PAUSED and my offset),
PING that replica at once. Timeout, or myself ceasing to be a primary (the replica won:
UPDATE / heartbeat made me its replica) -> reset -> UnpauseWrites.

`st.offset_provider` (when set) gives myself's replication offset: a primary's
master_repl_offset, a replica's processed offset.

Where we differ from Redis: nothing in the protocol. The replica checks its offset right
after every message (Redis: in beforeSleep), so the election starts without waiting for
the next cron tick. MFSTART goes out only on a connected link (Redis also queues it on a
link still connecting); a lost MFSTART ends in the timeout, as in Redis.
"""
from __future__ import annotations

from gossip import failover as failover_mod
from gossip import heartbeat, slotconf
from gossip.effects import PauseWrites
from gossip.errors import ClusterError
from gossip.messages import MFLAG_PAUSED, Header, Message, MsgType
from gossip.mfstate import ManualFailover, reset  # noqa: F401  (re-exported: manual.reset)
from gossip.records import NodeRecord

MF_TIMEOUT_MS = 5000            # CLUSTER_MF_TIMEOUT
MF_PAUSE_MULT = 2               # CLUSTER_MF_PAUSE_MULT: the primary pauses writes 10 s
MODES = ("default", "force", "takeover")


def my_offset(st) -> int:
    """Myself's replication offset, fresh from the node when it gives one."""
    provider = getattr(st, "offset_provider", None)
    if provider is not None:
        st.myself.repl_offset = provider()
    return st.myself.repl_offset


def _wake_election(st) -> None:
    """Run the election before this event ends (CLUSTER_TODO_HANDLE_FAILOVER)."""
    st.todo(handle_failover=True)


# -- the command ------------------------------------------------------------------------
def failover(st, mode: str) -> None:
    """CLUSTER FAILOVER [FORCE|TAKEOVER] (mode: default | force | takeover)."""
    mode = mode.lower()
    if mode not in MODES:
        raise ClusterError("ERR syntax error")
    me = st.myself
    force = mode != "default"
    if me.is_primary:
        raise ClusterError("ERR You should send CLUSTER FAILOVER to a replica")
    primary = st.primary_of(me)
    if primary is None:
        raise ClusterError("ERR I'm a replica but my master is unknown to me")
    if not force and (primary.failing or primary.link is None):
        raise ClusterError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    reset(st)
    st.mf = ManualFailover(end=st.now + MF_TIMEOUT_MS, force=force,
                           takeover=mode == "takeover")
    if mode == "takeover":
        st.log("warning", "Taking over the master (user request).")
        slotconf.bump_without_consensus(st)
        take_over(st)
    elif mode == "force":
        st.log("warning", "Forced failover user request accepted.")
        st.mf.can_start = True
        _wake_election(st)
    else:
        st.log("warning", "Manual failover user request accepted.")
        st.send_to(primary, Message(MsgType.MFSTART, st.header()))


def take_over(st) -> None:
    """clusterFailoverReplaceYourMaster, as the election winner does it
    (failover.replace_my_primary: primary with my old primary's slots, saved with fsync,
    PONG broadcast), then end the manual failover."""
    failover_mod.replace_my_primary(st)
    reset(st)


# -- messages ---------------------------------------------------------------------------
def on_mfstart(st, sender: NodeRecord | None, link: int) -> None:
    """MFSTART: one of my replicas asks for a manual failover. Pause writes, then PING it
    (the header carries MFLAG_PAUSED and the offset I paused at)."""
    me = st.myself
    if sender is None or not me.is_primary or sender.primary_id != me.id:
        return
    reset(st)
    st.mf = ManualFailover(end=st.now + MF_TIMEOUT_MS, replica_id=sender.id, paused=True)
    st.emit(PauseWrites(st.now + MF_TIMEOUT_MS * MF_PAUSE_MULT))
    st.log("warning", f"Manual failover requested by replica {sender.id}.")
    my_offset(st)
    heartbeat.send_ping(st, link, MsgType.PING)


def on_primary_header(st, sender: NodeRecord, hdr: Header) -> None:
    """Any message from a known sender: if it is my primary, paused for my manual
    failover, remember the offset it paused at (once)."""
    mf, me = st.mf, st.myself
    if (mf is None or mf.replica_id is not None or not me.is_replica
            or me.primary_id != sender.id or not hdr.mflags & MFLAG_PAUSED
            or mf.primary_offset != -1):
        return
    mf.primary_offset = hdr.repl_offset
    st.log("warning", "Received replication offset for paused master manual failover: "
                      f"{mf.primary_offset}")


def after_message(st) -> None:
    """After a message was processed (Redis's beforeSleep work)."""
    if st.mf is not None:
        _progress(st)


# -- cron -------------------------------------------------------------------------------
def cron(st) -> None:
    """manualFailoverCheckTimeout + clusterHandleManualFailover, every cron tick."""
    mf = st.mf
    if mf is None:
        return
    if mf.end < st.now:
        st.log("warning", "Manual failover timed out.")
        reset(st)
        return
    _progress(st)


def _progress(st) -> None:
    mf, me = st.mf, st.myself
    if mf.replica_id is not None:
        if not me.is_primary:           # the replica won: I am its replica now
            reset(st)
        return
    if not me.is_replica:
        return
    if mf.can_start or mf.primary_offset == -1:
        return
    if my_offset(st) == mf.primary_offset:
        mf.can_start = True
        st.log("warning", "All master replication stream processed, "
                          "manual failover can start.")
        _wake_election(st)
