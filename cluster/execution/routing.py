"""Slot routing: Redis 7.0.15's getNodeByQuery + clusterRedirectClient, without I/O.

`routing_gate` is one of the dispatcher's gates (node.py orders them): it runs for every
command once the command is known, its arity checked and the client authenticated, while
the node has a cluster bus, for everyone but our primary's replication link. `route`
returns None (serve here) or the error text; `refuse` sends that text the way
processCommand does.

The rules, in Redis's order (facts 1.3):
 1. every key of the command (of every queued command for EXEC) gives a slot; the first
    key's slot owner n: none -> CLUSTERDOWN Hash slot not served. n is myself and the slot
    is migrating -> "migrating"; else the slot is importing -> "importing";
 2. a later key in another slot -> CROSSSLOT; a later key that differs from the first one
    makes the request multi-key; with the slot open, keys are counted present or missing
    in db 0 without touching, counting, notifying or expiring (an expired key is missing
    but stays);
 3. no key at all -> served here;
 4. cluster state fail -> CLUSTERDOWN The cluster is down, unless
    cluster-allow-reads-when-down: then writes get the "only accepts read commands" variant
    and reads go on (the write test uses the command's own flags: EXEC's for EXEC);
 5. MIGRATE with the slot open is served here;
 6. migrating and a key missing: some present -> TRYAGAIN, none -> ASK to the target;
 7. importing and ASKING (or a command flagged `asking`, RESTORE-ASKING): multi-key with
    a key missing -> TRYAGAIN, else served here;
 8. READONLY connection, not a write (EXEC: no queued write), myself a replica of n ->
    served here;
 9. n is not myself -> MOVED, else served here.

Not done: sharded pub/sub commands go through the key rules above (Redis skips the key
counting for SSUBSCRIBE/SUNSUBSCRIBE/SPUBLISH and applies
cluster-allow-pubsubshard-when-down), and a script's shebang flags do not change the
command flags routing reads (getCommandFlags). Clients blocked on keys of a slot this node
loses are redirected by cluster.execution.blocking (`redirect_for`).
"""
from __future__ import annotations

from slots import keyslot

from cluster.execution.refusal import reject

CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
DOWN = "CLUSTERDOWN The cluster is down"
DOWN_RO = "CLUSTERDOWN The cluster is down and only accepts read commands"
UNBOUND = "CLUSTERDOWN Hash slot not served"


def route(client, cmd, argv: list[bytes]) -> str | None:
    """None if this node serves the command, else the redirect / error text."""
    getkeys = cmd.getkeys
    first = cmd.first_key
    if getkeys is None:
        if first <= 0:
            if cmd.name == "exec":
                return _route_exec(client, cmd)
            return None                               # keyless: served anywhere
        if cmd.last_key == first and len(argv) > first:
            # The common single-key case: one slot computation, no allocation.
            slot = keyslot(argv[first])
            state = client.node.cluster.state
            owner = state.slot_owner[slot]
            if (owner is not None and owner == state.myself.id and state.state_ok
                    and slot not in state.migrating and slot not in state.importing):
                return None
            return _decide(client, cmd, ((cmd, argv),), state)
    return _decide(client, cmd, ((cmd, argv),), client.node.cluster.state)


def _route_exec(client, cmd) -> str | None:
    if not client.in_multi:
        return None                                   # EXEC answers its own error
    return _decide(client, cmd, client.multi_queue, client.node.cluster.state)


def _decide(client, cmd, requests, state) -> str | None:
    """getNodeByQuery over (command, argv) pairs: the command itself or EXEC's queue."""
    first_key = None
    owner_id = None
    slot = 0
    migrating = importing = multiple_keys = open_slot = False
    missing = existing = 0
    db = client.node.keyspace[0]
    me = state.myself
    for one_cmd, one_argv in requests:
        try:
            positions = one_cmd.key_positions(one_argv)
        except Exception:       # a malformed movablekeys command has no keys (Redis: 0)
            continue
        for pos in positions:
            key = one_argv[pos]
            if first_key is not None:
                if keyslot(key) != slot:
                    return CROSSSLOT
                if not open_slot:
                    continue
                if key != first_key:
                    multiple_keys = True
            else:
                first_key = key
                slot = keyslot(key)
                owner_id = state.slot_owner[slot]
                if owner_id is None:
                    return UNBOUND
                if owner_id == me.id and slot in state.migrating:
                    migrating = open_slot = True
                elif slot in state.importing:
                    importing = open_slot = True
                if not open_slot:
                    continue
            # The slot is open: count the keys we have and those we miss.
            if _present(db, key):
                existing += 1
            else:
                missing += 1
    if owner_id is None:
        return None                                   # no key at all
    if not state.state_ok:
        config = client.node.config
        if not config["cluster-allow-reads-when-down"]:
            return DOWN
        if cmd.is_write:
            return DOWN_RO
    if (migrating or importing) and cmd.name == "migrate":
        return None
    if migrating and missing:
        if existing:
            return TRYAGAIN
        return redirect(client, "ASK", slot, state.nodes.get(state.migrating[slot]))
    if importing and (client.asking or "asking" in cmd.flags):
        if multiple_keys and missing:
            return TRYAGAIN
        return None
    if (client.readonly and not _writes(cmd, requests) and me.is_replica
            and me.primary_id == owner_id):
        return None
    if owner_id != me.id:
        return redirect(client, "MOVED", slot, state.nodes.get(owner_id))
    return None


def _present(db, key: bytes) -> bool:
    """lookupKeyReadWithFlags(NOTOUCH|NOSTATS|NONOTIFY|NOEXPIRE) != NULL: the key exists
    and is not logically expired; nothing is touched, counted or deleted."""
    if key not in db.data:
        return False
    when = db.expires.get(key)
    return when is None or when > db.ks.now_ms or db.ks.loading


def _writes(cmd, requests) -> bool:
    """is_write_command: the command's write flag, or for EXEC any queued write."""
    if cmd.is_write:
        return True
    return cmd.name == "exec" and any(c.is_write for c, _ in requests)


def redirect(client, kind: str, slot: int, node) -> str:
    """-MOVED / -ASK <slot> <endpoint>:<port> (getPreferredEndpoint)."""
    endpoint_type = client.node.config["cluster-preferred-endpoint-type"]
    if node is None:            # cannot happen with a consistent state; answer as Redis would
        return f"{kind} {slot} :0"
    if endpoint_type == "hostname":
        endpoint = node.hostname or "?"
    elif endpoint_type == "unknown-endpoint":
        endpoint = ""
    else:
        endpoint = node.ip
    return f"{kind} {slot} {endpoint}:{node.port}"


def refuse(client, cmd, message: str):
    """The rejection processCommand sends for a routing error: it counts as a rejected
    call and in errorstats, and flags an open MULTI (EXECABORT at EXEC); for EXEC itself
    the transaction is discarded first and the redirect is sent as is (no EXECABORT)."""
    if cmd.name == "exec":
        client.reset_multi()
        client.unwatch_all()
        client.node.stats.command(cmd.name).rejected += 1
        return reject(client, None, message)
    return reject(client, cmd, message)


def routing_gate(client, cmd, argv: list[bytes]):
    """processCommand's cluster redirection: in cluster mode, a command from anyone but
    our primary's replication link is served here only if getNodeByQuery says so; else it
    is refused with the redirect or error (`refuse`). On while the node has a cluster bus."""
    if client.is_master_link:
        return None
    refused = route(client, cmd, argv)
    if refused is None:
        return None
    return refuse(client, cmd, refused)
