"""The glue between a Node and its cluster bus (`node.cluster`, None in standalone).

It builds the bus state from the directives and nodes.conf, hands CLUSTER commands'
effects to the transport, saves nodes.conf, and formats CLUSTER NODES. The trio edge
(cluster.server.edge) starts the transport in its nursery.

Failover glue: the state's `offset_provider` is `ClusterNode.offset` (a replica's processed
offset, a primary's master_repl_offset; it also records the replication link's last I/O
as `repl_last_io`); PauseWrites / UnpauseWrites pause client writes as CLIENT PAUSE WRITE
does (cluster.execution.pause, purpose "failover").

Role glue: the state announces every change of myself's role as an effect, BecamePrimary()
or FollowPrimary(primary_id) (gossip.effects); the node starts from `state.role_effect()`
(the role nodes.conf gave). `ClusterNode.role` keeps the last one and `follow` applies it to
replication (cluster.replication.replica): a new primary stops replicating, keeps its data
and shifts its replid; a replica replicates its primary at the address the bus knows.
"""
from __future__ import annotations

import os

from cluster.config.bind import bind_addresses
from cluster.execution import pause
from cluster.replication.replica import set_master, unset_master
from gossip import nodes_conf
from gossip.effects import (BecamePrimary, DeleteSlotKeys, FollowPrimary, Log, PauseWrites,
                            SaveConfig, UnpauseWrites)
from gossip.records import Flag, NodeRecord
from gossip.state import ClusterConfig, ClusterState
from gossip.transport import BusTransport, now_ms

MAX_PENDING = 10_000     # effects kept while no transport runs (unit tests)
# Effects for the data side that need no socket: performed at once even with no transport.
_NO_SOCKET = (DeleteSlotKeys, PauseWrites, UnpauseWrites, BecamePrimary, FollowPrimary)

# Directives the state's ClusterConfig mirrors (CONFIG SET takes effect at once).
_CONFIG_FIELDS = {
    "cluster-node-timeout": "node_timeout",
    "cluster-require-full-coverage": "require_full_coverage",
    "cluster-announce-ip": "announce_ip",
    "cluster-announce-port": "announce_port",
    "cluster-announce-bus-port": "announce_bus_port",
    "cluster-announce-hostname": "announce_hostname",
    "cluster-replica-no-failover": "replica_no_failover",
    "cluster-replica-validity-factor": "replica_validity_factor",
    "repl-ping-replica-period": "repl_ping_replica_period",
    "cluster-migration-barrier": "migration_barrier",
    "cluster-allow-replica-migration": "allow_replica_migration",
}


class ClusterStartError(Exception):
    """nodes.conf cannot be used: the node logs `message` and exits with status 1."""


def bus_port(config) -> int:
    return config["cluster-port"] or config["port"] + 10000


def cluster_config(config) -> ClusterConfig:
    return ClusterConfig(
        port=config["port"], cport=bus_port(config),
        node_timeout=config["cluster-node-timeout"],
        require_full_coverage=config["cluster-require-full-coverage"],
        announce_ip=config["cluster-announce-ip"] or "",
        announce_port=config["cluster-announce-port"],
        announce_bus_port=config["cluster-announce-bus-port"],
        announce_hostname=config["cluster-announce-hostname"] or "",
        replica_no_failover=config["cluster-replica-no-failover"],
        replica_validity_factor=config["cluster-replica-validity-factor"],
        repl_ping_replica_period=config["repl-ping-replica-period"],
        migration_barrier=config["cluster-migration-barrier"],
        allow_replica_migration=config["cluster-allow-replica-migration"])


