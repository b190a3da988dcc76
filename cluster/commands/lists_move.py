"""LMOVE, RPOPLPUSH, LMPOP and the blocking list pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
BLMPOP.

A blocking pop that finds a list serves itself at once and propagates the non-blocking
form (BLPOP -> LPOP key, BLMPOP -> LPOP key n, BLMOVE -> LMOVE, BRPOPLPUSH -> RPOPLPUSH),
as Redis 7.0 does; otherwise it blocks (cluster.execution.blocking), except inside MULTI/EXEC where
it answers the timeout reply at once. Error order follows 7.0 t_list.c.
"""
from __future__ import annotations

from collections import deque

from cluster.execution import blocking
from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.lists import list_of
from cluster.keyspace.databases import WRONGTYPE
from cluster.keyspace.notify import LIST, elements_removed, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, ReplyError
from cluster.execution.table import command

_RANGE = {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}
MOVE_SPECS = (
    {"flags": ["RW", "ACCESS", "DELETE"], "begin_search": {"type": "index", "spec": {"index": 1}},
     "find_keys": _RANGE},
    {"flags": ["RW", "INSERT"], "begin_search": {"type": "index", "spec": {"index": 2}},
     "find_keys": _RANGE},
)
_WHERE = {b"left": True, b"right": False}


def mpop_specs(numkeys_at: int) -> tuple:
    return ({"flags": ["RW", "ACCESS", "DELETE"],
             "begin_search": {"type": "index", "spec": {"index": numkeys_at}},
             "find_keys": {"type": "keynum",
                           "spec": {"keynumidx": 0, "firstkey": 1, "keystep": 1}}},)


def numkeys_getkeys(at: int):
    def getkeys(argv: list[bytes]) -> list[int]:
        n = string2ll(argv[at]) if at < len(argv) else None
        if n is None or n < 1 or n > len(argv) - at - 1:
            return []
        return list(range(at + 1, at + 1 + n))
    return getkeys


def parse_mpop(argv, at: int, words: dict):
    """`numkeys key... WHERE [COUNT n]` from argv[at]: (keys, where value, count)."""
    numkeys = string2ll(argv[at])
    if numkeys is None or numkeys < 1:
        raise ReplyError("ERR numkeys should be greater than 0")
    argc = len(argv)
    where_at = at + numkeys + 1
    if where_at >= argc:
        raise ReplyError(SYNTAX)
    where = words.get(argv[where_at].lower())
    if where is None:
        raise ReplyError(SYNTAX)
    count = None
    j = where_at + 1
    while j < argc:
        if count is None and argv[j].lower() == b"count" and j + 1 < argc:
            count = string2ll(argv[j + 1])
            if count is None or count < 1:
                raise ReplyError("ERR count should be greater than 0")
            j += 2
        else:
            raise ReplyError(SYNTAX)
    return argv[at + 1:where_at], where, count or 1


def _where(raw: bytes) -> bool:
    left = _WHERE.get(raw.lower())
    if left is None:
        raise ReplyError(SYNTAX)
    return left


def pop_some(client, key: bytes, items: deque, left: bool, count: int) -> list:
    take = items.popleft if left else items.pop
    popped = [take() for _ in range(min(count, len(items)))]
    elements_removed(client, LIST, b"lpop" if left else b"rpop", key, items)
    return popped


def move(client, src: bytes, dst: bytes, left: bool, to_left: bool):
    """lmoveGenericCommand once the source is known to be a non-empty list: the moved
    element, or WRONGTYPE for a destination of another type (nothing moves)."""
    db = client.db
    items = db.lookup_write(src)
    target = list_of(db.lookup_write(dst))
    value = items.popleft() if left else items.pop()
    if target is None:
        target = deque()
        db.store(dst, target)
    else:
        db.modified(dst)
    if to_left:
        target.appendleft(value)
    else:
        target.append(value)
    notify(client, LIST, b"lpush" if to_left else b"rpush", dst)
    elements_removed(client, LIST, b"lpop" if left else b"rpop", src, items)
    return value


def _lmove(client, src, dst, left, to_left):
    items = list_of(client.db.lookup_write(src))
    if items is None:
        return None
    return move(client, src, dst, left, to_left)


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), acl="@list", group="list",
         since="6.2.0", key_specs=MOVE_SPECS,
         summary="Pop an element from a list, push it to another list and return it",
         complexity="O(1)")
def lmove(client, argv):
    left = _where(argv[3])
    to_left = _where(argv[4])
    return _lmove(client, argv[1], argv[2], left, to_left)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), acl="@list", group="list",
         since="1.2.0", key_specs=MOVE_SPECS, doc_flags="deprecated",
         summary="Remove the last element in a list, prepend it to another list and return it",
         complexity="O(1)")
def rpoplpush(client, argv):
    return _lmove(client, argv[1], argv[2], False, True)


_MPOP_COMPLEXITY = ("O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.")


def _mpop_now(client, keys, left: bool, count: int):
    """The first non-empty list among keys: [key, popped], propagated as LPOP/RPOP key n
    (a `Rewritten`); None when every key is missing (WRONGTYPE for a key of another type
    on the way)."""
    db = client.db
    for key in keys:
        items = list_of(db.lookup_write(key))
        if items is not None:
            popped = pop_some(client, key, items, left, count)
            return Rewritten([key, popped],
                             [[b"LPOP" if left else b"RPOP", key, b"%d" % len(popped)]])
    return None


