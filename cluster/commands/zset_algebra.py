"""ZUNION / ZINTER / ZDIFF (and their STORE forms), ZINTERCARD: sorted sets and plain sets
(every member scoring 1) combined with WEIGHTS and AGGREGATE SUM|MIN|MAX."""
from __future__ import annotations

from cluster.commands.args import NOT_INT, SYNTAX, string2ll
from cluster.commands.zset_args import strtod
from cluster.commands.zsets import (ACL, G, keynum_specs, numkeys_keys, pairs_reply,
                                    store_result)
from cluster.keyspace.databases import WRONGTYPE, type_name
from cluster.resp.reply import ReplyError
from cluster.execution.table import command
from cluster.keyspace.zset import ZSet

UNION, INTER, DIFF = "union", "inter", "diff"


def _scores(value) -> dict:
    """member -> score of an input (a plain set's members score 1)."""
    if value is None:
        return {}
    if value.__class__ is ZSet:
        return value.scores
    if type_name(value) == "set":
        return dict.fromkeys(value, 1.0)
    raise ReplyError(WRONGTYPE)


def _weighted(score: float, weight: float) -> float:
    value = score * weight
    return 0.0 if value != value else value


def _aggregate(op: str, a: float, b: float) -> float:
    if op == "sum":
        value = a + b
        return 0.0 if value != value else value
    if op == "min":
        return a if a < b else b
    return a if a > b else b


def combine(inputs: list[dict], weights: list[float], op: str, agg: str) -> dict:
    if op == DIFF:
        first = inputs[0]
        rest = [s for s in inputs[1:] if s]
        return {m: s for m, s in first.items() if not any(m in o for o in rest)}
    if op == UNION:
        out: dict = {}
        for scores, weight in zip(inputs, weights):
            for member, score in scores.items():
                score = _weighted(score, weight)
                if member in out:
                    out[member] = _aggregate(agg, out[member], score)
                else:
                    out[member] = score
        return out
    if any(not s for s in inputs):
        return {}
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    first = order[0]
    out = {}
    for member, score in inputs[first].items():
        total = _weighted(score, weights[first])
        for i in order[1:]:
            other = inputs[i].get(member)
            if other is None:
                break
            total = _aggregate(agg, total, _weighted(other, weights[i]))
        else:
            out[member] = total
    return out


def generic(client, argv, dst: bytes | None, at: int, op: str, card_only: bool = False):
    """zunionInterDiffGenericCommand: numkeys at argv[at], then keys, then options."""
    argc = len(argv)
    numkeys = string2ll(argv[at])
    if numkeys is None:
        raise ReplyError(NOT_INT)
    if numkeys < 1:
        name = argv[0].decode("utf-8", "replace").lower()
        raise ReplyError(f"ERR at least 1 input key is needed for '{name}' command")
    if numkeys > argc - at - 1:
        raise ReplyError(SYNTAX)
    db = client.db
    inputs = []
    for key in argv[at + 1:at + 1 + numkeys]:
        value = db.lookup_write(key) if dst is not None else \
            db.lookup_read(key, not client.no_touch)
        inputs.append(_scores(value))
    weights = [1.0] * numkeys
    agg = "sum"
    withscores = False
    limit = 0
    j = at + 1 + numkeys
    while j < argc:
        word = argv[j].lower()
        left = argc - j - 1
        if op != DIFF and not card_only and word == b"weights" and left >= numkeys:
            for i in range(numkeys):
                parsed = strtod(argv[j + 1 + i])
                if parsed is None or parsed[1] or parsed[0] != parsed[0] or \
                        argv[j + 1 + i][:1].isspace():
                    raise ReplyError("ERR weight value is not a float")
                weights[i] = parsed[0]
            j += numkeys
        elif op != DIFF and not card_only and word == b"aggregate" and left >= 1:
            mode = argv[j + 1].lower()
            if mode not in (b"sum", b"min", b"max"):
                raise ReplyError(SYNTAX)
            agg = mode.decode()
            j += 1
        elif dst is None and not card_only and word == b"withscores":
            withscores = True
        elif card_only and word == b"limit" and left >= 1:
            limit = string2ll(argv[j + 1])
            if limit is None or limit < 0:
                raise ReplyError("ERR LIMIT can't be negative")
            j += 1
        else:
            raise ReplyError(SYNTAX)
        j += 1
    result = combine(inputs, weights, op, agg)
    if card_only:
        return min(len(result), limit) if limit else len(result)
    pairs = sorted((s, m) for m, s in result.items())
    if dst is not None:
        return store_result(client, dst, pairs, b"z%sstore" % op.encode())
    if withscores:
        return pairs_reply(client, pairs)
    return [m for _, m in pairs]


_RO = ["RO", "ACCESS"]
_UNION_CX = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, "
             "and M being the number of elements in the resulting sorted set.")
_INTER_CX = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
             "being the number of input sorted sets and M being the number of elements in "
             "the resulting sorted set.")
_DIFF_CX = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all "
            "the sets, N is the size of the first set, and K is the size of the result set.")


def _reader(name: str, summary: str, complexity: str, since: str = "6.2.0"):
    return command(name, -3, "readonly", acl=ACL, group=G, since=since,
                   key_specs=keynum_specs(_RO, False), getkeys=numkeys_keys(1, False),
                   summary=summary, complexity=complexity)


def _storer(name: str, summary: str, complexity: str, since: str):
    return command(name, -4, "write denyoom", keys=(1, 1, 1), acl=ACL, group=G,
                   since=since, key_specs=keynum_specs(_RO, True),
                   getkeys=numkeys_keys(2, True), summary=summary, complexity=complexity)


@_reader("zunion", "Add multiple sorted sets", _UNION_CX)
def zunion(client, argv):
    return generic(client, argv, None, 1, UNION)


@_reader("zinter", "Intersect multiple sorted sets", _INTER_CX)
def zinter(client, argv):
    return generic(client, argv, None, 1, INTER)


@_reader("zdiff", "Subtract multiple sorted sets", _DIFF_CX)
def zdiff(client, argv):
    return generic(client, argv, None, 1, DIFF)


@_storer("zunionstore", "Add multiple sorted sets and store the resulting sorted set in a "
         "new key", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted "
         "sets, and M being the number of elements in the resulting sorted set.", "2.0.0")
def zunionstore(client, argv):
    return generic(client, argv, argv[1], 2, UNION)


@_storer("zinterstore", "Intersect multiple sorted sets and store the resulting sorted set "
         "in a new key", _INTER_CX, "2.0.0")
def zinterstore(client, argv):
    return generic(client, argv, argv[1], 2, INTER)


@_storer("zdiffstore", "Subtract multiple sorted sets and store the resulting sorted set in "
         "a new key", _DIFF_CX, "6.2.0")
def zdiffstore(client, argv):
    return generic(client, argv, argv[1], 2, DIFF)


@_reader("zintercard", "Intersect multiple sorted sets and return the cardinality of the "
         "result", "O(N*K) worst case with N being the smallest input sorted set, K being "
         "the number of input sorted sets.", since="7.0.0")
def zintercard(client, argv):
    return generic(client, argv, None, 1, INTER, card_only=True)
