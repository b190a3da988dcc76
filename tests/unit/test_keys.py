"""Generic key commands through the dispatcher, without sockets."""
from __future__ import annotations

import random
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cluster.commands.registry  # noqa: F401  (registers the commands)
from cluster.execution.dispatch import execute
from cluster.encoding.dump import dump
from cluster.node import Node
from cluster.replication.propagate import encode_command
from cluster.resp.reply import ReplyError
from cluster.keyspace.scanindex import ScanIndex

T0 = 1_700_000_000_000


class Harness:
    def __init__(self):
        self.node = Node(rng=random.Random(7))
        self.node.set_time(T0)
        self.client = self.node.new_client()
        self.fed: list[bytes] = []
        self.node.propagator.sinks.append(self.fed.append)

    def __call__(self, *args, client=None):
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        reply = execute(client or self.client, argv)
        if isinstance(reply, ReplyError):
            return ("error", reply.message)
        return reply

    def propagated(self) -> bytes:
        out = b"".join(self.fed)
        self.fed.clear()
        return out

    @property
    def db(self):
        return self.client.db


@pytest.fixture
def h():
    return Harness()


def cmd(*args) -> bytes:
    return encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args])


def test_del_unlink_exists_touch_type(h):
    h("set", "a", "1")
    h("set", "b", "2")
    h.db.store(b"l", deque([b"x"]))
    assert h("exists", "a", "a", "b", "zz") == 3
    assert h("touch", "a", "zz", "l") == 2
    assert h("type", "a") == b"string" and h("type", "l") == b"list"
    assert h("type", "zz") == b"none"
    assert h("del", "a", "a", "zz") == 1
    assert h("unlink", "b", "l") == 2
    assert h("dbsize") == 0


def test_expired_keys_are_gone(h):
    h("set", "a", "1")
    h("pexpire", "a", "100")
    h.node.set_time(T0 + 100)
    assert h("exists", "a") == 0
    assert h("del", "a") == 0
    assert h("keys", "*") == []


def test_rename_and_renamenx(h):
    assert h("rename", "nokey", "b") == ("error", "ERR no such key")
    assert h("renamenx", "nokey", "b") == ("error", "ERR no such key")
    h("set", "a", "1")
    h("pexpire", "a", "5000")
    h.propagated()
    assert h("rename", "a", "a") == b"OK"
    assert h("renamenx", "a", "a") == 0
    assert h.propagated() == b""                 # same-key rename changes nothing
    assert h("rename", "a", "b") == b"OK"
    assert h("pttl", "b") == 5000 and h("exists", "a") == 0
    h("set", "c", "3")
    assert h("renamenx", "b", "c") == 0
    assert h("renamenx", "b", "d") == 1
    assert h("get", "d") == b"1"
    assert h("rename", "d", "c") == b"OK" and h("get", "c") == b"1"


def test_copy(h):
    h.db.store(b"l", deque([b"x", b"y"]))
    h("pexpire", "l", "9000")
    assert h("copy", "l", "l") == ("error", "ERR source and destination objects are the same")
    assert h("copy", "l", "l2") == 1
    h.db.data[b"l2"].append(b"z")              # a real copy, not a shared deque
    assert list(h.db.data[b"l"]) == [b"x", b"y"]
    assert h("pttl", "l2") == 9000
    assert h("copy", "l", "l2") == 0
    assert h("copy", "l", "l2", "replace") == 1
    assert list(h.db.data[b"l2"]) == [b"x", b"y"]
    assert h("copy", "l", "l", "db", "1") == 1
    assert list(h.node.keyspace[1].data[b"l"]) == [b"x", b"y"]
    assert h("copy", "missing", "x") == 0
    assert h("copy", "l", "x", "db", "16") == ("error", "ERR DB index is out of range")
    assert h("copy", "l", "x", "db", "99999999999")[1].startswith("ERR value is out of range")
    assert h("copy", "l", "x", "foo") == ("error", "ERR syntax error")
    assert h("copy", "l", "x", "db") == ("error", "ERR syntax error")


def test_move_and_swapdb(h):
    h("set", "a", "1")
    h("pexpire", "a", "7000")
    assert h("move", "a", "0") == ("error", "ERR source and destination objects are the same")
    assert h("move", "a", "16") == ("error", "ERR DB index is out of range")
    assert h("move", "a", "x") == ("error", "ERR value is not an integer or out of range")
    assert h("move", "a", "1") == 1
    assert h("exists", "a") == 0
    db1 = h.node.keyspace[1]
    assert db1.data[b"a"] == b"1" and db1.get_expire(b"a") == T0 + 7000
    h("set", "a", "2")
    assert h("move", "a", "1") == 0             # exists in the target
    assert h("move", "zz", "1") == 0
    assert h("swapdb", "0", "x") == ("error", "ERR invalid second DB index")
    assert h("swapdb", "y", "0") == ("error", "ERR invalid first DB index")
    assert h("swapdb", "0", "16") == ("error", "ERR DB index is out of range")
    h.propagated()
    assert h("swapdb", "0", "0") == b"OK"
    assert cmd("swapdb", "0", "0") in h.propagated()
    assert h("swapdb", "0", "1") == b"OK"
    assert h("get", "a") == b"1" and h("pttl", "a") == 7000


