"""Sorted set ranges: ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES), ZRANGESTORE, the older
ZRANGEBYSCORE/ZREVRANGEBYSCORE/ZRANGEBYLEX/ZREVRANGEBYLEX/ZREVRANGE, ZCOUNT, ZLEXCOUNT and
ZREMRANGEBYRANK/SCORE/LEX. As in Redis 7.0, options and the range are parsed before the
key is looked up."""
from __future__ import annotations

from cluster.commands.args import SYNTAX
from cluster.commands.zset_args import (parse_int, parse_lex_item, parse_limit,
                                        parse_range_item)
from cluster.commands.zsets import ACL, G, pairs_reply, store_result, zset_of
from cluster.keyspace.notify import ZSET, elements_removed
from cluster.resp.reply import ReplyError
from cluster.execution.table import command

RANK, SCORE, LEX, AUTO = "rank", "score", "lex", "auto"


def rank_span(n: int, start: int, end: int) -> tuple[int, int]:
    """Redis's start/end index sanitising, as a half-open [lo, hi) (empty when lo >= hi)."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return 0, 0
    if end >= n:
        end = n - 1
    return start, end + 1


def parse_span(kind: str, lo: bytes, hi: bytes):
    if kind == RANK:
        return parse_int(lo), parse_int(hi)
    if kind == SCORE:
        return parse_range_item(lo), parse_range_item(hi)
    return parse_lex_item(lo), parse_lex_item(hi)


def select(zs, kind: str, bounds, reverse: bool, offset: int = 0, limit: int = -1) -> list:
    """The (score, member) pairs of a range, in reply order."""
    n = len(zs)
    if kind == RANK:
        lo, hi = rank_span(n, *bounds)
        if reverse:
            lo, hi = n - hi, n - lo
        return zs.slice(lo, hi, reverse)
    if kind == SCORE:
        (a, a_ex), (b, b_ex) = bounds
        lo, hi = zs.score_span(a, a_ex, b, b_ex)
    else:
        lo, hi = zs.lex_span(*bounds, reverse)
    if offset < 0 or limit == 0:
        return []
    if reverse:
        hi -= offset
    else:
        lo += offset
    if limit > 0:
        if reverse:
            lo = max(lo, hi - limit)
        else:
            hi = min(hi, lo + limit)
    if lo >= hi:
        return []
    return zs.slice(lo, hi, reverse)


def zrange_generic(client, argv, start: int, kind: str, reverse: bool | None,
                   store: bool = False):
    """zrangeGenericCommand: argv[start], argv[start+1] are the range ends; kind AUTO and
    reverse None mean ZRANGE's BYSCORE/BYLEX/REV options are accepted."""
    withscores = False
    offset, limit = 0, -1
    rev = bool(reverse)
    j, argc = start + 2, len(argv)
    while j < argc:
        word = argv[j].lower()
        left = argc - j - 1
        if not store and word == b"withscores":
            withscores = True
        elif word == b"limit" and left >= 2:
            offset, limit = parse_limit(argv, j + 1)
            j += 2
        elif reverse is None and word == b"rev":
            rev = True
        elif kind == AUTO and word == b"bylex":
            kind = LEX
        elif kind == AUTO and word == b"byscore":
            kind = SCORE
        else:
            raise ReplyError(SYNTAX)
        j += 1
    if kind == AUTO:
        kind = RANK
    if (offset != 0 or limit != -1) and kind == RANK:
        raise ReplyError("ERR syntax error, LIMIT is only supported in combination with "
                         "either BYSCORE or BYLEX")
    if withscores and kind == LEX:
        raise ReplyError("ERR syntax error, WITHSCORES not supported in combination with "
                         "BYLEX")
    lo, hi = argv[start], argv[start + 1]
    if rev and kind != RANK:
        lo, hi = hi, lo
    bounds = parse_span(kind, lo, hi)
    key = argv[start - 1]
    zs = zset_of(client.db.lookup_read(key, not client.no_touch))
    pairs = [] if zs is None else select(zs, kind, bounds, rev, offset, limit)
    if store:
        return store_result(client, argv[1], pairs, b"zrangestore")
    if withscores:
        return pairs_reply(client, pairs)
    return [m for _, m in pairs]


_RANGE_CX = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
             "number of elements being returned. If M is constant (e.g. always asking for "
             "the first 10 elements with LIMIT), you can consider it O(log(N)).")


