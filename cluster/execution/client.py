"""Per-connection client state (what CLIENT LIST shows and commands consult)."""
from __future__ import annotations

from typing import Callable


class Client:
    """One connection's state. Every field is declared here with why it exists; the
    subsystems named in the comments own what they write."""

    __slots__ = (
        "id", "node", "addr", "laddr", "fd", "name", "db", "resp", "authenticated", "user",
        "created_ms", "last_interaction_ms", "last_cmd", "lib_name", "lib_ver",
        "in_multi", "multi_queue", "multi_error", "dirty_cas", "watched",
        "no_evict", "no_touch", "readonly", "asking", "close_after_reply", "close_reason",
        "killer", "blocked", "parser", "flags_extra", "is_master_link",
        "net_in", "net_out", "commands",
        "is_replica", "repl_conf", "replica_link", "handover", "woff",
        "channels", "patterns", "shard_channels", "pushes", "push_bytes", "push_soft_since",
        "wake", "reply_mode", "monitor_lines", "scripting", "tracking", "out_held",
        "obuf",
    )

    def __init__(self, node, client_id: int, addr: str = "", laddr: str = "", fd: int = -1):
        # -- identity (CLIENT LIST / INFO / KILL) ------------------------------------------
        self.id = client_id              # CLIENT ID: unique, increasing
        self.node = node                 # the node serving this connection
        self.addr = addr                 # peer ip:port
        self.laddr = laddr               # local ip:port
        self.fd = fd                     # the socket's file descriptor (CLIENT LIST fd=)
        self.name = b""                  # CLIENT SETNAME
        self.lib_name = b""              # CLIENT SETINFO LIB-NAME
        self.lib_ver = b""               # CLIENT SETINFO LIB-VER
        self.user = node.acl.default     # the ACL user (cluster.acl); None: no limits
                                         # (the primary's link, the AOF loader)
        self.created_ms = node.keyspace.now_ms          # age=
        self.last_interaction_ms = self.created_ms      # idle=, the timeout directive
        self.last_cmd = "NULL"           # cmd= of the last command run
        self.net_in = 0                  # tot-net-in
        self.net_out = 0                 # tot-net-out
        self.commands = 0                # tot-cmds
        # -- protocol and session --------------------------------------------------------
        self.db = node.keyspace[0]       # SELECTed database
        self.resp = 2                    # HELLO's protocol version
        # AUTH done (the auth gate): a new connection is the default user, logged in
        # when that user is on and needs no password (createClient).
        self.authenticated = self.user.nopass and self.user.enabled
        self.parser = None               # the request parser (the I/O edge's)
        self.flags_extra = ""            # "pubsub" while subscribed (the Pub/Sub gate)
        self.no_evict = False            # CLIENT NO-EVICT
        self.no_touch = False            # CLIENT NO-TOUCH: reads leave the LRU alone
        self.readonly = False            # READONLY: reads served by a cluster replica
        self.asking = False              # ASKING: the next command may use an importing slot
        # -- transactions (cluster.commands.transactions, the MULTI gate) -------------------
        self.in_multi = False            # between MULTI and EXEC/DISCARD (and during EXEC)
        self.multi_queue: list[tuple] = []   # queued (command, argv)
        self.multi_error = False         # a command was refused while queueing: EXECABORT
        self.dirty_cas = False           # a WATCHed key changed: EXEC fails
        self.watched: list[tuple] = []   # (db, key) WATCHed
        # -- the connection's life (the I/O edge) -------------------------------------------
        self.close_after_reply = False   # QUIT, CLIENT KILL, limits: close once flushed
        self.close_reason = ""           # what the log says when closing
        self.killer: Callable[[], None] | None = None   # closes the connection now
        self.blocked = False             # waiting in BLPOP/WAIT/...: no idle timeout
        # -- replication ------------------------------------------------------------------
        self.is_master_link = False      # this is our primary's link: never refused/routed
        self.is_replica = False          # a replica (REPLCONF / PSYNC seen)
        self.repl_conf: dict | None = None   # REPLCONF values (listening-port, capa...)
        self.replica_link = None         # the primary side's link once PSYNC attached us
        self.handover = None             # coroutine the connection hands its socket to
        self.woff = 0                    # master_repl_offset after our last write (WAIT)
        # -- Pub/Sub (cluster.execution.pubsub) -------------------------------------------
        self.channels: dict = {}         # SUBSCRIBEd channels
        self.patterns: dict = {}         # PSUBSCRIBEd patterns
        self.shard_channels: dict = {}   # SSUBSCRIBEd shard channels
        self.pushes: list[bytes] = []    # messages queued outside a reply
        self.push_bytes = 0              # their size (client-output-buffer-limit pubsub)
        self.obuf = bytearray()          # replies the socket has not taken yet (the edge)
        self.out_held = 0                # their size (used_memory, client eviction)
        self.push_soft_since = 0         # when the soft limit was first passed
        self.wake: Callable[[], None] | None = None   # makes a parked connection flush
        self.scripting = False           # the fake client Lua scripts and functions call with
        # -- CLIENT REPLY and MONITOR (cluster.execution.replymode, .monitor) ----------------
        self.reply_mode = 0              # OFF / SKIP_NEXT / SKIP / MONITOR bits; 0: answer fast
        self.monitor_lines: list | None = None   # a monitor's own lines while its command runs
        # -- CLIENT TRACKING (cluster.execution.tracking) ------------------------------------
        self.tracking = None             # its ClientTracking while tracking is on

    def unwatch_all(self) -> None:
        for db, key in self.watched:
            clients = db.watched.get(key)
            if clients is not None:
                clients.discard(self)
                if not clients:
                    del db.watched[key]
        self.watched = []
        self.dirty_cas = False

    def begin_multi(self) -> None:
        """MULTI: commands are queued from now on (the MULTI gate)."""
        self.in_multi = True
        self.multi_queue = []
        self.multi_error = False
        self.node.gates.hold("multi")

    def reset_multi(self) -> None:
        """The transaction is over (EXEC, DISCARD, a refused EXEC, RESET, a close)."""
        if self.in_multi:
            self.node.gates.release("multi")
        self.in_multi = False
        self.multi_queue = []
        self.multi_error = False

    def kill(self) -> None:
        """Close this connection as soon as possible (CLIENT KILL, timeout, ...)."""
        self.close_after_reply = True
        if self.killer is not None:
            self.killer()
            # Gone from CLIENT LIST at once, as Redis frees it before the next command;
            # the connection's own task finishes the clean-up (node.remove_client). A
            # blocked client stays until its wait is undone (its keys' queues), so no
            # pushed value goes to a client that is no longer there.
            if not self.blocked:
                self.node.clients.pop(self.id, None)
                self.node.clients_version += 1
