"""Consumer group commands: XGROUP (CREATE CREATECONSUMER DELCONSUMER DESTROY SETID HELP),
XACK, XPENDING, XCLAIM, XAUTOCLAIM (t_stream.c of Redis 7.0.15).

XCLAIM and XAUTOCLAIM are never propagated as themselves: every PEL entry they change
goes as the idempotent `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID
LASTID last` (one MULTI/EXEC unit when several), a LASTID that only moved the group as
`XGROUP SETID ... ENTRIESREAD n` (streamPropagateXCLAIM / streamPropagateGroupID).
"""
from __future__ import annotations

from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.help import help_reply
from cluster.commands.streams import (ACL, G, c_text, format_id, interval, interval_id, key1,
                                      key2, ll, loose_id, lookup_rw, strict_id, stream_of,
                                      subcommand_syntax)
from cluster.commands.streams_read import setid_argv, xclaim_argv
from cluster.execution import blocking
from cluster.execution.table import command, container, subcommand
from cluster.keyspace.notify import STREAM, notify
from cluster.keyspace.stream import (INVALID_ENTRIES_READ, MIN_ID, ConsumerGroup, PendingEntry,
                                     Stream, incr_id, parse_id)
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError

LONG_MAX = 2**63 - 1

container("xgroup", -2, group=G, since="5.0.0",
          summary="A container for consumer groups commands",
          complexity="Depends on subcommand.")

_XGROUP_HELP = [
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
]


def _xgroup_common(client, argv, sub: bytes):
    """The shared front of xgroupCommand: options, the key, the group: (stream, group,
    mkstream, entries_read)."""
    create, setid = sub == b"create", sub == b"setid"
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    i = 5
    argc = len(argv)
    while i < argc:
        opt = argv[i].lower()
        if create and opt == b"mkstream":
            mkstream = True
            i += 1
        elif (create or setid) and opt == b"entriesread" and i + 1 < argc:
            entries_read = ll(argv[i + 1])
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise ReplyError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise subcommand_syntax(argv)
    s = stream_of(client.db.lookup_write(argv[2]))
    group = None
    if not mkstream:
        if s is None:
            raise ReplyError("ERR The XGROUP subcommand requires the key to exist. Note that "
                             "for CREATE you may want to use the MKSTREAM option to create an "
                             "empty stream automatically.")
        group = s.groups.get(argv[3])
        if group is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
            raise ReplyError("NOGROUP No such consumer group '%s' for key name '%s'" % (
                c_text(argv[3]), c_text(argv[2])))
    return s, group, mkstream, entries_read


@subcommand("xgroup", "help", 2, "loading stale", acl=ACL, since="5.0.0", complexity="O(1)",
            summary="Show helpful text about the different subcommands")
def xgroup_help(client, argv):
    return help_reply("XGROUP", _XGROUP_HELP)


@subcommand("xgroup", "create", -5, "write denyoom", keys=(2, 2, 1), acl=ACL,
            since="5.0.0", key_specs=key2("RW INSERT"), complexity="O(1)",
            summary="Create a consumer group.")
def xgroup_create(client, argv):
    s, _, _, entries_read = _xgroup_common(client, argv, b"create")
    if len(argv) > 8:
        raise subcommand_syntax(argv)
    key = argv[2]
    if argv[4] == b"$":
        sid = s.last_id if s is not None else MIN_ID
    else:
        sid = strict_id(argv[4])
    db = client.db
    if s is None:
        s = Stream()
        db.store(key, s)
    name = argv[3]
    if name in s.groups:
        raise ReplyError("BUSYGROUP Consumer Group name already exists")
    s.groups[name] = ConsumerGroup(name, sid, entries_read)
    db.modified(key)
    notify(client, STREAM, b"xgroup-create", key)
    return OK


@subcommand("xgroup", "setid", -5, "write", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RW UPDATE"), complexity="O(1)",
            summary="Set a consumer group to an arbitrary last delivered ID value.")
def xgroup_setid(client, argv):
    s, group, _, entries_read = _xgroup_common(client, argv, b"setid")
    if len(argv) not in (5, 7):
        raise subcommand_syntax(argv)
    sid = s.last_id if argv[4] == b"$" else loose_id(argv[4])
    group.last_id = sid
    group.entries_read = entries_read
    client.db.modified(argv[2])
    notify(client, STREAM, b"xgroup-setid", argv[2])
    return OK


@subcommand("xgroup", "destroy", 4, "write", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RW DELETE"),
            complexity="O(N) where N is the number of entries in the group's pending "
                       "entries list (PEL).",
            summary="Destroy a consumer group.")
def xgroup_destroy(client, argv):
    s, group, _, _ = _xgroup_common(client, argv, b"destroy")
    if group is None:
        return 0
    del s.groups[argv[3]]
    db = client.db
    db.modified(argv[2])
    notify(client, STREAM, b"xgroup-destroy", argv[2])
    blocking.signal_key(db, argv[2])          # XREADGROUP waiters get NOGROUP
    return 1


