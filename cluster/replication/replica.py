"""The replica side of replication, sans I/O: our node replicating a primary (ours or Redis).

- `ReplicaLink`: what INFO/ROLE show, the cached replid/offset (PSYNC2), the refusals
  READONLY / MASTERDOWN, and `apply`: the replication stream split into commands
  (cluster.replication.stream), each executed through the dispatcher (`node.execute`) by
  the master client, the processed offset advanced by the exact bytes of each command;
- the control: `set_master` / `unset_master` (REPLICAOF; in cluster mode the bus applies
  the role the cluster gives us with them: cluster.bus.cluster_node), and `replica_gate`
  (the dispatcher's READONLY / MASTERDOWN gate).

The trio half that connects, syncs and streams is cluster.replication.link.
"""
from __future__ import annotations

import trio

from cluster.execution.blocking import WAITERS
from cluster.keyspace.databases import MASTER_CLIENT, REPLICA
from cluster.replication.propagate import AOF, Propagator, encode_command, sink_kind
from cluster.execution.table import SCRIPT_COMMANDS
from cluster.replication.primary import writes_in
from cluster.replication.stream import LinkError, StreamParser  # noqa: F401  (re-exported)
from cluster.resp.reply import ReplyError

READONLY_ERR = "READONLY You can't write against a read only replica."
ROLE_CHANGED_ERR = ("UNBLOCKED force unblock from blocking operation, instance state "
                    "changed (master -> replica?)")
MASTERDOWN_ERR = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                  "to 'no'.")
_MUTE = Propagator()                   # no sinks: what the master's commands propagate


