"""Small replication / propagation gaps, each checked on our nodes and on real redis-server
7.0.15 side by side: a writable replica's own writes stay local, PUBLISH never reaches the
AOF, CLIENT UNBLOCK ends a WAIT, OBJECT fires no keymiss, and a re-pointed former primary
keeps its backlog."""
from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
import redis

from tests.process.test_notify import _messages
from tests.support import node_process, real_redis, wait_until


@contextlib.contextmanager
def _servers(kind: str, tmp_path: Path, count: int, *args: str):
    with contextlib.ExitStack() as stack:
        procs = []
        for i in range(count):
            if kind == "ours":
                procs.append(stack.enter_context(node_process(tmp_path / f"n{i}", *args)))
            else:
                procs.append(stack.enter_context(real_redis(*args)))
        yield [redis.Redis(port=p.port, socket_timeout=10) for p in procs], procs


def _info(r) -> dict:
    return r.info("replication")


def _attach(replica, primary_port: int) -> None:
    replica.replicaof("127.0.0.1", primary_port)
    wait_until(lambda: _info(replica)["master_link_status"] == "up", 20)


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_writable_replica_keeps_its_writes_local(kind, tmp_path):
    with _servers(kind, tmp_path, 3) as (rs, procs):
        p, mid, sub = rs
        mid.config_set("replica-read-only", "no")
        _attach(mid, procs[0].port)
        _attach(sub, procs[1].port)
        p.set("a", "1")
        wait_until(lambda: sub.get("a") == b"1", 10)
        assert mid.set("local", "x")              # a normal client's write on the replica
        p.set("b", "2")
        wait_until(lambda: sub.get("b") == b"2", 10)
        assert mid.get("local") == b"x"
        assert sub.get("local") is None             # not passed on to the sub-replica
        wait_until(lambda: _info(mid)["master_repl_offset"]
                   == _info(p)["master_repl_offset"] == _info(sub)["master_repl_offset"], 10)


def _aof_bytes(directory: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(directory.rglob("*.aof")))


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_publish_is_not_written_to_the_aof(kind, tmp_path):
    with _servers(kind, tmp_path, 1, "--appendonly", "yes",
                  "--appendfsync", "always") as (rs, procs):
        r = rs[0]
        assert r.publish("chan", "hello") == 0
        r.set("after", "v")
        directory = procs[0].dir if kind == "ours" else Path(procs[0].workdir)
        wait_until(lambda: b"after" in _aof_bytes(directory), 10)
        data = _aof_bytes(directory)
        assert b"PUBLISH" not in data.upper() and b"hello" not in data


def _blocked_wait(port: int, out: list) -> threading.Thread:
    def run():
        with redis.Redis(port=port, socket_timeout=20) as c:
            c.client_setname("waiter")
            try:
                out.append(c.execute_command("WAIT", 1, 0))
            except redis.ResponseError as err:
                out.append(str(err))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _waiter_id(r) -> int:
    found = []

    def blocked():
        found[:] = [c["id"] for c in r.client_list()
                    if c["name"] == "waiter" and "b" in c["flags"]]
        return found
    wait_until(blocked, 10)
    return int(found[0])


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_client_unblock_ends_wait(kind, tmp_path):
    with _servers(kind, tmp_path, 1) as (rs, procs):
        r = rs[0]
        got: list = []
        for reason, expected in ((None, 0),
                                 ("ERROR", "UNBLOCKED client unblocked via CLIENT UNBLOCK")):
            got.clear()
            thread = _blocked_wait(procs[0].port, got)
            cid = _waiter_id(r)
            args = ["CLIENT", "UNBLOCK", cid] + ([reason] if reason else [])
            assert r.execute_command(*args) == 1
            thread.join(10)
            assert got == [expected]
            assert r.execute_command("CLIENT", "UNBLOCK", cid) == 0     # no longer blocked


def test_wait_with_replicas_unblocked_by_client_unblock(tmp_path):
    """With an attached replica that does not have the write acked yet: TIMEOUT replies
    with the acks counted so far (ours only: a real replica acks too fast to catch)."""
    with _servers("ours", tmp_path, 2) as (rs, procs):
        p, rep = rs
        _attach(rep, procs[0].port)
        got: list = []
        thread = _blocked_wait(procs[0].port, got)     # asks for 1 replica: may ack at once
        thread.join(10)
        assert got == [1]
        with redis.Redis(port=procs[0].port, socket_timeout=20) as c:
            c.client_setname("waiter")
            out: list = []

            def run():
                out.append(c.execute_command("WAIT", 5, 0))
            t = threading.Thread(target=run, daemon=True)
            t.start()
            assert p.execute_command("CLIENT", "UNBLOCK", _waiter_id(p)) == 1
            t.join(10)
            assert out == [1]


def test_object_subcommands_fire_no_keymiss_as_redis(module_node, module_real):
    commands = [("OBJECT", "ENCODING", "nx"), ("OBJECT", "REFCOUNT", "nx"),
                ("OBJECT", "IDLETIME", "nx"), ("EXISTS", "nx"), ("TYPE", "nx"),
                ("TTL", "nx"), ("SET", "dumped", "v")]
    ours = _messages(module_node.port, 3, commands, "KEAm")
    real = _messages(module_real.port, 3, commands, "KEAm")
    assert [m[3] for m in real if m[2] == b"__keyevent@0__:keymiss"].count(b"nx") == 3
    assert ours == real


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_repointed_primary_keeps_its_backlog(kind, tmp_path):
    """A (primary) with replicas B, C; B promoted; A re-pointed to B: A partially resyncs
    and keeps its backlog (first byte offset unchanged), C partially resyncs with A."""
    with _servers(kind, tmp_path, 3) as (rs, procs):
        a, b, c = rs
        _attach(b, procs[0].port)
        _attach(c, procs[0].port)
        for i in range(20):
            a.set(f"k{i}", "v" * 50)
        wait_until(lambda: _info(b)["master_repl_offset"] == _info(a)["master_repl_offset"]
                   == _info(c)["master_repl_offset"], 10)
        first = _info(a)["repl_backlog_first_byte_offset"]
        b.replicaof("no", "one")
        a.replicaof("127.0.0.1", procs[1].port)
        wait_until(lambda: _info(a)["master_link_status"] == "up", 20)
        assert b.info("stats")["sync_partial_ok"] == 1         # A: +CONTINUE with B's id
        assert _info(a)["repl_backlog_first_byte_offset"] == first
        b.set("after", "1")
        wait_until(lambda: c.get("after") == b"1", 20)          # C follows A's new history
        assert a.info("stats")["sync_full"] == 2                # B and C at the start only
        assert a.info("stats")["sync_partial_ok"] == 1          # C's resync with A


@pytest.mark.parametrize("kind", ["ours", "real"])
def test_role_says_connect_while_the_primary_refuses(kind, tmp_path):
    from tests.support import free_port
    with _servers(kind, tmp_path, 1) as (rs, procs):
        r = rs[0]
        port = free_port()                      # nobody listens: each attempt is refused
        r.replicaof("127.0.0.1", port)
        # between attempts it says connect (during one, briefly, connecting): one reply
        # read whole, so a retry starting between two ROLEs cannot split the check
        want = [b"slave", b"127.0.0.1", port, b"connect", -1]
        wait_until(lambda: r.execute_command("ROLE") == want, 10)
        r.replicaof("no", "one")
