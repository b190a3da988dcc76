"""Failure detection: failure reports, PFAIL -> FAIL on a majority, clearing FAIL
(clusterNodeAddFailureReport & co, markNodeAsFailingIfNeeded, clearNodeFailureIfNeeded).
Functions take the ClusterState as `st`."""
from __future__ import annotations

from gossip.config import FAIL_REPORT_VALIDITY_MULT, FAIL_UNDO_TIME_MULT
from gossip.messages import Message, MsgType
from gossip.records import Flag, NodeRecord


def add_report(st, node: NodeRecord, sender: NodeRecord) -> bool:
    """Record (or refresh) `sender`'s report that `node` fails; True if it is new."""
    new = sender.id not in node.fail_reports
    node.fail_reports[sender.id] = st.now
    return new


def cleanup_reports(st, node: NodeRecord) -> None:
    max_age = st.config.node_timeout * FAIL_REPORT_VALIDITY_MULT
    for reporter in [r for r, t in node.fail_reports.items() if st.now - t > max_age]:
        del node.fail_reports[reporter]


def del_report(st, node: NodeRecord, sender: NodeRecord) -> bool:
    """`sender` sees `node` fine again: drop its report; True if there was one."""
    if node.fail_reports.pop(sender.id, None) is None:
        return False
    cleanup_reports(st, node)
    return True


def count_reports(st, node: NodeRecord) -> int:
    """Valid failure reports (from other primaries; myself not included)."""
    cleanup_reports(st, node)
    return len(node.fail_reports)


def mark_failing_if_needed(st, node: NodeRecord) -> None:
    """PFAIL here + reports (+1 if I am a voting primary) >= size/2+1 -> FAIL, broadcast."""
    if not node.flags & Flag.PFAIL or node.flags & Flag.FAIL:
        return
    failures = count_reports(st, node) + (1 if st.is_voting_primary(st.myself) else 0)
    if failures < st.size // 2 + 1:
        return
    st.log("notice", f"Marking node {node.id} as failing (quorum reached).")
    node.flags = (node.flags & ~Flag.PFAIL) | Flag.FAIL
    node.fail_time = st.now
    send_fail(st, node.id)
    st.todo(save=True, update=True)


def send_fail(st, node_id: str) -> None:
    st.broadcast(Message(MsgType.FAIL, st.header(), node_id=node_id))


def clear_failure_if_needed(st, node: NodeRecord) -> None:
    """A FAIL node is reachable again: a replica or slotless primary is cleared at once,
    a primary with slots only once the FAIL is old (nobody failed it over)."""
    if node.is_replica or len(node.slots) == 0:
        role = "replica" if node.is_replica else "master without slots"
        st.log("notice", f"Clear FAIL state for node {node.id}: {role} is reachable again.")
        node.flags &= ~Flag.FAIL
        st.todo(save=True, update=True)
    if (node.is_primary and len(node.slots) > 0
            and st.now - node.fail_time > st.config.node_timeout * FAIL_UNDO_TIME_MULT):
        st.log("notice", f"Clear FAIL state for node {node.id}: is reachable again and "
                         "nobody is serving its slots after some time.")
        node.flags &= ~Flag.FAIL
        st.todo(save=True, update=True)


def check_timeout(st, node: NodeRecord) -> bool:
    """Cron: a pending ping (or silence) longer than node_timeout -> PFAIL.
    Returns True when the node was just flagged (the cluster state must be updated)."""
    if node.ping_sent == 0:
        return False
    delay = min(st.now - node.ping_sent, st.now - node.data_received)
    if delay <= st.config.node_timeout or node.flags & (Flag.PFAIL | Flag.FAIL):
        return False
    node.flags |= Flag.PFAIL
    if st.myself.is_primary and st.size == 1:
        mark_failing_if_needed(st, node)
    else:
        st.log("debug", f"*** NODE {node.id} possibly failing")
    return True