class ClusterNode:
    def __init__(self, node, state: ClusterState, conf_file=None):
        self.node = node
        self.state = state
        self.conf_file = conf_file
        self.transport: BusTransport | None = None
        self._pending: list = []
        # Myself's role as the last role effect said (at first: the role nodes.conf gave;
        # None: a replica whose primary is unknown yet).
        self.role: BecamePrimary | FollowPrimary | None = state.role_effect()
        # `role` is in place: replication follows it (see `follow`).
        self.role_applied = False
        state.offset_provider = self.offset
        node.attach_cluster(self)
        node.config.listeners.append(self._config_changed)

    # -- effects -------------------------------------------------------------------------
    def submit(self, effects) -> None:
        """Effects of a CLUSTER command: the transport performs them right after."""
        if not effects:
            return
        if self.transport is not None:
            self.transport.submit(effects)
            return
        for effect in effects:      # no bus running (unit tests): do what needs no socket
            if isinstance(effect, Log):
                self.log(effect.level, effect.text)
            elif isinstance(effect, SaveConfig):
                self.save_config(effect.fsync)
            elif isinstance(effect, _NO_SOCKET):
                self.deliver(effect)
            elif len(self._pending) < MAX_PENDING:
                self._pending.append(effect)

    def log(self, level: str, text: str) -> None:
        self.node.log.at(level, text)

    def deliver(self, effect) -> None:
        """The bus's effects on the data side: a PUBLISH to deliver, lost slots whose keys
        go (delKeysInSlot: db 0, not propagated, as Redis 7.0), the manual failover's
        write pause, or myself's new role."""
        cls = effect.__class__
        if cls is BecamePrimary or cls is FollowPrimary:
            self.role = effect
            self.role_applied = False
            self.follow()
            return
        if cls is DeleteSlotKeys:
            self.delete_slot_keys(effect.slots)
            return
        if cls is PauseWrites:          # manual failover, primary side
            pause.pause(self.node, "failover", pause.WRITE, effect.until_ms)
            return
        if cls is UnpauseWrites:
            pause.unpause(self.node, "failover")
            return
        self.node.deliver_cluster_message(effect.channel, effect.payload, effect.shard)

    def offset(self) -> int:
        """state.offset_provider: my replication offset (a replica's processed offset,
        a primary's master_repl_offset); notes when my primary last sent data."""
        node = self.node
        link = node.repl.link
        if link is None:
            return node.repl.master_repl_offset
        self.state.repl_last_io = link.last_io_ms
        return link.offset

    # -- the role ------------------------------------------------------------------------
    def primary_address(self, primary_id: str) -> tuple[str, int] | None:
        """(ip, port) of `primary_id` as the bus knows it; None while unknown."""
        primary = self.state.nodes.get(primary_id)
        if primary is None or not primary.ip or not primary.port:
            return None
        return primary.ip, primary.port

    def follow(self) -> None:
        """Replicate as `role` says (clusterSetMaster -> replicationSetMaster, or
        replicationUnsetMaster for a new primary: it keeps its data and shifts its replid).
        Waits for the replication link's supervisor (it starts after loading: the dump's
        replid must be known first); a replica whose primary has no known address yet
        keeps its current link. `cron` calls it again until the role is in place, and
        while we replicate so that a new address of our primary is followed
        (nodeUpdateAddressIfNeeded)."""
        node = self.node
        if not node.repl.supervising:
            return
        role = self.role
        if role.__class__ is BecamePrimary:
            unset_master(node)          # nothing when not replicating
            self.role_applied = True
        elif role.__class__ is FollowPrimary:
            target = self.primary_address(role.primary_id)
            if target is not None:
                link = node.repl.link
                if link is None or (link.host, link.port) != target:
                    set_master(node, *target)
                self.role_applied = True
        self.state.myself.repl_offset = self.my_offset()     # what heartbeats advertise

    def my_offset(self) -> int:
        """The replication offset I advertise: a replica's processed offset, a primary's
        master_repl_offset."""
        link = self.node.repl.link
        return link.offset if link is not None else self.node.repl.master_repl_offset

    def cron(self) -> None:
        """Every cron tick (node.cron): a role not in place yet (the link supervisor was
        not running, the primary's address was unknown) or a replica's primary that moved
        is followed now; the advertised offset is refreshed."""
        if not self.role_applied or self.role.__class__ is FollowPrimary:
            self.follow()
        elif self.node.repl.supervising:
            self.state.myself.repl_offset = self.my_offset()

    def delete_slot_keys(self, slots) -> int:
        db = self.node.keyspace[0]
        deleted = 0
        for slot in slots:
            keys = list(db.keys_in_slot(slot))
            for key in keys:
                deleted += db.delete(key)
        if deleted:
            self.log("verbose", f"Deleted {deleted} keys of {len(slots)} slots this node "
                               "no longer owns")
        return deleted

    def make_transport(self) -> BusTransport:
        config = self.node.config
        secret = config["cluster-bus-secret"]
        transport = BusTransport(
            self.state, bind=bind_addresses(config["bind"]), cport=bus_port(config),
            save_config=self.save_config, log=self.log, deliver=self.deliver,
            secret=secret.encode("utf-8", "surrogateescape") if secret else None,
            sendbuf_limit=config["cluster-link-sendbuf-limit"],
            backlog=config["tcp-backlog"], clock=now_ms)
        pending, self._pending = self._pending, []
        transport.submit(pending)
        self.transport = transport
        return transport

    # -- nodes.conf ----------------------------------------------------------------------
    def config_text(self) -> str:
        st = self.state
        return nodes_conf.format_config(list(st.nodes.values()), st.myself.id,
                                        st.current_epoch, st.last_vote_epoch,
                                        st.migrating, st.importing)

    def save_config(self, fsync: bool) -> None:
        if self.conf_file is not None:
            self.conf_file.save(self.config_text(), fsync)

    def save_config_now(self) -> str | None:
        """CLUSTER SAVECONFIG: None, or the error text (strerror)."""
        try:
            self.save_config(True)
        except OSError as err:
            return err.strerror or str(err)
        return None

    def close(self) -> None:
        if self.conf_file is not None:
            self.conf_file.close()

    # -- views ---------------------------------------------------------------------------
    def node_line(self, record: NodeRecord) -> str:
        return nodes_conf.node_line(record, myself_id=self.state.myself.id,
                                    nodes=self.state.nodes)

    def nodes_text(self) -> str:
        st = self.state
        return nodes_conf.format_nodes(list(st.nodes.values()), st.myself.id,
                                       self.node.now_ms, st.migrating, st.importing)

    @property
    def links(self):
        return self.transport if self.transport is not None else _NO_LINKS

    @property
    def buffer_limit_exceeded(self) -> int:
        return self.transport.buffer_limit_exceeded if self.transport is not None else 0

    def repl_offset(self) -> int:
        return self.state.myself.repl_offset

    def _config_changed(self, name: str, value) -> None:
        field = _CONFIG_FIELDS.get(name)
        if field is None:
            return
        if field in ("announce_ip", "announce_hostname"):
            value = value or ""
        setattr(self.state.config, field, value)
        me = self.state.myself
        if field == "replica_no_failover":
            me.flags = me.flags | Flag.NOFAILOVER if value else me.flags & ~Flag.NOFAILOVER
        elif field == "announce_ip" and value:
            me.ip = value
        elif field == "announce_hostname":
            me.hostname = value
        elif field == "announce_port":
            me.port = value or self.state.config.port
        elif field == "announce_bus_port":
            me.cport = value or self.state.config.cport


