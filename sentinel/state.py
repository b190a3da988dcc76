"""The sans-I/O sentinel: what it monitors, driven by tick(now) and by what it hears.

Every entry point takes `now` (unix ms) and returns a list of effects (sentinel.effects).
The driver (sentinel.server, or the simulation) performs them and reports back:
on_link(addr, up), on_reply(addr, tag, reply) for each Command, on_hello(payload).
"""
from __future__ import annotations

import os
import random

from sentinel import failover
from sentinel.effects import Command, Connect, Disconnect, Event, Log, SaveConfig
from sentinel.info import int_field, parse_info
from sentinel.instance import (F_NONE, F_RECONF_SLAVES, F_UPDATE_CONFIG, F_WAIT_PROMOTION,
                               MASTER, SENTINEL, SLAVE, Instance, Link)
from sentinel.leader import vote

HELLO_CHANNEL = "__sentinel__:hello"
PING_PERIOD = 1000
INFO_PERIOD = 10000
HELLO_PERIOD = 2000
ASK_PERIOD = 1000
TILT_TRIGGER = 2000
TILT_PERIOD = 30000
MAX_PENDING = 100
VALID_PING = ("PONG", "LOADING", "MASTERDOWN")


def new_runid(rng: random.Random | None = None) -> str:
    if rng is None:
        return os.urandom(20).hex()
    return "".join(rng.choice("0123456789abcdef") for _ in range(40))


