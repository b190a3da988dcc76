"""The stream model (cluster.keyspace.stream): id parsing, node bookkeeping (where Redis
starts a new listpack), trimming, 7.0 read counters, copies."""
from __future__ import annotations

from cluster.keyspace.stream import (INVALID_ENTRIES_READ, MAX_ID, MIN_ID, U64, ConsumerGroup,
                                     PendingEntry, Stream, decr_id, format_id, incr_id,
                                     lp_int_size, lp_str_size, parse_id, rax_numnodes,
                                     string2ull)


def test_parse_id_forms():
    assert parse_id(b"1-2") == ((1, 2), True)
    assert parse_id(b"5") == ((5, 0), True)
    assert parse_id(b"5", missing_seq=U64) == ((5, U64), True)
    assert parse_id(b"-") == (MIN_ID, True)
    assert parse_id(b"+") == (MAX_ID, True)
    assert parse_id(b"-", strict=True) is None
    assert parse_id(b"+", strict=True) is None
    assert parse_id(b"5-*", seq_star=True) == ((5, 0), False)
    assert parse_id(b"5-*") is None
    assert parse_id(b"x") is None
    assert parse_id(b"1-") is None
    assert parse_id(b"1" * 128) is None
    assert parse_id(b"18446744073709551616") is None
    assert parse_id(b"18446744073709551615-18446744073709551615") == (MAX_ID, True)


def test_string2ull_is_strtoull_after_string2ll():
    assert string2ull(b"007") == 7            # string2ll refuses, strtoull takes it
    assert string2ull(b" 5") == 5
    assert string2ull(b"+5") == 5
    assert string2ull(b"-1") is None          # string2ll parses it: negative refused
    assert string2ull(b"-01") == U64          # strtoull wraps
    assert string2ull(b"") is None
    assert string2ull(b"5 ") is None
    assert string2ull(b"0x10") is None


def test_incr_decr_edges():
    assert incr_id((1, U64)) == (2, 0)
    assert incr_id(MAX_ID) is None
    assert decr_id((2, 0)) == (1, U64)
    assert decr_id(MIN_ID) is None
    assert format_id((12, 3)) == b"12-3"


def test_listpack_sizes():
    assert lp_int_size(0) == 2 and lp_int_size(127) == 2 and lp_int_size(128) == 3
    assert lp_int_size(-1) == 3 and lp_int_size(2**40) == 10
    assert lp_str_size(b"123") == lp_int_size(123)       # integer-looking strings
    assert lp_str_size(b"0123") == 1 + 4 + 1
    assert lp_str_size(b"x" * 100) == 2 + 100 + 1


def _filled(n: int, max_entries: int = 100, max_bytes: int = 4096) -> Stream:
    s = Stream()
    for i in range(1, n + 1):
        s.append((i, 0), (b"f", b"v"), max_bytes, max_entries)
    return s


def test_nodes_split_by_entries_and_bytes():
    s = _filled(250, max_entries=100)
    assert [n.live for n in s.nodes] == [100, 100, 50]
    s = _filled(50, max_entries=0, max_bytes=100)
    assert len(s.nodes) > 1 and all(n.nbytes < 100 + 10 for n in s.nodes)
    assert rax_numnodes(Stream()) == 1
    assert rax_numnodes(_filled(1)) == 2


def test_approx_trim_removes_whole_nodes_only():
    s = _filled(250)
    assert s.trim(maxlen=180, approx=True) == 0      # the head node cannot go whole
    assert s.trim(maxlen=150, approx=True) == 100
    assert len(s) == 150 and s.first_id() == (101, 0)
    assert s.trim(maxlen=10) == 140
    assert s.first_id() == (241, 0) and s.first_edge_id() == (201, 0)


def test_minid_trim_and_limit():
    s = _filled(250)
    assert s.trim(minid=(150, 0), approx=True, limit=1000) == 100
    assert s.trim(minid=(150, 0)) == 49
    assert s.first_id() == (150, 0)
    assert s.trim(minid=(300, 0), approx=True, limit=50) == 0   # a node is 100 > limit


def test_delete_drops_emptied_node_and_counts_tombstones():
    s = _filled(3, max_entries=2)
    assert len(s.nodes) == 2
    assert s.delete((3, 0)) and len(s.nodes) == 1
    assert s.delete((1, 0)) and s.nodes[0].deleted == 1
    assert not s.delete((1, 0))
    assert list(s.entries) == [(2, 0)]


def test_nodes_rebuilt_after_direct_fill():
    """An RDB load fills `entries` directly: nodes come back on first need."""
    s = Stream()
    for i in range(1, 151):
        s.entries[(i, 0)] = (b"f", b"v")
    s.last_id = (150, 0)
    assert s.trim(maxlen=10, approx=True, limit=1000) == 100
    assert len(s) == 50


def test_read_counters():
    s = _filled(5)
    g = ConsumerGroup(b"g", MIN_ID)
    assert s.estimate_distance((3, 0)) == INVALID_ENTRIES_READ
    assert s.estimate_distance((5, 0)) == 5
    assert s.estimate_distance(MIN_ID) == 0
    assert s.estimate_distance((1, 0)) == 1
    assert s.lag(g) == 5
    s.delete((2, 0))
    s.max_deleted_id = (2, 0)
    assert s.range_has_tombstones(MIN_ID)
    assert s.lag(g) is None
    assert s.lag(ConsumerGroup(b"h", (5, 0), 5)) == 0


def test_copy_is_deep():
    s = _filled(3)
    g = s.groups[b"g"] = ConsumerGroup(b"g", (2, 0), 2)
    c = g.create_consumer(b"alice", 10)
    nack = PendingEntry(c, 10, 1)
    g.pel[(1, 0)] = c.pel[(1, 0)] = nack
    t = s.copy()
    tg = t.groups[b"g"]
    assert tg.pel[(1, 0)] is tg.consumers[b"alice"].pel[(1, 0)]
    assert tg.pel[(1, 0)] is not nack
    tg.ack((1, 0))
    assert (1, 0) in g.pel and not tg.pel
    t.append((9, 0), (b"a", b"b"))
    assert len(s) == 3 and len(t) == 4
    assert g.delete_consumer(c) == 1 and not g.pel