def test_cluster_mode_refusals(h):
    h.node.config.values["cluster-enabled"] = True
    h("set", "a", "1")
    assert h("move", "a", "1") == ("error", "ERR MOVE is not allowed in cluster mode")
    assert h("swapdb", "0", "1") == ("error", "ERR SWAPDB is not allowed in cluster mode")
    assert h("copy", "a", "b", "db", "1") == (
        "error", "ERR Copying to another database is not allowed in cluster mode")
    assert h("copy", "a", "b", "db", "0") == 1


def test_keys_patterns(h):
    for k in (b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"", b"a*b"):
        h.db.store(k, b"v")
    assert sorted(h("keys", "h?llo")) == [b"hallo", b"hello", b"hxllo"]
    assert sorted(h("keys", "h*llo")) == [b"hallo", b"heeeello", b"hello", b"hllo", b"hxllo"]
    assert sorted(h("keys", "h[ae]llo")) == [b"hallo", b"hello"]
    assert h("keys", "a\\*b") == [b"a*b"]
    assert b"" in h("keys", "*")                # KEYS * lists even the empty key
    assert b"" not in h("keys", "**")           # ... which no real pattern matches


def test_scan_options_and_errors(h):
    for i in range(30):
        h("set", f"k{i}", "v")
    h.db.store(b"list", deque([b"x"]))
    assert h("scan", "x") == ("error", "ERR invalid cursor")
    assert h("scan", " 1") == ("error", "ERR invalid cursor")
    assert h("scan", "18446744073709551616") == ("error", "ERR invalid cursor")
    assert h("scan", "0", "count", "0") == ("error", "ERR syntax error")
    assert h("scan", "0", "count", "x") == ("error", "ERR value is not an integer or out of range")
    assert h("scan", "0", "match") == ("error", "ERR syntax error")
    assert h("scan", "")[0] is not None         # strtoul("") is cursor 0
    seen, cursor = [], b"0"
    while True:
        cursor, keys = h("scan", cursor, "count", "1000", "match", "k1*")
        seen += keys
        if cursor == b"0":
            break
    assert sorted(seen) == sorted([b"k1"] + [b"k1%d" % i for i in range(10)])
    cursor, keys = h("scan", "0", "count", "1000", "type", "LIST")
    assert cursor == b"0" and keys == [b"list"]
    assert h("scan", "0", "count", "1000", "type", "nosuchtype") == [b"0", []]


def _full_scan(h, count=10):
    seen, cursor = set(), b"0"
    while True:
        cursor, keys = h("scan", cursor, "count", str(count))
        seen.update(keys)
        if cursor == b"0":
            return seen


def test_scan_complete_and_survives_resizes(h):
    for i in range(3000):
        h("set", f"key:{i}", "v")
    assert _full_scan(h, 7) == {b"key:%d" % i for i in range(3000)}
    stable = {b"key:%d" % i for i in range(0, 3000, 10)}
    seen, cursor, step = set(), b"0", 0
    while True:
        cursor, keys = h("scan", cursor, "count", "5")
        seen.update(keys)
        step += 1
        # Shrink, then grow the index under the running iteration.
        for i in range(step * 40, step * 40 + 40):
            if i < 3000 and b"key:%d" % i not in stable:
                h("del", f"key:{i}")
        if step > 60:
            for i in range(step * 30, step * 30 + 30):
                h("set", f"new:{i}", "v")
        if cursor == b"0":
            break
    assert stable <= seen


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "del", "scan"]), st.integers(0, 400),
                          st.integers(1, 30)), max_size=200),
       st.integers(0, 300))
def test_scan_returns_every_key_present_throughout(ops, initial):
    h = Harness()
    for i in range(initial):
        h("set", f"k{i}", "v")
    present_all_along = {b"k%d" % i for i in range(initial)}
    seen: set = set()
    cursor = b"0"
    started = finished = False
    for op, n, count in ops + [("scan", 0, 10)] * 2000:
        if op == "add":
            h("set", f"k{n}", "v")
        elif op == "del":
            h("del", f"k{n}")
            present_all_along.discard(b"k%d" % n)
        else:
            cursor, keys = h("scan", cursor, "count", str(count))
            started = True
            seen.update(keys)
            if cursor == b"0":
                finished = True
                break
    assert started and finished
    assert present_all_along <= seen


