"""The manual failover in progress (`st.mf`) and resetManualFailover: the piece the
election (gossip/failover.py), CLUSTER FAILOVER and its handshake (gossip/manual.py) and
replica migration (gossip/migration.py) share. Functions take the ClusterState as `st`.

Layering: this module imports no other rule module, so the ones above can all use it
(manual -> failover -> mfstate, manual -> mfstate, migration -> mfstate).
"""
from __future__ import annotations

import attrs

from gossip.effects import UnpauseWrites


@attrs.define
class ManualFailover:
    """A running manual failover, on either side (Redis's mf_* fields)."""
    end: int                            # unix ms deadline (mf_end)
    can_start: bool = False             # replica: offsets matched, or FORCE
    force: bool = False
    takeover: bool = False
    primary_offset: int = -1            # replica: my primary's paused offset, -1 unknown
    replica_id: str | None = None       # primary: the replica that asked (mf_slave)
    paused: bool = False                # primary: client writes paused for it


def can_start(st) -> bool:
    """The replica's manual failover may start its election now (mf_can_start)."""
    mf = getattr(st, "mf", None)
    return mf is not None and bool(mf.can_start)


def reset(st) -> None:
    """resetManualFailover: no manual failover any more; a primary un-pauses writes."""
    mf = st.mf
    st.mf = None
    if mf is not None and mf.paused:
        st.emit(UnpauseWrites())
