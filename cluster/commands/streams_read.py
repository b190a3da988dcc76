"""XREAD and XREADGROUP (xreadCommand of Redis 7.0.15), blocking included.

XREADGROUP is never propagated as itself: each entry it hands out propagates as
`XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last`, a NOACK
read as `XGROUP SETID key group last ENTRIESREAD n`, and a consumer created by a NOACK
read as `XGROUP CREATECONSUMER` (streamPropagateXCLAIM / GroupID / ConsumerCreation).
A client blocked in XREAD[GROUP] waits on the machinery of cluster.execution.blocking
with a serve function that decides itself (kind None): XADD signals the key, serving
reads what is newer than the id it blocked for (for a group: the group's last id at
serve time); a deleted or retyped key fails XREADGROUP waiters with UNBLOCKED, a
destroyed group with NOGROUP (serveClientsBlockedOnStreamKey,
unblockDeletedStreamReadgroupClients).
"""
from __future__ import annotations

from itertools import islice

from cluster.commands.args import SYNTAX
from cluster.commands.streams import ACL, G, INVALID_ID, format_id, ll, lookup_rw, stream_of
from cluster.execution import blocking
from cluster.execution.table import command
from cluster.keyspace.notify import STREAM, notify
from cluster.keyspace.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, PendingEntry, Stream,
                                     incr_id, parse_id)
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, ReplyError

BLOCKED_DEFAULT_COUNT = 1000      # XREAD_BLOCKED_DEFAULT_COUNT


def xread_getkeys(argv: list[bytes]) -> list[int]:
    """xreadGetKeys: the keys after the STREAMS option."""
    argc = len(argv)
    pos = -1
    i = 1
    while i < argc:
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"noack":
            pass
        elif arg == b"streams":
            pos = i
            break
        else:
            break
        i += 1
    num = argc - pos - 1
    if pos == -1 or num == 0 or num % 2:
        return []
    num //= 2
    return list(range(pos + 1, argc - num))


def _specs(startfrom: int) -> list:
    return [{"flags": ["RO", "ACCESS"],
             "begin_search": {"type": "keyword",
                              "spec": {"keyword": "STREAMS", "startfrom": startfrom}},
             "find_keys": {"type": "range", "spec": {"lastkey": -1, "keystep": 1,
                                                     "limit": 2}}}]


def in_script(client) -> bool:
    return client.scripting        # EVAL's and FCALL's fake client


# -- serving a group read ---------------------------------------------------------------
def group_read(client, s: Stream, key: bytes, group, gname: bytes, consumer, start,
               count: int, noack: bool, props: list) -> list:
    """streamReplyWithRange with a group: entries from `start` on, each put in the PEL
    of `consumer` (unless NOACK), the group's last id and read counter advanced; the
    commands to propagate are appended to `props`."""
    entries = s.entries
    it = entries.irange(start, None)
    if count:
        it = islice(it, count)
    now = client.node.now_ms
    out = []
    moved_last = False
    for sid in list(it):
        if sid > group.last_id:
            if group.entries_read != INVALID_ENTRIES_READ and \
                    not s.range_has_tombstones(sid):
                group.entries_read += 1
            elif s.entries_added:
                group.entries_read = s.estimate_distance(sid)
            group.last_id = sid
            if noack:
                moved_last = True
        out.append([format_id(sid), entries[sid]])
        if not noack:
            nack = group.pel.get(sid)
            if nack is None:
                nack = PendingEntry(consumer, now, 1)
                group.pel[sid] = nack
                consumer.pel[sid] = nack
            else:
                if nack.consumer is not None:
                    nack.consumer.pel.pop(sid, None)
                nack.consumer = consumer
                nack.delivery_time = now
                nack.delivery_count = 1
                consumer.pel[sid] = nack
            props.append(xclaim_argv(key, gname, group, format_id(sid), nack))
    if moved_last:
        props.append(setid_argv(key, gname, group))
    return out