class ReplicaLink:
    """Our node as a replica of host:port: the state INFO and ROLE show, and the stream."""

    def __init__(self, node, host: str, port: int):
        self.node = node
        self.host = host
        self.port = port
        self.state = "connect"           # connect, connecting, handshake, sync, connected
        # The cached master (PSYNC2: start from our own history, replicationCacheMaster-
        # UsingMyself), so a promoted sibling can accept a partial resync.
        self.replid: str = node.repl.replid or "?"
        self.offset: int = node.repl.master_repl_offset
        self.read_offset = self.offset
        self.has_history = self.replid != "?"
        self.client = None               # the master client while the link is up
        self.last_io_ms = 0
        self.down_since_ms: int | None = None     # None: never was up
        self.sync_total = -1
        self.sync_read = 0
        self.parser = StreamParser()
        self.cancel_scope: trio.CancelScope | None = None
        self.stopped = False
        self.full_syncs = 0
        self.partial_syncs = 0
        self.ack_needed = False
        self.ack_offset = 0

    # -- what clients see ---------------------------------------------------------
    @property
    def link_up(self) -> bool:
        return self.state == "connected"

    def refusal(self, client, cmd, argv=None) -> str | None:
        """READONLY / MASTERDOWN for a normal client's command (processCommand order)."""
        cfg = self.node.config
        if cfg["replica-read-only"] and writes_in(client, cmd, argv):
            return READONLY_ERR
        if not self.link_up and not cfg["replica-serve-stale-data"]:
            if cmd.name in SCRIPT_COMMANDS and argv is not None:
                flags = self.node.script_flags(cmd.name, argv)   # declared flags decide
                stale = "stale" in cmd.flags if flags is None else "allow-stale" in flags
            else:
                stale = "stale" in cmd.flags and not (
                    cmd.name == "exec" and client.in_multi
                    and any("stale" not in c.flags for c, _ in client.multi_queue))
            if not stale:
                return MASTERDOWN_ERR
        return None

    def role_state(self) -> str:
        return self.state

    def role_reply(self) -> list:
        off = self.offset if self.client is not None or self.state == "connected" else -1
        return [b"slave", self.host.encode(), self.port, self.state.encode(), off]

    def info_fields(self, now_ms: int) -> list[tuple[str, object]]:
        cfg = self.node.config
        up = self.link_up
        last_io = (now_ms - self.last_io_ms) // 1000 if up else -1
        syncing = self.state == "sync"
        pairs: list[tuple[str, object]] = [
            ("role", "slave"),
            ("master_host", self.host),
            ("master_port", self.port),
            ("master_link_status", "up" if up else "down"),
            ("master_last_io_seconds_ago", last_io),
            ("master_sync_in_progress", 1 if syncing else 0),
            ("slave_read_repl_offset", self.read_offset),
            ("slave_repl_offset", self.offset),
        ]
        if syncing:
            total = max(self.sync_total, 0)
            perc = (self.sync_read * 100.0 / total) if total > 0 else 0.0
            pairs += [
                ("master_sync_total_bytes", self.sync_total),
                ("master_sync_read_bytes", self.sync_read),
                ("master_sync_left_bytes", total - self.sync_read),
                ("master_sync_perc", "%.2f" % perc),
                ("master_sync_last_io_seconds_ago", (now_ms - self.last_io_ms) // 1000),
            ]
        if not up:
            down = -1 if self.down_since_ms is None else (now_ms - self.down_since_ms) // 1000
            pairs.append(("master_link_down_since_seconds", down))
        pairs += [
            ("slave_priority", cfg["replica-priority"]),
            ("slave_read_only", 1 if cfg["replica-read-only"] else 0),
            ("replica_announced", 1 if cfg["replica-announced"] else 0),
        ]
        return pairs

    # -- the stream ---------------------------------------------------------------
    def start_stream(self, replid: str, offset: int) -> None:
        self.replid = replid
        self.offset = self.read_offset = offset
        self.has_history = True
        self.parser = StreamParser()
        self._sync_node()

    def _sync_node(self) -> None:
        repl = self.node.repl
        repl.replid = self.replid
        repl.master_repl_offset = self.offset

    def apply(self, data: bytes) -> bool:
        """Execute every whole command in `data` (plus what was buffered); True when the
        primary asked for an ACK (REPLCONF GETACK)."""
        self.read_offset += len(data)
        parser = self.parser
        parser.feed(data)
        client = self.client
        node = self.node
        ack = False
        # Our own propagation is muted while the master's commands run: the stream is
        # passed on verbatim instead (to our backlog / sub-replicas), as Redis proxies it.
        real = node.propagator
        node.propagator = _MUTE
        ks = node.keyspace
        ks.replica = MASTER_CLIENT     # the master client sees keys that are due here
        start = parser.pos
        stream_db = client.db.id if client is not None else None
        try:
            ack = self._run_commands(parser, client, node)
        finally:
            node.propagator = real
            ks.replica = REPLICA if node.repl.link is self else 0
        if real.sinks and parser.pos > start:
            raw = bytes(parser.buf[start:parser.pos])
            # The AOF also logs our own writes (replica-read-only no): it re-selects the
            # stream's database first when one of them selected another.
            aof_raw = raw
            if stream_db is not None and real.selected[AOF] != stream_db:
                aof_raw = encode_command([b"SELECT", b"%d" % stream_db]) + raw
            for sink in real.sinks:
                sink(aof_raw if sink_kind(sink) == AOF else raw)
            real.reselect()            # the next own write re-selects its database
            if client is not None:
                real.selected[AOF] = client.db.id
        self._sync_node()
        if ack:
            self.ack_needed = True
        return ack

    def _run_commands(self, parser: StreamParser, client, node) -> bool:
        execute = node.execute
        ack = False
        while True:
            got = parser.next()
            if got is None:
                break
            argv, size = got
            if argv:
                name = argv[0].lower()
                if name == b"replconf":
                    if len(argv) >= 2 and argv[1].lower() == b"getack":
                        ack = True
                        self.ack_offset = self.offset    # before this command, as Redis
                elif name != b"ping" and client is not None:
                    client.last_interaction_ms = node.set_time()
                    execute(client, argv)
                    client.commands += 1
            self.offset += size
        return ack

    def ack_command(self, offset: int | None = None) -> bytes:
        return encode_command([b"REPLCONF", b"ACK", b"%d" % (
            self.offset if offset is None else offset)])


# -- control (called from handlers and the cluster bus: sync) ------------------------
def set_master(node, host: str, port: int) -> None:
    """Become (or switch to being) a replica of host:port; the link task does the rest."""
    old = node.repl.link
    if old is not None:
        _drop(old)
    # As Redis 7.0 (replicationSetMaster), our replicas stay and the backlog is kept: they
    # may partially resync with us. They are disconnected when our history changes (a
    # +CONTINUE with a new id, or a full sync: cluster.replication.link).
    node.repl.link = ReplicaLink(node, host, port)
    _unblock_all(node)
    node.gates.turn("replica", True)     # READONLY / MASTERDOWN from now on
    node.propagator.replica = True      # our stream is the primary's, proxied (propagate)
    node.keyspace.replica = REPLICA     # due keys wait for the primary's DEL (keyspace.py)
    _remember(node, f"{host} {port}")
    node.log.notice(f"Connecting to MASTER {host}:{port}")
    node.repl.link_changed.set()


def unset_master(node) -> None:
    """REPLICAOF NO ONE: keep the data, shift the replication id (PSYNC2)."""
    repl = node.repl
    link = repl.link
    if link is None:
        return
    _drop(link)
    repl.link = None
    node.gates.turn("replica", False)
    node.propagator.replica = False
    node.keyspace.replica = 0           # a primary again: expire due keys itself
    _remember(node, "")
    offset = link.offset
    if link.has_history and link.replid != "?":
        repl.replid2 = link.replid
        repl.second_repl_offset = offset + 1
    repl.new_replid()
    repl.master_repl_offset = offset
    if repl.primary is not None:
        # As replicationUnsetMaster: our replicas learn the new id (they PSYNC with
        # replid2 and resume partially).
        repl.primary.disconnect_replicas()
    repl.link_changed.set()


def _unblock_all(node) -> None:
    """disconnectAllBlockedClients: clients blocked on keys or in WAIT get -UNBLOCKED and
    are closed (what a primary's stream brings must not serve them here). Clients a pause
    postponed are not blocked: they run again and meet -READONLY."""
    for waiter in list(WAITERS.get(node, {}).values()):
        waiter.client.close_after_reply = True
        waiter.finish(ReplyError(ROLE_CHANGED_ERR))


def _remember(node, value: str) -> None:
    """CONFIG GET / REWRITE replicaof show the current master (standalone only: cluster
    mode never writes the directive)."""
    if node.cluster is None:
        node.config.values["replicaof"] = value


def _drop(link: ReplicaLink) -> None:
    link.stopped = True
    client = link.client
    link.client = None
    if client is not None:
        client.killer = None
        link.node.remove_client(client)
    if link.cancel_scope is not None:
        link.cancel_scope.cancel()


def replica_gate(client, cmd, argv) -> str | None:
    """processCommand: a replica refuses, to every client but its primary's link, a write
    while replica-read-only is yes (-READONLY), and, while the link with its primary is
    down and replica-serve-stale-data is no, every command not flagged stale (an EXEC:
    unless its whole transaction is) (-MASTERDOWN)."""
    link = client.node.repl.link
    if link is None or client.is_master_link:
        return None
    return link.refusal(client, cmd, argv)
