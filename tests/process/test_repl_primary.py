"""Our node as a replication primary, checked against real redis-server 7.0.15 replicas.

A real `redis-server --replicaof <our node>` must full-sync from our RDB, follow the stream,
resume with a partial resync after CLIENT KILL TYPE replica, and answer GETACK for WAIT.
We also read an RDB a real server wrote with SAVE.
"""
from __future__ import annotations

import socket

import pytest
import redis

from cluster.encoding.rdb import read_rdb
from tests.support import node_process, real_redis, wait_until


@pytest.fixture(scope="module")
def primary(tmp_path_factory):
    with node_process(tmp_path_factory.mktemp("primary")) as proc:
        yield proc


@pytest.fixture(scope="module")
def r(primary):
    client = redis.Redis(port=primary.port, socket_timeout=10)
    client.flushall()
    client.set("str", "hello")
    client.set("int", 12345)
    client.set("ttl", "v", px=500000)
    client.rpush("list", *[str(i) for i in range(300)], "x" * 300)
    redis.Redis(port=primary.port, db=3).set("in3", "three")
    return client


@pytest.fixture(scope="module")
def replica(primary, r, tmp_path_factory):
    # Its own --dir: a disk-loading replica leaves dump.rdb behind (not in the shared /tmp).
    with real_redis("--replicaof", "127.0.0.1", str(primary.port), "--dir",
                    str(tmp_path_factory.mktemp("real")),
                    "--repl-diskless-load", "disabled") as proc:
        client = redis.Redis(port=proc.port, socket_timeout=10)
        wait_until(lambda: client.info("replication")["master_link_status"] == "up", 15)
        yield proc, client


def test_real_replica_loads_our_rdb(r, replica):
    _, rep = replica
    assert rep.dbsize() == 4
    assert rep.get("str") == b"hello"
    assert rep.get("int") == b"12345"
    assert 0 < rep.pttl("ttl") <= 500000
    assert rep.lrange("list", 0, -1) == [b"%d" % i for i in range(300)] + [b"x" * 300]
    assert redis.Redis(port=replica[0].port, db=3).get("in3") == b"three"


def test_stream_reaches_real_replica(primary, r, replica):
    _, rep = replica
    r.set("after", "sync")
    r.rpush("list", "tail")
    redis.Redis(port=primary.port, db=5).set("in5", "five")
    r.set("rel", "x", ex=1000)        # propagated with an absolute expiry
    wait_until(lambda: rep.get("rel") == b"x", 10)
    assert rep.get("after") == b"sync"
    assert rep.lindex("list", -1) == b"tail"
    assert redis.Redis(port=replica[0].port, db=5).get("in5") == b"five"
    assert 0 < rep.ttl("rel") <= 1000
    wait_until(lambda: rep.info("replication")["slave_repl_offset"]
               == r.info("replication")["master_repl_offset"], 10)


def test_info_replication_and_role(primary, r, replica):
    proc, rep = replica
    wait_until(lambda: r.info("replication").get("slave0", {}).get("offset")
               == r.info("replication")["master_repl_offset"], 10)
    names = list(r.info("replication"))          # redis-py keeps the field order
    assert names == ["role", "connected_slaves", "slave0", "master_failover_state",
                     "master_replid", "master_replid2", "master_repl_offset",
                     "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
                     "repl_backlog_first_byte_offset", "repl_backlog_histlen"]
    info = r.info("replication")
    assert info["role"] == "master" and info["connected_slaves"] == 1
    slave0 = info["slave0"]
    assert slave0["ip"] == "127.0.0.1" and slave0["port"] == proc.port
    assert slave0["state"] == "online" and slave0["lag"] <= 2
    assert info["master_replid"] == rep.info("replication")["master_replid"]
    assert len(info["master_replid"]) == 40
    assert info["repl_backlog_active"] == 1
    assert info["repl_backlog_first_byte_offset"] == 1
    assert info["repl_backlog_histlen"] == info["master_repl_offset"]
    role = r.execute_command("ROLE")
    assert role[0] == b"master" and role[1] == info["master_repl_offset"]
    assert role[2] == [[b"127.0.0.1", b"%d" % proc.port, b"%d" % info["master_repl_offset"]]]
    assert r.info("stats")["sync_full"] == 1