def xclaim_argv(key: bytes, gname: bytes, group, idarg: bytes, nack) -> list:
    """streamPropagateXCLAIM."""
    return [b"XCLAIM", key, gname, nack.consumer.name, b"0", idarg, b"TIME",
            b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", format_id(group.last_id)]


def setid_argv(key: bytes, gname: bytes, group) -> list:
    """streamPropagateGroupID."""
    return [b"XGROUP", b"SETID", key, gname, format_id(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


def consumer_for(client, group, key: bytes, gname: bytes, cname: bytes, noack: bool,
                 props: list):
    """streamLookupConsumer, else streamCreateConsumer (+ its propagation for NOACK)."""
    now = client.node.now_ms
    consumer = group.consumers.get(cname)
    if consumer is not None:
        consumer.seen_time = now
        return consumer
    consumer = group.create_consumer(cname, now)
    client.node.keyspace.dirty += 1
    notify(client, STREAM, b"xgroup-createconsumer", key)
    if noack:
        props.append([b"XGROUP", b"CREATECONSUMER", key, gname, cname])
    return consumer


def history_read(client, s: Stream, consumer, start, count: int) -> list:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries."""
    now = client.node.now_ms
    out = []
    for sid in consumer.pel.irange(start, None):
        if count and len(out) >= count:
            break
        fv = s.entries.get(sid)
        if fv is None:
            out.append([format_id(sid), NULL_ARRAY])
        else:
            nack = consumer.pel[sid]
            nack.delivery_time = now
            nack.delivery_count += 1
            out.append([format_id(sid), fv])
    return out


def _result(client, pairs: list):
    """The top-level reply: [[key, entries]...] in RESP2, a map in RESP3."""
    if client.resp == 3:
        return {k: v for k, v in pairs}
    return [[k, v] for k, v in pairs]


# -- the command ------------------------------------------------------------------------
def _xread(client, argv, xreadgroup: bool):
    argc = len(argv)
    timeout = None
    block = False
    count = 0
    streams_arg = 0
    noack = False
    gname = cname = None
    i = 1
    while i < argc:
        more = argc - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            if in_script(client):
                raise ReplyError("ERR %s command is not allowed with BLOCK option from "
                                 "scripts" % argv[0].decode("utf-8", "surrogateescape"))
            i += 1
            timeout = ll(argv[i], "ERR timeout is not an integer or out of range")
            if timeout < 0:
                raise ReplyError("ERR timeout is negative")
            block = True
        elif o == b"count" and more:
            i += 1
            count = max(0, ll(argv[i]))
        elif o == b"streams" and more:
            streams_arg = i + 1
            n = argc - streams_arg
            if n % 2:
                raise ReplyError("ERR Unbalanced XREAD list of streams: for each stream key "
                                 "an ID or '$' must be specified.")
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise ReplyError("ERR The GROUP option is only supported by XREADGROUP. You "
                                 "called XREAD instead.")
            gname, cname = argv[i + 1], argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise ReplyError("ERR The NOACK option is only supported by XREADGROUP. You "
                                 "called XREAD instead.")
            noack = True
        else:
            raise ReplyError(SYNTAX)
        i += 1
    if not streams_arg:
        raise ReplyError(SYNTAX)
    if xreadgroup and gname is None:
        raise ReplyError("ERR Missing GROUP option for XREADGROUP")
    nstreams = (argc - streams_arg) // 2
    keys = argv[streams_arg:streams_arg + nstreams]
    db = client.db
    ids = []
    groups = []
    look = lookup_rw if xreadgroup else db.__class__.lookup_read
    for j, raw in enumerate(argv[streams_arg + nstreams:]):
        key = keys[j]
        s = stream_of(look(db, key))
        group = None
        if gname is not None:
            group = s.groups.get(gname) if s is not None else None
            if group is None:
                raise ReplyError("NOGROUP No such key '%s' or consumer group '%s' in "
                                 "XREADGROUP with GROUP option" % (_c(key), _c(gname)))
        groups.append(group)
        if raw == b"$":
            if xreadgroup:
                raise ReplyError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to "
                    "read the history of this consumer by specifying a proper ID, or use "
                    "the > ID to get new messages. The $ ID would just return an empty "
                    "result set.")
            ids.append(s.last_id if s is not None else MIN_ID)
            continue
        if raw == b">":
            if not xreadgroup:
                raise ReplyError("ERR The > ID can be specified only when calling "
                                 "XREADGROUP using the GROUP <group> <consumer> option.")
            ids.append(MAX_ID)
            continue
        parsed = parse_id(raw, 0, strict=True)
        if parsed is None:
            raise ReplyError(INVALID_ID)
        ids.append(parsed[0])

    props: list = []
    pairs = []
    for j in range(nstreams):
        key = keys[j]
        s = stream_of(look(db, key))
        if s is None:
            continue
        gt = ids[j]
        group = groups[j]
        history = False
        serve = False
        if group is not None:
            if gt != MAX_ID:
                serve = history = True
            elif s.entries and s.last_live_id() > group.last_id:
                serve = True
                gt = group.last_id
        elif s.entries and s.last_live_id() > gt:
            serve = True
        if not serve:
            continue
        start = incr_id(gt) or MIN_ID
        if group is not None:
            consumer = consumer_for(client, group, key, gname, cname, noack, props)
            if history:
                entries = history_read(client, s, consumer, start, count)
            else:
                entries = group_read(client, s, key, group, gname, consumer, start, count,
                                     noack, props)
            client.node.keyspace.dirty += 1
        else:
            entries = _plain(s, start, count)
        pairs.append((key, entries))
    if pairs:
        return Rewritten(_result(client, pairs), props)
    if block:
        if client.in_multi:
            return Rewritten(NULL_ARRAY, props)
        return Rewritten(_block(client, keys, ids, timeout, gname, cname, noack,
                                count or BLOCKED_DEFAULT_COUNT), props)
    return Rewritten(NULL_ARRAY, props)


def _plain(s: Stream, start, count: int) -> list:
    it = s.entries.irange(start, None)
    if count:
        it = islice(it, count)
    entries = s.entries
    return [[format_id(sid), entries[sid]] for sid in it]


def _block(client, keys, ids, timeout: int, gname, cname, noack: bool, count: int):
    waiting = {}
    for key, sid in zip(keys, ids):
        waiting.setdefault(key, sid)

    def serve(waiter, key):
        c = waiter.client
        s = waiter.db.peek(key)
        if s.__class__ is Stream and gname is not None and waiter.db.ks.views:
            s = waiter.db.lookup_write(key)
        if s.__class__ is not Stream:
            if gname is not None:
                return ReplyError("UNBLOCKED the stream key no longer exists")
            return blocking.STAY
        group = None
        gt = waiting[key]
        if gname is not None:
            group = s.groups.get(gname)
            if group is None:
                return ReplyError("NOGROUP the consumer group this client was blocked on "
                                  "no longer exists")
            gt = group.last_id
        if not s.last_id > gt:
            return blocking.STAY
        start = incr_id(gt) or MIN_ID
        props: list = []
        if group is not None:
            consumer = consumer_for(c, group, key, gname, cname, noack, props)
            entries = group_read(c, s, key, group, gname, consumer, start, count, noack,
                                 props)
        else:
            entries = _plain(s, start, count)
        blocking.propagate_all(waiter, props)
        return _result(c, [(key, entries)])

    return blocking.block(client, list(waiting), None, serve,
                          None if timeout == 0 else timeout, NULL_ARRAY)


def _c(raw: bytes) -> str:
    nul = raw.find(b"\0")
    return (raw if nul < 0 else raw[:nul]).decode("utf-8", "surrogateescape")


@command("xread", -4, "readonly blocking", acl=ACL, group=G, since="5.0.0",
         key_specs=_specs(1), getkeys=xread_getkeys,
         summary="Return never seen elements in multiple streams, with IDs greater than the "
                 "ones reported by the caller for each stream. Can block.",
         complexity="For each stream mentioned: O(N) with N being the number of elements "
                    "being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note "
                    "that when the BLOCK option is used, XADD will pay O(M) time in order to "
                    "serve the M clients blocked on the stream getting new data.")
def xread(client, argv):
    return _xread(client, argv, False).reply


@command("xreadgroup", -7, "write blocking", acl=ACL, group=G, since="5.0.0",
         key_specs=_specs(4), getkeys=xread_getkeys,
         summary="Return new entries from a stream using a consumer group, or access the "
                 "history of the pending entries for a given consumer. Can block.",
         complexity="For each stream mentioned: O(M) with M being the number of elements "
                    "returned. If M is constant (e.g. always asking for the first 10 "
                    "elements with COUNT), you can consider it O(1). On the other side when "
                    "XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N "
                    "clients blocked on the stream getting new data.")
def xreadgroup(client, argv):
    return _xread(client, argv, True)
