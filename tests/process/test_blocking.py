"""Blocking pops over real sockets (redis-py, RESP2 and RESP3): wake-up by another
client, fairness, MULTI/EXEC, timeouts, CLIENT UNBLOCK, disconnects, what is propagated."""
from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from tests.support import mb, wait_until


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(8) as executor:
        yield executor


@pytest.fixture
def k(request):
    return lambda name="l": f"{request.node.name}:{name}"


def blocked(admin) -> int:
    return admin.info("clients")["blocked_clients"]


class Blocker:
    """Runs one blocking command on its own connection in a thread."""

    def __init__(self, node, pool, admin, protocol: int = 2):
        self.node, self.pool, self.admin, self.protocol = node, pool, admin, protocol
        self.conns = []

    def start(self, *args):
        before = blocked(self.admin)
        conn = redis.Redis(port=self.node.port, protocol=self.protocol, socket_timeout=10)
        self.conns.append(conn)
        future = self.pool.submit(conn.execute_command, *args)
        wait_until(lambda: blocked(self.admin) > before or future.done(),
                   message="client blocked")
        return future

    def close(self):
        for conn in self.conns:
            conn.close()


@pytest.fixture
def blk(node, pool, rr):
    b = Blocker(node, pool, rr, rr.get_connection_kwargs().get("protocol") or 2)
    yield b
    b.close()


def test_blpop_woken_by_push(rr, blk, k):
    fut = blk.start("BLPOP", k("a"), k(), 0)
    assert rr.rpush(k(), "x", "y") == 2
    assert list(fut.result(5)) == [k().encode(), b"x"]
    assert rr.lrange(k(), 0, -1) == [b"y"]


def test_fairness_three_clients(rr, blk, k):
    futs = [blk.start("BRPOP", k(), 0) for _ in range(3)]
    assert blocked(rr) >= 3
    assert rr.rpush(k(), "1", "2", "3") == 3
    assert [list(f.result(5))[1] for f in futs] == [b"3", b"2", b"1"]
    assert rr.exists(k()) == 0
    wait_until(lambda: blocked(rr) == 0, message="nobody blocked")


def test_woken_after_exec_once(rr, blk, k):
    fut = blk.start("BLPOP", k(), 0)
    pipe = rr.pipeline(transaction=True)
    pipe.rpush(k(), "a").rpush(k(), "b").lrange(k(), 0, -1)
    assert pipe.execute() == [1, 2, [b"a", b"b"]]
    assert list(fut.result(5)) == [k().encode(), b"a"]
    assert rr.lrange(k(), 0, -1) == [b"b"]


def test_timeout_gives_nil(rr, k):
    assert rr.blpop([k()], 0.1) is None
    assert rr.brpoplpush(k(), k("d"), 0.1) is None
    assert rr.blmove(k(), k("d"), 0.1) is None
    assert rr.bzpopmin([k()], 0.1) is None
    assert rr.blmpop(0.1, 1, k(), direction="LEFT") is None
    assert rr.bzmpop(0.1, 1, [k()], min=True) is None


def test_no_block_inside_multi(rr, k):
    pipe = rr.pipeline(transaction=True)
    pipe.blpop([k()], 0).blmove(k(), k("d"), 0).bzpopmax([k()], 0)
    assert pipe.execute() == [None, None, None]


def test_blocked_client_shows_in_info_and_client_list(rr, blk, k):
    fut = blk.start("BLPOP", k(), 0)
    flags = [c["flags"] for c in rr.client_list() if c["cmd"] == "blpop"]
    assert "b" in flags[0]
    ids = [int(c["id"]) for c in rr.client_list() if c["cmd"] == "blpop"]
    assert rr.client_unblock(ids[0]) == 1
    assert fut.result(5) is None
    assert rr.client_unblock(ids[0]) == 0


def test_client_unblock_error(rr, blk, k):
    fut = blk.start("BZPOPMIN", k(), 0)
    cid = [int(c["id"]) for c in rr.client_list() if c["cmd"] == "bzpopmin"][0]
    assert rr.client_unblock(cid, error=True) == 1
    with pytest.raises(redis.ResponseError, match="UNBLOCKED client unblocked via CLIENT"):
        fut.result(5)


