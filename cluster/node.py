"""One node's state, without I/O: configuration, keyspace, clients, stats, propagation.

The trio edge (`cluster.server.edge`) owns sockets and time; it calls `set_time` before each
batch of commands and `cron` every 1/hz seconds.
"""
from __future__ import annotations

import os
import random
import time
from typing import Callable

from cluster import REDIS_VERSION, __version__
from cluster.acl import gate as acl_gate
from cluster.acl import startup as acl_startup
from cluster.acl.users import Acl
from cluster.base.log import Logger
from cluster.commands import registry  # noqa: F401  (registers every command in the table)
from cluster.config.live import Config
from cluster.execution import client_eviction, eviction, gates, monitor, obuf
from cluster.execution.client import Client
from cluster.execution.dispatch import execute
from cluster.execution.inflight import inflight_gate
from cluster.execution.latency import LatencyMonitor, bound_histograms
from cluster.execution.pause import Pauses, pause_gate, writes_paused
from cluster.execution.pubsub import PubSub
from cluster.execution.routing import routing_gate
from cluster.execution.stats import SlowLog, Stats
from cluster.execution.tracking import Tracking
from cluster.keyspace.databases import Database, Keyspace
from cluster.keyspace.evict import Evictor
from cluster.keyspace.notify import EXPIRED, notify_node
from cluster.persistence import aof as persist_aof
from cluster.persistence.loading import loading_gate
from cluster.persistence.state import PersistState
from cluster.replication import failover as repl_failover
from cluster.replication import primary as repl_primary
from cluster.replication import replica as repl_replica
from cluster.replication.propagate import Propagator
from cluster.replication.replica_expire import ReplicaKeysWithExpire
from cluster.replication.state import ReplState
from cluster.resp.reply import ReplyError
from cluster.scripting import lua_shebang
from cluster.scripting.functions import Libraries


def make_gates() -> gates.Gates:
    """The dispatcher's gates in Redis 7.0's processCommand order; the node and its
    subsystems turn each on while it can refuse anything (cluster.execution.gates)."""
    return gates.Gates([
        ("auth", acl_gate.auth_gate),           # the default user needs a password or is off
        ("acl", acl_gate.acl_gate),             # some user has fewer rights than all
        ("routing", routing_gate),              # a cluster bus attached (attach_cluster)
        ("client-evict", client_eviction.client_eviction_gate),   # maxmemory-clients set
        ("oom", eviction.oom_gate),             # maxmemory set: evict, or refuse denyoom
        ("min-replicas", repl_primary.min_replicas_gate),   # min-replicas-to-write > 0
        ("replica", repl_replica.replica_gate),             # replicating a primary
        ("pubsub", gates.pubsub_gate),          # a client subscribed (RESP2 context)
        ("loading", loading_gate),              # loading the dataset at start-up
        ("busy", gates.busy_gate),              # a script past busy-reply-threshold
        ("monitor", monitor.monitor_gate),      # somebody monitors: monitors keep off keys
        ("pause", pause_gate),                  # CLIENT PAUSE / manual failover
        ("multi", gates.multi_gate),            # a client in MULTI: queueing
        ("migrate", inflight_gate),             # keys of a MIGRATE in flight
    ])