def test_wait_counts_acks(r, replica):
    r.set("w", "1")
    assert r.execute_command("WAIT", 1, 5000) == 1
    assert r.execute_command("WAIT", 2, 200) == 1      # times out with what acked


def test_partial_resync_after_client_kill(primary, r, replica):
    _, rep = replica
    before = r.info("stats")
    assert r.client_kill_filter(_type="replica") == 1
    r.set("while-down", "yes")
    wait_until(lambda: r.info("replication")["connected_slaves"] == 1
               and r.info("replication")["slave0"]["state"] == "online", 15)
    wait_until(lambda: rep.get("while-down") == b"yes", 10)
    after = r.info("stats")
    assert after["sync_partial_ok"] == before["sync_partial_ok"] + 1
    assert after["sync_full"] == before["sync_full"]
    assert rep.info("replication")["master_link_status"] == "up"


def test_replconf_errors(r):
    with pytest.raises(redis.ResponseError, match="Unrecognized REPLCONF option: foo"):
        r.execute_command("REPLCONF", "foo", "bar")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("REPLCONF", "capa")
    assert r.execute_command("REPLCONF", "listening-port", "1234") == b"OK"


def test_we_read_a_real_redis_save(tmp_path):
    with real_redis("--dir", str(tmp_path)) as real:
        c = redis.Redis(port=real.port)
        c.set("s", "hello")
        c.set("n", "-7")
        c.set("big", "ab" * 400)               # LZF-compressed by SAVE
        c.rpush("l", "a", "b", "1", "200000")
        c.set("e", "x", px=900000)
        redis.Redis(port=real.port, db=7).rpush("l7", *["y" * 50] * 200)
        assert c.save()
    snap = read_rdb((tmp_path / "dump.rdb").read_bytes())
    assert snap.aux[b"redis-ver"] == b"7.0.15"
    got = {(db, k): (v, e) for db, k, v, e in snap.entries}
    assert got[(0, b"s")] == (b"hello", None)
    assert got[(0, b"n")] == (b"-7", None)
    assert got[(0, b"big")] == (b"ab" * 400, None)
    assert list(got[(0, b"l")][0]) == [b"a", b"b", b"1", b"200000"]
    assert got[(0, b"e")][1] is not None
    assert list(got[(7, b"l7")][0]) == [b"y" * 50] * 200


def test_output_buffer_limit_drops_a_stuck_replica(tmp_path):
    with node_process(tmp_path, "--client-output-buffer-limit", "replica 256kb 0 0") as proc:
        r = redis.Redis(port=proc.port, socket_timeout=10)
        stuck = socket.create_connection(("127.0.0.1", proc.port))
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(b"REPLCONF listening-port 9\r\nPSYNC ? -1\r\n")
        wait_until(lambda: r.info("replication")["connected_slaves"] == 1, 10)
        payload = "z" * 100000
        for i in range(200):                   # ~20 MB the stuck replica never reads
            r.set("k%d" % (i % 10), payload)
            if r.info("replication")["connected_slaves"] == 0:
                break
        wait_until(lambda: r.info("replication")["connected_slaves"] == 0, 10)
        assert "output buffer limits" in proc.log()
        stuck.close()


def test_min_replicas_to_write(tmp_path):
    with node_process(tmp_path, "--min-replicas-to-write", "1") as proc:
        r = redis.Redis(port=proc.port, socket_timeout=10)
        with pytest.raises(redis.ResponseError,
                           match="^NOREPLICAS Not enough good replicas to write.$"):
            r.set("k", "v")
        assert r.get("k") is None                     # reads still served
        assert r.info("replication")["min_slaves_good_slaves"] == 0
        with real_redis("--replicaof", "127.0.0.1", str(proc.port),
                        "--dir", str(tmp_path)) as real:
            wait_until(lambda: r.info("replication")["min_slaves_good_slaves"] == 1, 15)
            assert r.set("k", "v") is True
            assert r.execute_command("WAIT", 1, 5000) == 1
            assert redis.Redis(port=real.port).get("k") == b"v"
