"""The failover state machine of one master (sentinelFailoverStateMachine and friends)."""
from __future__ import annotations

from sentinel.effects import Command, Event, Log, RunScript, SaveConfig
from sentinel.instance import (F_NONE, F_RECONF_SLAVES, F_SELECT_SLAVE,
                               F_SEND_SLAVEOF_NOONE, F_UPDATE_CONFIG, F_WAIT_PROMOTION,
                               F_WAIT_START, Instance)
from sentinel.leader import get_leader
from sentinel.select import select_replica

ELECTION_TIMEOUT = 10000
SLAVE_RECONF_TIMEOUT = 10000


def ev(level: str, name: str, ri: Instance, extra: str = "") -> Event:
    return Event(level, name, ri.describe() + extra)


def send_slaveof(state, ri: Instance, host: str | None, port: int, effects: list) -> None:
    """MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL normal/pubsub, EXEC (rename aware)."""
    master = ri.top
    name = lambda cmd: master.renamed.get(cmd.lower(), cmd)   # noqa: E731
    target = ("NO", "ONE") if host is None else (host, str(port))
    tag = ("slaveof", ri)
    for argv in ((name("MULTI"),), (name("SLAVEOF"), *target), (name("CONFIG"), "REWRITE"),
                 (name("CLIENT"), "KILL", "TYPE", "normal"),
                 (name("CLIENT"), "KILL", "TYPE", "pubsub"), (name("EXEC"),)):
        effects.append(Command(ri.addr, argv, tag))
        state.link_of(ri).pending_commands += 1


def client_reconfig(master: Instance, role: str, old, new, effects: list) -> None:
    """client-reconfig-script <master-name> <role> <state> <from-ip> <from-port> <to-ip>
    <to-port>; the state is always "start", as in Redis."""
    if master.client_reconfig_script:
        effects.append(RunScript((master.client_reconfig_script, master.name, role, "start",
                                  old[0], str(old[1]), new[0], str(new[1]))))


def start_failover(state, master: Instance, now: int, effects: list) -> None:
    master.failover_state = F_WAIT_START
    master.flags.add("failover_in_progress")
    state.current_epoch += 1
    master.failover_epoch = state.current_epoch
    effects.append(Event("warning", "+new-epoch", str(state.current_epoch), master.name))
    effects.append(ev("warning", "+try-failover", master))
    master.failover_start_time = now + state.rng.randrange(1000)
    master.failover_state_change_time = now
    state.record_failover_start(master)


def start_failover_if_needed(state, master: Instance, now: int, effects: list) -> bool:
    if "o_down" not in master.flags or "failover_in_progress" in master.flags:
        return False
    if now - master.failover_start_time < master.failover_timeout * 2:
        return False
    start_failover(state, master, now, effects)
    return True


def abort(state, master: Instance, now: int) -> None:
    master.flags -= {"failover_in_progress", "force_failover"}
    master.failover_state = F_NONE
    master.failover_state_change_time = now
    if master.promoted is not None:
        master.promoted.flags.discard("promoted")
        master.promoted = None


def _set_state(master: Instance, st: int, now: int) -> None:
    master.failover_state = st
    master.failover_state_change_time = now


def step(state, master: Instance, now: int, effects: list) -> None:
    if "failover_in_progress" not in master.flags:
        return
    st = master.failover_state
    if st == F_WAIT_START:
        leader = get_leader(state, master, master.failover_epoch, now, effects)
        if leader != state.myid and "force_failover" not in master.flags:
            timeout = min(ELECTION_TIMEOUT, master.failover_timeout)
            if now - master.failover_start_time > timeout:
                effects.append(ev("warning", "-failover-abort-not-elected", master))
                abort(state, master, now)
            return
        effects.append(ev("warning", "+elected-leader", master))
        state.record_elected(master)
        _set_state(master, F_SELECT_SLAVE, now)
        effects.append(ev("warning", "+failover-state-select-slave", master))
    elif st == F_SELECT_SLAVE:
        replica = select_replica(state, master, now)
        if replica is None:
            effects.append(ev("warning", "-failover-abort-no-good-slave", master))
            abort(state, master, now)
            return
        effects.append(ev("warning", "+selected-slave", replica))
        replica.flags.add("promoted")
        master.promoted = replica
        _set_state(master, F_SEND_SLAVEOF_NOONE, now)
        effects.append(ev("notice", "+failover-state-send-slaveof-noone", replica))
    elif st == F_SEND_SLAVEOF_NOONE:
        replica = master.promoted
        if not state.link_of(replica).connected:
            if now - master.failover_state_change_time > master.failover_timeout:
                effects.append(ev("warning", "-failover-abort-slave-timeout", master))
                abort(state, master, now)
            return
        state.record_promotion(master, replica)
        send_slaveof(state, replica, None, 0, effects)
        effects.append(ev("notice", "+failover-state-wait-promotion", replica))
        _set_state(master, F_WAIT_PROMOTION, now)
    elif st == F_WAIT_PROMOTION:
        if now - master.failover_state_change_time > master.failover_timeout:
            effects.append(ev("warning", "-failover-abort-slave-timeout", master))
            abort(state, master, now)
    elif st == F_RECONF_SLAVES:
        reconf_next(state, master, now, effects)


