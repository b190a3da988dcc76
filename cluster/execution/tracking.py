"""Client-side caching (CLIENT TRACKING): which client may hold which key, and the
invalidation messages, as Redis 7.0.15 (tracking.c; clientCommand and call() for the
rest). The CLIENT subcommands are in cluster.commands.server_client. No I/O: messages are
queued on the destination client's `pushes` and its connection woken.

State: one `Tracking` per node (`node.tracking`); `client.tracking` is a `ClientTracking`
while the client tracks (CLIENT TRACKING on), else None.

1. The table maps a key name (databases are not told apart) to the ids of the clients
   that read it. A tracking client not in BCAST mode has the keys of every read-only
   command it runs remembered after the command ran, failed or not
   (trackingRememberKeys), unless OPTIN without CLIENT CACHING yes or OPTOUT with CLIENT
   CACHING no says not to. CLIENT CACHING lasts until a command that is neither a CLIENT
   subcommand nor run inside MULTI has ended (resetClient), so for a whole MULTI..EXEC.
2. Scripts: when a script calls a read-only command, its caller remembers the keys the
   script declared (EVAL/EVALSHA/FCALL and their _RO forms, which are not remembered on
   their own), right then: a later write of the script to such a key invalidates it.
3. A key that changes (a write, a lazy or active expiry, an eviction: the keyspace's
   `on_modified`) leaves the table, and each client that had it gets an invalidation,
   except a client that no longer tracks or is now in BCAST mode, and a NOLOOP client
   whose own command changed it. Ids stay in the table when a client stops tracking or
   leaves (cleaned lazily, as Redis does), so a client tracking again may still get
   invalidations of keys it read before.
4. An invalidation of the client whose command is running goes out right after that
   command's reply, after EXEC's or a script's whole reply
   (server.tracking_pending_keys); other clients get theirs at once, and so does the
   client itself for a change made before its command ran (an eviction). A blocked
   client served by another client's command (BLMOVE) gets its invalidations after the
   served reply.
5. The message (sendTrackingMessage): with REDIRECT to a client that no longer exists,
   the tracking client is flagged broken_redirect and, in RESP3 only, gets a
   `tracking-redir-broken <id>` push instead. A RESP3 destination gets the push
   `invalidate [keys]`; a RESP2 redirect destination subscribed to anything gets a
   message on `__redis__:invalidate`; anything else gets nothing.
6. FLUSHDB / FLUSHALL (the keyspace's `on_flush`, once per flush however many
   databases): every tracking client gets `invalidate` with a null (the null of the
   tracking client's protocol, also when redirected to a client of the other one), and
   the table is emptied.
7. BCAST: each prefix (the empty one when none is given) has its clients and the keys
   changed since its last broadcast, with who changed each (nobody for an expiry or an
   eviction; a script's own client inside a script). After every command (Redis: once
   per event-loop iteration) and every cron tick, each prefix, in byte order, sends its
   clients one message with its keys in byte order; a NOLOOP client's message leaves out
   the keys it changed itself and is not sent when empty.
8. tracking-table-max-keys: while the table holds more keys, random keys leave it with
   an invalidation (no broadcast), at most 100 x (over-limit passes in a row) per pass
   (trackingLimitUsedSlots); checked after every command and on every cron tick.
9. CLIENT TRACKING off, RESET and a disconnection forget the client's prefixes; a prefix
   without clients is dropped with its pending keys.

Hot path: dispatch tests `TRACKING` (the `Tracking` of every node of this process that has
a tracking client) before recording a call in `running` and calling here, and the keyspace
hooks are installed only while a client tracks or the table is not empty.
"""
from __future__ import annotations

from cluster.execution import blocking, obuf
from cluster.resp.outcomes import Await
from cluster.resp.reply import Push, Replies, encode

# The Tracking of every node in this process that has a tracking client: the
# dispatcher's one cheap test (a global read on every call), as MONITORING.
TRACKING: list = []

CHANNEL = b"__redis__:invalidate"
SCRIPT_COMMANDS = frozenset(("eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"))
_NULL = {2: b"$-1\r\n", 3: b"_\r\n"}
_SILENCED = 1 | 4           # Client.reply_mode OFF | SKIP (cluster.execution.replymode)


