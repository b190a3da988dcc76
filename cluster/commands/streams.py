"""Stream commands without consumer groups: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID
XINFO (t_stream.c of Redis 7.0.15). XREAD/XREADGROUP live in streams_read.py, the group
commands in streams_groups.py; the value is a `cluster.keyspace.stream.Stream`.

Propagation as Redis: XADD with `*` or `<ms>-*` propagates the id it chose; XADD/XTRIM
with `~` propagate `= <exact result>` (streamRewriteApproxSpecifier and
streamRewriteTrimArgument), so replicas and the AOF trim the same entries.
"""
from __future__ import annotations

from itertools import islice

from cluster.base.cstring import c_text  # noqa: F401  (streams_* take it from here too)
from cluster.commands.args import NOT_INT, SYNTAX, string2ll
from cluster.commands.objects import ENCODINGS
from cluster.execution import blocking
from cluster.execution.table import command
from cluster.keyspace.databases import TYPE_NAMES, WRONGTYPE
from cluster.keyspace.notify import STREAM, notify
from cluster.keyspace.snapshot import COPIERS
from cluster.keyspace.stream import (LISTPACK_MAX_SIZE, MAX_ID, MIN_ID,
                                     U64, Stream, decr_id, format_id, incr_id, parse_id)
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError

TYPE_NAMES[Stream] = "stream"
COPIERS[Stream] = Stream.copy
ENCODINGS[Stream] = lambda value: b"stream"

ACL = "@stream"
G = "stream"
INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NO_SUCH_KEY = "ERR no such key"
LLONG_MAX = 2**63 - 1


# -- shared helpers -------------------------------------------------------------------
def stream_of(value) -> Stream | None:
    if value is None or value.__class__ is Stream:
        return value
    raise ReplyError(WRONGTYPE)


def lookup_rw(db, key: bytes):
    """lookupKeyRead for a command that changes the value in place anyway (XACK, XCLAIM,
    XREADGROUP...): counted as a read, copied on write while a snapshot is taken."""
    value = db.lookup_read(key)
    if value is not None and db.ks.views:
        value = db.lookup_write(key)
    return value


def ll(raw: bytes, message: str = NOT_INT) -> int:
    """getLongLongFromObjectOrReply."""
    value = string2ll(raw)
    if value is None:
        raise ReplyError(message)
    return value


def strict_id(raw: bytes, missing_seq: int = 0):
    """streamParseStrictIDOrReply."""
    parsed = parse_id(raw, missing_seq, strict=True)
    if parsed is None:
        raise ReplyError(INVALID_ID)
    return parsed[0]


def loose_id(raw: bytes, missing_seq: int = 0):
    """streamParseIDOrReply ("-" and "+" allowed)."""
    parsed = parse_id(raw, missing_seq)
    if parsed is None:
        raise ReplyError(INVALID_ID)
    return parsed[0]


def interval_id(raw: bytes, missing_seq: int):
    """streamParseIntervalIDOrReply: (id, exclusive)."""
    if len(raw) > 1 and raw[:1] == b"(":
        return strict_id(raw[1:], missing_seq), True
    return loose_id(raw, missing_seq), False


def interval(start_raw: bytes, end_raw: bytes):
    """A [start, end] range from two interval arguments (XRANGE, XPENDING)."""
    start, ex = interval_id(start_raw, 0)
    if ex:
        start = incr_id(start)
        if start is None:
            raise ReplyError("ERR invalid start ID for the interval")
    end, ex = interval_id(end_raw, U64)
    if ex:
        end = decr_id(end)
        if end is None:
            raise ReplyError("ERR invalid end ID for the interval")
    return start, end


def entry_reply(sid, fv) -> list:
    return [format_id(sid), fv]


