"""FAILOVER between our own nodes as processes, with redis-py clients writing meanwhile:
nothing a client was told is written is lost; FAILOVER TO a named replica; TIMEOUT that
aborts and FAILOVER ABORT (a replica held with SIGSTOP never catches up); FORCE; INFO's
master_failover_state on the way; the logs; and every error reply next to a real
redis-server primary/replica pair given the same commands. A primary of one kind failing
over to a replica of the other (our node and real redis-server 7.0.15) shows the PSYNC
... FAILOVER handshake is the same on the wire."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading

import pytest
import redis

from tests.support import (mb, node_process, read_one, real_redis, running, wait_until,
                           NodeProcess, RealRedis)

FAST = ("--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0")
TIMEOUT = 20


def _r(server, **kw) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def _repl(server) -> dict:
    return _r(server).info("replication")


def _state(server) -> str:
    return _repl(server)["master_failover_state"]


def _stat(server, name: str) -> int:
    return _r(server).info("stats")[name]


def _up_with(replica, primary) -> bool:
    info = _repl(replica)
    return info.get("master_link_status") == "up" and info["master_port"] == primary.port


def _caught_up(primary, *replicas) -> bool:
    want = _repl(primary)["master_repl_offset"]
    return all(_repl(r).get("master_link_status") == "up"
               and _repl(r)["slave_repl_offset"] == want for r in replicas)


def _online(primary, count: int) -> bool:
    info = _repl(primary)
    return sum(info[f"slave{i}"]["state"] == "online"
               for i in range(info["connected_slaves"])) == count


def _digest(server) -> bytes:
    return _r(server).execute_command("DEBUG", "DIGEST")


def _follow(replica, primary) -> None:
    assert _r(replica).execute_command("REPLICAOF", "127.0.0.1", primary.port) == b"OK"


@contextlib.contextmanager
def stopped(server):
    """SIGSTOP the server's process (it reads and acks nothing); SIGCONT in every outcome."""
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def pair_of_ours(tmp_path, replicas: int = 1):
    """Our primary and `replicas` of our replicas, all online and caught up."""
    with contextlib.ExitStack() as stack:
        p = stack.enter_context(node_process(tmp_path / "p", *FAST))
        rs = [stack.enter_context(node_process(tmp_path / f"r{i}", *FAST))
              for i in range(replicas)]
        for one in rs:
            _follow(one, p)
        wait_until(lambda: _online(p, replicas) and _caught_up(p, *rs), TIMEOUT,
                   message="replicas online")
        yield p, rs


class Writer(threading.Thread):
    """RPUSHes 0, 1, 2... to its own list (one connection) until a write is refused; keeps
    the numbers whose push was acknowledged."""

    def __init__(self, port: int, key: str):
        super().__init__(daemon=True)
        self.port, self.key = port, key
        self.acked: list[int] = []
        self.refusal: Exception | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        r = redis.Redis(port=self.port, socket_timeout=30)
        i = 0
        try:
            while not self.halt.is_set():
                try:
                    length = r.rpush(self.key, i)
                except redis.RedisError as err:
                    self.refusal = err
                    return
                assert length == i + 1
                self.acked.append(i)
                i += 1
        finally:
            r.close()


def _stop_writers(writers) -> None:
    for w in writers:
        w.halt.set()
    for w in writers:
        w.join(TIMEOUT)