class Node:
    """Every piece of a node's state is declared here, once, with why it exists; the
    subsystems keep theirs in the objects this builds (`pubsub`, `pauses`, ...)."""

    def __init__(self, config: Config | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, log: Logger | None = None):
        # -- identity, configuration, time ------------------------------------------------
        self.config = config or Config()     # the directives' live values (CONFIG GET/SET)
        self.rng = rng or random.Random()    # every random choice (ids, SPOP...): seedable
        self.clock = clock                   # wall clock, read by set_time only
        self.log = log or Logger(role="M")   # Redis-style log lines
        self.version = __version__           # our own version (INFO, HELLO)
        self.redis_version = REDIS_VERSION   # the Redis version we behave as
        self.run_id = "%040x" % self.rng.getrandbits(160)   # INFO run_id, new per process
        self.tcp_port = self.config["port"]  # the client port actually bound (port 0: chosen)
        self.start_ms = int(clock() * 1000)  # INFO uptime
        # -- data and the command path --------------------------------------------------------
        self.keyspace = Keyspace(self.config["databases"],      # the databases
                                 slot_index=self.config["cluster-enabled"],
                                 on_expired=self._on_expired)
        self.set_time(self.start_ms)
        self.keyspace.random = self.rng.random   # LFU counter increments draw from it
        # maxmemory (cluster.execution.eviction): the eviction pool and its sampling;
        # an eviction round that ran out of time (the cron goes on with it); whether the
        # current command found memory short (scripts' first write is refused then).
        self.evictor = Evictor(self.keyspace, self.rng)
        self.evicting = False
        # What cluster.execution.eviction.to_free adds to the data's running total: the
        # rest of used_memory as last measured, its part that moves (clients' waiting
        # output, requests being read), and the clients_version it was measured at.
        self.mem_beside_data = 0
        self.mem_moving = 0
        self.mem_clients_version = -1
        self.clients_version = 0             # bumped as clients connect and go
        self.pre_command_oom = False
        self.propagator = Propagator()       # the one propagation point (replicas, AOF)
        self.gates = make_gates()            # processCommand's checks, in order (dispatch)
        self.execute = execute               # the dispatcher, for code that re-runs commands
        # The ACL users (cluster.acl): made before any client, which starts as `default`.
        self.acl = Acl(self.config["acl-pubsub-default"])
        self.acl.listeners.append(self._user_changed)
        self.clients: dict[int, Client] = {}   # id -> connected client (CLIENT LIST)
        self._next_client_id = 1             # CLIENT ID of the next connection
        self.current_client: Client | None = None   # whose command runs (dispatch)
        # MONITOR clients, in the order they started; dispatch feeds them only when there
        # are any (cluster.execution.monitor). Their output limits are the normal class's.
        self.monitors: list[Client] = []
        self.monitor_limits = obuf.Limits(self.config, "normal")
        self.slowlog_threshold = self.config["slowlog-log-slower-than"]   # cached: per call
        # -- observability ----------------------------------------------------------------
        self.stats = Stats()                 # INFO counters, per-command stats
        self.slowlog = SlowLog()             # SLOWLOG entries
        # LATENCY: the event series (cluster.execution.latency); dispatch reads the two
        # cached settings on every call: latency-tracking, and the threshold in usec
        # (latency-monitor-threshold * 1000; off: a duration nothing reaches).
        self.latency = LatencyMonitor(clock)
        self.latency_tracking = self.config["latency-tracking"]
        self.latency_event_us = 1 << 62
        self._config_changed("latency-monitor-threshold",
                             self.config["latency-monitor-threshold"])
        # DEBUG switches for tests, as Redis's: SET-ACTIVE-EXPIRE, PAUSE-CRON,
        # SET-DISABLE-DENY-SCRIPTS (cluster.commands.server_debug).
        self.active_expire_enabled = True
        self.pause_cron = False
        self.script_disable_deny_script = False
        # -- subsystems -------------------------------------------------------------------
        self.pubsub = PubSub(self)           # channels, patterns, shard channels
        self.tracking = Tracking(self)       # CLIENT TRACKING: the table, BCAST prefixes
        self.pauses = Pauses(self)           # CLIENT PAUSE and the manual-failover pause
        self.script_busy = None              # the ScriptRun past busy-reply-threshold
        self.lua_engine = None               # the Lua runtime, made by the first script
        # Redis 7.0 Functions: the libraries, with their own Lua runtime (made by the first
        # FUNCTION LOAD); their codes live in keyspace.functions for snapshots.
        self.functions = Libraries(self)
        # The cluster bus side (cluster.bus.cluster_node.ClusterNode) when cluster-enabled;
        # attached by the process start-up (cli.server) or a test, None in standalone.
        self.cluster = None
        # MIGRATE: keys held by migrations in flight (cluster.execution.inflight) and the
        # cached connections to targets (cluster.bus.migrate_io).
        self.inflight_keys: dict = {}
        self.migrate_sockets = None
        # Keys a client gave a TTL on a writable replica: it expires them itself.
        self.replica_ttl_keys = ReplicaKeysWithExpire(self.rng)
        self.keyspace.on_replica_ttl = self.replica_ttl_keys.remember
        self.repl = ReplState(self.rng)      # replication: ids, offsets, both sides' state
        # FAILOVER (standalone coordinated failover): its state, advanced by cron.
        self.failover = repl_failover.Failover()
        self.persist = PersistState(self.start_ms // 1000)   # AOF, RDB saves, loading, shutdown
        # A replica's full sync replaced the dataset: the AOF restarts from it.
        self.repl.after_full_sync = lambda: persist_aof.restart(self)
        # -- hooks the I/O edge installs --------------------------------------------------
        self.request_shutdown: Callable[[], None] = lambda: None   # SHUTDOWN, signals
        self.config.listeners.append(self._config_changed)
        self._config_changed("requirepass", self.config["requirepass"])
        self._config_changed("acllog-max-len", self.config["acllog-max-len"])
        # The `user` lines or the aclfile (AclStartupError: the node must not start).
        acl_startup.load_at_startup(self.acl, self.config, self.log)
        self._user_changed("default", False)
        self.config.rewrite_users = lambda: acl_startup.rewrite_lines(self.acl, self.config)
        self._config_changed("min-replicas-to-write", self.config["min-replicas-to-write"])
        for name in ("maxmemory-policy", "lfu-log-factor", "lfu-decay-time"):
            self._config_changed(name, self.config[name])
        self.gates.turn("oom", bool(self.config["maxmemory"]))
        self.gates.turn("client-evict", bool(self.config["maxmemory-clients"]))
        eviction.Usage(self)                     # sets mem_beside_data

    def attach_cluster(self, cluster) -> None:
        """Give the node its cluster bus side: commands are routed from now on."""
        self.cluster = cluster
        self.gates.turn("routing", True)

    # -- time ---------------------------------------------------------------------
    def set_time(self, now_ms: int | None = None) -> int:
        if now_ms is None:
            now_ms = int(self.clock() * 1000)
        self.keyspace.set_time(now_ms)
        return now_ms

    @property
    def now_ms(self) -> int:
        return self.keyspace.now_ms

    def cron(self) -> None:
        """Periodic work (serverCron): active expiry, idle clients, stats sampling."""
        if self.pause_cron:                     # DEBUG PAUSE-CRON 1
            return
        self.current_client = None              # no client's command runs (tracking)
        now = self.keyspace.now_ms
        if (self.repl.link is None and not writes_paused(self)    # replicas wait for DELs
                and self.script_busy is None      # a script thread owns the data
                and self.active_expire_enabled):  # DEBUG SET-ACTIVE-EXPIRE 0
            start = time.perf_counter_ns()
            self.keyspace.active_expire_cycle(now, budget=5000)
            self.latency.add_if_needed(b"expire-cycle",
                                       (time.perf_counter_ns() - start) // 1_000_000)
        elif (self.repl.link is not None and self.script_busy is None
                and self.active_expire_enabled and self.replica_ttl_keys):
            self.replica_ttl_keys.expire(self.keyspace)     # expireSlaveKeys
        self.stats.sample(now)
        bound_histograms(self.stats.commands)   # latency-tracking dicts stay small
        if self.pubsub.slot_channels and self.cluster is not None:
            self.pubsub.check_shard_slots()    # removeChannelsInSlot for lost slots
        if self.migrate_sockets:
            self.migrate_sockets.close_idle(now)
        if self.persist.aof is not None:
            self.persist.aof.cron()             # flush, everysec bookkeeping, auto rewrite
        if self.config["maxmemory-clients"]:
            client_eviction.evict_clients(self)
        if self.config["maxmemory"]:            # clients' buffers for the gate's quick test
            eviction.Usage(self)
        if self.evicting:                       # an eviction round ran out of time
            eviction.perform_evictions(self)
        if self.failover.active:
            repl_failover.cron(self)    # before the primary side: a target caught up?
        primary = self.repl.primary     # cluster.replication.primary, once used
        if primary is not None:
            primary.cron()
        if self.cluster is not None:
            self.cluster.cron()         # a role still to apply, the advertised offset
        self.tracking.cron()            # tracking-table-max-keys, BCAST (beforeSleep)
        timeout = self.config["timeout"]
        if timeout:
            for client in list(self.clients.values()):
                idle = now - client.last_interaction_ms
                if (idle > timeout * 1000 and not client.blocked and not client.is_master_link
                        and not client.reply_mode & monitor.MONITOR):    # monitors: never
                    self.log.verbose("Closing idle client")
                    client.kill()

    # -- clients ------------------------------------------------------------------
    def take_client_id(self) -> int:
        """The next CLIENT ID (a connection refused in protected mode takes one too:
        Redis creates its client before the check)."""
        self._next_client_id += 1
        return self._next_client_id - 1

    def new_client(self, addr: str = "", laddr: str = "", fd: int = -1) -> Client:
        client = Client(self, self.take_client_id(), addr, laddr, fd)
        self.clients[client.id] = client
        self.clients_version += 1
        self.stats.connections_received += 1
        return client

    def remove_client(self, client: Client) -> None:
        client.reset_multi()
        monitor.stop(client)
        client.unwatch_all()
        self.pubsub.forget_client(client)
        self.tracking.disable(client)
        if client.replica_link is not None and self.repl.primary is not None:
            self.repl.primary.drop(client.replica_link)    # frees a pending snapshot too
        self.clients.pop(client.id, None)
        self.clients_version += 1

    def db(self, index: int) -> Database:
        return self.keyspace[index]

    def deliver_cluster_message(self, channel: bytes, payload: bytes, shard: bool) -> None:
        """A PUBLISH / SPUBLISH from the cluster bus (cluster.bus.cluster_node's hook)."""
        self.pubsub.deliver_cluster_message(channel, payload, shard)

    # -- propagation --------------------------------------------------------------
    def propagate(self, db_id: int, argv: list[bytes]) -> None:
        self.propagator.feed(db_id, argv)

    def _on_expired(self, db: Database, key: bytes) -> None:
        notify_node(self, EXPIRED, b"expired", key, db.id)
        self.tracking.expired(key)          # BCAST: an expiry is nobody's change
        if self.repl.link is None:         # a replica's stream is its primary's, verbatim
            self.propagator.feed(db.id, [b"DEL", key])

    def _config_changed(self, name: str, value) -> None:
        if name == "requirepass":
            self.acl.set_requirepass(value or "")
            self._user_changed("default", False)
        elif name == "acllog-max-len":
            self.acl.log.max_len = value
        elif name == "acl-pubsub-default":
            self.acl.pubsub_default = value
        elif name == "min-replicas-to-write":
            self.gates.turn("min-replicas", bool(value))
        elif name == "slowlog-log-slower-than":
            self.slowlog_threshold = value
        elif name == "latency-tracking":
            self.latency_tracking = value
        elif name == "latency-monitor-threshold":
            self.latency.threshold_ms = value
            self.latency_event_us = value * 1000 if value else 1 << 62
        elif name == "loglevel":
            self.log.configure(value, self.log.path)
        elif name == "appendonly":
            persist_aof.set_appendonly(self, value)     # start / stop the AOF
        elif name == "maxmemory-clients":
            self.gates.turn("client-evict", bool(value))
        elif name == "maxmemory":
            self.gates.turn("oom", bool(value))
            if value:
                eviction.maxmemory_changed(self)
        elif name == "maxmemory-policy":
            self.keyspace.lfu = "lfu" in value
            self.evictor.reset()
        elif name == "lfu-log-factor":
            self.keyspace.lfu_log_factor = value
        elif name == "lfu-decay-time":
            self.keyspace.lfu_decay_time = value

    def script_flags(self, name: str, argv: list[bytes]) -> frozenset | None:
        """The flags an EVAL*/FCALL* request's script or function declares (None: an
        EVAL without a shebang, an unknown script: the handler will tell)."""
        if name.startswith("fcall"):
            fn = self.functions.find(argv[1])
            return frozenset(fn.flags) if fn is not None else None
        if name.startswith("evalsha"):
            eng = self.lua_engine
            return eng.flags.get(argv[1].decode("latin-1").lower()) if eng else None
        try:
            return lua_shebang.parse(argv[1])[0]
        except ReplyError:
            return None

    def _user_changed(self, name: str, deleted: bool) -> None:
        """A user was changed, deleted or replaced (ACL SETUSER / DELUSER / LOAD,
        requirepass): gates follow, and clients lose what they may no longer have."""
        self.gates.turn("auth", acl_gate.auth_wanted(self.acl))
        self.gates.turn("acl", acl_gate.acl_wanted(self.acl))
        acl_gate.disconnect_clients(self, name, deleted)

    @property
    def pid(self) -> int:
        return os.getpid()
