"""The stream value (Redis 7.0 t_stream.c / stream.h): entries by id, consumer groups.

THE MODEL. `Stream.entries` is a SortedDict (ms, seq) -> (field, value, field, value...):
O(log n) append, delete and range start. Consumer groups keep their pending entries
lists (PELs) as SortedDicts id -> PendingEntry, the same PendingEntry object in the
group's PEL and in its consumer's, as Redis shares its streamNACK between both raxes.

THE NODES. Redis stores entries in listpacks ("nodes") hung on a radix tree, and some
replies depend on where node boundaries fall: `XADD/XTRIM ~` trim whole nodes only,
`LIMIT` counts whole nodes, XINFO shows the node count, and a `~ MINID` trim propagates
the first id of the first node (deleted or not). `Stream.nodes` keeps, per node, exactly
what those decisions read: master id (the first id appended to it), its master fields,
live and deleted counts, the last id appended and the listpack's byte size (computed
as listpack.c encodes: `lp_int_size`, `lp_str_size`), so a new node starts exactly
where Redis starts one (stream-node-max-bytes / stream-node-max-entries). Deleted
entries are not kept: a node only counts them. A Stream whose entries were filled
directly (an RDB load) gets its nodes rebuilt from the live entries on first need.

Ids are (ms, seq) tuples of unsigned 64-bit integers; `parse_id` is
streamGenericParseIDOrReply (string2ull quirks included).
"""
from __future__ import annotations

from bisect import bisect_right

from sortedcontainers import SortedDict

from cluster.base.numbers import string2ll

StreamId = tuple[int, int]
U64 = 2**64 - 1
MIN_ID: StreamId = (0, 0)
MAX_ID: StreamId = (U64, U64)
INVALID_ENTRIES_READ = -1            # SCG_INVALID_ENTRIES_READ
LISTPACK_MAX_SIZE = 1 << 30          # STREAM_LISTPACK_MAX_SIZE
FLAG_SAMEFIELDS = 2


# -- ids ------------------------------------------------------------------------------
def format_id(sid: StreamId) -> bytes:
    return b"%d-%d" % sid


def incr_id(sid: StreamId) -> StreamId | None:
    """streamIncrID: the next id; None past the maximum."""
    ms, seq = sid
    if seq == U64:
        if ms == U64:
            return None
        return (ms + 1, 0)
    return (ms, seq + 1)


def decr_id(sid: StreamId) -> StreamId | None:
    """streamDecrID: the previous id; None before 0-0."""
    ms, seq = sid
    if seq == 0:
        if ms == 0:
            return None
        return (ms - 1, U64)
    return (ms, seq - 1)


_SPACE = b" \t\n\v\f\r"


def string2ull(raw: bytes) -> int | None:
    """Redis's string2ull: string2ll when it parses (negative -> invalid), else C's
    strtoull over the whole string (leading spaces, a sign, leading zeros; "-5" wraps)."""
    value = string2ll(raw)
    if value is not None:
        return value if value >= 0 else None
    s = raw.lstrip(_SPACE)
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if not s or not s.isdigit():
        return None
    value = int(s)
    if value > U64:
        return None
    return (-value) & U64 if neg else value


def parse_id(raw: bytes, missing_seq: int = 0, strict: bool = False,
             seq_star: bool = False):
    """streamGenericParseIDOrReply: (id, seq_given) or None when invalid. `seq_star`
    accepts "<ms>-*" (XADD), which gives seq_given False."""
    if len(raw) > 127:
        return None
    nul = raw.find(b"\0")
    buf = raw if nul < 0 else raw[:nul]
    if strict and buf in (b"-", b"+"):
        return None
    if buf == b"-":
        return MIN_ID, True
    if buf == b"+":
        return MAX_ID, True
    dash = buf.find(b"-")
    head = buf if dash < 0 else buf[:dash]
    ms = string2ull(head)
    if ms is None:
        return None
    if dash < 0:
        return (ms, missing_seq), True
    tail = buf[dash + 1:]
    if seq_star and tail == b"*":
        return (ms, 0), False
    seq = string2ull(tail)
    if seq is None:
        return None
    return (ms, seq), True