@subcommand("xgroup", "createconsumer", 5, "write denyoom", keys=(2, 2, 1), acl=ACL,
            since="6.2.0", key_specs=key2("RW INSERT"), complexity="O(1)",
            summary="Create a consumer in a consumer group.")
def xgroup_createconsumer(client, argv):
    _, group, _, _ = _xgroup_common(client, argv, b"createconsumer")
    if group.create_consumer(argv[4], client.node.now_ms) is None:
        return 0
    client.db.modified(argv[2])
    notify(client, STREAM, b"xgroup-createconsumer", argv[2])
    return 1


@subcommand("xgroup", "delconsumer", 5, "write", keys=(2, 2, 1), acl=ACL, since="5.0.0",
            key_specs=key2("RW DELETE"), complexity="O(1)",
            summary="Delete a consumer from a consumer group.")
def xgroup_delconsumer(client, argv):
    _, group, _, _ = _xgroup_common(client, argv, b"delconsumer")
    consumer = group.consumers.get(argv[4])
    if consumer is None:
        return 0
    pending = group.delete_consumer(consumer)
    client.db.modified(argv[2])
    notify(client, STREAM, b"xgroup-delconsumer", argv[2])
    return pending


# -- XACK / XPENDING ----------------------------------------------------------------------
@command("xack", -4, "write fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW UPDATE"), complexity="O(1) for each message ID processed.",
         summary="Marks a pending message as correctly processed, effectively removing it "
                 "from the pending entries list of the consumer group. Return value of the "
                 "command is the number of messages successfully acknowledged, that is, the "
                 "IDs we were actually able to resolve in the PEL.")
def xack(client, argv):
    s = stream_of(lookup_rw(client.db, argv[1]))
    group = s.groups.get(argv[2]) if s is not None else None
    if group is None:
        return 0
    ids = [strict_id(raw) for raw in argv[3:]]
    acked = 0
    for sid in ids:
        if group.ack(sid):
            acked += 1
    client.node.keyspace.dirty += acked
    return acked


@command("xpending", -3, "readonly", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RO ACCESS"), tips="nondeterministic_output",
         summary="Return information and entries from a stream consumer group pending "
                 "entries list, that are messages fetched but never acknowledged.",
         complexity="O(N) with N being the number of elements returned, so asking for a "
                    "small fixed number of entries per call is O(1). O(M), where M is the "
                    "total number of entries scanned when used with the IDLE filter. When "
                    "the command returns just the summary and the list of consumers is "
                    "small, it runs in O(1) time; otherwise, an additional O(N) time for "
                    "iterating every consumer.")
def xpending(client, argv):
    argc = len(argv)
    if argc != 3 and not 6 <= argc <= 9:
        raise ReplyError(SYNTAX)
    minidle = 0
    count = 0
    cname = None
    if argc >= 6:
        at = 3
        if argv[3].lower() == b"idle":
            minidle = ll(argv[4])
            if argc < 8:
                raise ReplyError(SYNTAX)
            at += 2
        count = max(0, ll(argv[at + 2]))
        start, end = interval(argv[at], argv[at + 1])
        if at + 3 < argc:
            cname = argv[at + 3]
    s = stream_of(client.db.lookup_read(argv[1]))
    group = s.groups.get(argv[2]) if s is not None else None
    if group is None:
        raise ReplyError("NOGROUP No such key '%s' or consumer group '%s'" % (
            c_text(argv[1]), c_text(argv[2])))
    if argc == 3:
        pel = group.pel
        if not pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[name, b"%d" % len(group.consumers[name].pel)]
                  for name in sorted(group.consumers) if group.consumers[name].pel]
        return [len(pel), format_id(pel.peekitem(0)[0]), format_id(pel.peekitem(-1)[0]),
                owners]
    if cname is not None:
        consumer = group.consumers.get(cname)
        if consumer is None:
            return []
        pel = consumer.pel
    else:
        pel = group.pel
    now = client.node.now_ms
    out = []
    if start > end:
        return out
    for sid in pel.irange(start, end):
        if not count:
            break
        nack = pel[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        out.append([format_id(sid), nack.consumer.name, max(0, now - nack.delivery_time),
                    nack.delivery_count])
    return out


# -- XCLAIM / XAUTOCLAIM ------------------------------------------------------------------
def _consumer(client, group, key: bytes, name: bytes):
    now = client.node.now_ms
    consumer = group.consumers.get(name)
    if consumer is not None:
        consumer.seen_time = now
        return consumer
    consumer = group.create_consumer(name, now)
    client.node.keyspace.dirty += 1
    notify(client, STREAM, b"xgroup-createconsumer", key)
    return consumer


def _move(group, nack, sid, consumer) -> None:
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            nack.consumer.pel.pop(sid, None)


def _give(nack, sid, consumer) -> None:
    if nack.consumer is not consumer:
        consumer.pel[sid] = nack
        nack.consumer = consumer


@command("xclaim", -6, "write fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW UPDATE"), tips="nondeterministic_output",
         complexity="O(log N) with N being the number of messages in the PEL of the "
                    "consumer group.",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if "
                 "the message was delivered to the specified consumer.")
