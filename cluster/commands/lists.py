"""List commands: pushes, pops, LLEN, LRANGE, LINDEX, LINSERT, LSET, LTRIM, LREM, LPOS.

LMOVE/LMPOP and the blocking pops live in lists_move.py.

A list is a `collections.deque` of bytes. Changing one in place is followed by
`db.modified(key)` (WATCH, dirty); a list that becomes empty is deleted, as in Redis.
Error order follows Redis 7.0 t_list.c: LPOP/RPOP and LRANGE parse their numbers before
looking the key up, LINDEX looks the key up first.
"""
from __future__ import annotations

from collections import deque
from itertools import islice

from cluster.commands.args import SYNTAX, string2ll
from cluster.keyspace.databases import WRONGTYPE
from cluster.keyspace.notify import LIST, elements_removed, notify
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError
from cluster.execution.table import command

NOT_INT = "ERR value is not an integer or out of range"
NOT_POSITIVE = "ERR value is out of range, must be positive"
_PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the "
                    "command is called with multiple arguments.")


def list_of(value) -> deque | None:
    if value is None or value.__class__ is deque:
        return value
    raise ReplyError(WRONGTYPE)


def _push(client, argv, left: bool, only_existing: bool) -> int:
    db = client.db
    key = argv[1]
    items = list_of(db.lookup_write(key))
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
    notify(client, LIST, b"lpush" if left else b"rpush", key)
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
    items = list_of(db.lookup_write(key))
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
    elements_removed(client, LIST, b"lpop" if left else b"rpop", key, items)
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
    items = list_of(client.db.lookup_read(argv[1], not client.no_touch))
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
    items = list_of(client.db.lookup_read(argv[1], not client.no_touch))
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
    items = list_of(client.db.lookup_read(argv[1], not client.no_touch))
    if items is None:
        return None
    index = _int(argv[2])
    n = len(items)
    if index < 0:
        index += n
    if not 0 <= index < n:
        return None
    return items[index]


# -- LINSERT, LSET, LTRIM, LREM, LPOS ---------------------------------------------------------
@command("linsert", 5, "write denyoom", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW INSERT", since="2.2.0",
         summary="Insert an element before or after another element in a list",
         complexity="O(N) where N is the number of elements to traverse before seeing the "
                    "value pivot. This means that inserting somewhere on the left end on the "
                    "list (head) can be considered O(1) and inserting somewhere on the right "
                    "end (tail) is O(N).")
def linsert(client, argv):
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        raise ReplyError(SYNTAX)
    db = client.db
    key = argv[1]
    items = list_of(db.lookup_write(key))
    if items is None:
        return 0
    try:
        at = items.index(argv[3])
    except ValueError:
        return -1
    items.insert(at + 1 if where == b"after" else at, argv[4])
    db.modified(key)
    notify(client, LIST, b"linsert", key)
    return len(items)


@command("lset", 4, "write denyoom", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW UPDATE", summary="Set the value of an element in a list by its index",
         complexity="O(N) where N is the length of the list. Setting either the first or "
                    "the last element of the list is O(1).")
def lset(client, argv):
    db = client.db
    key = argv[1]
    items = list_of(db.lookup_write(key))
    if items is None:
        raise ReplyError("ERR no such key")
    index = _int(argv[2])
    n = len(items)
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise ReplyError("ERR index out of range")
    items[index] = argv[3]
    db.modified(key)
    notify(client, LIST, b"lset", key)
    return OK


@command("ltrim", 4, "write", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW DELETE", summary="Trim a list to the specified range",
         complexity="O(N) where N is the number of elements to be removed by the operation.")
def ltrim(client, argv):
    start = _int(argv[2])
    stop = _int(argv[3])
    db = client.db
    key = argv[1]
    items = list_of(db.lookup_write(key))
    if items is None:
        return OK
    n = len(items)
    if start < 0:
        start = max(n + start, 0)
    if stop < 0:
        stop += n
    if start > stop or start >= n:
        ltrim_left, ltrim_right = n, 0
    else:
        stop = min(stop, n - 1)
        ltrim_left, ltrim_right = start, n - stop - 1
    if ltrim_left >= n:
        items.clear()
    else:
        for _ in range(ltrim_left):
            items.popleft()
        for _ in range(ltrim_right):
            items.pop()
    elements_removed(client, LIST, b"ltrim", key, items)
    return OK


@command("lrem", 4, "write", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RW DELETE", summary="Remove elements from a list",
         complexity="O(N+M) where N is the length of the list and M is the number of "
                    "elements removed.")
def lrem(client, argv):
    count = _int(argv[2])
    db = client.db
    key = argv[1]
    items = list_of(db.lookup_write(key))
    if items is None:
        return 0
    element = argv[3]
    limit = abs(count) or len(items)
    source = reversed(items) if count < 0 else items
    kept = []
    removed = 0
    for item in source:
        if removed < limit and item == element:
            removed += 1
        else:
            kept.append(item)
    if not removed:
        return 0
    if count < 0:
        kept.reverse()
    items.clear()
    items.extend(kept)
    elements_removed(client, LIST, b"lrem", key, items)
    return removed


_RANK_ZERO = ("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
              "second ... or use negative to start from the end of the list")
LONG_MAX = 2**63 - 1


@command("lpos", -3, "readonly", keys=(1, 1, 1), acl="@list", group="list",
         key_flags="RO ACCESS", since="6.0.6",
         summary="Return the index of matching elements on a list",
         complexity="O(N) where N is the number of elements in the list, for the average "
                    "case. When searching for elements near the head or the tail of the list, "
                    "or when the MAXLEN option is provided, the command may run in constant "
                    "time.")
def lpos(client, argv):
    rank, count, maxlen = 1, None, 0
    argc = len(argv)
    j = 3
    while j < argc:
        opt = argv[j].lower()
        if j + 1 < argc and opt == b"rank":
            rank = _int(argv[j + 1])
            if rank == 0:
                raise ReplyError(_RANK_ZERO)
        elif j + 1 < argc and opt in (b"count", b"maxlen"):
            message = "ERR COUNT can't be negative" if opt == b"count" else \
                "ERR MAXLEN can't be negative"
            value = string2ll(argv[j + 1])
            if value is None or value < 0:
                raise ReplyError(message)
            if opt == b"count":
                count = value
            else:
                maxlen = value
        else:
            raise ReplyError(SYNTAX)
        j += 2
    items = list_of(client.db.lookup_read(argv[1], not client.no_touch))
    if items is None:
        return None if count is None else []
    element = argv[2]
    n = len(items)
    source = enumerate(items) if rank > 0 else \
        ((n - 1 - i, item) for i, item in enumerate(reversed(items)))
    skip = 0 if rank < -LONG_MAX else abs(rank) - 1     # C's -LONG_MIN stays negative
    want = count if count else (n if count == 0 else 1)
    found = []
    for seen, (index, item) in enumerate(source):
        if maxlen and seen >= maxlen:
            break
        if item == element:
            if skip:
                skip -= 1
                continue
            found.append(index)
            if len(found) >= want:
                break
    if count is None:
        return found[0] if found else None
    return found