# -- the happy paths ---------------------------------------------------------------------
def test_failover_with_writes_in_flight_loses_nothing(tmp_path):
    with pair_of_ours(tmp_path) as (p, (r,)):
        full, partial = _stat(r, "sync_full"), _stat(r, "sync_partial_ok")
        writers = [Writer(p.port, f"log:{n}") for n in range(3)]
        try:
            for w in writers:
                w.start()
            wait_until(lambda: all(len(w.acked) > 50 for w in writers), TIMEOUT,
                       message="writes acknowledged")
            assert _state(p) == "no-failover"
            assert _r(p).execute_command("FAILOVER") == b"OK"
            # Every writer ends on the refusal its postponed write meets on the new replica.
            wait_until(lambda: all(w.refusal is not None for w in writers), TIMEOUT,
                       message="writers refused")
        finally:
            _stop_writers(writers)
        for w in writers:
            assert isinstance(w.refusal, redis.ReadOnlyError), w.refusal
        wait_until(lambda: _state(p) == "no-failover", TIMEOUT)
        assert _repl(r)["role"] == "master"
        assert _repl(p)["role"] == "slave"
        for w in writers:           # everything acknowledged, nothing else
            got = [int(x) for x in _r(r).lrange(w.key, 0, -1)]
            assert got == w.acked, w.key
        # The old primary resumed from the target with a partial resync (PSYNC FAILOVER).
        wait_until(lambda: _up_with(p, r) and _caught_up(r, p), TIMEOUT)
        assert _stat(r, "sync_partial_ok") == partial + 1 and _stat(r, "sync_full") == full
        assert _digest(p) == _digest(r)
        assert _r(r).set("after", "1") and _r(p).get("after") in (None, b"1")
        plog, rlog = p.log(), r.log()
        assert "FAILOVER requested to any replica." in plog
        assert f"Failover target 127.0.0.1:{r.port} is synced, failing over." in plog
        assert f"Connecting to MASTER 127.0.0.1:{r.port}" in plog
        assert "Failover request received for replid " in rlog
        assert "MASTER MODE enabled (failover request from 'id=" in rlog


def test_failover_to_a_named_replica(tmp_path):
    with pair_of_ours(tmp_path, replicas=2) as (p, (a, b)):
        _r(p).set("k", "v")
        wait_until(lambda: _caught_up(p, a, b), TIMEOUT)
        assert _r(p).execute_command("FAILOVER", "TO", "127.0.0.1", b.port) == b"OK"
        wait_until(lambda: _state(p) == "no-failover" and _repl(b)["role"] == "master",
                   TIMEOUT)
        assert f"FAILOVER requested to 127.0.0.1:{b.port}." in p.log()
        wait_until(lambda: _up_with(p, b), TIMEOUT)
        # A stays a replica of the old primary, which now replicates B (chained).
        assert _repl(a)["role"] == "slave" and _repl(a)["master_port"] == p.port
        _r(b).set("on-b", "1")
        wait_until(lambda: _r(a).get("on-b") == b"1", TIMEOUT)
        assert _digest(a) == _digest(b) == _digest(p)


# -- waiting, timing out, aborting, forcing --------------------------------------------------
def test_timeout_aborts_and_the_postponed_write_then_succeeds(tmp_path):
    with pair_of_ours(tmp_path) as (p, (r,)):
        with stopped(r):
            _r(p).set("k", "1")            # the replica never acks this
            assert _r(p).execute_command("FAILOVER", "TO", "127.0.0.1", r.port,
                                         "TIMEOUT", 3000) == b"OK"
            assert _state(p) == "waiting-for-sync"
            assert _r(p).get("k") == b"1"                 # reads are served
            done: list = []
            postponed = _r(p, client_name="postponed")
            blocked = threading.Thread(target=lambda: done.append(postponed.set("k", "2")),
                                       daemon=True)
            blocked.start()
            wait_until(lambda: any(c["name"] == "postponed" and c["cmd"] == "set"
                                   for c in _r(p).client_list()), TIMEOUT,
                       message="the SET postponed")
            assert _state(p) == "waiting-for-sync" and done == []
            wait_until(lambda: _state(p) == "no-failover", TIMEOUT)
            blocked.join(TIMEOUT)
            assert done == [True]                       # postponed, then run on the primary
        assert _repl(p)["role"] == "master" and _r(p).get("k") == b"2"
        assert (f"FAILOVER to 127.0.0.1:{r.port} aborted: Replica never caught up before "
                f"timeout") in p.log()
        wait_until(lambda: _caught_up(p, r), TIMEOUT)


def test_abort_while_waiting(tmp_path):
    with pair_of_ours(tmp_path) as (p, (r,)):
        with stopped(r):
            _r(p).set("k", "1")
            assert _r(p).execute_command("FAILOVER", "TIMEOUT", 60000) == b"OK"
            assert _state(p) == "waiting-for-sync"
            with pytest.raises(redis.ResponseError, match="already in progress"):
                _r(p).execute_command("FAILOVER")
            assert _r(p).execute_command("FAILOVER", "ABORT") == b"OK"
            assert _state(p) == "no-failover"
            assert _r(p).set("k", "2")
        assert "FAILOVER to any replica aborted: Failover manually aborted" in p.log()
        wait_until(lambda: _caught_up(p, r), TIMEOUT)
        assert _digest(p) == _digest(r)