def promoted_reported_master(state, replica: Instance, now: int, effects: list) -> None:
    """INFO of the promoted replica says role:master: the promotion happened."""
    master = replica.master
    master.config_epoch = master.failover_epoch
    _set_state(master, F_RECONF_SLAVES, now)
    effects.append(ev("warning", "+promoted-slave", replica))
    effects.append(ev("warning", "+failover-state-reconf-slaves", master))
    client_reconfig(master, "leader", master.addr, replica.addr, effects)
    state.force_hello(master)
    effects.append(SaveConfig())


def reconf_next(state, master: Instance, now: int, effects: list) -> None:
    promoted = master.promoted
    in_progress = sum(1 for r in master.replicas.values()
                      if r.flags & {"reconf_sent", "reconf_inprog"})
    for ri in list(master.replicas.values()):
        if in_progress >= master.parallel_syncs:
            break
        if "promoted" in ri.flags or "reconf_done" in ri.flags:
            continue
        if ("reconf_sent" in ri.flags
                and now - ri.slave_reconf_sent_time > SLAVE_RECONF_TIMEOUT):
            effects.append(ev("notice", "-slave-reconf-sent-timeout", ri))
            ri.flags.discard("reconf_sent")
            ri.flags.add("reconf_done")
            continue
        if ri.flags & {"reconf_sent", "reconf_inprog"}:
            continue
        if not state.link_of(ri).connected:
            continue
        send_slaveof(state, ri, promoted.ip, promoted.port, effects)
        ri.flags.add("reconf_sent")
        ri.slave_reconf_sent_time = now
        effects.append(ev("notice", "+slave-reconf-sent", ri))
        in_progress += 1
    detect_end(state, master, now, effects)


def detect_end(state, master: Instance, now: int, effects: list) -> None:
    promoted = master.promoted
    if promoted is None or "s_down" in promoted.flags:
        return
    timeout = now - master.failover_state_change_time > master.failover_timeout
    pending = [r for r in master.replicas.values()
               if not r.flags & {"promoted", "reconf_done", "s_down"}]
    if pending and not timeout:
        return
    if timeout:
        effects.append(ev("warning", "+failover-end-for-timeout", master))
    effects.append(ev("warning", "+failover-end", master))
    _set_state(master, F_UPDATE_CONFIG, now)
    if timeout:
        for ri in master.replicas.values():
            if ri.flags & {"promoted", "reconf_done", "reconf_sent"}:
                continue
            if not state.link_of(ri).connected:
                continue
            send_slaveof(state, ri, promoted.ip, promoted.port, effects)
            effects.append(ev("notice", "+slave-reconf-sent-be", ri))
            ri.flags.add("reconf_sent")


def replica_reconf_progress(replica: Instance, effects: list) -> None:
    """A replica's INFO during reconfiguration: sent -> in progress -> done."""
    master = replica.master
    promoted = master.promoted
    if promoted is None or "failover_in_progress" not in master.flags:
        return
    if not replica.flags & {"reconf_sent", "reconf_inprog"}:
        return
    if (replica.slave_master_host != promoted.ip
            or replica.slave_master_port != promoted.port):
        return
    if "reconf_sent" in replica.flags:
        replica.flags.discard("reconf_sent")
        replica.flags.add("reconf_inprog")
        effects.append(ev("notice", "+slave-reconf-inprog", replica))
    if "reconf_inprog" in replica.flags and replica.slave_master_link_status == "ok":
        replica.flags.discard("reconf_inprog")
        replica.flags.add("reconf_done")
        effects.append(ev("notice", "+slave-reconf-done", replica))


__all__ = ["step", "start_failover", "start_failover_if_needed", "abort", "send_slaveof",
           "promoted_reported_master", "replica_reconf_progress", "Log"]
