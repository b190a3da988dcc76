"""Per-connection client state (what CLIENT LIST shows and commands consult)."""
from __future__ import annotations

from typing import Callable


class Client:
    __slots__ = (
        "id", "node", "addr", "laddr", "fd", "name", "db", "resp", "authenticated", "user",
        "created_ms", "last_interaction_ms", "last_cmd", "lib_name", "lib_ver",
        "in_multi", "multi_queue", "multi_error", "dirty_cas", "watched",
        "no_evict", "no_touch", "readonly", "asking", "close_after_reply", "close_reason",
        "killer", "propagate_as", "blocked", "parser", "flags_extra", "is_master_link",
        "net_in", "net_out", "commands",
        "is_replica", "repl_conf", "replica_link", "handover", "woff",
        "channels", "patterns", "shard_channels", "pushes", "push_bytes", "push_soft_since",
        "wake",
    )

    def __init__(self, node, client_id: int, addr: str = "", laddr: str = "", fd: int = -1):
        self.id = client_id
        self.node = node
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.name = b""
        self.db = node.keyspace[0]
        self.resp = 2
        self.authenticated = not node.requirepass
        self.user = "default"
        self.created_ms = node.keyspace.now_ms
        self.last_interaction_ms = self.created_ms
        self.last_cmd = "NULL"
        self.lib_name = b""
        self.lib_ver = b""
        self.in_multi = False
        self.multi_queue: list[tuple] = []
        self.multi_error = False
        self.dirty_cas = False
        self.watched: list[tuple] = []        # (db, key)
        self.no_evict = False
        self.no_touch = False
        self.readonly = False
        self.asking = False
        self.close_after_reply = False
        self.close_reason = ""
        self.killer: Callable[[], None] | None = None   # set by the I/O edge
        self.propagate_as: list | None = None            # handler's rewrite of argv
        self.blocked = False
        self.parser = None
        self.flags_extra = ""
        self.is_master_link = False
        self.net_in = 0
        self.net_out = 0
        self.commands = 0
        # Replication, primary side (cluster.replication.primary): REPLCONF values, the link once
        # PSYNC attached this client as a replica, and the coroutine the connection hands
        # its socket to after PSYNC/SYNC.
        self.is_replica = False
        self.repl_conf: dict | None = None
        self.replica_link = None
        self.handover = None
        self.woff = 0         # master_repl_offset after this client's last write (WAIT)
        # Pub/Sub (cluster.execution.pubsub): subscriptions, and output queued outside a reply;
        # `wake` (set by the I/O edge while the connection is parked) makes it flush.
        self.channels: dict = {}
        self.patterns: dict = {}
        self.shard_channels: dict = {}
        self.pushes: list[bytes] = []
        self.push_bytes = 0
        self.push_soft_since = 0
        self.wake: Callable[[], None] | None = None

    def unwatch_all(self) -> None:
        for db, key in self.watched:
            clients = db.watched.get(key)
            if clients is not None:
                clients.discard(self)
                if not clients:
                    del db.watched[key]
        self.watched = []
        self.dirty_cas = False

    def reset_multi(self) -> None:
        self.in_multi = False
        self.multi_queue = []
        self.multi_error = False

    def kill(self) -> None:
        """Close this connection as soon as possible (CLIENT KILL, timeout, ...)."""
        self.close_after_reply = True
        if self.killer is not None:
            self.killer()
