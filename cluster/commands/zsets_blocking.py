"""BZPOPMIN, BZPOPMAX, BZMPOP, and CLIENT UNBLOCK (the way out of any key wait).

An immediate pop propagates as ZPOPMIN/ZPOPMAX key (BZMPOP: with the popped count), as
Redis 7.0 does; a served blocked client the same (cluster.execution.blocking).
"""
from __future__ import annotations

from cluster.execution import blocking
from cluster.commands import server_client  # noqa: F401  (the CLIENT container UNBLOCK joins)
from cluster.commands.args import string2ll
from cluster.commands.lists_move import mpop_specs, numkeys_getkeys, parse_mpop
from cluster.commands.zsets import zset_of
from cluster.keyspace.notify import ZSET, elements_removed
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, ReplyError
from cluster.execution.table import command, subcommand
from cluster.keyspace.zset import ZSet

_MINMAX = {b"min": False, b"max": True}


def _pop(client, key: bytes, zs: ZSet, from_max: bool, count: int) -> list:
    popped = [zs.pop(from_max) for _ in range(min(count, len(zs)))]
    elements_removed(client, ZSET, b"zpopmax" if from_max else b"zpopmin", key, zs)
    return popped


def _bzpop(client, argv, from_max: bool):
    timeout = blocking.parse_timeout(argv[-1], client.node.now_ms)
    keys = argv[1:-1]
    name = b"ZPOPMAX" if from_max else b"ZPOPMIN"
    db = client.db
    for key in keys:
        zs = zset_of(db.lookup_write(key))
        if zs is not None:
            member, score = _pop(client, key, zs, from_max, 1)[0]
            return Rewritten([key, member, score], [[name, key]])
    if client.in_multi:
        return NULL_ARRAY

    def serve(waiter, key):
        c = waiter.client
        member, score = _pop(c, key, c.db.lookup_write(key), from_max, 1)[0]
        blocking.propagate(waiter, [name, key])
        return [key, member, score]
    return blocking.block(client, keys, ZSet, serve, timeout, NULL_ARRAY)


_BZPOP_SPEC = dict(keys=(1, -2, 1), acl="@sortedset", group="sorted-set", since="5.0.0",
                   key_flags="RW ACCESS DELETE",
                   complexity="O(log(N)) with N being the number of elements in the sorted "
                              "set.")


@command("bzpopmin", -3, "write noscript blocking fast",
         summary="Remove and return the member with the lowest score from one or more "
                 "sorted sets, or block until one is available", **_BZPOP_SPEC)
def bzpopmin(client, argv):
    return _bzpop(client, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast",
         summary="Remove and return the member with the highest score from one or more "
                 "sorted sets, or block until one is available", **_BZPOP_SPEC)
def bzpopmax(client, argv):
    return _bzpop(client, argv, True)


@command("bzmpop", -5, "write blocking", acl="@sortedset", group="sorted-set",
         since="7.0.0", key_specs=mpop_specs(2), getkeys=numkeys_getkeys(2),
         summary="Remove and return members with scores in a sorted set or block until one "
                 "is available",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of "
                    "elements popped.")
def bzmpop(client, argv):
    timeout = blocking.parse_timeout(argv[1], client.node.now_ms)
    keys, from_max, count = parse_mpop(argv, 2, _MINMAX)
    name = b"ZPOPMAX" if from_max else b"ZPOPMIN"
    db = client.db
    for key in keys:
        zs = zset_of(db.lookup_write(key))
        if zs is not None:
            popped = _pop(client, key, zs, from_max, count)
            return Rewritten([key, [[m, s] for m, s in popped]],
                             [[name, key, b"%d" % len(popped)]])
    if client.in_multi:
        return NULL_ARRAY

    def serve(waiter, key):
        c = waiter.client
        popped = _pop(c, key, c.db.lookup_write(key), from_max, count)
        blocking.propagate(waiter, [name, key, b"%d" % len(popped)])
        return [key, [[m, s] for m, s in popped]]
    return blocking.block(client, keys, ZSet, serve, timeout, NULL_ARRAY)


@subcommand("client", "unblock", -3, "admin noscript loading stale", acl="@connection",
            since="5.0.0", complexity="O(log N) where N is the number of client connections",
            summary="Unblock a client blocked in a blocking command from a different "
                    "connection")
def client_unblock(client, argv):
    error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason not in (b"timeout", b"error"):
            raise ReplyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
        error = reason == b"error"
    elif len(argv) != 3:
        raise ReplyError("ERR unknown subcommand or wrong number of arguments for "
                         "'UNBLOCK'. Try CLIENT HELP.")
    client_id = string2ll(argv[2])
    if client_id is None:
        raise ReplyError("ERR value is not an integer or out of range")
    return 1 if blocking.unblock(client.node, client_id, error) else 0
