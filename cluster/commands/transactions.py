"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Queueing happens in `cluster.execution.dispatch.execute` (a client in MULTI gets QUEUED; a command
refused at queue time sets `client.multi_error`). WATCH registers the client in
`Database.watched`; any change to a watched key (`Database.modified`, `flush`,
`Keyspace.swap`) sets `client.dirty_cas`, and EXEC then replies with a null array.

Expiry, as in Redis 7.0: a watched key that expires after WATCH breaks the transaction
(even if nothing deleted it yet); a key that was already expired when WATCHed does not,
since logically it did not change. WATCH settles that case by expiring such a key at once.
"""
from __future__ import annotations

from cluster.acl.check import check_command
from cluster.acl.gate import log_denial
from cluster.execution import dispatch
from cluster.resp.outcomes import Block
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError
from cluster.execution.table import TABLE, command

_EXECABORT = "EXECABORT Transaction discarded because of previous errors."
# EXEC checks each queued command's ACL again: the rules may have changed since MULTI.
_ACL_CHANGED = ("NOPERM ACLs rules changed between the moment the transaction was "
                "accumulated and the EXEC call. This command is no longer allowed for the "
                "following reason: %s")
_ACL_REASONS = {"command": "no permission to execute the command or subcommand",
                "key": "no permission to touch the specified keys",
                "channel": "no permission to access one of the channels used as arguments"}


def _discard(client) -> None:
    client.reset_multi()
    client.unwatch_all()


def _watched_key_expired(client) -> bool:
    """True if a WATCHed key's TTL has passed since WATCH (isWatchedKeyExpired)."""
    for db, key in client.watched:
        when = db.expires.get(key)
        if when is not None and when <= db.ks.now_ms and not db.ks.loading:
            return True
    return False


@command("multi", 1, "noscript loading stale fast allow_busy", acl="@transaction",
         group="transactions", summary="Mark the start of a transaction block",
         since="1.2.0", complexity="O(1)")
def multi(client, argv):
    if client.in_multi:
        raise ReplyError("ERR MULTI calls can not be nested")
    client.begin_multi()
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", acl="@transaction",
         group="transactions", summary="Execute all commands issued after MULTI",
         since="1.2.0", complexity="Depends on commands in the transaction")
def exec_(client, argv):
    if not client.in_multi:
        raise ReplyError("ERR EXEC without MULTI")
    if _watched_key_expired(client):
        client.dirty_cas = True
    if client.multi_error:
        _discard(client)
        raise ReplyError(_EXECABORT)
    if client.dirty_cas:
        _discard(client)
        return NULL_ARRAY
    queue = client.multi_queue
    client.unwatch_all()
    propagator = client.node.propagator
    replies = []
    propagator.begin_transaction()
    try:
        user = client.user
        for cmd, cmd_argv in queue:
            denied = None if user is None else check_command(user, cmd, cmd_argv)
            if denied is not None:
                log_denial(client, denied, "multi")
                replies.append(ReplyError(_ACL_CHANGED % _ACL_REASONS[denied.reason]))
                continue
            reply = dispatch.call(client, cmd, cmd_argv)
            if reply.__class__ is Block:
                reply = reply.reply         # never block inside EXEC
            replies.append(reply)
    finally:
        propagator.end_transaction()
        client.woff = client.node.repl.master_repl_offset      # the MULTI/EXEC block (WAIT)
        _discard(client)
    return replies


@command("discard", 1, "noscript loading stale fast allow_busy", acl="@transaction",
         group="transactions", summary="Discard all commands issued after MULTI",
         since="2.0.0", complexity="O(N), when N is the number of queued commands")
def discard(client, argv):
    if not client.in_multi:
        raise ReplyError("ERR DISCARD without MULTI")
    _discard(client)
    return OK


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1),
         key_flags="RO", acl="@transaction", group="transactions",
         summary="Watch the given keys to determine execution of the MULTI/EXEC block",
         since="2.2.0", complexity="O(1) for every key.")
def watch(client, argv):
    if client.in_multi:
        raise ReplyError("ERR WATCH inside MULTI is not allowed")
    db = client.db
    for key in argv[1:]:
        watchers = db.watched.get(key)
        if watchers is not None and client in watchers:
            continue
        db.peek(key)        # an already expired key goes now: its expiry is no change
        if watchers is None:
            watchers = db.watched[key] = set()
        watchers.add(client)
        client.watched.append((db, key))
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", acl="@transaction",
         group="transactions", summary="Forget about all watched keys", since="2.2.0",
         complexity="O(1)")
def unwatch(client, argv):
    client.unwatch_all()
    return OK


# Argument docs for COMMAND DOCS.
TABLE["watch"].arguments = (
    {"name": "key", "type": "key", "key_spec_index": 0, "flags": ("multiple",)},)
