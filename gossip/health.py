"""cluster_state ok/fail (clusterUpdateState): full coverage, the minority rule, and
Redis's start-up (writable) and rejoin delays. Functions take the ClusterState as `st`."""
from __future__ import annotations

from gossip.config import MAX_REJOIN_DELAY_MS, MIN_REJOIN_DELAY_MS, WRITABLE_DELAY_MS
from gossip.records import Flag


def update_size(st) -> int:
    """size = primaries owning >= 1 slot; returns how many of them look reachable."""
    size = reachable = 0
    for node in st.nodes.values():
        if node.is_primary and len(node.slots):
            size += 1
            if not node.flags & (Flag.PFAIL | Flag.FAIL):
                reachable += 1
    st.size = size
    return reachable


def update_state(st) -> None:
    now = st.now
    reachable = update_size(st)
    if st.first_state_time == 0:
        st.first_state_time = now
    if (st.myself.is_primary and not st.state_ok
            and now - st.first_state_time < WRITABLE_DELAY_MS):
        return
    ok = True
    if st.config.require_full_coverage and (
            None in st.slot_owner
            or any(n.flags & Flag.FAIL and len(n.slots) for n in st.nodes.values())):
        ok = False
    if reachable < st.size // 2 + 1:
        ok = False
        st.among_minority_time = now
    if ok == st.state_ok:
        return
    rejoin_delay = min(max(st.config.node_timeout, MIN_REJOIN_DELAY_MS), MAX_REJOIN_DELAY_MS)
    if ok and st.myself.is_primary and now - st.among_minority_time < rejoin_delay:
        return
    st.log("notice" if ok else "warning", f"Cluster state changed: {'ok' if ok else 'fail'}")
    st.state_ok = ok
