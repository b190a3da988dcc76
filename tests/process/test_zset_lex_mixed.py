"""Lex ranges on sorted sets with mixed scores, byte for byte against a real
redis-server 7.0.15 (the cause of redis-py's test_zrangestore failure: we used to answer
empty whenever the scores were not all equal)."""
from __future__ import annotations

import random

import pytest

from tests.support import assert_same_replies


def _bound(rng: random.Random) -> str:
    return rng.choice(["-", "+", "[" + rng.choice("abcdefg"),
                       "(" + rng.choice("abcdefg") + rng.choice(["", "b"])])


def _script(seed: int) -> list:
    rng = random.Random(seed)
    cmds = [["FLUSHALL"]]
    for _ in range(40):
        zadd = ["ZADD", "z"]
        for _ in range(rng.randint(1, 10)):
            zadd += [str(rng.randint(0, 5)), rng.choice("abcdef") + rng.choice("abc")]
        lo, hi = _bound(rng), _bound(rng)
        cmds += [["DEL", "z"], zadd,
                 ["ZRANGEBYLEX", "z", lo, hi], ["ZREVRANGEBYLEX", "z", hi, lo],
                 ["ZRANGEBYLEX", "z", lo, hi, "LIMIT", "1", "2"],
                 ["ZRANGE", "z", hi, lo, "BYLEX", "REV", "LIMIT", "1", "1"],
                 ["ZLEXCOUNT", "z", lo, hi], ["ZRANGESTORE", "d", "z", lo, hi, "BYLEX"],
                 ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "z", lo, hi],
                 ["ZRANGE", "z", "0", "-1", "WITHSCORES"]]
    return cmds


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_sets_mixed_scores_match_redis(pair, seed):
    assert_same_replies(pair, _script(seed))


def test_skiplist_set_with_increasing_members_matches_redis(pair):
    zadd = ["ZADD", "big"]
    for i in range(300):
        zadd += [str(i), "m%03d" % i]
    cmds = [["FLUSHALL"], zadd, ["OBJECT", "ENCODING", "big"],
            ["ZRANGEBYLEX", "big", "[m100", "(m105"], ["ZREVRANGEBYLEX", "big", "(m105", "[m100"],
            ["ZLEXCOUNT", "big", "(m010", "+"], ["ZRANGESTORE", "d", "big", "[m2", "+", "BYLEX",
                                                  "LIMIT", "5", "3"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"], ["ZREMRANGEBYLEX", "big", "-", "(m050"],
            ["ZCARD", "big"]]
    assert_same_replies(pair, cmds)
    assert_same_replies(pair, cmds[3:6], protocol=3)