def test_force_goes_ahead_after_the_timeout(tmp_path):
    with pair_of_ours(tmp_path) as (p, (r,)):
        with stopped(r):
            _r(p).set("k", "1")
            assert _r(p).execute_command("FAILOVER", "TO", "127.0.0.1", r.port,
                                         "TIMEOUT", 100, "FORCE") == b"OK"
            wait_until(lambda: _state(p) == "failover-in-progress", TIMEOUT)
            assert _repl(p)["role"] == "slave"       # never two primaries
            with pytest.raises(redis.ResponseError, match="while failing over"):
                _r(p).execute_command("REPLICAOF", "NO", "ONE")
        wait_until(lambda: _state(p) == "no-failover" and _up_with(p, r), TIMEOUT)
        assert _repl(r)["role"] == "master"
        assert p.log().count("time out exceeded, failing over.") == 1
        wait_until(lambda: _caught_up(r, p), TIMEOUT)
        assert _digest(p) == _digest(r)


def test_target_rejecting_psync_aborts_and_primary_resumes(tmp_path):
    with pair_of_ours(tmp_path) as (p, (r,)):
        old_id = _repl(p)["master_replid"]
        _r(r).execute_command("ACL", "SETUSER", "default", "-psync")
        assert _r(p).execute_command("FAILOVER", "TO", "127.0.0.1", r.port) == b"OK"
        wait_until(lambda: _state(p) == "no-failover", TIMEOUT)
        assert "Failover target rejected psync request" in p.log()
        assert _repl(p)["role"] == "master"
        assert _repl(p)["master_replid2"] == old_id        # a primary again, a new history
        _r(r).execute_command("ACL", "SETUSER", "default", "+psync")
        assert _r(p).set("after", "1")
        wait_until(lambda: _caught_up(p, r) and _r(r).get("after") == b"1", TIMEOUT)


# -- the replies, next to real redis-server ------------------------------------------------
def _replies(port: int, commands: list) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        out = []
        for args in commands:
            sock.sendall(mb(*args))
            out.append(read_one(sock))
        return out


@contextlib.contextmanager
def _real_pair():
    with contextlib.ExitStack() as stack:
        p = stack.enter_context(real_redis())
        r = stack.enter_context(real_redis())
        _follow(r, p)
        wait_until(lambda: _online(p, 1) and _caught_up(p, r), TIMEOUT)
        yield p, r


def test_error_replies_match_real_redis(tmp_path):
    lone = [("FAILOVER",), ("FAILOVER", "ABORT"), ("FAILOVER", "TO", "127.0.0.1", 1),
            ("FAILOVER", "TIMEOUT", 0), ("PSYNC", "a" * 40, 1, "FAILOVER"),
            ("COMMAND", "INFO", "FAILOVER"), ("COMMAND", "DOCS", "FAILOVER")]
    with node_process(tmp_path / "lone") as ours, real_redis() as real:
        assert _replies(ours.port, lone) == _replies(real.port, lone)

    def on_primary(p, r):
        return [
            ("FAILOVER", "ABORT"), ("FAILOVER", "ABORT", "now"),
            ("FAILOVER", "TIMEOUT", 0), ("FAILOVER", "TIMEOUT", -5),
            ("FAILOVER", "TIMEOUT", "x"), ("FAILOVER", "TIMEOUT", 5, "TIMEOUT", 6),
            ("FAILOVER", "TO", "127.0.0.1", "p"), ("FAILOVER", "TO"),
            ("FAILOVER", "bogus"), ("FAILOVER", "FORCE", "FORCE"),
            ("FAILOVER", "FORCE", "TIMEOUT", 100),
            ("FAILOVER", "TO", "127.0.0.1", r.port, "FORCE"),
            ("FAILOVER", "TO", "127.0.0.1", r.port + 1),
            ("FAILOVER", "TO", "localhost", r.port),
            ("FAILOVER", "TO", "127.0.0.1", r.port, "ABORT"),
        ]

    def on_replica(p, r):
        return [("FAILOVER",), ("FAILOVER", "TO", "127.0.0.1", r.port),
                ("FAILOVER", "ABORT"), ("PSYNC", "b" * 40, 1, "FAILOVER")]

    during = [
        ("FAILOVER", "TIMEOUT", 60000), ("FAILOVER",), ("FAILOVER", "TO", "127.0.0.1", 1),
        ("REPLICAOF", "NO", "ONE"), ("PSYNC", "?", -1), ("SYNC",),
        ("FAILOVER", "ABORT"), ("FAILOVER", "ABORT"),
    ]
    with pair_of_ours(tmp_path / "pair") as (op, (orr,)), _real_pair() as (rp, rr):
        for build, role in ((on_primary, 0), (on_replica, 1)):
            ours_cmds, real_cmds = build(op, orr), build(rp, rr)
            got = _replies((op, orr)[role].port, ours_cmds)
            want = _replies((rp, rr)[role].port, real_cmds)
            for args, a, b in zip(ours_cmds, got, want):
                assert a == b, args
        # While a failover waits (the replicas held), the same refusals on both.
        with stopped(orr), stopped(rr):
            _r(op).set("k", "1")
            _r(rp).set("k", "1")
            got, want = _replies(op.port, during), _replies(rp.port, during)
            for args, a, b in zip(during, got, want):
                assert a == b, args
        wait_until(lambda: _caught_up(op, orr) and _caught_up(rp, rr), TIMEOUT)


