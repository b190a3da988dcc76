"""Blocking XREAD / XREADGROUP over real sockets (wake-up by XADD, order, timeouts,
CLIENT UNBLOCK, MULTI, deleted keys and groups), what stream commands propagate (a SYNC
link reads the stream), and a replica of ours ending with the primary's XINFO STREAM FULL.
"""
from __future__ import annotations

import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.process.test_blocking import Blocker, _stream
from tests.support import mb, node_process, wait_until

NODE_ARGS = ("--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0")


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(8) as executor:
        yield executor


@pytest.fixture
def blk(node, pool, rr):
    b = Blocker(node, pool, rr, rr.get_connection_kwargs().get("protocol") or 2)
    yield b
    b.close()


@pytest.fixture
def k(request):
    return lambda name="s": f"{request.node.name}:{name}"


def test_xread_woken_by_xadd(rr, blk, k):
    rr.xadd(k(), {"f": "v"}, id="1-0")
    fut = blk.start("XREAD", "BLOCK", 0, "STREAMS", k(), "$")
    rr.xadd(k(), {"g": "w"}, id="2-0")
    got = repr(fut.result(5))
    assert "2-0" in got and "1-0" not in got and "'w'" in got


def test_xread_served_in_order_and_all(rr, blk, k):
    a = blk.start("XREAD", "BLOCK", 0, "STREAMS", k(), "0")
    b = blk.start("XREAD", "BLOCK", 0, "STREAMS", k(), "0")
    rr.xadd(k(), {"f": "v"}, id="5-0")
    assert a.result(5) and b.result(5)


def test_xreadgroup_one_consumer_gets_each_entry(rr, blk, k):
    rr.xgroup_create(k(), "g", "$", mkstream=True)
    a = blk.start("XREADGROUP", "GROUP", "g", "alice", "BLOCK", 0, "STREAMS", k(), ">")
    b = blk.start("XREADGROUP", "GROUP", "g", "bob", "BLOCK", 0, "STREAMS", k(), ">")
    rr.xadd(k(), {"f": "1"}, id="1-0")
    assert a.result(5)
    assert not b.done()
    rr.xadd(k(), {"f": "2"}, id="2-0")
    got = b.result(5)
    assert b"2-0" in repr(got).encode()
    pending = rr.xpending(k(), "g")
    assert pending["pending"] == 2


def test_timeout_and_unblock(rr, blk, k):
    assert not rr.execute_command("XREAD", "BLOCK", 30, "STREAMS", k(), "$")
    fut = blk.start("XREAD", "BLOCK", 0, "STREAMS", k(), "$")
    cid = max(int(c["id"]) for c in rr.client_list() if c["cmd"] == "xread")
    assert rr.client_unblock(cid) == 1
    assert not fut.result(5)
    fut = blk.start("XREAD", "BLOCK", 0, "STREAMS", k(), "$")
    cid = max(int(c["id"]) for c in rr.client_list() if c["cmd"] == "xread")
    assert rr.client_unblock(cid, error=True) == 1
    with pytest.raises(redis.ResponseError, match="UNBLOCKED client unblocked"):
        fut.result(5)


def test_no_block_inside_multi(rr, k):
    pipe = rr.pipeline(transaction=True)
    pipe.execute_command("XREAD", "BLOCK", 0, "STREAMS", k(), "$")
    assert not pipe.execute()[0]


def test_xreadgroup_fails_when_key_or_group_goes(rr, blk, k):
    rr.xgroup_create(k(), "g", "$", mkstream=True)
    fut = blk.start("XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", k(), ">")
    rr.delete(k())
    with pytest.raises(redis.ResponseError, match="UNBLOCKED the stream key no longer"):
        fut.result(5)
    rr.xgroup_create(k(), "g", "$", mkstream=True)
    fut = blk.start("XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", k(), ">")
    rr.xgroup_destroy(k(), "g")
    with pytest.raises(redis.ResponseError, match="NOGROUP the consumer group this client"):
        fut.result(5)
    rr.xgroup_create(k(), "g", "$", mkstream=True)
    fut = blk.start("XREADGROUP", "GROUP", "g", "a", "BLOCK", 0, "STREAMS", k(), ">")
    rr.set(k(), "x")
    with pytest.raises(redis.ResponseError, match="UNBLOCKED"):
        fut.result(5)
    # XREAD (no group) keeps waiting through a DEL and is served by the next XADD
    fut = blk.start("XREAD", "BLOCK", 0, "STREAMS", k("o"), "$")
    rr.xadd(k("o"), {"f": "v"}, id="1-0")
    rr.delete(k("o"))
    assert fut.result(5)


def _propagated(node, r, actions, until: bytes) -> bytes:
    sync = socket.create_connection(("127.0.0.1", node.port))
    sync.sendall(b"SYNC\r\n")
    wait_until(lambda: any("S" in c.get("flags", "") for c in r.client_list()),
               message="replica attached")
    _stream(sync)
    try:
        actions()
        data = b""
        for _ in range(30):
            data += _stream(sync)
            if until in data:
                break
        return data
    finally:
        sync.close()