def xclaim(client, argv):
    key, gname = argv[1], argv[2]
    s = stream_of(lookup_rw(client.db, key))
    group = s.groups.get(gname) if s is not None else None
    if group is None:
        raise ReplyError("NOGROUP No such key '%s' or consumer group '%s'" % (
            c_text(key), c_text(gname)))
    minidle = max(0, ll(argv[4], "ERR Invalid min-idle-time argument for XCLAIM"))
    argc = len(argv)
    ids = []
    j = 5
    while j < argc:
        parsed = parse_id(argv[j], 0, strict=True)
        if parsed is None:
            break
        ids.append((parsed[0], argv[j]))
        j += 1
    now = client.node.now_ms
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = MIN_ID
    while j < argc:
        more = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - ll(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif opt == b"time" and more:
            j += 1
            deliverytime = ll(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = ll(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"lastid" and more:
            j += 1
            last_id = strict_id(argv[j])
        else:
            raise ReplyError("ERR Unrecognized XCLAIM option '%s'" % c_text(argv[j]))
        j += 1
    props = []
    propagate_last = False
    if last_id > group.last_id:
        group.last_id = last_id
        propagate_last = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer = None
    out = []
    dirty = 0
    for sid, raw in ids:
        nack = group.pel.get(sid)
        if sid not in s.entries:
            if nack is not None:
                props.append(xclaim_argv(key, gname, group, raw, nack))
                propagate_last = False
                dirty += 1
                group.ack(sid)
            continue
        if force and nack is None:
            nack = PendingEntry(None, now, 1)
            group.pel[sid] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _consumer(client, group, key, argv[3])
        _move(group, nack, sid, consumer)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        _give(nack, sid, consumer)
        out.append(format_id(sid) if justid else [format_id(sid), s.entries[sid]])
        props.append(xclaim_argv(key, gname, group, raw, nack))
        propagate_last = False
        dirty += 1
    if propagate_last:
        props.append(setid_argv(key, gname, group))
        dirty += 1
    client.node.keyspace.dirty += dirty
    return Rewritten(out, props)


@command("xautoclaim", -6, "write fast", keys=(1, 1, 1), acl=ACL, group=G, since="6.2.0",
         key_specs=key1("RW DELETE"), tips="nondeterministic_output",
         complexity="O(1) if COUNT is small.",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if the "
                 "messages were delivered to the specified consumer.")
def xautoclaim(client, argv):
    key, gname = argv[1], argv[2]
    minidle = max(0, ll(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"))
    start, ex = interval_id(argv[5], 0)
    if ex:
        start = incr_id(start)
        if start is None:
            raise ReplyError("ERR invalid start ID for the interval")
    count = 100
    justid = False
    j = 6
    argc = len(argv)
    while j < argc:
        more = argc - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            count = string2ll(argv[j + 1])
            if count is None or not 1 <= count <= LONG_MAX // 16:
                raise ReplyError("ERR COUNT must be > 0")
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise ReplyError(SYNTAX)
        j += 1
    s = stream_of(lookup_rw(client.db, key))
    group = s.groups.get(gname) if s is not None else None
    if group is None:
        raise ReplyError("NOGROUP No such key '%s' or consumer group '%s'" % (
            c_text(key), c_text(gname)))
    attempts = count * 10
    pel = group.pel
    pos = pel.bisect_left(start)
    now = client.node.now_ms
    consumer = None
    claimed = []
    deleted = []
    props = []
    dirty = 0
    while attempts and count and pos < len(pel):
        attempts -= 1
        sid = pel.keys()[pos]
        nack = pel[sid]
        if sid not in s.entries:
            props.append(xclaim_argv(key, gname, group, format_id(sid), nack))
            dirty += 1
            group.ack(sid)
            deleted.append(format_id(sid))
            count -= 1
            continue
        pos += 1
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _consumer(client, group, key, argv[3])
        _move(group, nack, sid, consumer)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        _give(nack, sid, consumer)
        claimed.append(format_id(sid) if justid else [format_id(sid), s.entries[sid]])
        count -= 1
        props.append(xclaim_argv(key, gname, group, format_id(sid), nack))
        dirty += 1
    cursor = format_id(pel.keys()[pos]) if pos < len(pel) else b"0-0"
    client.node.keyspace.dirty += dirty
    return Rewritten([cursor, claimed, deleted], props)