def range_reply(s: Stream, start, end, count: int = 0, rev: bool = False) -> list:
    """streamReplyWithRange without a group: [[id, [f, v...]], ...]; count 0 = all."""
    if start > end:
        return []
    it = s.entries.irange(start, end, reverse=rev)
    if count:
        it = islice(it, count)
    entries = s.entries
    return [[format_id(sid), entries[sid]] for sid in it]


def must_obey(client) -> bool:
    """mustObeyClient: our primary's link or the AOF loader."""
    return client.is_master_link or (client.id == 0 and client.node.keyspace.loading)


def node_limits(client) -> tuple[int, int]:
    config = client.node.config
    return config["stream-node-max-bytes"], config["stream-node-max-entries"]


# -- XADD / XTRIM argument parsing ----------------------------------------------------
class TrimArgs:
    __slots__ = ("strategy", "arg_idx", "approx", "limit", "maxlen", "minid", "id",
                 "id_given", "seq_given", "no_mkstream")

    def __init__(self):
        self.strategy = None         # None, "maxlen", "minid"
        self.arg_idx = 0
        self.approx = False
        self.limit = 0
        self.maxlen = 0
        self.minid = MIN_ID
        self.id = MIN_ID
        self.id_given = False
        self.seq_given = True
        self.no_mkstream = False


def parse_add_trim(client, argv, xadd: bool):
    """streamParseAddOrTrimArgsOrReply: (args, position of the id for XADD)."""
    a = TrimArgs()
    argc = len(argv)
    i = 2
    limit_given = False
    while i < argc:
        more = argc - 1 - i
        opt = argv[i]
        low = opt.lower()
        if xadd and opt[:1] == b"*" and (len(opt) == 1 or opt[1:2] == b"\0"):
            break
        if low in (b"maxlen", b"minid") and more:
            if a.strategy is not None:
                raise ReplyError("ERR syntax error, MAXLEN and MINID options at the same "
                                 "time are not compatible")
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if low == b"maxlen":
                a.maxlen = ll(argv[i + 1])
                if a.maxlen < 0:
                    raise ReplyError("ERR The MAXLEN argument must be >= 0.")
            else:
                a.minid = strict_id(argv[i + 1])
            i += 1
            a.strategy = low.decode()
            a.arg_idx = i
        elif low == b"limit" and more:
            a.limit = ll(argv[i + 1])
            if a.limit < 0:
                raise ReplyError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and low == b"nomkstream":
            a.no_mkstream = True
        elif xadd:
            parsed = parse_id(opt, 0, strict=True, seq_star=True)
            if parsed is None:
                raise ReplyError(INVALID_ID)
            a.id, a.seq_given = parsed
            a.id_given = True
            break
        else:
            raise ReplyError(SYNTAX)
        i += 1
    if a.limit and a.strategy is None:
        raise ReplyError("ERR syntax error, LIMIT cannot be used without specifying a "
                         "trimming strategy")
    if not xadd and a.strategy is None:
        raise ReplyError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if must_obey(client):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            raise ReplyError("ERR syntax error, LIMIT cannot be used without the special "
                             "~ option")
    elif a.approx:
        a.limit = 100 * client.node.config["stream-node-max-entries"]
        if a.limit <= 0:
            a.limit = 10000
        if a.limit > 1000000:
            a.limit = 1000000
    else:
        a.limit = 0
    return a, i


def do_trim(s: Stream, a: TrimArgs) -> int:
    if a.strategy == "maxlen":
        return s.trim(maxlen=a.maxlen, approx=a.approx, limit=a.limit)
    return s.trim(minid=a.minid, approx=a.approx, limit=a.limit)