def test_error_in_cluster_mode_matches_real_redis(tmp_path):
    with node_process(tmp_path / "c", "--cluster-enabled", "yes") as ours, \
            real_redis("--cluster-enabled", "yes", "--cluster-config-file",
                       str(tmp_path / "real-nodes.conf")) as real:
        commands = [("FAILOVER",), ("FAILOVER", "ABORT"), ("FAILOVER", "bogus")]
        assert _replies(ours.port, commands) == _replies(real.port, commands)


def test_blocked_client_is_unblocked_as_real_redis_does(tmp_path):
    """The old primary turns replica: a BLPOP waiting there gets -UNBLOCKED, then EOF."""
    replies = []
    with pair_of_ours(tmp_path) as (op, (orr,)), _real_pair() as (rp, rr):
        for p, r in ((op, orr), (rp, rr)):
            with socket.create_connection(("127.0.0.1", p.port), timeout=TIMEOUT) as sock:
                sock.sendall(mb("BLPOP", "nothing", 0))
                wait_until(lambda: _r(p).info("clients")["blocked_clients"] == 1, TIMEOUT)
                assert _r(p).execute_command("FAILOVER") == b"OK"
                reply = read_one(sock)
                assert sock.recv(100) == b""                  # closed after the reply
                replies.append(reply)
            wait_until(lambda: _state(p) == "no-failover", TIMEOUT)
            assert _repl(r)["role"] == "master"
    assert replies[0] == replies[1] == (b"-UNBLOCKED force unblock from blocking operation, "
                                        b"instance state changed (master -> replica?)\r\n")


# -- across implementations ----------------------------------------------------------------
@pytest.mark.parametrize("primary_kind", ["ours", "real"])
def test_failover_across_implementations(tmp_path, primary_kind):
    ours = NodeProcess(tmp_path / "ours", list(FAST))
    real = RealRedis([])
    p, r = (ours, real) if primary_kind == "ours" else (real, ours)
    with running(p), running(r):
        _r(p).rpush("log", *range(100))
        _follow(r, p)
        wait_until(lambda: _online(p, 1) and _caught_up(p, r), TIMEOUT)
        writer = Writer(p.port, "log2")
        try:
            writer.start()
            wait_until(lambda: len(writer.acked) > 20, TIMEOUT)
            assert _r(p).execute_command("FAILOVER", "TO", "127.0.0.1", r.port) == b"OK"
            wait_until(lambda: writer.refusal is not None, TIMEOUT)
        finally:
            _stop_writers([writer])
        assert isinstance(writer.refusal, redis.ReadOnlyError), writer.refusal
        wait_until(lambda: _state(p) == "no-failover" and _up_with(p, r), TIMEOUT)
        assert _repl(r)["role"] == "master" and _repl(p)["role"] == "slave"
        assert [int(x) for x in _r(r).lrange("log2", 0, -1)] == writer.acked
        assert len(_r(r).lrange("log", 0, -1)) == 100
        wait_until(lambda: _caught_up(r, p), TIMEOUT)
        assert _stat(r, "sync_full") == 0          # the old primary resumed partially