class SentinelState:
    def __init__(self, *, myid: str | None = None, port: int = 26379,
                 announce_ip: str | None = None, announce_port: int = 0,
                 rng: random.Random | None = None, now: int = 0):
        self.rng = rng or random.Random()
        self.myid = myid or new_runid(rng)
        self.port = port
        self.announce_ip = announce_ip
        self.announce_port = announce_port
        self.my_ip = "127.0.0.1"           # the driver may learn the local address
        self.current_epoch = 0
        self.masters: dict[str, Instance] = {}
        self.links: dict[tuple[str, int], Link] = {}
        self.tilt = False
        self.tilt_start = 0
        self.previous_time = now
        self.deny_scripts_reconfig = True
        self.resolve_hostnames = False
        self.announce_hostnames = False
        self.sentinel_user: str | None = None
        self.sentinel_pass: str | None = None
        self.loglevel = "notice"
        # what this sentinel did, for tests and the simulation's invariants
        self.started: list[tuple[str, int]] = []          # (master, epoch) tried
        self.elected: list[tuple[str, int]] = []          # (master, epoch) won
        self.promotions: list[tuple[str, int, tuple]] = []  # (master, epoch, addr)

    # -- observation hooks ---------------------------------------------------------------
    def record_failover_start(self, master: Instance) -> None:
        self.started.append((master.name, master.failover_epoch))

    def record_elected(self, master: Instance) -> None:
        self.elected.append((master.name, master.failover_epoch))

    def record_promotion(self, master: Instance, replica: Instance) -> None:
        self.promotions.append((master.name, master.failover_epoch, replica.addr))

    # -- instances and links -------------------------------------------------------------
    def link_of(self, ri: Instance) -> Link:
        link = self.links.get(ri.addr)
        if link is None:
            link = self.links[ri.addr] = Link(self._now)
        return link

    _now = 0

    def monitor(self, name: str, ip: str, port: int, quorum: int, now: int) -> Instance:
        master = Instance(MASTER, name, ip, port, now)
        master.quorum = quorum
        self.masters[name] = master
        self._now = now
        self.link_of(master)
        return master

    def add_replica(self, master: Instance, ip: str, port: int, now: int) -> Instance:
        name = f"{ip}:{port}"
        ri = master.replicas.get(name)
        if ri is None:
            ri = master.replicas[name] = Instance(SLAVE, name, ip, port, now, master)
            self._now = now
            self.link_of(ri)
        return ri

    def add_sentinel(self, master: Instance, ip: str, port: int, runid: str,
                     now: int) -> Instance:
        si = Instance(SENTINEL, runid, ip, port, now, master)
        si.runid = runid
        master.sentinels[runid] = si
        self._now = now
        self.link_of(si)
        return si

    def all_instances(self):
        for master in self.masters.values():
            yield master
            yield from master.replicas.values()
            yield from master.sentinels.values()

    def remove_master(self, name: str) -> None:
        master = self.masters.pop(name)
        master.removed = True
        for ri in (*master.replicas.values(), *master.sentinels.values()):
            ri.removed = True

    def reset_master(self, master: Instance, now: int, sentinels: bool,
                     effects: list, event: bool = False) -> None:
        for ri in master.replicas.values():
            ri.removed = True
        master.replicas = {}
        if sentinels:
            for si in master.sentinels.values():
                si.removed = True
            master.sentinels = {}
        master.flags = set()
        master.leader = None
        master.failover_state = F_NONE
        master.failover_state_change_time = 0
        master.failover_start_time = 0
        master.promoted = None
        master.runid = None
        master.role_reported = MASTER
        master.role_reported_time = now
        master.info_refresh = 0
        master.s_down_since = master.o_down_since = 0
        if event:
            effects.append(Event("warning", "+reset-master", master.describe()))

    def change_master_address(self, master: Instance, ip: str, port: int, now: int,
                              effects: list) -> None:
        """sentinelResetMasterAndChangeAddress: the replicas become the old replicas plus
        the old master, minus the new master."""
        addrs = [r.addr for r in master.replicas.values() if r.addr != (ip, port)]
        if master.addr != (ip, port):
            addrs.append(master.addr)
        self.reset_master(master, now, False, effects)
        master.ip, master.port = ip, port
        self._now = now
        self.link_of(master)
        for rip, rport in addrs:
            self.add_replica(master, rip, rport, now)
        effects.append(SaveConfig())

    def _gc_links(self, effects: list) -> None:
        used = {ri.addr for ri in self.all_instances()}
        for addr in list(self.links):
            if addr not in used:
                link = self.links.pop(addr)
                if link.connected or link.connecting:
                    effects.append(Disconnect(addr))

    def auth_for(self, addr) -> tuple[str | None, str] | None:
        for master in self.masters.values():
            if master.auth_pass and (master.addr == addr or any(
                    r.addr == addr for r in master.replicas.values())):
                return master.auth_user, master.auth_pass
        for master in self.masters.values():
            if self.sentinel_pass and any(s.addr == addr for s in master.sentinels.values()):
                return self.sentinel_user, self.sentinel_pass
        return None

    def announce(self) -> tuple[str, int]:
        return self.announce_ip or self.my_ip, self.announce_port or self.port

    # -- the timer -----------------------------------------------------------------------
    def tick(self, now: int) -> list:
        effects: list = []
        self._now = now
        delta = now - self.previous_time
        if delta < 0 or delta > TILT_TRIGGER:
            self.tilt = True
            self.tilt_start = now
            effects.append(Event("warning", "+tilt", "#tilt mode entered"))
        self.previous_time = now
        for master in list(self.masters.values()):
            self._handle(master, now, effects)
            for ri in (*master.replicas.values(), *master.sentinels.values()):
                self._handle(ri, now, effects)
            if master.failover_state == F_UPDATE_CONFIG:
                self._switch_to_promoted(master, now, effects)
        self._gc_links(effects)
        return effects

    def _handle(self, ri: Instance, now: int, effects: list) -> None:
        self._reconnect(ri, now, effects)
        self._periodic(ri, now, effects)
        if self.tilt:
            if now - self.tilt_start < TILT_PERIOD:
                return
            self.tilt = False
            effects.append(Event("warning", "-tilt", "#tilt mode exited"))
        self._check_sdown(ri, now, effects)
        if ri.kind == MASTER:
            self._check_odown(ri, now, effects)
            if failover.start_failover_if_needed(self, ri, now, effects):
                self._ask_master_state(ri, now, True, effects)
            failover.step(self, ri, now, effects)
            self._ask_master_state(ri, now, False, effects)

    def _reconnect(self, ri: Instance, now: int, effects: list) -> None:
        link = self.link_of(ri)
        if link.connected or link.connecting or ri.port == 0:
            return
        if now - link.last_reconn_time < min(ri.down_after_ms, PING_PERIOD):
            return
        link.last_reconn_time = now
        link.connecting = True
        effects.append(Connect(ri.addr, ri.kind != SENTINEL, self.auth_for(ri.addr)))

    def _send(self, ri: Instance, argv: tuple, tag, effects: list) -> None:
        self.link_of(ri).pending_commands += 1
        effects.append(Command(ri.addr, argv, tag))

    def _ping(self, ri: Instance, now: int, effects: list) -> None:
        link = self.link_of(ri)
        self._send(ri, ("PING",), ("ping", ri), effects)
        link.last_ping_time = now
        if link.act_ping_time == 0:
            link.act_ping_time = now

    def _periodic(self, ri: Instance, now: int, effects: list) -> None:
        link = self.link_of(ri)
        if not link.connected or link.pending_commands >= MAX_PENDING:
            return
        master = ri.top
        info_period = INFO_PERIOD
        if ri.kind == SLAVE and (master.flags & {"o_down", "failover_in_progress"}
                                 or ri.master_link_down_time):
            info_period = 1000
        if "s_down" in master.flags and ri.kind == MASTER:
            info_period = 1000
        ping_period = min(ri.down_after_ms, PING_PERIOD)
        if ri.kind != SENTINEL and (ri.info_refresh == 0
                                    or now - ri.info_refresh > info_period):
            if now - link.info_sent_time >= min(info_period, 1000):
                link.info_sent_time = now
                self._send(ri, (master.renamed.get("info", "INFO"),), ("info", ri), effects)
        if now - link.last_pong_time > ping_period and \
                now - link.last_ping_time > ping_period // 2:
            self._ping(ri, now, effects)
        if now - ri.last_pub_time > HELLO_PERIOD:
            self._send_hello(ri, now, effects)

    def _send_hello(self, ri: Instance, now: int, effects: list) -> None:
        master = ri.top
        mip, mport = self.current_master_addr(master)
        ip, port = self.announce()
        payload = (f"{ip},{port},{self.myid},{self.current_epoch},{master.name},"
                   f"{mip},{mport},{master.config_epoch}")
        self._send(ri, (master.renamed.get("publish", "PUBLISH"), HELLO_CHANNEL, payload),
                   ("hello", ri), effects)
        ri.last_pub_time = now

    def force_hello(self, master: Instance) -> None:
        for ri in (master, *master.replicas.values(), *master.sentinels.values()):
            ri.last_pub_time = 0

    def current_master_addr(self, master: Instance) -> tuple[str, int]:
        if ("failover_in_progress" in master.flags and master.promoted is not None
                and master.failover_state >= F_RECONF_SLAVES):
            return master.promoted.addr
        return master.addr

    # -- down states -----------------------------------------------------------------------
    def _check_sdown(self, ri: Instance, now: int, effects: list) -> None:
        link = self.link_of(ri)
        down_after = ri.down_after_ms
        elapsed = 0
        if link.act_ping_time:
            elapsed = now - link.act_ping_time
        elif not link.connected:
            elapsed = now - link.last_avail_time
        if (link.connected and link.act_ping_time
                and now - link.act_ping_time > down_after // 2
                and now - link.last_pong_time > down_after // 2):
            self._link_down(ri.addr, effects)
            effects.append(Disconnect(ri.addr))
        down = elapsed > down_after or (
            ri.kind == MASTER and ri.role_reported == SLAVE
            and now - ri.role_reported_time > down_after + 2 * INFO_PERIOD) or (
            "master_reboot" in ri.flags
            and now - ri.master_reboot_since > ri.reboot_down_after)
        if down:
            if "s_down" not in ri.flags:
                effects.append(Event("warning", "+sdown", ri.describe()))
                ri.s_down_since = now
                ri.flags.add("s_down")
        elif "s_down" in ri.flags:
            effects.append(Event("warning", "-sdown", ri.describe()))
            ri.flags -= {"s_down", "script_kill_sent"}

    def _check_odown(self, master: Instance, now: int, effects: list) -> None:
        quorum = 0
        odown = False
        if "s_down" in master.flags:
            quorum = 1 + sum(1 for si in master.sentinels.values()
                             if "master_down" in si.flags)
            odown = quorum >= master.quorum
        if odown:
            if "o_down" not in master.flags:
                effects.append(Event("warning", "+odown", master.describe()
                                     + f" #quorum {quorum}/{master.quorum}"))
                master.flags.add("o_down")
                master.o_down_since = now
        elif "o_down" in master.flags:
            effects.append(Event("warning", "-odown", master.describe()))
            master.flags.discard("o_down")

    def _ask_master_state(self, master: Instance, now: int, forced: bool,
                          effects: list) -> None:
        for si in master.sentinels.values():
            elapsed = now - si.last_master_down_reply_time
            if elapsed > ASK_PERIOD * 5:
                si.flags.discard("master_down")
                si.leader = None
            if "s_down" not in master.flags:
                continue
            link = self.link_of(si)
            if not link.connected:
                continue
            if not forced and elapsed < ASK_PERIOD:
                continue
            runid = self.myid if master.failover_state > F_NONE else "*"
            self._send(si, ("SENTINEL", "is-master-down-by-addr", master.ip,
                            str(master.port), str(self.current_epoch), runid),
                       ("down", si), effects)

    # -- what the driver reports -------------------------------------------------------------
    def on_link(self, addr, up: bool, now: int, local_ip: str | None = None) -> list:
        effects: list = []
        link = self.links.get(addr)
        if link is None:
            if up:
                effects.append(Disconnect(addr))
            return effects
        link.connecting = False
        if up:
            link.connected = True
            link.pending_commands = 0
            if local_ip and not self.announce_ip:
                self.my_ip = local_ip
            for ri in self.all_instances():
                if ri.addr == addr:
                    self._ping(ri, now, effects)    # a PING as soon as connected
                    break
        else:
            self._link_down(addr, effects)
        return effects

    def _link_down(self, addr, effects: list) -> None:
        link = self.links.get(addr)
        if link is not None:
            link.connected = False
            link.connecting = False
            link.pending_commands = 0

    def _find(self, tag_instance: Instance) -> Instance | None:
        return None if tag_instance.removed else tag_instance

    def on_reply(self, addr, tag, reply, now: int) -> list:
        effects: list = []
        link = self.links.get(addr)
        if link is not None and link.pending_commands > 0:
            link.pending_commands -= 1
        if not isinstance(tag, tuple) or len(tag) != 2:
            return effects
        what, ri = tag
        if ri.removed:
            return effects
        if what == "ping" and link is not None:
            text = _text(reply)
            word = text.split(" ", 1)[0].upper() if text is not None else None
            if word in VALID_PING:
                link.last_avail_time = now
                link.act_ping_time = 0
                if word == "PONG":
                    ri.flags.discard("master_reboot")
            link.last_pong_time = now
        elif what == "info" and not isinstance(reply, Exception) and reply is not None:
            self._refresh_info(ri, _text(reply) or "", now, effects)
        elif what == "down":
            self._down_reply(ri, reply, now)
        return effects

    def _down_reply(self, si: Instance, reply, now: int) -> None:
        if (not isinstance(reply, list) or len(reply) != 3 or not isinstance(reply[0], int)
                or not isinstance(reply[2], int)):
            return
        leader = _text(reply[1])
        if leader is None:
            return
        si.last_master_down_reply_time = now
        if reply[0] == 1:
            si.flags.add("master_down")
        else:
            si.flags.discard("master_down")
        if leader != "*":
            si.leader = leader
            si.leader_epoch = reply[2]

    # -- INFO --------------------------------------------------------------------------------
    def _refresh_info(self, ri: Instance, text: str, now: int, effects: list) -> None:
        info = parse_info(text)
        master = ri.top
        runid = info.get("run_id")
        if runid and len(runid) == 40:
            if ri.runid and ri.runid != runid:
                effects.append(Event("notice", "+reboot", ri.describe()))
                if ri.kind == MASTER and ri.reboot_down_after:
                    ri.flags.add("master_reboot")
                    ri.master_reboot_since = now
            ri.runid = runid
        if ri.kind == MASTER:
            for ip, port in info["slaves"]:
                if f"{ip}:{port}" not in ri.replicas:
                    new = self.add_replica(ri, ip, port, now)
                    effects.append(Event("notice", "+slave", new.describe()))
                    effects.append(SaveConfig())
        if "master_link_down_since_seconds" in info:
            ri.master_link_down_time = int_field(info, "master_link_down_since_seconds") * 1000
        else:
            ri.master_link_down_time = 0
        role = info.get("role")
        if role == "slave":
            host = info.get("master_host")
            port = int_field(info, "master_port")
            if host != ri.slave_master_host or port != ri.slave_master_port:
                ri.slave_conf_change_time = now
            ri.slave_master_host, ri.slave_master_port = host, port
            ri.slave_master_link_status = \
                "ok" if info.get("master_link_status") == "up" else "err"
            ri.slave_priority = int_field(info, "slave_priority",
                                          int_field(info, "replica_priority", 100))
            ri.slave_repl_offset = int_field(info, "slave_repl_offset")
            ri.replica_announced = int_field(info, "replica_announced", 1)
        ri.info_refresh = now
        if role in (MASTER, SLAVE) and role != ri.role_reported:
            ri.role_reported = role
            ri.role_reported_time = now
            if role == SLAVE:
                ri.slave_conf_change_time = now
            sign = "+" if ri.kind == role else "-"
            effects.append(Event("verbose", sign + "role-change",
                                 ri.describe() + f" new reported role is {role}"))
        if self.tilt or ri.kind != SLAVE:
            return
        if role == MASTER:
            if ("promoted" in ri.flags and "failover_in_progress" in master.flags
                    and master.failover_state == F_WAIT_PROMOTION):
                failover.promoted_reported_master(self, ri, now, effects)
            elif ("promoted" not in ri.flags and self.master_looks_sane(master, now)
                  and self._no_down_for(ri, 4 * HELLO_PERIOD, now)
                  and now - ri.role_reported_time > 4 * HELLO_PERIOD):
                failover.send_slaveof(self, ri, master.ip, master.port, effects)
                effects.append(Event("notice", "+convert-to-slave", ri.describe()))
        elif role == SLAVE:
            if ((ri.slave_master_host != master.ip or ri.slave_master_port != master.port)
                    and "failover_in_progress" not in master.flags
                    and self.master_looks_sane(master, now)
                    and self._no_down_for(ri, master.failover_timeout, now)
                    and now - ri.slave_conf_change_time > master.failover_timeout):
                failover.send_slaveof(self, ri, master.ip, master.port, effects)
                effects.append(Event("notice", "+fix-slave-config", ri.describe()))
            failover.replica_reconf_progress(ri, effects)

    def master_looks_sane(self, master: Instance, now: int) -> bool:
        return (self.link_of(master).connected and master.role_reported == MASTER
                and not master.flags & {"s_down", "o_down"}
                and master.info_refresh and now - master.info_refresh < INFO_PERIOD * 2)

    @staticmethod
    def _no_down_for(ri: Instance, ms: int, now: int) -> bool:
        since = max(ri.s_down_since if "s_down" in ri.flags else 0,
                    ri.o_down_since if "o_down" in ri.flags else 0)
        return since == 0 or now - since > ms

    # -- hello -----------------------------------------------------------------------------
    def on_hello(self, payload, now: int) -> list:
        effects: list = []
        text = _text(payload)
        parts = text.split(",") if text else []
        if len(parts) != 8:
            return effects
        ip, port_s, runid, epoch_s, mname, mip, mport_s, mepoch_s = parts
        try:
            port, epoch, mport, mepoch = int(port_s), int(epoch_s), int(mport_s), int(mepoch_s)
        except ValueError:
            return effects
        if runid == self.myid:
            return effects
        master = self.masters.get(mname)
        if master is None:
            return effects
        si = master.sentinels.get(runid)
        if si is not None and si.addr != (ip, port):
            si.ip, si.port = ip, port          # same sentinel, new address
            self.link_of(si)
            effects.append(Event("notice", "+sentinel-address-switch", si.describe()))
            effects.append(SaveConfig())
        if si is None:
            for other in list(master.sentinels.values()):
                if other.addr == (ip, port):
                    other.port = 0             # an address reused: the old one is invalid
                    effects.append(Event("notice", "+sentinel-invalid-addr",
                                         other.describe()))
            si = self.add_sentinel(master, ip, port, runid, now)
            effects.append(Event("notice", "+sentinel", si.describe()))
            effects.append(SaveConfig())
        if epoch > self.current_epoch:
            self.current_epoch = epoch
            effects.append(SaveConfig())
            effects.append(Event("warning", "+new-epoch", str(epoch), master.name))
        if master.config_epoch < mepoch:
            master.config_epoch = mepoch
            if (mip, mport) != master.addr:
                effects.append(Event("warning", "+config-update-from", si.describe()))
                effects.append(Event("warning", "+switch-master",
                                     f"{master.name} {master.ip} {master.port} {mip} {mport}"))
                old = master.addr
                self.change_master_address(master, mip, mport, now, effects)
                failover.client_reconfig(master, "observer", old, master.addr, effects)
        si.last_hello_time = now
        return effects

    def _switch_to_promoted(self, master: Instance, now: int, effects: list) -> None:
        new = master.promoted
        effects.append(Event("warning", "+switch-master",
                             f"{master.name} {master.ip} {master.port} {new.ip} {new.port}"))
        self.change_master_address(master, new.ip, new.port, now, effects)

    # -- the IS-MASTER-DOWN-BY-ADDR question ------------------------------------------------
    def is_master_down(self, ip: str, port: int, epoch: int, runid: str,
                       now: int) -> tuple[list, list]:
        effects: list = []
        master = next((m for m in self.masters.values() if m.addr == (ip, port)), None)
        down = int(master is not None and not self.tilt and "s_down" in master.flags)
        leader, leader_epoch = None, 0
        if master is not None and runid != "*":
            leader, leader_epoch = vote(self, master, epoch, runid, now, effects)
        return [down, (leader or "*").encode(), leader_epoch], effects

    def force_failover(self, master: Instance, now: int) -> list:
        effects: list = []
        failover.start_failover(self, master, now, effects)
        master.flags.add("force_failover")
        return effects


def _text(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    if isinstance(value, Exception):
        return str(value)
    return None