def rewrite_trim(argv: list, s: Stream, a: TrimArgs) -> None:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument."""
    argv[a.arg_idx - 1] = b"="
    if a.strategy == "maxlen":
        argv[a.arg_idx] = b"%d" % len(s)
    else:
        argv[a.arg_idx] = format_id(s.first_edge_id())


_ADD_SPEC = [{"flags": ["RW", "UPDATE"], "begin_search": {"type": "index", "spec": {"index": 1}},
              "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1,
                                                      "limit": 0}}}]


def key1(flags: str) -> list:
    return [{"flags": flags.split(),
             "begin_search": {"type": "index", "spec": {"index": 1}},
             "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1,
                                                     "limit": 0}}}]


@command("xadd", -5, "write denyoom fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW UPDATE"), tips="nondeterministic_output",
         summary="Appends a new entry to a stream",
         complexity="O(1) when adding a new entry, O(N) when trimming where N being the "
                    "number of entries evicted.")
def xadd(client, argv):
    a, idpos = parse_add_trim(client, argv, True)
    field_pos = idpos + 1
    nargs = len(argv) - field_pos
    if nargs < 2 or nargs % 2 == 1:
        raise ReplyError("ERR wrong number of arguments for 'xadd' command")
    if a.id_given and a.seq_given and a.id == MIN_ID:
        raise ReplyError("ERR The ID specified in XADD must be greater than 0-0")
    db = client.db
    key = argv[1]
    s = stream_of(db.lookup_write(key))
    if s is None:
        if a.no_mkstream:
            return None
        s = Stream()
        db.store(key, s)
    if s.last_id == MAX_ID:
        raise ReplyError("ERR The stream has exhausted the last possible ID, unable to add "
                         "more items")
    if a.id_given:
        if a.seq_given:
            sid = a.id
        elif s.last_id[0] == a.id[0]:
            if s.last_id[1] == U64:     # streamAppendItem fails without errno = EDOM
                raise ReplyError("ERR Elements are too large to be stored")
            sid = (a.id[0], s.last_id[1] + 1)
        else:
            sid = a.id
    else:
        now = client.node.now_ms
        sid = (now, 0) if now > s.last_id[0] else incr_id(s.last_id) or MIN_ID
    if sid <= s.last_id:
        raise ReplyError("ERR The ID specified in XADD is equal or smaller than the target "
                         "stream top item")
    fv = tuple(argv[field_pos:])
    if sum(len(x) for x in fv) > LISTPACK_MAX_SIZE:
        raise ReplyError("ERR Elements are too large to be stored")
    max_bytes, max_entries = node_limits(client)
    s.append(sid, fv, max_bytes, max_entries)
    reply = format_id(sid)
    db.modified(key)
    notify(client, STREAM, b"xadd", key)
    out = list(argv)
    if a.strategy is not None:
        if do_trim(s, a):
            notify(client, STREAM, b"xtrim", key)
        if a.approx:
            rewrite_trim(out, s, a)
    if not a.id_given or not a.seq_given:
        out[idpos] = reply
    blocking.signal_key(db, key)
    return Rewritten(reply, [out])


@command("xtrim", -4, "write", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW DELETE"), tips="nondeterministic_output",
         summary="Trims the stream to (approximately if '~' is passed) a certain size",
         complexity="O(N), with N being the number of evicted entries. Constant times are "
                    "very small however, since entries are organized in macro nodes "
                    "containing multiple entries that can be released with a single "
                    "deallocation.")
def xtrim(client, argv):
    a, _ = parse_add_trim(client, argv, False)
    db = client.db
    key = argv[1]
    s = stream_of(db.lookup_write(key))
    if s is None:
        return 0
    deleted = do_trim(s, a)
    out = argv
    if deleted:
        notify(client, STREAM, b"xtrim", key)
        if a.approx:
            out = list(argv)
            rewrite_trim(out, s, a)
        db.modified(key)
    return Rewritten(deleted, [out])


# -- reads ----------------------------------------------------------------------------
def _xrange(client, argv, rev: bool):
    start, end = interval(argv[3], argv[2]) if rev else interval(argv[2], argv[3])
    count = -1
    j = 4
    while j < len(argv):
        if argv[j].lower() == b"count" and j + 1 < len(argv):
            count = ll(argv[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise ReplyError(SYNTAX)
    s = stream_of(client.db.lookup_read(argv[1]))
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return range_reply(s, start, end, 0 if count == -1 else count, rev)


_RANGE_DOC = "O(N) with N being the number of elements being returned. If N is constant " \
    "(e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."


@command("xrange", -4, "readonly", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RO ACCESS"), complexity=_RANGE_DOC,
         summary="Return a range of elements in a stream, with IDs matching the specified "
                 "IDs interval")
def xrange(client, argv):
    return _xrange(client, argv, False)


@command("xrevrange", -4, "readonly", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RO ACCESS"), complexity=_RANGE_DOC,
         summary="Return a range of elements in a stream, with IDs matching the specified "
                 "IDs interval, in reverse order (from greater to smaller IDs) compared to "
                 "XRANGE")
def xrevrange(client, argv):
    return _xrange(client, argv, True)


@command("xlen", 2, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RO"), complexity="O(1)",
         summary="Return the number of entries in a stream")
def xlen(client, argv):
    s = stream_of(client.db.lookup_read(argv[1]))
    return 0 if s is None else len(s)


@command("xdel", -3, "write fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW DELETE"),
         complexity="O(1) for each single item to delete in the stream, regardless of the "
                    "stream size.",
         summary="Removes the specified entries from the stream. Returns the number of "
                 "items actually deleted, that may be different from the number of IDs "
                 "passed in case certain IDs do not exist.")
def xdel(client, argv):
    db = client.db
    key = argv[1]
    s = stream_of(db.lookup_write(key))
    if s is None:
        return 0
    ids = [strict_id(raw) for raw in argv[2:]]
    deleted = 0
    for sid in ids:
        if s.delete(sid):
            if sid > s.max_deleted_id:
                s.max_deleted_id = sid
            deleted += 1
    if deleted:
        db.modified(key)
        notify(client, STREAM, b"xdel", key)
        client.node.keyspace.dirty += deleted - 1
    return deleted


@command("xsetid", -3, "write denyoom fast", keys=(1, 1, 1), acl=ACL, group=G, since="5.0.0",
         key_specs=key1("RW UPDATE"), complexity="O(1)",
         summary="An internal command for replicating stream values")
def xsetid(client, argv):
    sid = strict_id(argv[2])
    max_xdel = MIN_ID
    entries_added = -1
    i = 3
    argc = len(argv)
    while i < argc:
        more = argc - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = ll(argv[i + 1])
            if entries_added < 0:
                raise ReplyError("ERR entries_added must be positive")
            i += 2
        elif opt == b"maxdeletedid" and more:
            max_xdel = strict_id(argv[i + 1])
            if sid < max_xdel:
                raise ReplyError("ERR The ID specified in XSETID is smaller than the "
                                 "provided max_deleted_entry_id")
            i += 2
        else:
            raise ReplyError(SYNTAX)
    db = client.db
    key = argv[1]
    s = stream_of(db.lookup_write(key))
    if s is None:
        raise ReplyError(NO_SUCH_KEY)
    if len(s):
        if sid < s.last_live_id():
            raise ReplyError("ERR The ID specified in XSETID is smaller than the target "
                             "stream top item")
        if entries_added != -1 and len(s) > entries_added:
            raise ReplyError("ERR The entries_added specified in XSETID is smaller than "
                             "the target stream length")
    s.last_id = sid
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel != MIN_ID:
        s.max_deleted_id = max_xdel
    db.modified(key)
    notify(client, STREAM, b"xsetid", key)
    return OK

def subcommand_syntax(argv) -> ReplyError:
    """addReplySubcommandSyntaxError."""
    sub = argv[1].decode("utf-8", "surrogateescape")[:128]
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                      "%s HELP." % (sub, argv[0].decode("utf-8", "surrogateescape").upper()))
def key2(flags: str) -> list:
    return [{"flags": flags.split(),
             "begin_search": {"type": "index", "spec": {"index": 2}},
             "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1,
                                                     "limit": 0}}}]
