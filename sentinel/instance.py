"""One monitored instance (master, replica or other sentinel) and the link to an address."""
from __future__ import annotations

MASTER, SLAVE, SENTINEL = "master", "slave", "sentinel"

# failover states, in order (Redis's SENTINEL_FAILOVER_STATE_*)
F_NONE, F_WAIT_START, F_SELECT_SLAVE, F_SEND_SLAVEOF_NOONE, F_WAIT_PROMOTION, \
    F_RECONF_SLAVES, F_UPDATE_CONFIG = range(7)
FAILOVER_STATE_NAMES = ["none", "wait_start", "select_slave", "send_slaveof_noone",
                        "wait_promotion", "reconf_slaves", "update_config"]

FLAG_ORDER = ["s_down", "o_down", "master", "slave", "sentinel", "disconnected",
              "master_down", "failover_in_progress", "promoted", "reconf_sent",
              "reconf_inprog", "reconf_done", "force_failover", "script_kill_sent",
              "master_reboot"]


class Link:
    """Connection state of one address (Redis's instanceLink)."""

    def __init__(self, now: int):
        self.connected = False
        self.connecting = False
        self.pending_commands = 0
        self.act_ping_time = now      # oldest ping without a reply (0: none pending)
        self.last_ping_time = 0
        self.last_pong_time = now
        self.last_avail_time = now
        self.last_reconn_time = 0
        self.info_sent_time = 0


class Instance:
    def __init__(self, kind: str, name: str, ip: str, port: int, now: int,
                 master: "Instance | None" = None):
        self.kind = kind
        self.name = name
        self.ip = ip
        self.port = port
        self.master = master
        self.runid: str | None = None
        self.flags: set[str] = set()
        self.removed = False
        self.s_down_since = 0
        self.o_down_since = 0
        self.info_refresh = 0
        self.role_reported = MASTER if kind == MASTER else SLAVE
        self.role_reported_time = now
        self.slave_conf_change_time = now
        self.last_pub_time = 0
        self.last_hello_time = 0
        self.last_master_down_reply_time = now
        # replica fields (from its INFO)
        self.master_link_down_time = 0
        self.slave_master_host: str | None = None
        self.slave_master_port = 0
        self.slave_master_link_status = "err"
        self.slave_priority = 100
        self.slave_repl_offset = 0
        self.replica_announced = 1
        self.slave_reconf_sent_time = 0
        # sentinel fields: its vote
        self.leader: str | None = None
        self.leader_epoch = 0
        # master fields
        self.quorum = 2
        self.down_after = 30000
        self.failover_timeout = 180000
        self.parallel_syncs = 1
        self.auth_pass: str | None = None
        self.auth_user: str | None = None
        self.notification_script: str | None = None
        self.client_reconfig_script: str | None = None
        self.reboot_down_after = 0
        self.master_reboot_since = 0
        self.renamed: dict[str, str] = {}
        self.replicas: dict[str, Instance] = {}
        self.sentinels: dict[str, Instance] = {}
        self.config_epoch = 0
        self.failover_epoch = 0
        self.failover_state = F_NONE
        self.failover_state_change_time = 0
        self.failover_start_time = 0
        self.promoted: Instance | None = None

    @property
    def addr(self) -> tuple[str, int]:
        return (self.ip, self.port)

    @property
    def top(self) -> "Instance":
        return self if self.kind == MASTER else self.master

    @property
    def down_after_ms(self) -> int:
        return self.top.down_after

    def describe(self) -> str:
        """The `%@` of Redis's events: type name ip port [@ master-name ip port]."""
        text = f"{self.kind} {self.name} {self.ip} {self.port}"
        if self.kind != MASTER:
            m = self.master
            text += f" @ {m.name} {m.ip} {m.port}"
        return text

    def flag_text(self, link: Link | None) -> str:
        flags = set(self.flags)
        flags.add(self.kind)
        if link is None or not link.connected:
            flags.add("disconnected")
        return ",".join(f for f in FLAG_ORDER if f in flags)


def state_map(ri: Instance, link: Link | None, now: int) -> dict:
    """SENTINEL MASTER/REPLICAS/SENTINELS fields, every value a bulk string."""
    def since(t):
        return b"%d" % (now - t if t else 0)
    out = {b"name": ri.name.encode(), b"ip": ri.ip.encode(), b"port": b"%d" % ri.port,
           b"runid": (ri.runid or "").encode(), b"flags": ri.flag_text(link).encode(),
           b"link-pending-commands": b"%d" % (link.pending_commands if link else 0),
           b"link-refcount": b"1"}
    if ri.failover_state != F_NONE:
        out[b"failover-state"] = FAILOVER_STATE_NAMES[ri.failover_state].encode()
    if link is not None:
        out[b"last-ping-sent"] = since(link.act_ping_time)
        out[b"last-ok-ping-reply"] = since(link.last_avail_time)
        out[b"last-ping-reply"] = since(link.last_pong_time)
    else:
        out[b"last-ping-sent"] = out[b"last-ok-ping-reply"] = out[b"last-ping-reply"] = b"0"
    if "s_down" in ri.flags:
        out[b"s-down-time"] = since(ri.s_down_since)
    if "o_down" in ri.flags:
        out[b"o-down-time"] = since(ri.o_down_since)
    out[b"down-after-milliseconds"] = b"%d" % ri.down_after_ms
    if ri.kind in (MASTER, SLAVE):
        out[b"info-refresh"] = since(ri.info_refresh) if ri.info_refresh else b"%d" % now
        out[b"role-reported"] = ri.role_reported.encode()
        out[b"role-reported-time"] = since(ri.role_reported_time)
    if ri.kind == MASTER:
        out[b"config-epoch"] = b"%d" % ri.config_epoch
        out[b"num-slaves"] = b"%d" % len(ri.replicas)
        out[b"num-other-sentinels"] = b"%d" % len(ri.sentinels)
        out[b"quorum"] = b"%d" % ri.quorum
        out[b"failover-timeout"] = b"%d" % ri.failover_timeout
        out[b"parallel-syncs"] = b"%d" % ri.parallel_syncs
        if ri.notification_script:
            out[b"notification-script"] = ri.notification_script.encode()
        if ri.client_reconfig_script:
            out[b"client-reconfig-script"] = ri.client_reconfig_script.encode()
    elif ri.kind == SLAVE:
        out[b"master-link-down-time"] = b"%d" % ri.master_link_down_time
        out[b"master-link-status"] = ri.slave_master_link_status.encode()
        out[b"master-host"] = (ri.slave_master_host or "?").encode()
        out[b"master-port"] = b"%d" % ri.slave_master_port
        out[b"slave-priority"] = b"%d" % ri.slave_priority
        out[b"slave-repl-offset"] = b"%d" % ri.slave_repl_offset
        out[b"replica-announced"] = b"%d" % ri.replica_announced
    else:
        out[b"last-hello-message"] = since(ri.last_hello_time)
        out[b"voted-leader"] = (ri.leader or "?").encode()
        out[b"voted-leader-epoch"] = b"%d" % ri.leader_epoch
    return out
