"""SORT and SORT_RO on lists, sets and sorted sets (Redis 7.0 sort.c).

Values are recognised by their TYPE name (`cluster.keyspace.databases.type_name`) and read by duck
typing: a list is iterable in order, a set is iterable, a sorted set has `.sl` (its
(score, member) SortedList). In cluster mode BY with a pattern and any GET are refused,
with Redis 7.0's words.
"""
from __future__ import annotations

import functools
import math
import re
from collections import deque

from cluster.acl.check import unrestricted_key_access
from cluster.commands.args import NOT_INT, SYNTAX, string2ll
from cluster.keyspace.databases import WRONGTYPE, type_name
from cluster.keyspace.notify import GENERIC, LIST, notify
from cluster.resp.reply import ReplyError
from cluster.execution.table import command, lookup

NOT_DOUBLE = "ERR One or more scores can't be converted into double"
_FLOAT = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan"
                    rb"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?)",
                    re.IGNORECASE)


def strtod(raw: bytes) -> float | None:
    """The whole string as C strtod reads it (up to a NUL), None when Redis would refuse."""
    raw = raw.split(b"\0", 1)[0].lstrip(b" \t\n\v\f\r")
    if not raw:
        return 0.0
    if not _FLOAT.fullmatch(raw):
        return None
    text = raw.decode()
    try:
        value = float.fromhex(text) if "x" in text.lower() else float(text)
    except (ValueError, OverflowError):
        return None
    if math.isnan(value):
        return None
    if math.isinf(value) and "n" not in text.lower():
        return None                                   # ERANGE
    if abs(value) < 2.2250738585072014e-308 and (
            value != 0.0 or re.search(rb"[1-9]", raw.split(b"e")[0].split(b"E")[0])):
        return None                                   # underflow (ERANGE)
    return value


def sort_keys(argv: list[bytes]) -> list[int]:
    """sortGetKeys: the key to sort, plus the last STORE target."""
    keys = [1]
    store = None
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    i = 2
    argc = len(argv)
    while i < argc:
        word = argv[i].lower()
        if word in skips:
            i += skips[word]
        elif word == b"store" and i + 1 < argc:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def _lookup(client, pattern: bytes, subst: bytes):
    """lookupKeyByPattern: the string (or hash field) a GET/BY pattern names, or None."""
    if pattern == b"#":
        return subst
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        key = pattern[:star] + subst + pattern[star + 1:arrow]
    else:
        key = pattern[:star] + subst + pattern[star + 1:]
    value = client.db.lookup_read(key, not client.no_touch)
    if value is None:
        return None
    if field is not None:
        if type_name(value) != "hash":
            return None
        return value.get(field)
    return value if value.__class__ is bytes else None


def _elements(value, kind: str) -> list[bytes]:
    if kind == "list":
        return list(value)
    if kind == "zset":
        return [member for _score, member in value.sl]
    members = list(value)
    if not getattr(value, "big", True):               # intset: Redis iterates in order
        try:
            members.sort(key=int)
        except ValueError:
            pass
    return members


def _reads_every_key(client, argv) -> bool:
    """BY and GET read keys no key spec names: the user must be allowed to read any key
    (ACLUserCheckCmdWithUnrestrictedKeyAccess with CMD_KEY_ACCESS)."""
    user = client.user
    return user is None or unrestricted_key_access(user, lookup(argv), argv, True, False)