def _reader(name: str, since: str, summary: str, complexity: str = _RANGE_CX,
            doc_flags: str = "deprecated"):
    return command(name, -4, "readonly", keys=(1, 1, 1), acl=ACL, group=G,
                   key_flags="RO ACCESS", since=since, summary=summary,
                   complexity=complexity, doc_flags=doc_flags)


@_reader("zrange", "1.2.0", "Return a range of members in a sorted set",
         "O(log(N)+M) with N being the number of elements in the sorted set and M the "
         "number of elements returned.", "")
def zrange(client, argv):
    return zrange_generic(client, argv, 2, AUTO, None)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), acl=ACL, group=G,
         since="6.2.0",
         key_specs=({"flags": ["OW", "UPDATE"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
                    {"flags": ["RO", "ACCESS"],
                     "begin_search": {"type": "index", "spec": {"index": 2}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}}),
         summary="Store a range of members from sorted set into another key",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements stored into the destination key.")
def zrangestore(client, argv):
    return zrange_generic(client, argv, 3, AUTO, None, store=True)


@_reader("zrangebyscore", "1.0.5", "Return a range of members in a sorted set, by score")
def zrangebyscore(client, argv):
    return zrange_generic(client, argv, 2, SCORE, False)


@_reader("zrevrangebyscore", "2.2.0", "Return a range of members in a sorted set, by "
         "score, with scores ordered from high to low")
def zrevrangebyscore(client, argv):
    return zrange_generic(client, argv, 2, SCORE, True)


@_reader("zrangebylex", "2.8.9", "Return a range of members in a sorted set, by "
         "lexicographical range")
def zrangebylex(client, argv):
    return zrange_generic(client, argv, 2, LEX, False)


@_reader("zrevrangebylex", "2.8.9", "Return a range of members in a sorted set, by "
         "lexicographical range, ordered from higher to lower strings.")
def zrevrangebylex(client, argv):
    return zrange_generic(client, argv, 2, LEX, True)


@_reader("zrevrange", "1.2.0", "Return a range of members in a sorted set, by index, "
         "with scores ordered from high to low",
         "O(log(N)+M) with N being the number of elements in the sorted set and M the "
         "number of elements returned.")
def zrevrange(client, argv):
    return zrange_generic(client, argv, 2, RANK, True)


# -- counts --------------------------------------------------------------------------
def _count(client, argv, kind: str) -> int:
    bounds = parse_span(kind, argv[2], argv[3])
    zs = zset_of(client.db.lookup_read(argv[1], not client.no_touch))
    if zs is None:
        return 0
    lo, hi = zs.score_span(*bounds[0], *bounds[1]) if kind == SCORE else zs.lex_span(*bounds)
    return hi - lo


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="2.0.0",
         summary="Count the members in a sorted set with scores within the given values",
         complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zcount(client, argv):
    return _count(client, argv, SCORE)


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RO ACCESS", since="2.8.9",
         summary="Count the number of members in a sorted set between a given "
                 "lexicographical range",
         complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zlexcount(client, argv):
    return _count(client, argv, LEX)


# -- removals by range -------------------------------------------------------------------
def _remrange(client, argv, kind: str) -> int:
    bounds = parse_span(kind, argv[2], argv[3])
    db = client.db
    key = argv[1]
    zs = zset_of(db.lookup_write(key))
    if zs is None:
        return 0
    if kind == RANK:
        lo, hi = rank_span(len(zs), *bounds)
    elif kind == SCORE:
        lo, hi = zs.score_span(*bounds[0], *bounds[1])
    else:
        lo, hi = zs.lex_span(*bounds)
    removed = zs.delete_span(lo, hi)
    if removed:
        elements_removed(client, ZSET, b"zremrangeby" + kind.encode(), key, zs)
    return removed


_REM_CX = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
           "number of elements removed by the operation.")


def _remover(name: str, since: str, summary: str):
    return command(name, 4, "write", keys=(1, 1, 1), acl=ACL, group=G,
                   key_flags="RW DELETE", since=since, summary=summary, complexity=_REM_CX)


@_remover("zremrangebyrank", "2.0.0", "Remove all members in a sorted set within the given "
          "indexes")
def zremrangebyrank(client, argv):
    return _remrange(client, argv, RANK)


@_remover("zremrangebyscore", "1.2.0", "Remove all members in a sorted set within the "
          "given scores")
def zremrangebyscore(client, argv):
    return _remrange(client, argv, SCORE)


@_remover("zremrangebylex", "2.8.9", "Remove all members in a sorted set between the given "
          "lexicographical range")
def zremrangebylex(client, argv):
    return _remrange(client, argv, LEX)