@command("lmpop", -4, "write", acl="@list", group="list", since="7.0.0",
         key_specs=mpop_specs(1), getkeys=numkeys_getkeys(1),
         summary="Pop elements from a list", complexity=_MPOP_COMPLEXITY)
def lmpop(client, argv):
    keys, left, count = parse_mpop(argv, 1, _WHERE)
    reply = _mpop_now(client, keys, left, count)
    return NULL_ARRAY if reply is None else reply


# -- blocking ---------------------------------------------------------------------------
def _cannot_block(client) -> bool:
    return client.in_multi


def _bpop(client, argv, left: bool):
    timeout = blocking.parse_timeout(argv[-1], client.node.now_ms)
    keys = argv[1:-1]
    db = client.db
    name = b"LPOP" if left else b"RPOP"
    for key in keys:
        items = list_of(db.lookup_write(key))
        if items is not None:
            value = pop_some(client, key, items, left, 1)[0]
            return Rewritten([key, value], [[name, key]])
    if _cannot_block(client):
        return NULL_ARRAY

    def serve(waiter, key):
        c = waiter.client
        value = pop_some(c, key, c.db.lookup_write(key), left, 1)[0]
        blocking.propagate(waiter, [name, key])
        return [key, value]
    return blocking.block(client, keys, deque, serve, timeout, NULL_ARRAY)


_BPOP_SPEC = dict(keys=(1, -2, 1), acl="@list", group="list",
                  key_flags="RW ACCESS DELETE",
                  complexity="O(N) where N is the number of provided keys.")


@command("blpop", -3, "write noscript blocking", since="2.0.0",
         summary="Remove and get the first element in a list, or block until one is "
                 "available", **_BPOP_SPEC)
def blpop(client, argv):
    return _bpop(client, argv, True)


@command("brpop", -3, "write noscript blocking", since="2.0.0",
         summary="Remove and get the last element in a list, or block until one is "
                 "available", **_BPOP_SPEC)
def brpop(client, argv):
    return _bpop(client, argv, False)


def _bmove(client, argv, left: bool, to_left: bool, rewrite):
    timeout = blocking.parse_timeout(argv[-1], client.node.now_ms)
    src, dst = argv[1], argv[2]
    items = list_of(client.db.lookup_write(src))
    if items is not None:
        value = move(client, src, dst, left, to_left)
        return Rewritten(value, [rewrite(argv)])
    if _cannot_block(client):
        return None

    def serve(waiter, key):
        c = waiter.client
        if c.db.peek(dst) is not None and c.db.peek(dst).__class__ is not deque:
            return ReplyError(WRONGTYPE)
        value = move(c, src, dst, left, to_left)
        if rewrite is _as_rpoplpush:
            blocking.propagate(waiter, [b"RPOPLPUSH", src, dst])
        else:
            blocking.propagate(waiter, [b"LMOVE", src, dst, b"left" if left else b"right",
                                        b"left" if to_left else b"right"])
        return value
    return blocking.block(client, [src], deque, serve, timeout, NULL_ARRAY)  # 7.0: *-1


def _as_lmove(argv):
    return [b"LMOVE", argv[1], argv[2], argv[3], argv[4]]


def _as_rpoplpush(argv):
    return [b"RPOPLPUSH", argv[1], argv[2]]


@command("blmove", 6, "write denyoom noscript blocking", keys=(1, 2, 1), acl="@list",
         group="list", since="6.2.0", key_specs=MOVE_SPECS,
         summary="Pop an element from a list, push it to another list and return it; or "
                 "block until one is available", complexity="O(1)")
def blmove(client, argv):
    left = _where(argv[3])
    to_left = _where(argv[4])
    return _bmove(client, argv, left, to_left, _as_lmove)


@command("brpoplpush", 4, "write denyoom noscript blocking", keys=(1, 2, 1), acl="@list",
         group="list", since="2.2.0", key_specs=MOVE_SPECS, doc_flags="deprecated",
         summary="Pop an element from a list, push it to another list and return it; or "
                 "block until one is available", complexity="O(1)")
def brpoplpush(client, argv):
    return _bmove(client, argv, False, True, _as_rpoplpush)


@command("blmpop", -5, "write blocking", acl="@list", group="list", since="7.0.0",
         key_specs=mpop_specs(2), getkeys=numkeys_getkeys(2),
         summary="Pop elements from a list, or block until one is available",
         complexity=_MPOP_COMPLEXITY)
def blmpop(client, argv):
    timeout = blocking.parse_timeout(argv[1], client.node.now_ms)
    keys, left, count = parse_mpop(argv, 2, _WHERE)
    reply = _mpop_now(client, keys, left, count)
    if reply is not None:
        return reply
    if _cannot_block(client):
        return NULL_ARRAY
    name = b"LPOP" if left else b"RPOP"

    def serve(waiter, key):
        c = waiter.client
        popped = pop_some(c, key, c.db.lookup_write(key), left, count)
        blocking.propagate(waiter, [name, key, b"%d" % len(popped)])
        return [key, popped]
    return blocking.block(client, keys, deque, serve, timeout, NULL_ARRAY)
