"""The sorted set value (cluster.keyspace.zset.ZSet) and its argument parsing, without a server:
order, ranks, score and lex spans, encodings, d2string, and a hypothesis model check."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.commands.zset_args import (NOT_LEX, NOT_RANGE_FLOAT, parse_lex_item,
                                        parse_range_item, parse_score, strtod)
from cluster.commands.zset_ranges import rank_span
from cluster.resp.reply import ReplyError
from cluster.keyspace.zset import ZSet, d2string, fits_listpack

CONFIG = {"zset-max-listpack-entries": 4, "zset-max-listpack-value": 3}


def make(*pairs) -> ZSet:
    zs = ZSet()
    for member, score in pairs:
        zs.add(member, score)
    return zs


def test_order_is_score_then_member_bytes():
    zs = make((b"b", 1.0), (b"a", 1.0), (b"c", 0.5), (b"\xff", 1.0))
    assert [m for _, m in zs.sl] == [b"c", b"a", b"b", b"\xff"]
    assert zs.rank(b"a") == 1 and zs.rank(b"nope") is None
    zs.add(b"a", 9.0)
    assert zs.rank(b"a") == 3 and zs.scores[b"a"] == 9.0 and len(zs) == 4


def test_remove_pop_delete_span():
    zs = make(*[(b"m%d" % i, float(i)) for i in range(6)])
    assert zs.remove(b"m0") and not zs.remove(b"m0")
    assert zs.pop(True) == (b"m5", 5.0) and zs.pop(False) == (b"m1", 1.0)
    assert zs.delete_span(0, 2) == 2
    assert list(zs.scores) == [b"m4"] and list(zs.sl) == [(4.0, b"m4")]


def test_score_spans_inclusive_exclusive_and_infinities():
    zs = make((b"n", -math.inf), (b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"p", math.inf))
    assert zs.score_span(1, False, 2, False) == (1, 4)
    assert zs.score_span(1, True, 2, False) == (2, 4)
    assert zs.score_span(1, False, 2, True) == (1, 2)
    assert zs.score_span(-math.inf, False, math.inf, False) == (0, 5)
    assert zs.score_span(-math.inf, True, math.inf, True) == (1, 4)
    assert zs.score_span(math.inf, True, math.inf, False) == (5, 5)
    assert zs.score_span(3, False, 1, False)[1] - zs.score_span(3, False, 1, False)[0] == 0


def test_lex_spans():
    zs = make(*[(m, 0.0) for m in (b"a", b"b", b"c", b"d")])
    assert zs.lex_span("-", "+") == (0, 4)
    assert zs.lex_span((b"b", False), (b"c", False)) == (1, 3)
    assert zs.lex_span((b"b", True), (b"d", True)) == (2, 3)
    assert zs.lex_span("+", "-") == (4, 4)
    assert ZSet().lex_span("-", "+") == (0, 0)


def test_rank_span_sanitising():
    assert rank_span(5, 0, -1) == (0, 5)
    assert rank_span(5, -100, 1) == (0, 2)
    assert rank_span(5, 3, 1) == (0, 0)
    assert rank_span(5, 2, 100) == (2, 5)
    assert rank_span(5, 5, 6) == (0, 0)


def test_encoding_turns_skiplist_for_good():
    zs = ZSet(listpack=fits_listpack(1, 1, CONFIG))
    for i in range(4):
        zs.add(b"%d" % i, i)
        zs.check_encoding(b"%d" % i, CONFIG)
    assert zs.listpack
    zs.add(b"x", 1)
    zs.check_encoding(b"x", CONFIG)
    assert not zs.listpack
    zs.remove(b"x")
    assert not zs.listpack
    long = ZSet()
    long.add(b"long", 1)
    long.check_encoding(b"long", CONFIG)
    assert not long.listpack


def test_minus_zero_is_zero_only_in_a_listpack():
    small = make((b"z", -0.0))
    assert math.copysign(1, small.scores[b"z"]) == 1
    big = ZSet(listpack=False)
    big.add(b"z", -0.0)
    assert math.copysign(1, big.scores[b"z"]) == -1
    big.add(b"z", 0.0)                  # same score: no change, as in Redis
    assert math.copysign(1, big.scores[b"z"]) == -1


def test_copy_is_independent():
    zs = make((b"a", 1.0))
    other = zs.copy()
    other.add(b"b", 2.0)
    assert len(zs) == 1 and len(other) == 2 and other.listpack == zs.listpack


@pytest.mark.parametrize("score,text", [
    (1.5, b"1.5"), (0.1, b"0.10000000000000001"), (5.0, b"5"), (-0.0, b"-0"), (0.0, b"0"),
    (123456789012345678.0, b"123456789012345680"), (1e300, b"1.0000000000000001e+300"),
    (math.inf, b"inf"), (-math.inf, b"-inf"), (2.0**62, b"4.6116860184273879e+18"),
])
def test_d2string_as_a_listpack_stores_it(score, text):
    assert d2string(score) == text


def test_score_parsing_follows_strtod():
    assert parse_score(b"1.5") == 1.5 and parse_score(b"+inf") == math.inf
    assert parse_score(b"-infinity") == -math.inf and parse_score(b"0x10") == 16.0
    assert parse_score(b"1e-320") > 0
    for bad in (b"", b" 1", b"1 ", b"1_0", b"nan", b"1e400", b"1e-400", b"x", b"\xff"):
        with pytest.raises(ReplyError, match="not a valid float"):
            parse_score(bad)
    assert strtod(b" 2") == (2.0, False)


def test_range_items():
    assert parse_range_item(b"(1.5") == (1.5, True)
    assert parse_range_item(b"-inf") == (-math.inf, False)
    assert parse_range_item(b"1e400") == (math.inf, False)
    for bad in (b"((1", b"x", b"nan", b"(", b""):
        with pytest.raises(ReplyError) as err:
            parse_range_item(bad)
        assert err.value.message == NOT_RANGE_FLOAT
    assert parse_lex_item(b"-") == "-" and parse_lex_item(b"+") == "+"
    assert parse_lex_item(b"[a") == (b"a", False) and parse_lex_item(b"(") == (b"", True)
    for bad in (b"a", b"--", b"++", b""):
        with pytest.raises(ReplyError) as err:
            parse_lex_item(bad)
        assert err.value.message == NOT_LEX


members = st.binary(max_size=3)
scores = st.one_of(st.integers(-5, 5).map(float), st.sampled_from([math.inf, -math.inf, 0.5]))
ops = st.lists(st.tuples(st.sampled_from(["add", "rem", "pop"]), members, scores),
               max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops, scores, scores, st.booleans(), st.booleans())
def test_matches_a_sorted_dict_model(program, lo, hi, lo_ex, hi_ex):
    zs, model = ZSet(), {}
    for op, member, score in program:
        if op == "add":
            zs.add(member, score)
            model[member] = score
        elif op == "rem":
            assert zs.remove(member) == (model.pop(member, None) is not None)
        elif model:
            got = zs.pop(score > 0)
            pick = (max if score > 0 else min)(model.items(), key=lambda kv: (kv[1], kv[0]))
            assert got == pick
            del model[pick[0]]
    ordered = sorted((s, m) for m, s in model.items())
    assert list(zs.sl) == ordered and zs.scores == model
    for rank, (s, m) in enumerate(ordered):
        assert zs.rank(m) == rank
    start, end = zs.score_span(lo, lo_ex, hi, hi_ex)
    inside = [(s, m) for s, m in ordered
              if (s > lo if lo_ex else s >= lo) and (s < hi if hi_ex else s <= hi)]
    assert zs.slice(start, end) == inside