class _NoLinks:
    @staticmethod
    def inbound_of(node_id):
        return None

    @staticmethod
    def describe(link_id):
        return None


_NO_LINKS = _NoLinks()


def attach(node, path: str | None = None, rng=None) -> ClusterNode:
    """Give `node` its cluster side. With `path`, nodes.conf is locked and loaded (or
    created); without, the state lives in memory only (unit tests)."""
    config = cluster_config(node.config)
    rng = rng or node.rng
    now = now_ms() if path is not None else node.now_ms
    if path is None:
        return ClusterNode(node, ClusterState(config, rng, now))
    path = os.path.abspath(path)
    conf_file = nodes_conf.NodesConfFile(path)
    try:
        conf_file.lock()
        saved = conf_file.load()
    except nodes_conf.NodesConfLockError as err:
        raise ClusterStartError(str(err)) from None
    except nodes_conf.NodesConfError as err:
        conf_file.close()
        raise ClusterStartError(err.report(path)) from None
    if saved is None:
        state = ClusterState(config, rng, now)
        node.log.notice(f"No cluster configuration found, I'm {state.myself.id}")
        cluster = ClusterNode(node, state, conf_file)
        try:
            cluster.save_config(True)
        except OSError as err:
            conf_file.close()
            raise ClusterStartError(f"Cluster: Unable to save the cluster config file "
                                    f"{path}: {err.strerror}") from None
        return cluster
    try:
        state = ClusterState.from_saved(
            config, rng, now, saved.myself_id, saved.records, saved.current_epoch,
            saved.last_vote_epoch, migrating=saved.migrating, importing=saved.importing)
    except ValueError as err:
        conf_file.close()
        raise ClusterStartError(f'Unrecoverable error: corrupted cluster config file '
                                f'"{path}": {err}') from None
    node.log.notice(f"Node configuration loaded, I'm {state.myself.id}")
    return ClusterNode(node, state, conf_file)
