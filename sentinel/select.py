"""Which replica to promote (sentinelSelectSlave)."""
from __future__ import annotations

from sentinel.instance import Instance

PING_PERIOD = 1000
INFO_PERIOD = 10000


def candidates(state, master: Instance, now: int) -> list[Instance]:
    max_master_down = 0
    if "s_down" in master.flags:
        max_master_down += now - master.s_down_since
    max_master_down += master.down_after * 10
    validity = 5 * PING_PERIOD if "s_down" in master.flags else 3 * INFO_PERIOD
    out = []
    for ri in master.replicas.values():
        link = state.links.get(ri.addr)
        if ri.flags & {"s_down", "o_down"}:
            continue
        if link is None or not link.connected:
            continue
        if now - link.last_avail_time > 5 * PING_PERIOD:
            continue
        if ri.slave_priority == 0:
            continue
        if not ri.info_refresh or now - ri.info_refresh > validity:
            continue
        if ri.master_link_down_time > max_master_down:
            continue
        out.append(ri)
    # priority ascending, replication offset descending, run id (none last)
    out.sort(key=lambda r: (r.slave_priority, -r.slave_repl_offset,
                            r.runid is None, r.runid or ""))
    return out


def select_replica(state, master: Instance, now: int) -> Instance | None:
    found = candidates(state, master, now)
    return found[0] if found else None
