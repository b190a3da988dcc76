"""Full sync from a consistent snapshot while the primary keeps serving (cluster.keyspace.snapshot).

Our primary holds ~200k keys; while a replica's full sync is in progress (INFO shows it in
wait_bgsave / send_bulk) another client is served, and what it writes meanwhile reaches the
replica through the stream. A real redis-server replica loads the diskless form.
"""
from __future__ import annotations

import socket
import time

import pytest
import redis

from cluster.encoding.rdb import read_rdb
from tests.support import node_process, real_redis, wait_until

KEYS = 200_000
BATCH = 1000
DEBUG = ("--enable-debug-command", "yes")


@pytest.fixture(scope="module")
def primary(tmp_path_factory):
    with node_process(tmp_path_factory.mktemp("primary"), *DEBUG) as proc:
        client = redis.Redis(port=proc.port, socket_timeout=30)
        pipe = client.pipeline(transaction=False)
        for start in range(0, KEYS, BATCH):
            pipe.mset({b"key:%d" % i: b"value:%d" % i for i in range(start, start + BATCH)})
        pipe.rpush("list", *[b"e%d" % i for i in range(500)])
        pipe.execute()
        assert client.dbsize() == KEYS + 1
        yield proc, client


def _slave_state(client) -> str | None:
    slave = client.info("replication").get("slave0")
    return slave["state"] if slave else None


def _synced(primary_client, replica_client) -> bool:
    info = replica_client.info("replication")
    return (info.get("master_link_status") == "up" and
            info.get("master_repl_offset") == primary_client.info("replication")[
                "master_repl_offset"])


def test_primary_serves_during_full_sync_and_replica_gets_everything(primary, tmp_path):
    proc, client = primary
    other = redis.Redis(port=proc.port, socket_timeout=30)
    with node_process(tmp_path / "replica", *DEBUG) as rep:
        replica = redis.Redis(port=rep.port, socket_timeout=30)
        assert replica.execute_command("REPLICAOF", "127.0.0.1", proc.port) == b"OK"
        served_during_sync = 0
        written = []
        deadline = time.monotonic() + 60
        i = 0
        while time.monotonic() < deadline:
            assert other.ping() is True
            assert other.set(b"during:%d" % i, b"v%d" % i) is True
            written.append(i)
            assert other.get(b"during:%d" % i) == b"v%d" % i
            other.rpush("list", b"during%d" % i)
            i += 1
            state = _slave_state(client)
            if state in ("wait_bgsave", "send_bulk"):
                served_during_sync += 1        # replies came while the sync was running
            elif served_during_sync and state == "online":
                break
        assert served_during_sync > 0
        wait_until(lambda: _synced(client, replica), timeout=60)
        assert replica.dbsize() == client.dbsize() == KEYS + 1 + len(written)
        assert replica.execute_command("DEBUG", "DIGEST") == \
            client.execute_command("DEBUG", "DIGEST")
        assert replica.get(b"during:%d" % written[-1]) == b"v%d" % written[-1]
        assert replica.lrange("list", -1, -1) == [b"during%d" % written[-1]]
        assert "Starting BGSAVE for SYNC with target: replicas sockets" in proc.log()
    # The snapshot view was released: once the replica is gone nothing copies on write.
    wait_until(lambda: client.info("replication")["connected_slaves"] == 0, timeout=15)


def test_real_redis_replica_loads_the_diskless_form(primary, tmp_path):
    proc, client = primary
    log = tmp_path / "real.log"
    with real_redis("--replicaof", "127.0.0.1", str(proc.port), "--dir", str(tmp_path),
                    "--logfile", str(log)) as real:
        replica = redis.Redis(port=real.port, socket_timeout=30)
        wait_until(lambda: _synced(client, replica), timeout=60)
        assert replica.dbsize() == client.dbsize()
        assert replica.get("key:12345") == b"value:12345"
        assert replica.llen("list") == client.llen("list")
        client.set("after-sync", "yes")
        wait_until(lambda: replica.get("after-sync") == b"yes", timeout=15)
        text = log.read_text()
        assert "receiving streamed RDB from master with EOF" in text
        assert "MASTER <-> REPLICA sync: Finished with success" in text


def _read_line(sock, buf: bytearray) -> bytes:
    while b"\r\n" not in buf:
        data = sock.recv(65536)
        assert data, "connection closed"
        buf += data
    line, _, rest = bytes(buf).partition(b"\r\n")
    buf[:] = rest
    return line


def test_without_capa_eof_the_rdb_comes_as_a_bulk_with_its_length(primary):
    proc, client = primary
    with socket.create_connection(("127.0.0.1", proc.port), timeout=30) as sock:
        sock.sendall(b"REPLCONF listening-port 1\r\nPSYNC ? -1\r\n")
        buf = bytearray()
        assert _read_line(sock, buf) == b"+OK"
        assert _read_line(sock, buf).startswith(b"+FULLRESYNC ")
        header = _read_line(sock, buf)
        assert header.startswith(b"$") and not header.startswith(b"$EOF:")
        size = int(header[1:])
        while len(buf) < size:
            data = sock.recv(1 << 20)
            assert data
            buf += data
        snap = read_rdb(bytes(buf[:size]))
        assert len(snap.entries) == client.dbsize()
        assert (0, b"key:7", b"value:7", None) in snap.entries


def test_replica_gone_mid_transfer_is_dropped_and_the_primary_goes_on(primary):
    proc, client = primary
    with socket.create_connection(("127.0.0.1", proc.port), timeout=30) as sock:
        sock.sendall(b"REPLCONF capa eof\r\nPSYNC ? -1\r\n")
        buf = bytearray()
        assert _read_line(sock, buf) == b"+OK"
        assert _read_line(sock, buf).startswith(b"+FULLRESYNC ")
        assert _read_line(sock, buf).startswith(b"$EOF:")
        assert client.info("replication")["connected_slaves"] == 1
    wait_until(lambda: client.info("replication")["connected_slaves"] == 0, timeout=15)
    client.rpush("list", "after-drop")
    assert client.lrange("list", -1, -1) == [b"after-drop"]