class ClientTracking:
    """A tracking client's CLIENT_TRACKING_* flags, redirection and BCAST prefixes."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken",
                 "prefixes")

    def __init__(self):
        self.redirect = 0           # REDIRECT's client id; 0: none
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False        # CLIENT CACHING yes (OPTIN) / no (OPTOUT) given
        self.broken = False         # the redirect client is gone (flag R)
        self.prefixes: dict[bytes, None] = {}   # BCAST prefixes

    def flags(self) -> list[bytes]:
        """CLIENT TRACKINGINFO's flags, in Redis's order."""
        out = [b"on"]
        if self.bcast:
            out.append(b"bcast")
        if self.optin:
            out.append(b"optin")
            if self.caching:
                out.append(b"caching-yes")
        if self.optout:
            out.append(b"optout")
            if self.caching:
                out.append(b"caching-no")
        if self.noloop:
            out.append(b"noloop")
        if self.broken:
            out.append(b"broken_redirect")
        return out


class Broadcast:
    """One BCAST prefix: its clients and the keys changed since its last broadcast."""

    __slots__ = ("clients", "keys")

    def __init__(self):
        self.clients: dict = {}                 # client -> None
        self.keys: dict[bytes, object] = {}     # key -> who changed it last (None: nobody)


def overlap(a: bytes, b: bytes) -> bool:
    """Two prefixes that would both match some key (stringCheckPrefix)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def prefix_collision(existing, new: list[bytes]) -> tuple[int, bytes, bool] | None:
    """checkPrefixCollisionsOrReply: the first overlap of a `new` prefix with one of the
    client's `existing` prefixes (in byte order) or with a later new one, as (index of
    the new prefix, the other prefix, whether the other is an existing one); None when
    there is none."""
    for i, prefix in enumerate(new):
        for old in sorted(existing):
            if overlap(old, prefix):
                return i, old, True
        for other in new[i + 1:]:
            if overlap(prefix, other):
                return i, other, False
    return None


