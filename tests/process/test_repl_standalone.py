"""Standalone replication between our own nodes as processes: a primary and two replicas
(digests, WAIT, partial resync after CLIENT KILL, a replica restart, promotion and PSYNC2
across it), the seed's requirepass/masterauth setup from config files, the refusals, WAIT
of one client's own write, REPLCONF ACK's silence, and the SYNC fallback."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import redis

from cluster.keyspace.databases import Keyspace
from cluster.encoding.rdb import default_aux, write_rdb
from tests.support import (NodeProcess, mb, node_process, real_redis,
                           redis_cli, running, wait_until)

FAST = ("--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0")
TIMEOUT = 20


def _r(server, **kw) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def _repl(r) -> dict:
    return r.info("replication")


def _stat(r, name: str) -> int:
    return r.info("stats")[name]


def _up(r) -> bool:
    return _repl(r).get("master_link_status") == "up"


def _caught_up(primary, *replicas) -> bool:
    want = _repl(primary)["master_repl_offset"]
    return all(_up(r) and _repl(r)["slave_repl_offset"] == want for r in replicas)


def _digest(r) -> bytes:
    return r.execute_command("DEBUG", "DIGEST")


def _same_digest(primary, *replicas) -> bool:
    want = _digest(primary)
    return _caught_up(primary, *replicas) and all(_digest(r) == want for r in replicas)


def _write_mix(server, tag: str) -> None:
    """Strings, lists, expiries (one that runs out), several dbs, MULTI/EXEC."""
    for db in (0, 3, 15):
        r = _r(server, db=db)
        r.set(f"{tag}:s", f"v{db}")
        r.incrby(f"{tag}:n", 7 + db)
        r.rpush(f"{tag}:l", *[f"e{i}" for i in range(50)])
        r.lpop(f"{tag}:l")
        r.set(f"{tag}:ttl", "t", ex=1000)
        r.pexpire(f"{tag}:s", 500000)
        r.set(f"{tag}:gone", "x", px=30)
        with r.pipeline(transaction=True) as p:
            p.set(f"{tag}:m1", "a").append(f"{tag}:m1", "b").lpush(f"{tag}:ml", 1, 2)
            p.execute()
    time.sleep(0.05)          # let the PX 30 keys run out: the primary expires them...
    for db in (0, 3, 15):
        assert _r(server, db=db).get(f"{tag}:gone") is None     # ...and sends DEL


@pytest.fixture(scope="module")
def trio_of_nodes(tmp_path_factory):
    """Our primary, replica A (started with --replicaof), replica B (REPLICAOF)."""
    base = tmp_path_factory.mktemp("repl3")
    with node_process(base / "p", *FAST) as p:
        with node_process(base / "a", *FAST, "--replicaof", "127.0.0.1", str(p.port)) as a, \
                node_process(base / "b", *FAST) as b:
            assert _r(b).execute_command("REPLICAOF", "127.0.0.1", p.port) == b"OK"
            wait_until(lambda: _up(_r(a)) and _up(_r(b)), TIMEOUT)
            yield p, a, b


def test_two_replicas_same_digest_and_wait(trio_of_nodes):
    p, a, b = trio_of_nodes
    _write_mix(p, "mix")
    writer = _r(p, single_connection_client=True)
    writer.set("last", "1")
    assert writer.execute_command("WAIT", 2, 1000) == 2
    wait_until(lambda: _same_digest(_r(p), _r(a), _r(b)), TIMEOUT)
    assert _digest(_r(p)) != b"0" * 40
    for db in (0, 3, 15):
        assert _r(a, db=db).lrange("mix:l", 0, -1) == _r(p, db=db).lrange("mix:l", 0, -1)
        assert 0 < _r(b, db=db).ttl("mix:ttl") <= 1000
    assert _repl(_r(p))["connected_slaves"] == 2


def test_client_kill_replica_resumes_with_partial_resync(trio_of_nodes):
    p, a, b = trio_of_nodes
    rp = _r(p)
    full, partial = _stat(rp, "sync_full"), _stat(rp, "sync_partial_ok")
    assert rp.execute_command("CLIENT", "KILL", "TYPE", "replica") == 2
    rp.set("while-down", "1")
    wait_until(lambda: _stat(rp, "sync_partial_ok") == partial + 2
               and _up(_r(a)) and _up(_r(b)), TIMEOUT)
    assert _stat(rp, "sync_full") == full
    _write_mix(p, "after-kill")
    wait_until(lambda: _same_digest(rp, _r(a), _r(b)), TIMEOUT)
    assert _r(a).get("while-down") == b"1"


def test_restarted_replica_process_needs_a_full_sync(trio_of_nodes):
    p, a, b = trio_of_nodes
    rp = _r(p)
    full = _stat(rp, "sync_full")
    b.stop()
    rp.set("while-b-away", "1")
    b.start()
    # Without persistence (issue 9) the restarted process has no replication id/offset to
    # offer, so it comes back with a FULL sync; a partial one after a restart needs the
    # RDB's repl-id/repl-offset aux fields.
    assert _r(b).execute_command("REPLICAOF", "127.0.0.1", p.port) == b"OK"
    wait_until(lambda: _stat(rp, "sync_full") == full + 1 and _up(_r(b)), TIMEOUT)
    wait_until(lambda: _same_digest(rp, _r(a), _r(b)), TIMEOUT)
    assert _r(b).get("while-b-away") == b"1"


def test_promoted_replica_serves_its_sibling_a_partial_resync(tmp_path):
    with node_process(tmp_path / "p", *FAST) as p:
        args = (*FAST, "--replicaof", "127.0.0.1", str(p.port))
        with node_process(tmp_path / "a", *args) as a, node_process(tmp_path / "b", *args) as b:
            rp, ra, rb = _r(p), _r(a), _r(b)
            _write_mix(p, "before")
            wait_until(lambda: _same_digest(rp, ra, rb), TIMEOUT)
            old_id = _repl(rp)["master_replid"]
            assert ra.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
            info = _repl(ra)
            assert info["role"] == "master" and info["master_replid2"] == old_id
            assert _digest(ra) == _digest(rp)
            assert ra.set("written-on-a", "1")             # writable now
            full, partial = _stat(ra, "sync_full"), _stat(ra, "sync_partial_ok")
            assert rb.execute_command("REPLICAOF", "127.0.0.1", a.port) == b"OK"
            wait_until(lambda: _up(rb) and _repl(rb)["master_port"] == a.port, TIMEOUT)
            # PSYNC2: B's history (the old primary's id) is A's replid2: no full sync.
            assert _stat(ra, "sync_partial_ok") == partial + 1
            assert _stat(ra, "sync_full") == full
            assert "Successful partial resynchronization with master." in b.log()
            _write_mix(a, "on-a")
            wait_until(lambda: _same_digest(ra, rb), TIMEOUT)
            assert rb.get("written-on-a") == b"1"
            assert _repl(rb)["master_replid"] == _repl(ra)["master_replid"]


def test_seed_setup_requirepass_masterauth_from_config_files(tmp_path):
    (tmp_path / "p").mkdir()
    pconf = tmp_path / "p" / "redis.conf"
    pconf.write_text("requirepass password\n")
    primary = NodeProcess(tmp_path / "p", ["--repl-diskless-sync-delay", "0"], conf=pconf)
    with running(primary):
        (tmp_path / "r").mkdir()
        rconf = tmp_path / "r" / "redis.conf"
        rconf.write_text(f"replicaof 127.0.0.1 {primary.port}\nmasterauth password\n"
                         f"replica-read-only yes\nrequirepass password\n")
        with running(NodeProcess(tmp_path / "r", [], conf=rconf)) as replica, \
                node_process(tmp_path / "x", "--replicaof", "127.0.0.1",
                             str(primary.port)) as noauth:
            cli = ("-a", "password", "--no-auth-warning")
            assert redis_cli(primary.port, *cli, "SET", "seed", "value").strip() == "OK"
            rr = _r(replica, password="password")
            wait_until(lambda: rr.get("seed") == b"value", TIMEOUT)
            assert redis_cli(replica.port, *cli, "GET", "seed").strip() == "value"
            assert "master_link_status:up" in redis_cli(replica.port, *cli, "INFO",
                                                        "replication")
            assert "NOAUTH" in redis_cli(replica.port, "GET", "seed")
            # replica-read-only yes
            with pytest.raises(redis.exceptions.ReadOnlyError) as err:
                rr.set("seed", "other")
            assert str(err.value) == "You can't write against a read only replica."
            # A replica without masterauth never gets the link up, and says why.
            wait_until(lambda: "MASTER aborted replication with an error: NOAUTH "
                               "Authentication required." in noauth.log(), TIMEOUT)
            rx = _r(noauth)
            assert _repl(rx)["master_link_status"] == "down"
            assert "Unexpected reply to PSYNC from master: -NOAUTH" in noauth.log()
            assert rx.get("seed") is None              # stale data served (the default)
            rx.config_set("replica-serve-stale-data", "no")
            assert noauth.raw(mb("GET", "seed")) == (
                b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                b"to 'no'.\r\n")
            assert _repl(rx)["role"] == "slave"        # a stale-flagged command still runs


# -- WAIT of one client's own last write, with a fake replica that acks what we say ------
def _fake_replica(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(mb("REPLCONF", "listening-port", 1) + mb("PSYNC", "?", -1))
    got = b""
    while got.count(b"\r\n") < 2:        # +OK and the +FULLRESYNC line
        got += sock.recv(65536)
    return sock


def test_wait_counts_only_the_callers_own_last_write(tmp_path):
    with node_process(tmp_path / "p", *FAST) as p:
        fake = _fake_replica(p.port)
        try:
            rp = _r(p)
            wait_until(lambda: _repl(rp).get("connected_slaves") == 1, TIMEOUT)
            small = _r(p, single_connection_client=True)
            busy = _r(p, single_connection_client=True)
            small.set("tiny", "1")
            mine = _repl(rp)["master_repl_offset"]
            for i in range(200):         # on busy's own connection (not a pipeline's)
                busy.set(f"big:{i}", "x" * 1000)
            assert _repl(rp)["master_repl_offset"] > mine + 200000
            fake.sendall(mb("REPLCONF", "ACK", mine))
            wait_until(lambda: _repl(rp)["slave0"]["offset"] == mine, TIMEOUT)
            started = time.monotonic()
            assert small.execute_command("WAIT", 1, 5000) == 1     # its own write: acked
            assert time.monotonic() - started < 2
            assert busy.execute_command("WAIT", 1, 200) == 0       # the big writes: not
        finally:
            fake.close()


def test_replconf_ack_from_a_normal_client_gets_no_reply(tmp_path):
    payload = (mb("REPLCONF", "ACK", 5) + mb("REPLCONF", "GETACK", "*")
               + mb("REPLCONF", "listening-port", 5, "ack", 1) + mb("PING"))
    with node_process(tmp_path / "n") as ours, real_redis() as real:
        got = ours.raw(payload, expect=7)
        assert got == real.raw(payload, expect=7) == b"+PONG\r\n"


# -- SYNC fallback: a primary that answers PSYNC with an error ---------------------------
def _request(buf: bytes):
    """(argv, rest) of the first whole request in buf (multibulk or inline), else None."""
    if not buf.startswith(b"*"):
        line, sep, rest = buf.partition(b"\r\n")
        return (line.split() or [b""], rest) if sep else None
    head, sep, rest = buf.partition(b"\r\n")
    if not sep:
        return None
    argv = []
    for _ in range(int(head[1:])):
        size, sep, rest = rest.partition(b"\r\n")
        if not sep or len(rest) < int(size[1:]) + 2:
            return None
        n = int(size[1:])
        argv.append(rest[:n])
        rest = rest[n + 2:]
    return argv, rest


class _OldPrimary:
    """A tiny primary that knows SYNC but not PSYNC (a thread, one replica at a time)."""

    def __init__(self, rdb: bytes, stream: bytes):
        self.rdb, self.stream = rdb, stream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.seen: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.2)
                buf = b""
                while not self.stop.is_set():
                    try:
                        data = conn.recv(65536)
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    buf += data
                    while (got := _request(buf)) is not None:
                        cmd, buf = got
                        name = cmd[0].upper()
                        self.seen.append(name)
                        if name == b"PING":
                            conn.sendall(b"+PONG\r\n")
                        elif name == b"REPLCONF" and cmd[1].lower() != b"ack":
                            conn.sendall(b"+OK\r\n")
                        elif name == b"PSYNC":
                            conn.sendall(b"-ERR unknown command 'PSYNC'\r\n")
                        elif name == b"SYNC":
                            conn.sendall(b"\n$%d\r\n" % len(self.rdb) + self.rdb + self.stream)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.server.close()


def test_replica_falls_back_to_sync_when_psync_is_refused(tmp_path):
    ks = Keyspace()
    ks[0].store(b"from-rdb", b"loaded")
    ks[2].store(b"in-db2", b"two")
    rdb = write_rdb(ks, aux=default_aux())
    stream = mb("SELECT", 0) + mb("SET", "from-stream", "streamed")
    old = _OldPrimary(rdb, stream)
    try:
        with node_process(tmp_path / "n", "--replicaof", "127.0.0.1", str(old.port)) as n:
            rn = _r(n)
            wait_until(lambda: rn.get("from-stream") == b"streamed", TIMEOUT)
            assert rn.get("from-rdb") == b"loaded"
            assert _r(n, db=2).get("in-db2") == b"two"
            assert _up(rn)
            log = n.log()
            assert ("Master does not support PSYNC or is in error state (reply: -ERR unknown "
                    "command 'PSYNC')") in log and "Retrying with SYNC..." in log
            assert old.seen.index(b"SYNC") > old.seen.index(b"PSYNC")
            wait_until(lambda: b"REPLCONF" in old.seen[old.seen.index(b"SYNC"):], TIMEOUT)
    finally:
        old.close()
