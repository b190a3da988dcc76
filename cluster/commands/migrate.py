"""MIGRATE and RESTORE-ASKING.

MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password |
AUTH2 username password] [KEYS key [key ...]]

The handler parses (Redis 7.0.15's order and words), looks the keys up, serializes the
ones present (DUMP format, `cluster.encoding.dump`) with their remaining TTL, and then:
  * normally returns an `Await`: the connection runs the transfer on trio
    (`cluster.bus.migrate_io.run_async`) while the node serves other clients; the keys stay
    held (`cluster.execution.inflight`) until the outcome is applied, so nobody changes or reads a
    copy that is about to leave;
  * inside MULTI/EXEC runs the transfer blocking (`run_sync`), as Redis always does: the
    transaction stays atomic and its replies are Redis's.
The outcome: each key the target acknowledged is deleted here unless COPY, and the
deletions are propagated as one `DEL k ...` (what Redis rewrites MIGRATE to).

RESTORE-ASKING is RESTORE with the `asking` flag: an importing node accepts it without a
preceding ASKING (routing step 7). MIGRATE sends it when this node runs in cluster mode.
"""
from __future__ import annotations

import trio

from cluster.execution import inflight
from cluster.commands.args import SYNTAX, parse_int
from cluster.commands.serialize import list_fill, restore_generic
from cluster.resp.outcomes import Await, Rewritten
from cluster.encoding.dump import dump
from cluster.bus.migrate_io import Job, SocketCache, port_number, run_async, run_sync
from cluster.replication.propagate import encode_command
from cluster.resp.reply import OK, ReplyError, Status
from cluster.execution.table import command

NOKEY = Status(b"NOKEY")
KEYS_NEED_EMPTY = ("ERR When using MIGRATE KEYS option, the key argument must be set to "
                   "the empty string")
_FLAGS = ["RW", "ACCESS", "DELETE"]
_KEY_SPECS = (
    {"flags": _FLAGS, "begin_search": {"type": "index", "spec": {"index": 3}},
     "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
    {"flags": _FLAGS + ["INCOMPLETE"],
     "begin_search": {"type": "keyword", "spec": {"keyword": "KEYS", "startfrom": -2}},
     "find_keys": {"type": "range", "spec": {"lastkey": -1, "keystep": 1, "limit": 0}}},
)
_SKIP = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def migrate_keys(argv: list[bytes]) -> list[int]:
    """migrateGetKeys: argv[3], or everything after KEYS when argv[3] is empty (nothing
    when it is not: MIGRATE itself reports that syntax error)."""
    argc = len(argv)
    i = 6
    while i < argc:
        word = argv[i].lower()
        if word == b"keys":
            return [] if argv[3] else list(range(i + 1, argc))
        i += _SKIP.get(word, 0) + 1
    return [3]


def _parse(argv: list[bytes]):
    copy = replace = False
    auth: list[bytes] = []
    first, count = 3, 1
    argc = len(argv)
    j = 6
    while j < argc:
        opt = argv[j].lower()
        more = argc - 1 - j
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise ReplyError(SYNTAX)
            j += 1
            auth = [argv[j]]
        elif opt == b"auth2":
            if more < 2:
                raise ReplyError(SYNTAX)
            auth = [argv[j + 1], argv[j + 2]]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise ReplyError(KEYS_NEED_EMPTY)
            first, count = j + 1, argc - j - 1
            break
        else:
            raise ReplyError(SYNTAX)
        j += 1
    timeout = parse_int(argv[5])
    db_id = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    return copy, replace, auth, argv[first:first + count], timeout, db_id


@command("migrate", -6, "write", keys=(3, 3, 1), key_specs=_KEY_SPECS, getkeys=migrate_keys,
         acl="@keyspace @dangerous", tips="nondeterministic_output", since="2.6.0",
         summary="Atomically transfer a key from a Redis instance to another one.",
         complexity="This command actually executes a DUMP+DEL in the source instance, and "
                    "a RESTORE in the target instance. See the pages of these commands for "
                    "time complexity. Also an O(N) data transfer between the two instances "
                    "is performed.")
def migrate(client, argv):
    copy, replace, auth, wanted, timeout, db_id = _parse(argv)
    node = client.node
    db = client.db
    now = node.now_ms
    fill = list_fill(client)
    compress = node.config["rdbcompression"]
    verb = b"RESTORE-ASKING" if node.cluster is not None else b"RESTORE"
    keys, restores = [], []
    for key in wanted:
        value = db.lookup_read(key)
        if value is None:
            continue
        when = db.get_expire(key)
        ttl = 0 if when is None else max(when - now, 1)
        keys.append(key)
        restores.append(encode_command([verb, key, b"%d" % ttl, dump(value, fill, compress)]
                                       + ([b"REPLACE"] if replace else [])))
    if not keys:
        return NOKEY
    job = Job(host=argv[1].decode("utf-8", "surrogateescape"), port=port_number(argv[2]),
              name=argv[1] + b":" + argv[2], db=db_id, timeout_ms=timeout, auth=auth,
              restores=restores)
    if node.migrate_sockets is None:
        node.migrate_sockets = SocketCache(node.rng)
    cache = node.migrate_sockets
    if client.in_multi:                          # inside EXEC: block, as Redis does
        return _apply(client, db, keys, run_sync(cache, job, now), copy, in_exec=True)
    migration = inflight.hold(node, keys)

    async def transfer():
        try:
            with trio.CancelScope(shield=True):  # a killed client does not cut it short
                outcome = await run_async(cache, job, node.now_ms)
            node.set_time()
            return _apply(client, db, keys, outcome, copy, in_exec=False)
        finally:
            inflight.release(migration)
    return Await(transfer)


def _apply(client, db, keys: list[bytes], outcome, copy: bool, in_exec: bool):
    """Delete the acknowledged keys (unless COPY), propagate them as DEL, reply."""
    node = client.node
    acked = [keys[i] for i in outcome.acked]
    rewrite = None
    if acked and not copy:
        for key in acked:
            db.delete(key)
        if in_exec:
            rewrite = [[b"DEL", *acked]]                 # the dispatcher propagates it
        else:
            node.propagator.feed(db.id, [b"DEL", *acked])
    if outcome.error is None:
        reply = OK
    else:
        reply = ReplyError(outcome.error)
        if not in_exec:                                  # the dispatcher counted the call
            node.stats.command("migrate").failed += 1
            node.stats.count_error(outcome.error)
    return reply if rewrite is None else Rewritten(reply, rewrite)


@command("restore-asking", -4, "write denyoom asking", keys=(1, 1, 1), key_flags="OW UPDATE",
         acl="@keyspace @dangerous", group="server", since="3.0.0", doc_flags="syscmd",
         summary="An internal command for migrating keys in a cluster",
         complexity="O(1) to create the new key and additional O(N*M) to reconstruct the "
                    "serialized value, where N is the number of Redis objects composing the "
                    "value and M their average size. For small string values the time "
                    "complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However "
                    "for sorted set values the complexity is O(N*M*log(N)) because inserting "
                    "values into sorted sets is O(log(N)).")
def restore_asking(client, argv):
    return restore_generic(client, argv)
