"""LZF compression: liblzf's bytes (C extension and pure-Python port agree), round trips,
Redis's "more than 20 bytes, saves 4 bytes" rule, and rdbcompression on DUMP and RDB."""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import cluster.commands.registry  # noqa: F401  (registers the commands)
from cluster.encoding import dump as D
from cluster.base import lzf
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.encoding.rdb import read_rdb, write_rdb

# redis-server 7.0.15: DUMP of "a" * 44 (rdbcompression yes)
REAL_LZF = (b"a" * 44, b"\x00\xc3\t,\x01aa\xe0\x1f\x00\x01aa\n\x00\x98\x11\xf4\xb6\xaaSv\xff")


def _inputs(seed: int, count: int):
    rnd = random.Random(seed)
    for _ in range(count):
        n = rnd.choice([21, 22, 30, 64, 300, 2000, 9000])
        alpha = rnd.choice([b"ab", b"abcdefgh", bytes(range(256)), b"key:0123456789"])
        yield bytes(rnd.choice(alpha) for _ in range(n))


def test_pure_python_port_gives_the_c_extensions_bytes():
    assert lzf._c_lzf is not None          # the declared dependency is installed
    for data in _inputs(7, 400):
        for limit in (len(data) - 4, len(data) + 40):
            assert lzf.compress_py(data, limit) == lzf.compress(data, limit)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=600), st.integers(min_value=1, max_value=700))
def test_round_trip_and_bound(data, limit):
    for compress in (lzf.compress_py, lzf.compress):
        packed = compress(data, limit)
        if packed is not None:
            assert len(packed) <= limit
            assert lzf.decompress(packed, len(data)) == data


def test_dump_compresses_as_redis_and_obeys_rdbcompression():
    node = Node()
    c = node.new_client()
    execute(c, [b"SET", b"k", REAL_LZF[0]])
    assert execute(c, [b"DUMP", b"k"]) == REAL_LZF[1]
    execute(c, [b"SET", b"short", b"a" * 20])           # 20 bytes: never compressed
    assert execute(c, [b"DUMP", b"short"])[1] == 20
    execute(c, [b"CONFIG", b"SET", b"rdbcompression", b"no"])
    assert execute(c, [b"DUMP", b"k"])[1:3] == b"\x2c" + b"a"
    execute(c, [b"CONFIG", b"SET", b"rdbcompression", b"yes"])
    payload = execute(c, [b"DUMP", b"k"])
    execute(c, [b"RESTORE", b"k2", b"0", payload])
    assert execute(c, [b"GET", b"k2"]) == REAL_LZF[0]


def test_incompressible_strings_stay_raw():
    rnd = random.Random(3)
    data = bytes(rnd.getrandbits(8) for _ in range(100))
    D.set_compression(True)
    assert D.encode_string(data) == b"\x40\x64" + data
    assert D.encode_string(b"ab" * 50)[0] == 0xC3
    D.set_compression(False)
    assert D.encode_string(b"ab" * 50) == b"\x40\x64" + b"ab" * 50
    D.set_compression(True)


def test_rdb_written_compressed_or_not_reads_back():
    node = Node()
    c = node.new_client()
    for i in range(200):
        execute(c, [b"SET", b"key:%d:" % i + b"x" * 30, b"value-" * (i % 30 + 1)])
    plain = write_rdb(node.keyspace, compress=False)
    packed = write_rdb(node.keyspace, compress=True)
    assert len(packed) < len(plain) * 0.5
    for buf in (plain, packed):
        snap = read_rdb(buf)
        assert {(k, v) for _, k, v, _ in snap.entries} == set(node.keyspace[0].data.items())
