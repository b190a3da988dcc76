"""Slot routing: Redis 7.0.15's getNodeByQuery + clusterRedirectClient, without I/O.

`cluster.execution.dispatch.execute` calls `route(client, cmd, argv)` for every command once the
command is known, its arity checked and the client authenticated, when the node runs in
cluster mode and the client is not our primary's replication link. `route` returns None
(serve here) or the error text; `refuse` sends that text the way processCommand does.

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

Not applicable yet (noted for later issues): sharded pub/sub (SSUBSCRIBE/SUNSUBSCRIBE/
SPUBLISH skip the key counting and obey cluster-allow-pubsubshard-when-down), EVAL/FCALL
flags declared by scripts (getCommandFlags), clients blocked on keys of a slot this node
loses (clusterRedirectBlockedClientIfNeeded: unblocked with MOVED / CLUSTERDOWN).
"""
from __future__ import annotations

from binascii import crc_hqx

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
            # The common single-key case: one slot computation (slots.keyslot inlined),
            # no allocation.
            key = argv[first]
            start = key.find(b"{")
            if start != -1:
                end = key.find(b"}", start + 1)
                if end > start + 1:
                    key = key[start + 1:end]
            slot = crc_hqx(key, 0) & 16383
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
    crc = crc_hqx
    # When the first key has a hash tag, its text up to the closing brace: a later key
    # starting with the same text has the same tag, hence the same slot (no CRC needed).
    tag_prefix = None
    for one_cmd, one_argv in requests:
        try:
            positions = one_cmd.key_positions(one_argv)
        except Exception:       # a malformed movablekeys command has no keys (Redis: 0)
            continue
        for pos in positions:
            key = one_argv[pos]
            if first_key is not None:
                if tag_prefix is None or not key.startswith(tag_prefix):
                    hashed = key                          # slots.keyslot, inlined
                    start = key.find(b"{")
                    if start != -1:
                        end = key.find(b"}", start + 1)
                        if end > start + 1:
                            hashed = key[start + 1:end]
                    if crc(hashed, 0) & 16383 != slot:
                        return CROSSSLOT
                if not open_slot:
                    continue
                if key != first_key:
                    multiple_keys = True
            else:
                first_key = hashed = key
                start = key.find(b"{")
                if start != -1:
                    end = key.find(b"}", start + 1)
                    if end > start + 1:
                        hashed = key[start + 1:end]
                        tag_prefix = key[:end + 1]
                slot = crc(hashed, 0) & 16383
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
        return _redirect(client, "ASK", slot, state.nodes.get(state.migrating[slot]))
    if importing and (client.asking or "asking" in cmd.flags):
        if multiple_keys and missing:
            return TRYAGAIN
        return None
    if (client.readonly and not _writes(cmd, requests) and me.is_replica
            and me.primary_id == owner_id):
        return None
    if owner_id != me.id:
        return _redirect(client, "MOVED", slot, state.nodes.get(owner_id))
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


def _redirect(client, kind: str, slot: int, node) -> str:
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
    from cluster.execution.dispatch import reject
    if cmd.name == "exec":
        client.reset_multi()
        client.unwatch_all()
        client.node.stats.command(cmd.name).rejected += 1
        return reject(client, None, message)
    return reject(client, cmd, message)
