"""The HyperLogLog format and estimator (cluster.keyspace.hll) and PFADD/PFCOUNT/PFMERGE in-process."""
from __future__ import annotations

import random

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.keyspace import hll
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK


@pytest.fixture
def run():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
    return lambda *argv: execute(client, [a if isinstance(a, bytes) else str(a).encode()
                                          for a in argv])


def test_murmur_and_pattern():
    assert hll.murmur64a(b"") == hll.murmur64a(b"", hll.SEED)
    assert hll.murmur64a(b"hello") != hll.murmur64a(b"hellp")
    index, count = hll.pat_len(b"hello")
    assert 0 <= index < hll.REGISTERS and 1 <= count <= hll.Q + 1


def test_dense_raw_roundtrip():
    rnd = random.Random(1)
    raw = bytes(rnd.randrange(64) for _ in range(hll.REGISTERS))
    dense = hll.raw_to_dense(raw)
    assert len(dense) == hll.DENSE_SIZE - hll.HDR
    assert hll.dense_to_raw(dense) == raw
    buf = bytearray(bytes(hll.HDR) + dense)
    for i in (0, 1, 2, 3, 5000, hll.REGISTERS - 1):
        assert hll.dense_get(buf, i) == raw[i]


def test_sparse_set_split_and_merge():
    ops = hll.sparse_ops(hll.empty_sparse()[hll.HDR:])
    assert ops == [[hll.XZERO, 0, hll.REGISTERS]]
    changed, size = hll.sparse_set(ops, 18, 100, 3, 3000)
    assert changed and ops == [[hll.XZERO, 0, 100], [hll.VAL, 3, 1], [hll.XZERO, 0, 16283]]
    changed, size = hll.sparse_set(ops, size, 101, 3, 3000)
    assert ops[1] == [hll.VAL, 3, 2]                  # merged with its neighbour
    assert hll.sparse_set(ops, size, 100, 2, 3000) == (False, size)
    assert hll.sparse_set(ops, size, 7, 40, 3000) is None      # too big for sparse
    assert hll.sparse_to_raw(ops)[100:102] == b"\x03\x03"


def test_empty_and_small_counts(run):
    assert run("PFCOUNT", "h") == 0
    assert run("PFADD", "h") == 1
    assert run("GET", "h")[:4] == b"HYLL"
    assert run("PFADD", "h", *[f"e{i}" for i in range(100)]) == 1
    assert run("PFCOUNT", "h") == 100                 # Redis's estimate for these
    assert hll.cached(run("GET", "h")) == 100


def test_sparse_promoted_to_dense(run):
    run("PFADD", "h", *[f"x{i}" for i in range(3000)])
    value = run("GET", "h")
    assert value[4] == hll.DENSE and len(value) == hll.DENSE_SIZE
    assert abs(run("PFCOUNT", "h") - 3000) < 100
    assert run("PFMERGE", "m", "h", "none") == OK
    assert run("PFCOUNT", "m") == run("PFCOUNT", "h")


def test_not_an_hll(run):
    run("SET", "s", "x" * 20)
    assert run("PFADD", "s", "a").message == \
        "WRONGTYPE Key is not a valid HyperLogLog string value."
    run("RPUSH", "l", "a")
    assert run("PFCOUNT", "l").message.startswith("WRONGTYPE Operation against")