def _generic(client, argv, readonly: bool):
    desc = alpha = dontsort = False
    limit_start, limit_count = 0, -1
    sortby = storekey = None
    gets: list[bytes] = []
    cluster = client.node.config["cluster-enabled"]
    argc = len(argv)
    j = 2
    while j < argc:
        left = argc - j - 1
        word = argv[j].lower()
        if word == b"asc":
            desc = False
        elif word == b"desc":
            desc = True
        elif word == b"alpha":
            alpha = True
        elif word == b"limit" and left >= 2:
            limit_start, limit_count = string2ll(argv[j + 1]), string2ll(argv[j + 2])
            if limit_start is None or limit_count is None:
                raise ReplyError(NOT_INT)
            j += 2
        elif not readonly and word == b"store" and left >= 1:
            storekey = argv[j + 1]
            j += 1
        elif word == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in sortby.split(b"\0", 1)[0]:
                dontsort = True
            elif cluster:
                raise ReplyError("ERR BY option of SORT denied in Cluster mode.")
            elif not _reads_every_key(client, argv):
                raise ReplyError("ERR BY option of SORT denied due to insufficient ACL "
                                 "permissions.")
            j += 1
        elif word == b"get" and left >= 1:
            if cluster:
                raise ReplyError("ERR GET option of SORT denied in Cluster mode.")
            if not _reads_every_key(client, argv):
                raise ReplyError("ERR GET option of SORT denied due to insufficient ACL "
                                 "permissions.")
            gets.append(argv[j + 1])
            j += 1
        else:
            raise ReplyError(SYNTAX)
        j += 1

    value = client.db.lookup_read(argv[1], not client.no_touch)
    kind = "list" if value is None else type_name(value)
    if kind not in ("list", "set", "zset"):
        raise ReplyError(WRONGTYPE)
    if value is None:
        value = deque()
    elif kind == "zset" and value.listpack:           # Redis converts it for SORT
        value = client.db.lookup_write(argv[1])
        value.listpack = False
    if dontsort and kind == "set" and (storekey is not None or client.scripting):
        dontsort, alpha, sortby = False, True, None   # deterministic for replicas

    items = _elements(value, kind)
    n = len(items)
    start = min(max(limit_start, 0), n)
    count = min(max(limit_count, -1), n)
    end = n - 1 if count < 0 else start + count - 1
    if start >= n:
        start, end = n - 1, n - 2
    if end >= n:
        end = n - 1

    if dontsort:
        if kind != "set" and desc:
            items.reverse()
    else:
        items = _sorted(client, items, sortby, alpha, desc)
    chosen = items[start:end + 1] if end >= start else []

    if storekey is None:
        if not gets:
            return chosen
        return [_lookup(client, pattern, item) for item in chosen for pattern in gets]
    if gets:
        out = [_lookup(client, pattern, item) for item in chosen for pattern in gets]
        out = [b"" if v is None else v for v in out]
    else:
        out = chosen
    db = client.db
    if out:
        db.store(storekey, deque(out))
        client.node.keyspace.dirty += len(out) - 1
        notify(client, LIST, b"sortstore", storekey)
    elif db.delete(storekey):
        notify(client, GENERIC, b"del", storekey)
    return len(out)


def _sorted(client, items: list[bytes], sortby, alpha: bool, desc: bool) -> list[bytes]:
    keys = []
    for item in items:
        by = item if sortby is None else _lookup(client, sortby, item)
        if alpha:
            keys.append(by if sortby is not None else None)
        elif by is None:
            keys.append(0.0)
        else:
            score = strtod(by)
            if score is None:
                raise ReplyError(NOT_DOUBLE)
            keys.append(score)
    if alpha and sortby is None:
        order = sorted(range(len(items)), key=items.__getitem__, reverse=desc)
    elif alpha:
        def cmp(a, b):
            ka, kb = keys[a], keys[b]
            if ka is None or kb is None:
                c = 0 if ka is kb else (-1 if ka is None else 1)
            else:
                c = (ka > kb) - (ka < kb)
            return -c if desc else c
        order = sorted(range(len(items)), key=functools.cmp_to_key(cmp))
    else:
        order = sorted(range(len(items)), key=lambda i: (keys[i], items[i]), reverse=desc)
    return [items[i] for i in order]


_RO_SPEC = {"flags": ["RO", "ACCESS"], "begin_search": {"type": "index", "spec": {"index": 1}},
            "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}}
_PATTERN_SPEC = {"notes": "For the optional BY/GET keyword. It is marked 'unknown' because the "
                          "key names derive from the content of the key we sort",
                 "flags": ["RO", "ACCESS"], "begin_search": {"type": "unknown", "spec": {}},
                 "find_keys": {"type": "unknown", "spec": {}}}
_STORE_SPEC = {"notes": "For the optional STORE keyword. It is marked 'unknown' because the "
                        "keyword can appear anywhere in the argument array",
               "flags": ["OW", "UPDATE"], "begin_search": {"type": "unknown", "spec": {}},
               "find_keys": {"type": "unknown", "spec": {}}}
_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to sort, "
               "and M the number of returned elements. When the elements are not sorted, "
               "complexity is O(N).")


@command("sort", -2, "write denyoom", keys=(1, 1, 1), acl="@set @sortedset @list @dangerous",
         group="generic", key_specs=(_RO_SPEC, _PATTERN_SPEC, _STORE_SPEC),
         getkeys=sort_keys, complexity=_COMPLEXITY,
         summary="Sort the elements in a list, set or sorted set")
def sort(client, argv):
    return _generic(client, argv, False)


@command("sort_ro", -2, "readonly", keys=(1, 1, 1), acl="@set @sortedset @list @dangerous",
         group="generic", key_specs=(_RO_SPEC, _PATTERN_SPEC), getkeys=lambda argv: [1],
         since="7.0.0", complexity=_COMPLEXITY,
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.")
def sort_ro(client, argv):
    return _generic(client, argv, True)
