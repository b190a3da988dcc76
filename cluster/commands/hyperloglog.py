"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE (Redis 7.0 hyperloglog.c).

An HLL is a plain string value in Redis's own format (see `cluster.keyspace.hll`), so GET, DUMP,
RESTORE and the RDB snapshot carry it unchanged, and a real server's HLL restored here
counts the same. PFCOUNT of one key caches the count in the value's header (a change:
WATCH sees it, as in Redis).
"""
from __future__ import annotations

from cluster.keyspace import hll
from cluster.keyspace.databases import WRONGTYPE
from cluster.keyspace.notify import STRING, notify
from cluster.resp.reply import OK, ReplyError
from cluster.execution.table import command

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPTED = "INVALIDOBJ Corrupted HLL object detected"


def _hll(value) -> bytes:
    if value.__class__ is not bytes:
        raise ReplyError(WRONGTYPE)
    if not hll.is_valid(value):
        raise ReplyError(NOT_HLL)
    return value


def _registers(value: bytes) -> bytes:
    try:
        return hll.registers(value)
    except hll.Corrupted:
        raise ReplyError(CORRUPTED) from None


def _to_dense(buf: bytearray, raw: bytes) -> bytearray:
    out = bytearray(buf[:hll.HDR]) + hll.raw_to_dense(raw)
    out[4] = hll.DENSE
    return out


@command("pfadd", -2, "write denyoom fast", keys=(1, 1, 1), acl="@hyperloglog",
         group="hyperloglog", key_flags="RW INSERT", since="2.8.9", complexity="O(1) to add "
         "every element.", summary="Adds the specified elements to the specified HyperLogLog.")
def pfadd(client, argv):
    db = client.db
    key = argv[1]
    value = db.lookup_write(key)
    updated = 0
    if value is None:
        value = hll.empty_sparse()
        updated = 1
    else:
        _hll(value)
    buf = bytearray(value)
    if len(argv) > 2:
        try:
            ops = hll.sparse_ops(buf[hll.HDR:]) if buf[4] == hll.SPARSE else None
            size = len(buf)
            limit = client.node.config["hll-sparse-max-bytes"]
            for element in argv[2:]:
                index, count = hll.pat_len(element)
                if ops is not None:
                    done = hll.sparse_set(ops, size, index, count, limit)
                    if done is not None:
                        changed, size = done
                        updated += changed
                        continue
                    buf = _to_dense(buf, hll.sparse_to_raw(ops))
                    ops = None
                updated += hll.dense_set(buf, index, count)
        except hll.Corrupted:
            raise ReplyError(CORRUPTED) from None
        if ops is not None:
            buf = buf[:hll.HDR] + hll.encode_ops(ops)
    if not updated:
        return 0
    hll.invalidate(buf)
    db.store(key, bytes(buf), True)
    notify(client, STRING, b"pfadd", key)
    return 1


@command("pfcount", -2, "readonly", keys=(1, -1, 1), acl="@hyperloglog", group="hyperloglog",
         key_specs=({"notes": "RW because it may change the internal representation of the "
                              "key, and propagate to replicas",
                     "flags": ["RW", "ACCESS"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": -1, "keystep": 1, "limit": 0}}},),
         since="2.8.9", complexity="O(1) with a very small average constant time when called "
         "with a single key. O(N) with N being the number of keys, and much bigger constant "
         "times, when called with multiple keys.",
         summary="Return the approximated cardinality of the set(s) observed by the "
                 "HyperLogLog at key(s).")
def pfcount(client, argv):
    db = client.db
    touch = not client.no_touch
    if len(argv) > 2:
        acc = bytes(hll.REGISTERS)
        for key in argv[1:]:
            value = db.lookup_read(key, touch)
            if value is not None:
                acc = hll.merge_max(acc, _registers(_hll(value)))
        return hll.estimate(hll.raw_histogram(acc))
    key = argv[1]
    value = db.lookup_read(key, touch)
    if value is None:
        return 0
    _hll(value)
    card = hll.cached(value)
    if card is not None:
        return card
    try:
        card = hll.count(value)
    except hll.Corrupted:
        raise ReplyError(CORRUPTED) from None
    db.store(key, value[:8] + card.to_bytes(8, "little") + value[16:], True)
    return card


@command("pfmerge", -2, "write denyoom", keys=(1, -1, 1), acl="@hyperloglog",
         group="hyperloglog",
         key_specs=({"flags": ["RW", "ACCESS", "INSERT"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
                    {"flags": ["RO", "ACCESS"],
                     "begin_search": {"type": "index", "spec": {"index": 2}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": -1, "keystep": 1, "limit": 0}}}),
         since="2.8.9", complexity="O(N) to merge N HyperLogLogs, but with high constant "
         "times.", summary="Merge N different HyperLogLogs into a single one.")
def pfmerge(client, argv):
    db = client.db
    touch = not client.no_touch
    acc = bytes(hll.REGISTERS)
    use_dense = False
    for key in argv[1:]:
        value = db.lookup_read(key, touch)
        if value is None:
            continue
        _hll(value)
        use_dense = use_dense or value[4] == hll.DENSE
        acc = hll.merge_max(acc, _registers(value))
    dest = argv[1]
    old = db.lookup_write(dest)
    buf = bytearray(hll.empty_sparse() if old is None else old)
    if buf[4] == hll.DENSE or use_dense:
        buf = _to_dense(buf, acc)       # acc already includes dest's own registers
    else:
        ops = hll.sparse_ops(buf[hll.HDR:])
        size = len(buf)
        limit = client.node.config["hll-sparse-max-bytes"]
        hint = [0, 0]
        try:
            for index, count in enumerate(acc):
                if count:
                    done = hll.sparse_set(ops, size, index, count, limit, hint)
                    if done is None:
                        ops = None
                        break
                    size = done[1]
        except hll.Corrupted:
            raise ReplyError(CORRUPTED) from None
        if ops is None:
            buf = _to_dense(buf, acc)
        else:
            buf = buf[:hll.HDR] + hll.encode_ops(ops)
    hll.invalidate(buf)
    db.store(dest, bytes(buf), True)
    notify(client, STRING, b"pfadd", dest)
    return OK