def test_disconnect_while_blocked_leaves_no_trace(node, rr, k):
    before = blocked(rr)
    sock = socket.create_connection(("127.0.0.1", node.port))
    sock.sendall(mb("BLPOP", k(), 0))
    wait_until(lambda: blocked(rr) == before + 1, message="raw client blocked")
    sock.close()
    wait_until(lambda: blocked(rr) == before, message="blocked client gone")
    assert rr.rpush(k(), "v") == 1
    assert rr.lrange(k(), 0, -1) == [b"v"]


def test_other_blocking_commands_served(rr, blk, k):
    f1 = blk.start("BLMOVE", k("s"), k("d"), "LEFT", "RIGHT", 0)
    f2 = blk.start("BRPOPLPUSH", k("s2"), k("d"), 0)
    f3 = blk.start("BLMPOP", 0, 2, k("x"), k("m"), "RIGHT", "COUNT", 5)
    f4 = blk.start("BZPOPMIN", k("z"), 0)
    f5 = blk.start("BZMPOP", 0, 1, k("z2"), "MAX", "COUNT", 2)
    rr.rpush(k("s"), "a", "b")
    rr.rpush(k("s2"), "c")
    rr.rpush(k("m"), "1", "2")
    rr.zadd(k("z"), {"p": 1, "q": 2})
    rr.zadd(k("z2"), {"p": 1, "q": 2, "r": 3})
    assert f1.result(5) == b"a" and f2.result(5) == b"c"
    assert rr.lrange(k("d"), 0, -1) == [b"c", b"a"]
    assert f3.result(5) == [k("m").encode(), [b"2", b"1"]]
    key, member, score = f4.result(5)
    assert (key, member, float(score)) == (k("z").encode(), b"p", 1.0)
    key, pairs = f5.result(5)
    assert key == k("z2").encode()
    assert [(m, float(s)) for m, s in pairs] == [(b"r", 3.0), (b"q", 2.0)]


def test_resp3_bzpopmin_score_is_double(node, k):
    with redis.Redis(port=node.port, protocol=3) as c3:
        c3.zadd(k(), {"a": 1.5})
        assert c3.execute_command("BZPOPMIN", k(), 0) == [k().encode(), b"a", 1.5]


def test_retyped_key_keeps_waiting(rr, blk, k):
    fut = blk.start("BLPOP", k(), 0)
    rr.set(k(), "string")
    rr.delete(k())
    rr.zadd(k(), {"m": 1})
    assert not fut.done() and blocked(rr) >= 1
    rr.delete(k())
    rr.rpush(k(), "v")
    assert list(fut.result(5)) == [k().encode(), b"v"]


def test_blmove_wrongtype_destination(rr, blk, k):
    fut = blk.start("BLMOVE", k("s"), k("d"), "LEFT", "LEFT", 0)
    rr.set(k("d"), "x")
    rr.rpush(k("s"), "v")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        fut.result(5)
    assert rr.lrange(k("s"), 0, -1) == [b"v"]


def _stream(sock) -> bytes:
    sock.settimeout(0.3)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data


def test_propagates_non_blocking_form(node, r, pool):
    sync = socket.create_connection(("127.0.0.1", node.port))
    sync.sendall(b"SYNC\r\n")
    wait_until(lambda: any(c.get("flags", "").find("S") >= 0 for c in r.client_list()),
               message="replica attached")
    _stream(sync)
    blk = Blocker(node, pool, r)
    try:
        r.rpush("pr:a", "1", "2")
        assert r.blpop(["pr:a"], 0) == (b"pr:a", b"1")        # immediate -> LPOP
        fut = blk.start("BLMOVE", "pr:s", "pr:d", "RIGHT", "LEFT", 0)
        fut2 = blk.start("BZMPOP", 0, 1, "pr:z", "MIN", "COUNT", 5)
        r.rpush("pr:s", "x")
        r.zadd("pr:z", {"m": 1})
        fut.result(5)
        fut2.result(5)
        data = b""
        for _ in range(20):
            data += _stream(sync)
            if b"ZPOPMIN" in data:
                break
    finally:
        blk.close()
        sync.close()
    assert mb("LPOP", "pr:a") in data and b"BLPOP" not in data
    assert mb("LMOVE", "pr:s", "pr:d", "right", "left") in data
    assert mb("ZPOPMIN", "pr:z", "1") in data
    assert b"BLMOVE" not in data and b"BZMPOP" not in data
