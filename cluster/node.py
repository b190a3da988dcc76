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
from cluster.execution.client import Client
from cluster.config.live import Config
from cluster.keyspace.databases import Database, Keyspace
from cluster.base.log import Logger
from cluster.execution.pause import writes_paused
from cluster.replication.propagate import Propagator
from cluster.keyspace.notify import EXPIRED, notify_node
from cluster.execution.pubsub import PubSub
from cluster.execution.stats import SlowLog, Stats


class Node:
    def __init__(self, config: Config | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.time, log: Logger | None = None):
        self.config = config or Config()
        self.rng = rng or random.Random()
        self.clock = clock
        self.log = log or Logger(role="M")
        self.version = __version__
        self.redis_version = REDIS_VERSION
        self.run_id = "%040x" % self.rng.getrandbits(160)
        self.keyspace = Keyspace(self.config["databases"],
                                 slot_index=self.config["cluster-enabled"],
                                 on_expired=self._on_expired)
        self.propagator = Propagator()
        self.stats = Stats()
        self.slowlog = SlowLog()
        self.clients: dict[int, Client] = {}
        self._next_client_id = 1
        self.start_ms = int(clock() * 1000)
        self.set_time(self.start_ms)
        self.last_save_s = self.start_ms // 1000
        self.requirepass = self.config["requirepass"]
        self.slowlog_threshold = self.config["slowlog-log-slower-than"]
        self.config.listeners.append(self._config_changed)
        # Hooks the I/O edge installs.
        self.request_shutdown: Callable[[], None] = lambda: None
        self.tcp_port = self.config["port"]
        # The cluster bus side (cluster.bus.cluster_node.ClusterNode) when cluster-enabled;
        # attached by the process start-up (cli.server) or a test, None in standalone.
        self.cluster = None
        # MIGRATE: keys held by migrations in flight (cluster.execution.inflight) and the cached
        # connections to targets (cluster.bus.migrate_io.SocketCache, made on first use).
        self.inflight_keys: dict = {}
        self.migrate_sockets = None
        # Replication, replica side (cluster.replication.replica.ReplicaLink) while we replicate.
        self.repl_link = None
        self.master_repl_offset = 0     # the replication stream's offset (WAIT: client.woff)
        self.pubsub = PubSub(self)      # channels, patterns, shard channels (cluster.execution.pubsub)
        self.script_busy = None         # the ScriptRun past busy-reply-threshold (scripting)
        self.aof = None                 # cluster.persistence.aof.Aof while appendonly is on
        from cluster.persistence import aof as persist_aof
        persist_aof.install(self)       # CONFIG SET appendonly yes|no

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
        now = self.keyspace.now_ms
        if (self.repl_link is None and not writes_paused(self)    # replicas wait for DELs
                and self.script_busy is None):     # a script thread owns the data
            self.keyspace.active_expire_cycle(now, budget=5000)
        self.stats.sample(now)
        if self.pubsub.slot_channels and self.cluster is not None:
            self.pubsub.check_shard_slots()    # removeChannelsInSlot for lost slots
        if self.migrate_sockets:
            self.migrate_sockets.close_idle(now)
        if self.aof is not None:
            self.aof.cron()             # flush, everysec bookkeeping, auto rewrite
        primary = getattr(self, "repl_primary", None)   # cluster.replication.primary, once used
        if primary is not None:
            primary.cron()
        timeout = self.config["timeout"]
        if timeout:
            for client in list(self.clients.values()):
                idle = now - client.last_interaction_ms
                if idle > timeout * 1000 and not client.blocked and not client.is_master_link:
                    self.log.verbose("Closing idle client")
                    client.kill()

    # -- clients ------------------------------------------------------------------
    def new_client(self, addr: str = "", laddr: str = "", fd: int = -1) -> Client:
        client = Client(self, self._next_client_id, addr, laddr, fd)
        self._next_client_id += 1
        self.clients[client.id] = client
        self.stats.connections_received += 1
        return client

    def remove_client(self, client: Client) -> None:
        client.unwatch_all()
        self.pubsub.forget_client(client)
        if client.replica_link is not None and getattr(self, "repl_primary", None):
            self.repl_primary.drop(client.replica_link)    # frees a pending snapshot too
        self.clients.pop(client.id, None)

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
        if self.repl_link is None:         # a replica's stream is its primary's, verbatim
            self.propagator.feed(db.id, [b"DEL", key])

    def _config_changed(self, name: str, value) -> None:
        if name == "requirepass":
            self.requirepass = value
        elif name == "slowlog-log-slower-than":
            self.slowlog_threshold = value
        elif name == "loglevel":
            self.log.configure(value, self.log.path)

    @property
    def pid(self) -> int:
        return os.getpid()
