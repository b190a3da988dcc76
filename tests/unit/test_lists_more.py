"""LINSERT, LSET, LTRIM, LREM, LPOS, LMOVE, RPOPLPUSH, LMPOP without sockets, and a
hypothesis check of LTRIM/LREM/LPOS against a plain Python list."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import cluster.commands.registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, OK, ReplyError


def run(client, *args):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def fresh():
    return Node().new_client()


def test_linsert_lset_lrem_ltrim():
    c = fresh()
    run(c, "RPUSH", "l", "a", "b", "c")
    assert run(c, "LINSERT", "l", "AFTER", "b", "x") == 4
    assert run(c, "LINSERT", "l", "before", "zz", "x") == -1
    assert run(c, "LSET", "l", -1, "C") is OK
    assert run(c, "LSET", "l", 9, "C").message == "ERR index out of range"
    assert run(c, "LSET", "none", 0, "C").message == "ERR no such key"
    assert run(c, "LREM", "l", -1, "x") == 1
    assert run(c, "LTRIM", "l", 1, 5) is OK
    assert run(c, "LRANGE", "l", 0, -1) == [b"b", b"C"]
    assert run(c, "LTRIM", "l", 3, 1) is OK
    assert run(c, "EXISTS", "l") == 0


def test_lmove_same_list_rotates():
    c = fresh()
    run(c, "RPUSH", "l", "1", "2", "3")
    assert run(c, "LMOVE", "l", "l", "LEFT", "RIGHT") == b"1"
    assert run(c, "LRANGE", "l", 0, -1) == [b"2", b"3", b"1"]
    assert run(c, "RPOPLPUSH", "l", "l") == b"1"
    assert run(c, "LMOVE", "none", "l", "LEFT", "RIGHT") is None


def test_lmpop_propagates_count():
    node = Node()
    out = []
    node.propagator.sinks.append(out.append)
    c = node.new_client()
    run(c, "RPUSH", "l", "1", "2")
    assert run(c, "LMPOP", 2, "x", "l", "RIGHT", "COUNT", 9) == [b"l", [b"2", b"1"]]
    assert out[-1].endswith(b"*3\r\n$4\r\nRPOP\r\n$1\r\nl\r\n$1\r\n2\r\n")
    assert run(c, "LMPOP", 1, "l", "LEFT") is NULL_ARRAY


def test_wrongtype_everywhere():
    c = fresh()
    run(c, "SET", "s", "v")
    for cmd in (["LINSERT", "s", "BEFORE", "a", "b"], ["LSET", "s", 0, "a"],
                ["LTRIM", "s", 0, 1], ["LREM", "s", 0, "a"], ["LPOS", "s", "a"],
                ["LMOVE", "s", "d", "LEFT", "LEFT"], ["LMPOP", 1, "s", "LEFT"],
                ["BLPOP", "s", 0], ["BZPOPMIN", "s", 0]):
        reply = run(c, *cmd)
        assert isinstance(reply, ReplyError) and reply.message.startswith("WRONGTYPE"), cmd


def _model_lpos(items, element, rank, count, maxlen):
    indexes = list(range(len(items)))
    if rank < 0:
        indexes.reverse()
    if maxlen:
        indexes = indexes[:maxlen]
    hits = [i for i in indexes if items[i] == element][abs(rank) - 1:]
    if count is None:
        return hits[0] if hits else None
    return hits if count == 0 else hits[:count]


values = st.lists(st.sampled_from([b"a", b"b", b"c"]), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(values, st.integers(-15, 15), st.integers(-15, 15), st.integers(-4, 4),
       st.sampled_from([1, 2, -1, -3]), st.sampled_from([None, 0, 1, 2]),
       st.integers(0, 5))
def test_against_python_list(items, start, stop, rem_count, rank, count, maxlen):
    c = fresh()
    run(c, "RPUSH", "l", *items)
    args = ["LPOS", "l", "b", "RANK", rank, "MAXLEN", maxlen]
    if count is not None:
        args += ["COUNT", count]
    assert run(c, *args) == _model_lpos(items, b"b", rank, count, maxlen)
    removed_model = list(items)
    limit = abs(rem_count) or len(items)
    order = range(len(items) - 1, -1, -1) if rem_count < 0 else range(len(items))
    gone = [i for i in order if items[i] == b"a"][:limit]
    removed_model = [v for i, v in enumerate(items) if i not in gone]
    assert run(c, "LREM", "l", rem_count, "a") == len(gone)
    n = len(removed_model)
    s = max(start + n, 0) if start < 0 else start
    e = stop + n if stop < 0 else stop
    model = removed_model[s:e + 1] if s <= e else []
    assert run(c, "LTRIM", "l", start, stop) is OK
    assert run(c, "LRANGE", "l", 0, -1) == model
    assert run(c, "EXISTS", "l") == (1 if model else 0)
