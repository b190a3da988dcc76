"""List commands (the part redis-benchmark uses): pushes, pops, LLEN, LRANGE, LINDEX.

A list is a `collections.deque` of bytes. Changing one in place is followed by
`db.modified(key)` (WATCH, dirty); a list that becomes empty is deleted, as in Redis.
Error order follows Redis 7.0 t_list.c: LPOP/RPOP and LRANGE parse their numbers before
looking the key up, LINDEX looks the key up first.
"""
from __future__ import annotations

from collections import deque
from itertools import islice

from cluster.commands.args import string2ll
from cluster.keyspace import WRONGTYPE
from cluster.reply import NULL_ARRAY, ReplyError
from cluster.table import command

NOT_INT = "ERR value is not an integer or out of range"
NOT_POSITIVE = "ERR value is out of range, must be positive"
_PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the "
                    "command is called with multiple arguments.")


def _list(value) -> deque | None:
    if value is None or value.__class__ is deque:
        return value
    raise ReplyError(WRONGTYPE)


def _push(client, argv, left: bool, only_existing: bool) -> int:
    db = client.db
    key = argv[1]
    items = _list(db.lookup_write(key))
    if items is None:
        if only_existing:
            return 0
        items = deque()
        db.store(key, items)
    else:
        db.modified(key)
    if left:
        items.extendleft(argv[2:])
    else:
        items.extend(argv[2:])
    return len(items)


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW INSERT", summary="Prepend one or multiple elements to a list",
         complexity=_PUSH_COMPLEXITY)
def lpush(client, argv):
    return _push(client, argv, True, False)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW INSERT", summary="Append one or multiple elements to a list",
         complexity=_PUSH_COMPLEXITY)
def rpush(client, argv):
    return _push(client, argv, False, False)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW INSERT", since="2.2.0",
         summary="Prepend an element to a list, only if the list exists",
         complexity=_PUSH_COMPLEXITY)
def lpushx(client, argv):
    return _push(client, argv, True, True)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW INSERT", since="2.2.0",
         summary="Append an element to a list, only if the list exists",
         complexity=_PUSH_COMPLEXITY)
def rpushx(client, argv):
    return _push(client, argv, False, True)


def _pop(client, argv, left: bool):
    argc = len(argv)
    if argc > 3:
        raise ReplyError("ERR wrong number of arguments for '%s' command"
                         % ("lpop" if left else "rpop"))
    count = None
    if argc == 3:
        count = string2ll(argv[2])
        if count is None or count < 0:
            raise ReplyError(NOT_POSITIVE)
    db = client.db
    key = argv[1]
    items = _list(db.lookup_write(key))
    if items is None:
        return None if count is None else NULL_ARRAY
    if count is None:
        value = items.popleft() if left else items.pop()
        popped = value
    elif count == 0:
        return []
    else:
        take = items.popleft if left else items.pop
        popped = [take() for _ in range(min(count, len(items)))]
    if items:
        db.modified(key)
    else:
        db.delete(key)
    return popped


@command("lpop", -2, "write fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW ACCESS DELETE", summary="Remove and get the first elements in a list",
         complexity="O(N) where N is the number of elements returned")
def lpop(client, argv):
    return _pop(client, argv, True)


@command("rpop", -2, "write fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW ACCESS DELETE", summary="Remove and get the last elements in a list",
         complexity="O(N) where N is the number of elements returned")
def rpop(client, argv):
    return _pop(client, argv, False)


@command("llen", 2, "readonly fast", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RO", summary="Get the length of a list", complexity="O(1)")
def llen(client, argv):
    items = _list(client.db.lookup_read(argv[1], not client.no_touch))
    return 0 if items is None else len(items)


def _int(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(NOT_INT)
    return value


@command("lrange", 4, "readonly", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RO ACCESS", summary="Get a range of elements from a list",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small "
                    "lists, from nearest end (HEAD or TAIL) for large lists; and N is the "
                    "number of elements in the specified range.")
def lrange(client, argv):
    start = _int(argv[2])
    stop = _int(argv[3])
    items = _list(client.db.lookup_read(argv[1], not client.no_touch))
    if items is None:
        return []
    n = len(items)
    if start < 0:
        start = max(n + start, 0)
    if stop < 0:
        stop += n
    if stop >= n:
        stop = n - 1
    if start > stop or start >= n:
        return []
    if start <= n - 1 - stop:       # walk in from the nearer end
        return list(islice(items, start, stop + 1))
    tail = list(islice(reversed(items), n - 1 - stop, n - start))
    tail.reverse()
    return tail


@command("lindex", 3, "readonly", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RO ACCESS", summary="Get an element from a list by its index",
         complexity="O(N) where N is the number of elements to traverse to get to the "
                    "element at index. This makes asking for the first or the last element "
                    "of the list O(1).")
def lindex(client, argv):
    items = _list(client.db.lookup_read(argv[1], not client.no_touch))
    if items is None:
        return None
    index = _int(argv[2])
    n = len(items)
    if index < 0:
        index += n
    if not 0 <= index < n:
        return None
    return items[index]
