"""Sorted set commands on a Node in-process (no sockets): replies, propagation rewrites,
copy-on-write under a snapshot, DUMP/RESTORE encodings and refusal of bad payloads."""
from __future__ import annotations

import math
import struct

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.keyspace import snapshot
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.encoding.dump import BAD_FORMAT, dump, encode_len, encode_string, listpack, \
    listpack_entry, load
from cluster.encoding.dump_zset import TYPE_ZSET, TYPE_ZSET_2, TYPE_ZSET_LISTPACK
from cluster.keyspace.databases import WRONGTYPE
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, ReplyError
from cluster.keyspace.zset import ZSet


@pytest.fixture
def env():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:6379")
    fed = []
    node.propagator.sinks.append(fed.append)

    def run(*argv):
        return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in argv])
    return node, client, run, fed


def error(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def test_zadd_replies_and_types(env):
    node, client, run, _ = env
    assert run("ZADD", "z", 1, "a", 2, "b") == 2
    assert run("ZADD", "z", "CH", 5, "a", 3, "c") == 2
    assert run("ZADD", "z", "INCR", "0.5", "a") == 5.5
    assert run("ZADD", "z", "NX", "INCR", 1, "a") is None
    assert error(run("ZADD", "z", "INCR", 1, "a", 2, "b")).startswith("ERR INCR option")
    run("SET", "s", "v")
    assert error(run("ZADD", "s", 1, "a")) == WRONGTYPE
    assert error(run("ZRANGE", "s", 0, 1)) == WRONGTYPE
    assert run("TYPE", "z") == b"zset" and run("OBJECT", "ENCODING", "z") == b"listpack"
    assert run("ZPOPMIN", "nokey") == [] and run("ZMPOP", 1, "nokey", "MIN") is NULL_ARRAY


def test_nan_increment_is_refused_and_changes_nothing(env):
    _, _, run, fed = env
    run("ZADD", "z", "inf", "a")
    fed.clear()
    assert error(run("ZINCRBY", "z", "-inf", "a")) == \
        "ERR resulting score is not a number (NaN)"
    assert run("ZSCORE", "z", "a") == math.inf and fed == []


def test_emptied_sets_are_deleted(env):
    _, _, run, _ = env
    run("ZADD", "z", 1, "a", 2, "b")
    assert run("ZREM", "z", "a", "b") == 2 and run("EXISTS", "z") == 0
    run("ZADD", "z", 1, "a")
    assert run("ZPOPMAX", "z", 5) == [b"a", 1.0] and run("EXISTS", "z") == 0
    run("ZADD", "z", 1, "a")
    assert run("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 1 and run("EXISTS", "z") == 0


def test_zmpop_propagates_as_zpop_with_the_popped_count(env):
    _, _, run, fed = env
    run("ZADD", "z", 1, "a", 2, "b", 3, "c")
    fed.clear()
    assert run("ZMPOP", 2, "nokey", "z", "MAX", "COUNT", 10) == [
        b"z", [[b"c", 3.0], [b"b", 2.0], [b"a", 1.0]]]
    assert fed[-1].endswith(b"*3\r\n$7\r\nZPOPMAX\r\n$1\r\nz\r\n$1\r\n3\r\n")
    fed.clear()
    assert run("ZPOPMIN", "z", 0) == [] and fed == []       # nothing changed: not sent


def test_pops_and_ranges_under_a_snapshot_copy_on_write(env):
    node, _, run, _ = env
    run("ZADD", "z", 1, "a", 2, "b")
    with snapshot.take(node.keyspace) as view:
        frozen = next(iter(view))[1][b"z"]
        run("ZADD", "z", 3, "c")
        run("ZPOPMIN", "z")
        assert list(frozen.sl) == [(1.0, b"a"), (2.0, b"b")]
        assert run("ZRANGE", "z", 0, -1) == [b"b", b"c"]
        assert view.copies == 1


def test_store_commands_replace_or_delete_the_destination(env):
    _, _, run, _ = env
    run("ZADD", "a", 1, "x", 2, "y")
    run("SET", "dst", "string")
    assert run("ZUNIONSTORE", "dst", 1, "a") == 2 and run("TYPE", "dst") == b"zset"
    assert run("ZINTERSTORE", "dst", 2, "a", "nokey") == 0 and run("EXISTS", "dst") == 0
    assert run("ZRANGESTORE", "dst", "a", 1, 1) == 1
    assert run("ZRANGE", "dst", 0, -1, "WITHSCORES") == [b"y", 2.0]


@pytest.mark.parametrize("count", [3, 200])
def test_dump_restore_round_trip(env, count):
    _, _, run, _ = env
    args = []
    for i in range(count):
        args += [repr(i * 0.5 - 1), "m%d" % i]
    run("ZADD", "z", *args, "-inf", "lo", "inf", "hi")
    payload = run("DUMP", "z")
    assert payload[0] == (TYPE_ZSET_LISTPACK if count < 100 else TYPE_ZSET_2)
    run("RESTORE", "copy", 0, payload)
    assert run("ZRANGE", "copy", 0, -1, "WITHSCORES") == run("ZRANGE", "z", 0, -1,
                                                              "WITHSCORES")
    assert run("OBJECT", "ENCODING", "copy") == run("OBJECT", "ENCODING", "z")


def _payload(body: bytes) -> bytes:
    from cluster.base.crc64 import crc64
    data = body + (10).to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def test_old_zset_encoding_loads():
    body = bytes((TYPE_ZSET,)) + encode_len(2) + encode_string(b"a") + b"\x031.5" + \
        encode_string(b"b") + b"\xfe"
    zs = load(_payload(body))
    assert isinstance(zs, ZSet) and zs.scores == {b"a": 1.5, b"b": math.inf}


@pytest.mark.parametrize("body", [
    bytes((TYPE_ZSET_2,)) + encode_len(0),
    bytes((TYPE_ZSET_2,)) + encode_len(2) + (encode_string(b"a") + struct.pack("<d", 1)) * 2,
    bytes((TYPE_ZSET_2,)) + encode_len(1) + encode_string(b"a") + struct.pack("<d", math.nan),
    bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack([listpack_entry(b"a")])),
    bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(
        [listpack_entry(b"a"), listpack_entry(b"notascore")])),
    bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(
        [listpack_entry(b"a"), listpack_entry(b"1")] * 2)),
    bytes((TYPE_ZSET,)) + encode_len(1) + encode_string(b"a") + b"\xfd",
])
def test_bad_payloads_are_refused(body):
    with pytest.raises(ReplyError) as err:
        load(_payload(body))
    assert err.value.message == BAD_FORMAT


def test_dump_of_a_listpack_zset_spells_scores_as_redis():
    zs = ZSet()
    zs.add(b"a", 5.0)
    zs.add(b"b", 0.1)
    assert dump(zs)[:-10] == bytes((TYPE_ZSET_LISTPACK,)) + encode_string(listpack(
        [listpack_entry(b"b"), listpack_entry(b"0.10000000000000001"),
         listpack_entry(b"a"), listpack_entry(b"5")]))