def test_propagation_forms(node, r, pool):
    blk = Blocker(node, pool, r)

    def actions():
        for i in range(1, 201):
            r.xadd("pp:s", {"f": "v"}, id=f"{i}-0")
        r.execute_command("XADD", "pp:s", "MAXLEN", "~", "150", "*", "f", "v")
        r.execute_command("XTRIM", "pp:s", "MINID", "~", "190")
        r.xgroup_create("pp:s", "g", "0")
        r.xreadgroup("g", "alice", {"pp:s": ">"}, count=2)
        r.xreadgroup("g", "nack", {"pp:s": ">"}, count=1, noack=True)
        r.xclaim("pp:s", "g", "bob", 0, ["101-0"])
        r.xautoclaim("pp:s", "g", "carol", 0, "0", count=1)
        r.xgroup_create("pp:b", "g", "$", mkstream=True)
        fut = blk.start("XREADGROUP", "GROUP", "g", "dave", "BLOCK", 0, "STREAMS", "pp:b", ">")
        r.xadd("pp:b", {"x": "y"}, id="7-0")
        fut.result(5)
        r.set("pp:end", "1")

    try:
        data = _propagated(node, r, actions, b"pp:end")
    finally:
        blk.close()
    assert b"XREADGROUP" not in data and b"XAUTOCLAIM" not in data
    assert re.search(rb"\$4\r\nXADD\r\n\$4\r\npp:s\r\n\$6\r\nMAXLEN\r\n\$1\r\n=\r\n\$3\r\n201\r\n"
                     rb"\$\d+\r\n\d+-0\r\n", data)                    # ~ -> =, * -> the id
    assert b"$5\r\nMINID\r\n$1\r\n=\r\n" in data
    assert _body("XCLAIM", "pp:s", "g", "alice", "0", "101-0", "TIME") in data
    assert b"$6\r\nXGROUP\r\n$14\r\nCREATECONSUMER\r\n$4\r\npp:s\r\n$1\r\ng\r\n$4\r\nnack" in data
    assert b"$6\r\nXGROUP\r\n$5\r\nSETID\r\n$4\r\npp:s\r\n$1\r\ng\r\n" in data
    assert _body("XCLAIM", "pp:s", "g", "bob", "0", "101-0", "TIME") in data
    assert _body("XCLAIM", "pp:b", "g", "dave", "0", "7-0", "TIME") in data


def _body(*args) -> bytes:
    """A command's arguments as RESP, without the count line (a prefix of a longer one)."""
    return b"*14\r\n" + mb(*args).split(b"\r\n", 1)[1]


def _full(r, key):
    """XINFO STREAM FULL without what Redis 7.0 itself does not replicate: a consumer's
    seen-time (the replica's clock), and a group's entries-read / lag after XREADGROUP
    (the propagated XCLAIM ... LASTID carries no read counter: a 7.0 replica shows nil)."""
    info = repr(r.execute_command("XINFO", "STREAM", key, "FULL"))
    info = re.sub(r"b'seen-time': \d+", "seen", info)
    return re.sub(r"b'entries-read': (None|\d+), b'lag': (None|\d+)", "read", info)


def test_replica_ends_with_same_stream(node, pool, tmp_path):
    primary = redis.Redis(port=node.port, socket_timeout=10)
    with node_process(tmp_path / "replica", *NODE_ARGS) as rep:
        replica = redis.Redis(port=rep.port, socket_timeout=10)
        replica.replicaof("127.0.0.1", node.port)
        wait_until(lambda: replica.info("replication").get("master_link_status") == "up",
                   message="replica up")
        key = "rp:s"
        for i in range(300):
            primary.xadd(key, {"f": str(i)}, maxlen=250, approximate=True)
        primary.xgroup_create(key, "g", "0")
        primary.xgroup_create(key, "h", "$")
        primary.xreadgroup("g", "a", {key: ">"}, count=10)
        primary.xreadgroup("g", "b", {key: ">"}, count=5, noack=True)
        primary.xack(key, "g", *[e[0] for e in primary.xrange(key, count=3)])
        first = primary.xrange(key, count=1)[0][0]
        primary.xclaim(key, "g", "c", 0, [first], idle=500, retrycount=4)
        primary.xautoclaim(key, "g", "d", 0, "0", count=4)
        primary.xdel(key, first)
        primary.xautoclaim(key, "g", "e", 0, "0", count=2)
        primary.xgroup_createconsumer(key, "h", "z")
        primary.xtrim(key, minid=primary.xrange(key, count=40)[-1][0], approximate=True)
        blk = Blocker(node, pool, primary)
        try:
            fut = blk.start("XREADGROUP", "GROUP", "h", "w", "BLOCK", 0, "STREAMS", key, ">")
            primary.xadd(key, {"last": "1"})
            fut.result(5)
        finally:
            blk.close()
        want = primary.info("replication")["master_repl_offset"]
        wait_until(lambda: replica.info("replication")["slave_repl_offset"] == want,
                   message="replica caught up")
        got, want = _full(replica, key), _full(primary, key)
        at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        assert got == want, at
        replica.close()
    primary.close()
