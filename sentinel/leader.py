"""Leader election per epoch: one vote per epoch, a majority and the quorum to win."""
from __future__ import annotations

from sentinel.effects import Event, SaveConfig
from sentinel.instance import Instance


def vote(state, master: Instance, req_epoch: int, req_runid: str, now: int,
         effects: list) -> tuple[str | None, int]:
    """sentinelVoteLeader: vote for the first requester of an epoch; return our vote."""
    if req_epoch > state.current_epoch:
        state.current_epoch = req_epoch
        effects.append(SaveConfig())
        effects.append(Event("warning", "+new-epoch", str(state.current_epoch),
                             master.name))
    if master.leader_epoch < req_epoch and state.current_epoch <= req_epoch:
        master.leader = req_runid
        master.leader_epoch = state.current_epoch
        effects.append(SaveConfig())
        effects.append(Event("warning", "+vote-for-leader",
                             f"{req_runid} {master.leader_epoch}", master.name))
        if req_runid != state.myid:
            # Someone else is trying: do not start our own failover right away.
            master.failover_start_time = now + state.rng.randrange(1000)
    return master.leader, master.leader_epoch


def get_leader(state, master: Instance, epoch: int, now: int, effects: list) -> str | None:
    """sentinelGetLeader: the winner of `epoch` as far as the replies we have say."""
    counters: dict[str, int] = {}
    voters = len(master.sentinels) + 1
    for si in master.sentinels.values():
        if si.leader is not None and si.leader_epoch == epoch:
            counters[si.leader] = counters.get(si.leader, 0) + 1
    winner = max(counters, key=lambda k: (counters[k], k), default=None) if counters else None
    myvote, leader_epoch = vote(state, master, epoch, winner or state.myid, now, effects)
    if myvote is not None and leader_epoch == epoch:
        counters[myvote] = counters.get(myvote, 0) + 1
    winner = max(counters, key=lambda k: (counters[k], k), default=None) if counters else None
    if winner is None:
        return None
    votes = counters[winner]
    if votes < voters // 2 + 1 or votes < master.quorum:
        return None
    return winner