class Tracking:
    """A node's tracking table, BCAST prefixes and the messages waiting for a reply."""

    def __init__(self, node):
        self.node = node
        self.table: dict[bytes, dict[int, None]] = {}   # key -> {client id: None}
        self.items = 0                  # ids in the table, all keys (tracking_total_items)
        self.prefixes: dict[bytes, Broadcast] = {}      # BCAST prefix -> its state
        self.count = 0                  # clients tracking (tracking_clients)
        self.pending: list = []         # (target client, key or None): after the reply
        self.held: list = []            # (client, bytes) for a blocked client (rule 4)
        # The call()s running, innermost last, as (client, command, argv): pushed by
        # dispatch, popped by after_call (server.fixed_time_expire, server.script_caller).
        self.running: list[tuple] = []
        self._bcast_dirty = False       # some prefix has keys to broadcast
        self._over_passes = 0           # limit passes in a row still over the limit
        self._flush_seen = -1           # last database of the flush in progress (rule 6)
        self._after_client = None       # the client whose reply the messages follow
        self._after: list = []          # its messages, as reply values
        # While an eviction round runs: its invalidations, held until it ends, so their
        # output does not count against the memory the round is freeing (Redis keeps
        # them pending until after performEvictions: no feedback loop).
        self._holding: list | None = None
        self._normal = obuf.Limits(node.config, "normal")

    # -- turning tracking on and off ------------------------------------------------------
    def enable(self, client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        """enableTracking: (re)enable with these options; CLIENT CACHING and BCAST
        prefixes given before are kept."""
        ct = client.tracking
        if ct is None:
            ct = client.tracking = ClientTracking()
            self.count += 1
            if self.count == 1:
                TRACKING.append(self)
                self._flush_seen = -1
                self._update_hooks()
        ct.broken = False
        ct.redirect = redirect
        ct.bcast = bcast
        ct.optin, ct.optout, ct.noloop = optin, optout, noloop
        if bcast:
            for prefix in prefixes or (b"",):
                state = self.prefixes.get(prefix)
                if state is None:
                    state = self.prefixes[prefix] = Broadcast()
                state.clients[client] = None
                ct.prefixes[prefix] = None

    def disable(self, client) -> None:
        """disableTracking: the client's prefixes go; its keys stay in the table."""
        ct = client.tracking
        if ct is None:
            return
        for prefix in ct.prefixes:
            state = self.prefixes.get(prefix)
            if state is not None:
                state.clients.pop(client, None)
                if not state.clients:
                    del self.prefixes[prefix]
        client.tracking = None
        self.count -= 1
        if self.count == 0:
            if self in TRACKING:
                TRACKING.remove(self)
            self.running = []           # dispatch records no more calls (no after_call)
            self._update_hooks()

    def _update_hooks(self) -> None:
        ks = self.node.keyspace
        wanted = self.count > 0 or bool(self.table)
        ks.on_modified = self._on_modified if wanted else None
        ks.on_flush = self._on_flush if wanted else None

    # -- reads ------------------------------------------------------------------------------
    def remember(self, client_id: int, keys) -> None:
        table = self.table
        for key in keys:
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if client_id not in ids:
                ids[client_id] = None
                self.items += 1

    # -- changes ----------------------------------------------------------------------------
    def _on_modified(self, db, key: bytes) -> None:
        current = self.node.current_client
        self._flush_seen = -1
        if self.prefixes:
            # who changed it: the client of the innermost call() (a script's own client
            # in a script), nobody outside one (an expiry, an eviction)
            who = self.running[-1][0] if self.running else None
            for prefix, state in self.prefixes.items():
                if key.startswith(prefix):
                    state.keys[key] = who
                    self._bcast_dirty = True
        if key in self.table:
            self.invalidate(key, current)

    def expired(self, key: bytes) -> None:
        """The change just recorded for `key` was an expiry: nobody made it (rule 7)."""
        if self.prefixes:
            for state in self.prefixes.values():
                if key in state.keys:
                    state.keys[key] = None

    def invalidate(self, key: bytes, current) -> None:
        """trackingInvalidateKey without the broadcast part: `current` is the client
        whose command runs (None: none)."""
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        clients = self.node.clients
        for cid in ids:
            target = clients.get(cid)
            if target is None:
                continue
            ct = target.tracking
            if ct is None or ct.bcast:
                continue
            if target is current:
                if ct.noloop:
                    continue
                if self.running:        # its command runs: after its reply
                    self.pending.append((target, key))
                    continue
            self.send(target, [key])
        if not self.table and not self.count:
            self._update_hooks()

    def _on_flush(self, db) -> None:
        if self._flush_seen != -1 and db.id > self._flush_seen:
            self._flush_seen = db.id        # the same FLUSHALL, a later database
            return
        self._flush_seen = db.id
        current = self.node.current_client
        if self.count:
            for client in list(self.node.clients.values()):
                if client.tracking is not None:
                    if client is current:
                        self.pending.append((client, None))
                    else:
                        self.send(client, None)
        self.table = {}
        self.items = 0
        self._update_hooks()

    # -- messages ---------------------------------------------------------------------------
    def send(self, target, payload: list[bytes] | None) -> None:
        """sendTrackingMessage: `payload` is the keys, or None for "everything"."""
        ct = target.tracking
        if ct is None:
            return
        dest = target
        redirected = False
        if ct.redirect:
            dest = self.node.clients.get(ct.redirect)
            if dest is None:
                ct.broken = True
                if target.resp == 3:
                    self._deliver(target, Push([b"tracking-redir-broken", ct.redirect]))
                return
            redirected = True
        if dest.resp == 3:
            value = Push([b"invalidate", payload])
        elif redirected and dest.flags_extra == "pubsub":
            value = Push([b"message", CHANNEL, payload])
        else:
            return
        self._deliver(dest, value, target.resp if payload is None else None)

    def hold(self) -> None:
        """Keep invalidations back until `release` (an eviction round)."""
        if self._holding is None:
            self._holding = []

    def release(self) -> None:
        held, self._holding = self._holding, None
        clients = self.node.clients
        for dest, value, null_resp in held or ():
            if clients.get(dest.id) is dest:
                self._deliver(dest, value, null_resp)

    def _deliver(self, dest, value, null_resp: int | None = None) -> None:
        if self._holding is not None:
            self._holding.append((dest, value, null_resp))
            return
        if dest is self._after_client:
            self._after.append(value)
            return
        data = encode(value, dest.resp == 3)
        if null_resp is not None and null_resp != dest.resp:
            data = data[:-len(_NULL[dest.resp])] + _NULL[null_resp]
        if dest.blocked:
            self.held.append((dest, data))
        else:
            self._queue(dest, data)

    def _queue(self, dest, data: bytes) -> None:
        """Unsolicited output for `dest`, with its class's output limits."""
        node = self.node
        if dest.flags_extra == "pubsub":
            node.pubsub.queue(dest, data)
            return
        obuf.queue_push(dest, data, self._normal)

    def _flush_held(self) -> None:
        """Messages for blocked clients: sent once the client is no longer blocked or is
        still waiting; kept while its served reply has not gone out (rule 4)."""
        held, self.held = self.held, []
        clients = self.node.clients
        waiters = blocking.WAITERS.get(self.node, {})
        for dest, data in held:
            if clients.get(dest.id) is not dest:
                continue
            if dest.blocked:
                waiter = waiters.get(dest.id)
                if waiter is None or waiter.done:
                    self.held.append((dest, data))
                    continue
            self._queue(dest, data)

    def _flush_pending(self) -> None:
        pending, self.pending = self.pending, []
        clients = self.node.clients
        for target, key in pending:
            if clients.get(target.id) is target:
                self.send(target, None if key is None else [key])

    def broadcast(self) -> None:
        """trackingBroadcastInvalidationMessages (rule 7)."""
        if not self._bcast_dirty:
            return
        self._bcast_dirty = False
        for prefix in sorted(self.prefixes):
            state = self.prefixes[prefix]
            if not state.keys:
                continue
            changed = state.keys
            state.keys = {}
            keys = sorted(changed)
            for client in list(state.clients):
                ct = client.tracking
                if ct is None:
                    continue
                if ct.noloop:
                    own = [k for k in keys if changed[k] is not client]
                    if own:
                        self.send(client, own)
                else:
                    self.send(client, keys)

    def limit(self) -> None:
        """trackingLimitUsedSlots (rule 8), as from the cron: no client's command runs."""
        max_keys = self.node.config["tracking-table-max-keys"]
        if not max_keys:
            return
        if len(self.table) <= max_keys:
            self._over_passes = 0
            return
        effort = 100 * (self._over_passes + 1)
        keys = self.node.rng.sample(list(self.table), min(effort, len(self.table)))
        for key in keys:
            self.invalidate(key, None)
            if len(self.table) <= max_keys:
                self._over_passes = 0
                return
        self._over_passes += 1

    # -- the command's end and the cron -----------------------------------------------------
    def settle(self, client, reply):
        """After `client`'s command: the messages waiting, those for `client` following
        its reply (the reply returned, as `Replies`, when there are any)."""
        self._flush_held()
        cls = reply.__class__
        # A reply value the connection encodes as it is (not a wait, nor replymode's
        # Switch, which hold a `reply`), and not to be dropped (CLIENT REPLY OFF/SKIP):
        # the messages follow it. Otherwise they are queued at once.
        if cls is not Await and not hasattr(cls, "reply") and not client.reply_mode & _SILENCED:
            self._after_client = client
        try:
            self._flush_pending()
            self.broadcast()
            if self.count:
                self.limit()
        finally:
            self._after_client = None
        if self._after:
            reply = Replies([reply, *self._after])
            self._after = []
        return reply

    def cron(self) -> None:
        """Each cron tick: the limit (serverCron), the broadcasts (beforeSleep), messages
        still waiting for a client that is no longer busy."""
        if not (self.count or self.held or self.pending):
            return
        self._flush_held()
        self._flush_pending()
        self.broadcast()
        if self.count:
            self.limit()


# -- the dispatcher's hooks (called only while TRACKING) ----------------------------------
def after_call(client, cmd, argv) -> None:
    """call()'s end: remember the keys a tracking client read (rules 1 and 2)."""
    state = client.node.tracking
    running = state.running
    for i in range(len(running) - 1, -1, -1):   # the innermost, but a busy script's
        if running[i][0] is client and running[i][1] is cmd:    # thread may interleave
            del running[i]
            break
    if not state.count:
        return
    state._flush_seen = -1
    if not cmd.is_readonly or cmd.name in SCRIPT_COMMANDS or "pubsub" in cmd.flags:
        return
    if client.scripting:                # the script's caller remembers its declared keys
        for caller, script_cmd, script_argv in reversed(running):
            if script_cmd.name in SCRIPT_COMMANDS and not caller.scripting:
                client, cmd, argv = caller, script_cmd, script_argv
                break
        else:
            return
    ct = client.tracking
    if ct is None or ct.bcast:
        return
    if (ct.optin and not ct.caching) or (ct.optout and ct.caching):
        return
    state.remember(client.id, cmd.keys(argv))


def after_command(client, cmd, reply):
    """The end of a client's command (afterCommand, resetClient, beforeSleep): CLIENT
    CACHING ends, and the waiting messages go out; returns the reply to send."""
    node = client.node
    node.current_client = None
    ct = client.tracking
    if (ct is not None and ct.caching and not client.in_multi
            and not cmd.name.startswith("client|")):
        ct.caching = False
    state = node.tracking
    if state.pending or state.held or state._bcast_dirty or (
            state.count and len(state.table) > node.config["tracking-table-max-keys"] > 0):
        return state.settle(client, reply)
    return reply