def test_scan_index_unit():
    index = ScanIndex([b"a%d" % i for i in range(100)])
    keys, cursor = set(), 0
    while True:
        cursor, got = index.scan(cursor, 3)
        keys.update(got)
        if cursor == 0:
            break
    assert keys == {b"a%d" % i for i in range(100)}
    for i in range(100):
        index.discard(b"a%d" % i)
    assert len(index) == 0 and index.scan(0, 10) == (0, [])


def test_flush(h):
    h("set", "a", "1")
    h("select", "1")
    h("set", "b", "1")
    assert h("flushdb", "foo") == ("error", "ERR syntax error")
    assert h("flushdb", "async", "x") == ("error", "ERR syntax error")
    assert h("flushdb", "SYNC") == b"OK"
    assert h("dbsize") == 0 and h.node.keyspace[0].data
    h.propagated()
    assert h("flushdb") == b"OK"
    assert cmd("flushdb") in h.propagated()       # propagated even when empty
    assert h("flushall", "async") == b"OK"
    assert h.node.keyspace.total_keys() == 0


def test_expire_family_and_propagation(h):
    h("set", "a", "1")
    h.propagated()
    assert h("expire", "a", "100") == 1
    assert h.propagated().endswith(cmd("PEXPIREAT", "a", T0 + 100_000))
    assert h("ttl", "a") == 100 and h("pttl", "a") == 100_000
    assert h("expiretime", "a") == (T0 + 100_000) // 1000
    assert h("pexpiretime", "a") == T0 + 100_000
    assert h("pexpire", "a", "500", "gt") == 0
    assert h("pexpire", "a", "500", "lt") == 1
    assert h.propagated().endswith(cmd("PEXPIREAT", "a", T0 + 500, "lt"))
    assert h("expireat", "a", str(T0 // 1000 + 50), "nx") == 0
    assert h("expireat", "a", str(T0 // 1000 + 50), "xx") == 1
    assert h("pexpireat", "a", str(T0 + 60_000)) == 1
    assert h.propagated().endswith(cmd("pexpireat", "a", T0 + 60_000))
    assert h("persist", "a") == 1 and h("persist", "a") == 0
    assert h("ttl", "a") == -1 and h("ttl", "zz") == -2
    assert h("expiretime", "a") == -1 and h("pexpiretime", "zz") == -2
    assert h("expire", "a", "10", "xx") == 0
    assert h("expire", "a", "10", "gt") == 0    # no TTL counts as infinite
    assert h("expire", "a", "10", "lt") == 1
    h.propagated()
    assert h("expire", "a", "-1") == 1          # in the past: deleted, propagated as DEL
    assert h("exists", "a") == 0
    assert h.propagated().endswith(cmd("DEL", "a"))
    assert h("expire", "zz", "10") == 0


def test_expire_errors(h):
    h("set", "a", "1")
    assert h("expire", "a", "10", "foo") == ("error", "ERR Unsupported option foo")
    for flags in (("nx", "xx"), ("nx", "gt"), ("lt", "nx")):
        assert h("expire", "a", "10", *flags) == (
            "error", "ERR NX and XX, GT or LT options at the same time are not compatible")
    assert h("expire", "a", "10", "gt", "lt") == (
        "error", "ERR GT and LT options at the same time are not compatible")
    assert h("expire", "a", "99999999999999999") == (
        "error", "ERR invalid expire time in 'expire' command")
    assert h("pexpire", "a", "9223372036854775807") == (
        "error", "ERR invalid expire time in 'pexpire' command")
    assert h("expireat", "a", "9223372036854775807") == (
        "error", "ERR invalid expire time in 'expireat' command")
    assert h("expire", "a", "x") == ("error", "ERR value is not an integer or out of range")


def test_ttl_rounding(h):
    h("set", "a", "1")
    h("pexpire", "a", "1499")
    assert h("ttl", "a") == 1
    h("pexpire", "a", "1500")
    assert h("ttl", "a") == 2


def test_object(h):
    h("set", "i", "12345")
    h("set", "s", "x" * 44)
    h("set", "r", "x" * 45)
    h("set", "z", "0123")
    h.db.store(b"l", deque([b"a"]))
    assert h("object", "encoding", "i") == b"int"
    assert h("object", "encoding", "z") == b"embstr"
    assert h("object", "encoding", "s") == b"embstr"
    assert h("object", "encoding", "r") == b"raw"
    assert h("object", "encoding", "l") == b"quicklist"
    assert h("object", "encoding", "none") is None
    assert h("object", "refcount", "r") == 1
    h("set", "small", "42")
    assert h("object", "refcount", "small") == 2147483647
    h.node.set_time(T0 + 10_000)
    assert h("object", "idletime", "r") == 10
    assert h("object", "freq", "r")[1].startswith("ERR An LFU maxmemory policy is not selected")
    h("config", "set", "maxmemory-policy", "allkeys-lfu")
    h("set", "f", "v")
    assert h("object", "freq", "f") == 5
    assert h("object", "idletime", "f")[1].startswith("ERR An LFU maxmemory policy is selected")
    assert h("object", "help")[0].startswith(b"OBJECT <subcommand>")
    assert h("object", "foo", "x") == ("error", "ERR unknown subcommand 'foo'. Try OBJECT HELP.")


def test_dump_restore(h):
    h("set", "s", "hello")
    payload = h("dump", "s")
    assert payload == b"\x00\x05hello\n\x00cr\xdfve4 \n"
    assert h("dump", "nokey") is None
    assert h("restore", "s", "0", payload) == ("error", "BUSYKEY Target key name already exists.")
    assert h("restore", "t", "-1", payload) == ("error", "ERR Invalid TTL value, must be >= 0")
    assert h("restore", "t", "0", payload[:-1] + b"x") == (
        "error", "ERR DUMP payload version or checksum are wrong")
    assert h("restore", "t", "0", payload, "idletime", "-1") == (
        "error", "ERR Invalid IDLETIME value, must be >= 0")
    assert h("restore", "t", "0", payload, "freq", "256") == (
        "error", "ERR Invalid FREQ value, must be >= 0 and <= 255")
    assert h("restore", "t", "0", payload, "idletime", "1", "freq", "1") == (
        "error", "ERR syntax error")
    assert h("restore", "t", "0", payload, "bogus") == ("error", "ERR syntax error")
    h.propagated()
    assert h("restore", "t", "1000", payload) == b"OK"
    assert h("pttl", "t") == 1000
    assert h.propagated().endswith(cmd("restore", "t", T0 + 1000, payload, "ABSTTL"))
    assert h("restore", "t", "0", payload, "replace", "idletime", "100") == b"OK"
    assert h("ttl", "t") == -1 and h("object", "idletime", "t") == 100
    assert h("restore", "t", str(T0 - 1), payload, "replace", "absttl") == b"OK"
    assert h("exists", "t") == 0                 # already expired: the old key is deleted
    assert h.propagated().endswith(cmd("DEL", "t"))
    listload = dump(deque([b"a", b"1", b"b"]))
    assert h("restore", "l", "0", listload) == b"OK"
    assert list(h.db.data[b"l"]) == [b"a", b"1", b"b"]
    bad = b"\x05\x00" + b"\n\x00"
    from cluster.base.crc64 import crc64
    bad += crc64(bad).to_bytes(8, "little")
    assert h("restore", "u", "0", bad) == ("error", "ERR Bad data format")


def test_watch_is_broken_by_key_commands(h):
    other = h.node.new_client()
    cases = [("del", "w"), ("rename", "w", "w2"), ("expire", "w", "100"), ("persist", "w"),
             ("move", "w", "1"), ("restore", "w", "0", dump(b"x"), "replace"),
             ("copy", "src", "w", "replace"), ("flushdb",), ("swapdb", "0", "1")]
    for case in cases:
        h("flushall")
        h("set", "w", "1")
        h("set", "src", "2")
        h("pexpire", "w", "100000")
        h("watch", "w")
        h(*case, client=other)
        assert h.client.dirty_cas, case
        h("unwatch")
    h("set", "w", "1")
    h("watch", "w")
    h("exists", "w", client=other)
    h("ttl", "w", client=other)
    h("expire", "w", "10", "xx", client=other)   # no TTL: nothing changes
    assert not h.client.dirty_cas


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 500), st.lists(st.tuples(st.integers(0, 9), st.integers(1, 20)),
                                      max_size=400), st.randoms(use_true_random=False))
def test_scan_cursor_survives_any_resize(n, steps, rnd):
    """The reverse-binary cursor: grow or shrink the table to any size between calls."""
    index = ScanIndex([b"%d" % i for i in range(n)])
    stable = {b"%d" % i for i in range(0, n, 3)}
    seen: set = set()
    cursor = 0
    extra = n
    for bits, count in steps + [(4, 50)] * 1000:
        cursor, got = index.scan(cursor, count)
        seen.update(got)
        if cursor == 0:
            break
        live = index.keys()
        for key in rnd.sample(live, min(len(live), 5)):
            if key not in stable:
                index.discard(key)
        index.add(b"x%d" % extra)
        extra += 1
        index._build(index.keys(), 4 + bits)        # any table size, up or down
    assert cursor == 0
    assert stable <= seen
