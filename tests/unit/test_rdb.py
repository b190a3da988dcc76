"""cluster.encoding.rdb: the RDB v10 snapshot writer and reader (pure, no sockets)."""
from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings, strategies as st

from cluster.base.crc64 import crc64
from cluster.keyspace.databases import Keyspace
from cluster.encoding.rdb import RdbError, load_into, read_rdb, write_rdb

values = st.one_of(
    st.binary(max_size=80),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: b"%d" % n),
    st.lists(st.one_of(st.binary(max_size=40),
                       st.integers(-(2**40), 2**40).map(lambda n: b"%d" % n)),
             min_size=1, max_size=40).map(deque),
)
entries = st.dictionaries(
    st.tuples(st.integers(0, 15), st.binary(max_size=20)),
    st.tuples(values, st.one_of(st.none(), st.integers(1, 2**50))),
    max_size=30)


def _keyspace(content) -> Keyspace:
    ks = Keyspace(16)
    for (db, key), (value, expire) in content.items():
        ks[db].store(key, value)
        if expire is not None:
            ks[db].set_expire(key, expire)
    return ks


def _dump(ks: Keyspace) -> dict:
    return {(db.id, k): (v, db.expires.get(k)) for db in ks.dbs for k, v in db.data.items()}


@settings(max_examples=150, deadline=None)
@given(entries, st.sampled_from([-2, -1, 2, 5]))
def test_round_trip_every_type(content, fill):
    ks = _keyspace(content)
    buf = write_rdb(ks, list_fill=fill)
    assert buf.startswith(b"REDIS0010")
    assert int.from_bytes(buf[-8:], "little") == crc64(buf[:-8])
    again = Keyspace(16)
    again[0].store(b"stale", b"gone")
    load_into(again, buf)
    assert _dump(again) == _dump(ks)


def test_header_aux_selectdb_resizedb():
    ks = Keyspace(16)
    ks[2].store(b"a", b"1")
    ks[2].store(b"b", deque([b"x"]))
    ks[2].set_expire(b"b", 123456)
    buf = write_rdb(ks, aux={b"redis-ver": b"7.0.15", b"repl-id": b"f" * 40})
    snap = read_rdb(buf)
    assert snap.version == 10
    assert snap.aux == {b"redis-ver": b"7.0.15", b"repl-id": b"f" * 40}
    assert snap.resize == {2: (2, 1)}
    assert (2, b"b", deque([b"x"]), 123456) in snap.entries
    assert b"\xfe\x02\xfb\x02\x01" in buf


def test_expired_keys_dropped_when_now_given():
    ks = Keyspace(16)
    ks[0].store(b"old", b"v")
    ks[0].set_expire(b"old", 1000)
    ks[0].store(b"new", b"v")
    ks[0].set_expire(b"new", 5000)
    snap = read_rdb(write_rdb(ks, now_ms=2000))
    assert [e[1] for e in snap.entries] == [b"new"]


def test_bad_checksum_and_signature():
    buf = bytearray(write_rdb(_keyspace({(0, b"k"): (b"v", None)})))
    buf[-1] ^= 1
    with pytest.raises(RdbError, match="Wrong RDB checksum"):
        read_rdb(bytes(buf))
    with pytest.raises(RdbError, match="Wrong signature"):
        read_rdb(b"NOTREDIS")
    with pytest.raises(RdbError, match="version 11"):
        read_rdb(b"REDIS0011\xff")


def test_zero_checksum_is_accepted():
    buf = write_rdb(_keyspace({(0, b"k"): (b"v", None)}))
    assert read_rdb(buf[:-8] + b"\0" * 8).entries == [(0, b"k", b"v", None)]


def test_unknown_type_is_a_clear_error_and_keeps_data():
    # A zipmap hash (type 9, written by Redis < 2.6; not read by us).
    buf = b"REDIS0010\xfe\x00\xfb\x01\x00\x09\x01k\x01\x01a\xff"
    buf += crc64(buf).to_bytes(8, "little")
    ks = _keyspace({(0, b"keep"): (b"v", None)})
    with pytest.raises(RdbError, match=r"type 9 \(hash\)"):
        load_into(ks, buf)
    assert ks[0].data == {b"keep": b"v"}


def test_truncated_is_an_error():
    buf = write_rdb(_keyspace({(0, b"k"): (b"value", None)}))
    with pytest.raises(RdbError, match="Corrupt"):
        read_rdb(buf[:20])


def test_reads_expiretime_seconds_idle_freq_lzf():
    from cluster.encoding.dump import encode_string
    # LZF string "aaaaaaaaaa": literal 'a' then back-reference of 9 at distance 1.
    lzf = b"\xc3\x05\x0a" + b"\x00a" + b"\xe0\x00\x00"
    body = (b"REDIS0009\xfa" + encode_string(b"x") + encode_string(b"y")
            + b"\xfe\x01\xfd" + (7).to_bytes(4, "little") + b"\xf8\x05\xf9\x03"
            + b"\x00" + encode_string(b"k") + lzf + b"\xff")
    snap = read_rdb(body + crc64(body).to_bytes(8, "little"))
    assert snap.aux == {b"x": b"y"}
    assert snap.entries == [(1, b"k", b"a" * 10, 7000)]