# -- listpack sizes (listpack.c) --------------------------------------------------------
def _backlen(size: int) -> int:
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def lp_int_size(v: int) -> int:
    """Bytes of an integer element (encoding + backlen)."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def lp_str_size(s: bytes) -> int:
    """Bytes of a string element: stored as an integer when it spells one."""
    n = len(s)
    if n < 21:
        v = string2ll(s)
        if v is not None:
            return lp_int_size(v)
    enc = 1 + n if n < 64 else (2 + n if n < 4096 else 5 + n)
    return enc + _backlen(enc)


def _signed64(v: int) -> int:
    v &= U64
    return v - (1 << 64) if v >= 1 << 63 else v


class Node:
    """One listpack of the radix tree: what node-level decisions read."""

    __slots__ = ("master", "fields", "live", "deleted", "last", "nbytes")

    def __init__(self, master: StreamId, fields: tuple):
        self.master = master
        self.fields = fields
        self.live = 0
        self.deleted = 0
        self.last = master
        # header (6) + end (1) + count + deleted + num-fields + fields + terminator 0
        self.nbytes = (7 + lp_int_size(0) + lp_int_size(0) + lp_int_size(len(fields))
                       + sum(lp_str_size(f) for f in fields) + lp_int_size(0))

    def set_counts(self, live: int, deleted: int) -> None:
        self.nbytes += (lp_int_size(live) - lp_int_size(self.live)
                        + lp_int_size(deleted) - lp_int_size(self.deleted))
        self.live = live
        self.deleted = deleted


class Stream:
    __slots__ = ("entries", "last_id", "max_deleted_id", "entries_added", "groups",
                 "nodes", "_masters", "_tracked")

    def __init__(self):
        self.entries = SortedDict()                 # StreamId -> (f, v, f, v, ...)
        self.last_id: StreamId = MIN_ID
        self.max_deleted_id: StreamId = MIN_ID
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}
        self.nodes: list[Node] = []                 # radix tree nodes, oldest first
        self._masters: list[StreamId] = []          # their master ids (bisect)
        self._tracked = 0                           # live entries the nodes account for

    def __len__(self) -> int:
        return len(self.entries)

    def first_id(self) -> StreamId:
        """The first live entry's id (recorded-first-entry-id); 0-0 when empty."""
        return self.entries.peekitem(0)[0] if self.entries else MIN_ID

    def last_live_id(self) -> StreamId:
        """streamLastValidID: the last live entry's id; 0-0 when empty."""
        return self.entries.peekitem(-1)[0] if self.entries else MIN_ID

    def items(self):
        """id -> fields pairs (MEMORY USAGE, DEBUG DIGEST)."""
        return self.entries.items()

    # -- nodes ------------------------------------------------------------------------
    def check_nodes(self) -> None:
        """Rebuild the nodes when the entries were filled directly (RDB load)."""
        if self._tracked != len(self.entries):
            self.rebuild_nodes()

    def set_nodes(self, nodes: list) -> None:
        """Take a loaded payload's nodes as they are (they account for every live entry),
        so later XADDs start new nodes where Redis would."""
        self.nodes = nodes
        self._masters = [node.master for node in nodes]
        self._tracked = len(self.entries)

    def rebuild_nodes(self, max_bytes: int = 4096, max_entries: int = 100) -> None:
        self.nodes = []
        self._masters = []
        self._tracked = 0
        for sid, fv in self.entries.items():
            self._place(sid, fv, max_bytes, max_entries)

    def _place(self, sid: StreamId, fv: tuple, max_bytes: int, max_entries: int) -> tuple:
        """Account for appending `sid` in the tail node (or a new one); returns fv, its
        field names shared with the node's master fields when equal (memory)."""
        totlen = 0
        for x in fv:
            totlen += len(x)
        nfields = len(fv) // 2
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if node.nbytes + totlen >= limit or (
                    max_entries and node.live + node.deleted >= max_entries):
                node = None
        fields = fv[0::2]
        if node is None:
            node = Node(sid, fields)
            self.nodes.append(node)
            self._masters.append(sid)
            same = True
        else:
            same = fields == node.fields
        node.set_counts(node.live + 1, node.deleted)
        node.last = sid
        self._tracked += 1
        mf = node.fields
        size = lp_int_size(0) + lp_int_size(_signed64(sid[0] - node.master[0])) + \
            lp_int_size(_signed64(sid[1] - node.master[1]))
        if same:
            for i in range(nfields):
                size += lp_str_size(fv[2 * i + 1])
            # share the master's field objects: one copy of each name per node
            fv = tuple(x for i in range(nfields) for x in (mf[i], fv[2 * i + 1]))
        else:
            size += lp_int_size(nfields)
            for x in fv:
                size += lp_str_size(x)
        lp_count = nfields + 3 + (0 if same else nfields + 1)
        size += lp_int_size(lp_count)
        node.nbytes += size
        return fv

    def node_of(self, sid: StreamId) -> int:
        return bisect_right(self._masters, sid) - 1

    def _drop_node(self, index: int) -> None:
        del self.nodes[index]
        del self._masters[index]

    # -- changes ------------------------------------------------------------------------
    def append(self, sid: StreamId, fv: tuple, max_bytes: int = 4096,
               max_entries: int = 100) -> None:
        """streamAppendItem once the id is checked (> last_id)."""
        self.check_nodes()
        fv = self._place(sid, fv, max_bytes, max_entries)
        self.entries[sid] = fv
        self.entries_added += 1
        self.last_id = sid

    def delete(self, sid: StreamId) -> bool:
        """streamDeleteItem (the tombstone bookkeeping is XDEL's)."""
        if sid not in self.entries:
            return False
        self.check_nodes()
        del self.entries[sid]
        self._tracked -= 1
        i = self.node_of(sid)
        node = self.nodes[i]
        if node.live == 1:
            self._drop_node(i)
        else:
            node.set_counts(node.live - 1, node.deleted + 1)
        return True

    def trim(self, maxlen: int | None = None, minid: StreamId | None = None,
             approx: bool = False, limit: int = 0) -> int:
        """streamTrim: by MAXLEN (maxlen) or MINID (minid); returns entries removed."""
        self.check_nodes()
        entries = self.entries
        deleted = 0
        while self.nodes:
            if maxlen is not None and len(entries) <= maxlen:
                break
            node = self.nodes[0]
            count = node.live
            if limit and deleted + count > limit:
                break
            if maxlen is not None:
                remove = len(entries) - count >= maxlen
            else:
                remove = node.last < minid
            if remove:
                end = self._masters[1] if len(self.nodes) > 1 else None
                for sid in list(entries.irange(node.master, end, inclusive=(True, False))):
                    del entries[sid]
                self._drop_node(0)
                self._tracked -= count
                deleted += count
                continue
            if approx:
                break
            end = self._masters[1] if len(self.nodes) > 1 else None
            gone = 0
            for sid in list(entries.irange(node.master, end, inclusive=(True, False))):
                if maxlen is not None:
                    if len(entries) <= maxlen:
                        break
                elif sid >= minid:
                    break
                del entries[sid]
                gone += 1
            node.set_counts(node.live - gone, node.deleted + gone)
            self._tracked -= gone
            deleted += gone
            break
        return deleted

    def first_edge_id(self) -> StreamId:
        """streamGetEdgeID(first, tombstones included): the first node's master id;
        the maximum id when the stream has no node."""
        self.check_nodes()
        return self.nodes[0].master if self.nodes else MAX_ID

    # -- 7.0 read counters ------------------------------------------------------------
    def range_has_tombstones(self, start: StreamId | None) -> bool:
        """streamRangeHasTombstones(start, +inf)."""
        if not self.entries or self.max_deleted_id == MIN_ID:
            return False
        if self.first_id() > self.max_deleted_id:
            return False
        return (start or MIN_ID) <= self.max_deleted_id

    def estimate_distance(self, sid: StreamId) -> int:
        """streamEstimateDistanceFromFirstEverEntry; INVALID_ENTRIES_READ if unknown."""
        if not self.entries_added:
            return 0
        if not self.entries and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return INVALID_ENTRIES_READ
        first = self.first_id()
        if self.max_deleted_id == MIN_ID or self.max_deleted_id < first:
            if sid < first:
                return self.entries_added - len(self.entries)
            if sid == first:
                return self.entries_added - len(self.entries) + 1
        return INVALID_ENTRIES_READ

    def lag(self, group: "ConsumerGroup") -> int | None:
        """streamReplyWithCGLag: the group's lag, None when it cannot be known."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and \
                not self.range_has_tombstones(group.last_id):
            return self.entries_added - group.entries_read
        read = self.estimate_distance(group.last_id)
        if read != INVALID_ENTRIES_READ:
            return self.entries_added - read
        return None

    # -- copies -------------------------------------------------------------------------
    def copy(self) -> "Stream":
        """streamDup: an independent copy, groups, consumers and PELs included."""
        other = Stream()
        other.entries = self.entries.copy()
        other.last_id = self.last_id
        other.max_deleted_id = self.max_deleted_id
        other.entries_added = self.entries_added
        other.nodes = []
        for n in self.nodes:
            m = Node.__new__(Node)
            m.master, m.fields, m.live, m.deleted, m.last, m.nbytes = (
                n.master, n.fields, n.live, n.deleted, n.last, n.nbytes)
            other.nodes.append(m)
        other._masters = list(self._masters)
        other._tracked = self._tracked
        for name, group in self.groups.items():
            other.groups[name] = group.copy()
        return other


class PendingEntry:
    """streamNACK: a delivered, not yet acknowledged entry."""

    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer: "Consumer | None", delivery_time: int,
                 delivery_count: int = 1):
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count
        self.consumer = consumer


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, seen_time: int):
        self.name = name
        self.seen_time = seen_time
        self.pel = SortedDict()


class ConsumerGroup:
    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name: bytes, last_id: StreamId,
                 entries_read: int = INVALID_ENTRIES_READ):
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = SortedDict()
        self.consumers: dict[bytes, Consumer] = {}

    def create_consumer(self, name: bytes, now_ms: int) -> Consumer | None:
        if name in self.consumers:
            return None
        consumer = self.consumers[name] = Consumer(name, now_ms)
        return consumer

    def delete_consumer(self, consumer: Consumer) -> int:
        """streamDelConsumer: its pending entries leave the group PEL; how many."""
        pending = len(consumer.pel)
        for sid in consumer.pel:
            del self.pel[sid]
        del self.consumers[consumer.name]
        return pending

    def ack(self, sid: StreamId) -> bool:
        nack = self.pel.pop(sid, None)
        if nack is None:
            return False
        if nack.consumer is not None:
            nack.consumer.pel.pop(sid, None)
        return True

    def copy(self) -> "ConsumerGroup":
        other = ConsumerGroup(self.name, self.last_id, self.entries_read)
        mapping = {}
        for name, c in self.consumers.items():
            mapping[id(c)] = other.consumers[name] = Consumer(name, c.seen_time)
        for sid, nack in self.pel.items():
            owner = mapping.get(id(nack.consumer)) if nack.consumer is not None else None
            copy = PendingEntry(owner, nack.delivery_time, nack.delivery_count)
            other.pel[sid] = copy
            if owner is not None:
                owner.pel[sid] = copy
        return other


def rax_numnodes(s: Stream) -> int:
    """rax->numnodes of the radix tree over the nodes' master ids (16 bytes, big endian):
    the path-compressed tree rax builds when keys arrive in increasing order: a chain of
    single-child bytes is one node, a branching byte one node, a key's end one node."""
    s.check_nodes()
    keys = [ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in s._masters]
    if not keys:
        return 1

    def count(lo: int, hi: int, depth: int) -> int:
        # keys[lo:hi] share their first `depth` bytes; a node starts here
        if hi - lo == 1:
            return 1 if depth == 16 else 2
        first, last = keys[lo], keys[hi - 1]
        common = depth
        while first[common] == last[common]:
            common += 1
        nodes = 1 if common > depth else 0          # the compressed chain
        nodes += 1                                  # the branching node
        i = lo
        while i < hi:
            byte = keys[i][common]
            j = i + 1
            while j < hi and keys[j][common] == byte:
                j += 1
            nodes += count(i, j, common + 1)
            i = j
        return nodes

    return count(0, len(keys), 0)
