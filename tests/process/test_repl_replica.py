"""Our node as a replica of a REAL redis-server 7.0.15 primary (REPLICAOF, the link)."""
from __future__ import annotations

import redis

from tests.support import RealRedis, node_process, real_redis, running, wait_until

FAST = ("--repl-diskless-sync-delay", "0")


def _info(r, section="replication") -> dict:
    return r.info(section)


def _link_up(ours) -> bool:
    return _info(ours).get("master_link_status") == "up"


def _acked(primary) -> bool:
    info = _info(primary)
    slave = info.get("slave0")
    return bool(slave) and slave["state"] == "online" and \
        slave["offset"] == info["master_repl_offset"]


def _replicate(ours, primary_port) -> None:
    assert ours.execute_command("REPLICAOF", "127.0.0.1", primary_port) == b"OK"
    wait_until(lambda: _link_up(ours), timeout=15)


def _value(r, key):
    kind = r.type(key)
    if kind == b"list":
        return kind, r.lrange(key, 0, -1)
    return kind, r.get(key) if kind == b"string" else None


def _same_data(ours, primary, keys) -> bool:
    return all(_value(ours, k) == _value(primary, k) for k in keys)


def test_full_sync_diskless_then_stream_and_acks(tmp_path):
    with real_redis(*FAST) as real, node_process(tmp_path / "n") as node:
        primary = redis.Redis(port=real.port)
        ours = redis.Redis(port=node.port)
        primary.set("s", "v")
        primary.set("n", 12345)
        primary.set("big", "x" * 5000)
        primary.rpush("l", *[f"e{i}" for i in range(300)])
        primary.set("ttl", "t", px=100000)
        ours.set("stale", "gone")
        _replicate(ours, real.port)
        keys = ["s", "n", "big", "l", "ttl"]
        assert _same_data(ours, primary, keys)
        assert ours.get("stale") is None          # the full sync replaced our data
        assert 0 < ours.pttl("ttl") <= 100000
        # The stream: writes on the real primary reach us, across databases too.
        primary.set("after", "1")
        primary.incr("n")
        primary.lpush("l", "head")
        primary.expire("s", 1000)
        primary.delete("big")
        r5 = redis.Redis(port=real.port, db=5)
        r5.set("in5", "five")
        wait_until(lambda: redis.Redis(port=node.port, db=5).get("in5") == b"five")
        assert _same_data(ours, primary, keys + ["after"])
        assert ours.get("big") is None and 0 < ours.ttl("s") <= 1000
        wait_until(lambda: _acked(primary))
        for db in (0, 5):                  # the whole dataset, key by key
            a, b = redis.Redis(port=real.port, db=db), redis.Redis(port=node.port, db=db)
            keys = sorted(a.scan_iter())
            assert keys == sorted(b.scan_iter()) and _same_data(b, a, keys)
        # ACKs: the primary sees our processed offset and a small lag.
        wait_until(lambda: _acked(primary))
        slave = _info(primary)["slave0"]
        assert slave["port"] == node.port and slave["lag"] <= 1
        info = _info(ours)
        assert info["role"] == "slave" and info["master_port"] == real.port
        assert info["slave_repl_offset"] == _info(primary)["master_repl_offset"]
        assert info["master_replid"] == _info(primary)["master_replid"]
        assert _info(primary, "stats")["sync_full"] == 1
        role = ours.execute_command("ROLE")
        assert role[:4] == [b"slave", b"127.0.0.1", real.port, b"connected"]
        assert role[4] == info["slave_repl_offset"]
        # WAIT on the real primary counts us once our ack arrives.
        primary.set("w", "1")
        assert primary.wait(1, 5000) == 1


def test_full_sync_disk_form(tmp_path):
    # A disk-based sync writes dump.rdb in the primary's dir: keep it out of /tmp.
    (tmp_path / "real").mkdir()
    with real_redis("--repl-diskless-sync", "no", "--dir", str(tmp_path / "real")) as real, \
            node_process(tmp_path / "n") as node:
        primary = redis.Redis(port=real.port)
        ours = redis.Redis(port=node.port)
        primary.mset({f"k{i}": f"v{i}" for i in range(1000)})
        _replicate(ours, real.port)
        assert ours.dbsize() == 1000 and ours.get("k999") == b"v999"
        primary.set("k0", "new")
        wait_until(lambda: ours.get("k0") == b"new")


def test_partial_resync_after_link_drops(tmp_path):
    with real_redis(*FAST) as real, node_process(tmp_path / "n") as node:
        primary = redis.Redis(port=real.port)
        ours = redis.Redis(port=node.port)
        primary.set("a", "1")
        _replicate(ours, real.port)
        # 1. Our side drops the link.
        assert ours.client_kill_filter(_type="master") == 1
        primary.set("b", "2")
        wait_until(lambda: ours.get("b") == b"2", timeout=15)
        wait_until(lambda: _info(primary, "stats")["sync_partial_ok"] == 1)
        # 2. The primary drops it.
        assert primary.client_kill_filter(_type="replica") == 1
        primary.set("c", "3")
        wait_until(lambda: ours.get("c") == b"3", timeout=15)
        wait_until(lambda: _info(primary, "stats")["sync_partial_ok"] == 2)
        stats = _info(primary, "stats")
        assert stats["sync_full"] == 1
        wait_until(lambda: _acked(primary))


def test_readonly_masterdown_info_role_and_errors(tmp_path):
    with real_redis() as dead, node_process(tmp_path / "n") as node:
        port = dead.port
        dead.stop()                                 # nobody listens there now
        ours = redis.Redis(port=node.port)
        ours.set("kept", "1")
        assert ours.execute_command("REPLICAOF", "127.0.0.1", port) == b"OK"
        assert ours.execute_command("REPLICAOF", "127.0.0.1", port) == \
            b"OK Already connected to specified master"
        for bad in ("abc", "70000", "-1"):
            try:
                ours.execute_command("REPLICAOF", "127.0.0.1", bad)
                raise AssertionError("no error")
            except redis.ResponseError as err:
                assert str(err) == "Invalid master port"
        try:
            ours.set("x", "1")
            raise AssertionError("no error")
        except redis.ResponseError as err:
            assert str(err) == "You can't write against a read only replica."
        assert ours.get("kept") == b"1"            # stale data served by default
        info = _info(ours)
        assert info["role"] == "slave" and info["master_link_status"] == "down"
        assert info["master_last_io_seconds_ago"] == -1
        assert info["master_link_down_since_seconds"] == -1
        assert info["slave_read_only"] == 1 and info["slave_priority"] == 100
        role = ours.execute_command("ROLE")       # the link retries: either state shows
        assert role[:3] == [b"slave", b"127.0.0.1", port] and role[4] == -1
        assert role[3] in (b"connect", b"connecting")
        fields = [line.split(":")[0] for line in node.raw(
            b"INFO replication\r\n").decode().split("\r\n")[1:] if ":" in line]
        assert fields[:13] == [
            "role", "master_host", "master_port", "master_link_status",
            "master_last_io_seconds_ago", "master_sync_in_progress",
            "slave_read_repl_offset", "slave_repl_offset", "master_link_down_since_seconds",
            "slave_priority", "slave_read_only", "replica_announced", "connected_slaves"]
        ours.config_set("replica-serve-stale-data", "no")
        for cmd in (("GET", "kept"), ("PING",)):
            try:
                ours.execute_command(*cmd)
                raise AssertionError("no error")
            except redis.ResponseError as err:
                assert str(err).startswith("Link with MASTER is down and "
                                           "replica-serve-stale-data is set to 'no'.")
        assert ours.info("server")                  # stale commands still served
        ours.config_set("replica-serve-stale-data", "yes")
        ours.config_set("replica-read-only", "no")
        assert ours.set("x", "1") is True           # a writable replica


def test_replicaof_no_one_promotes_keeping_data(tmp_path):
    with real_redis(*FAST) as real, node_process(tmp_path / "n") as node:
        primary = redis.Redis(port=real.port)
        ours = redis.Redis(port=node.port)
        primary.mset({"a": "1", "b": "2"})
        _replicate(ours, real.port)
        primary.set("c", "3")
        wait_until(lambda: ours.get("c") == b"3")
        wait_until(lambda: _acked(primary))
        before = _info(ours)
        assert ours.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        after = _info(ours)
        assert after["role"] == "master"
        role = ours.execute_command("ROLE")
        assert role[0] == b"master" and role[1] == before["slave_repl_offset"]
        assert after["master_replid2"] == before["master_replid"]
        assert after["master_replid"] != before["master_replid"]
        assert after["second_repl_offset"] == before["slave_repl_offset"] + 1
        assert ours.mget("a", "b", "c") == [b"1", b"2", b"3"]
        assert ours.set("d", "4") is True
        # The real primary lost its replica.
        wait_until(lambda: _info(primary)["connected_slaves"] == 0)


def test_masterauth_and_replicaof_directive(tmp_path):
    with real_redis("--requirepass", "s3cret", *FAST) as real:
        primary = redis.Redis(port=real.port, password="s3cret")
        primary.set("guarded", "yes")
        with node_process(tmp_path / "n", "--replicaof", "127.0.0.1", str(real.port),
                          "--masterauth", "s3cret") as node:
            ours = redis.Redis(port=node.port)
            wait_until(lambda: _link_up(ours), timeout=15)
            assert ours.get("guarded") == b"yes"
            primary.set("more", "1")
            wait_until(lambda: ours.get("more") == b"1")
        primary.acl_setuser("repl", enabled=True, passwords=["+userpw"], commands=["+@all"],
                            keys=["*"], channels=["*"])
        with node_process(tmp_path / "u", "--replicaof", "127.0.0.1", str(real.port),
                          "--masteruser", "repl", "--masterauth", "userpw") as node:
            ours = redis.Redis(port=node.port)
            wait_until(lambda: _link_up(ours), timeout=15)
            assert ours.get("more") == b"1"
        with node_process(tmp_path / "m", "--replicaof", "127.0.0.1", str(real.port)) as node:
            ours = redis.Redis(port=node.port)
            wait_until(lambda: "Unable to AUTH" in node.log() or "NOAUTH" in node.log())
            assert _info(ours)["master_link_status"] == "down"


def test_replicaof_refused_in_cluster_mode(tmp_path):
    with node_process(tmp_path / "c", "--cluster-enabled", "yes") as node:
        ours = redis.Redis(port=node.port)
        try:
            ours.execute_command("REPLICAOF", "127.0.0.1", "1")
            raise AssertionError("no error")
        except redis.ResponseError as err:
            assert str(err) == "REPLICAOF not allowed in cluster mode."
        assert _info(ours)["role"] == "master"


def test_link_retries_until_the_primary_appears_and_after_it_restarts(tmp_path):
    real = RealRedis(list(FAST))
    with node_process(tmp_path / "n") as node:
        ours = redis.Redis(port=node.port)
        assert ours.execute_command("REPLICAOF", "127.0.0.1", real.port) == b"OK"
        wait_until(lambda: "Connection refused" in node.log() or "MASTER <-> REPLICA" in
                   node.log())
        assert _info(ours)["master_link_status"] == "down"
        with running(real):
            primary = redis.Redis(port=real.port)
            primary.set("first", "1")
            wait_until(lambda: ours.get("first") == b"1", timeout=15)
        # The primary is gone: the link is down and the data stays served.
        wait_until(lambda: not _link_up(ours))
        assert _info(ours)["master_link_down_since_seconds"] >= 0
        assert ours.get("first") == b"1"
        with running(real):                         # back, empty and with a new replid
            primary = redis.Redis(port=real.port)
            primary.set("second", "2")
            wait_until(lambda: ours.get("second") == b"2", timeout=15)
            assert ours.get("first") is None        # a full resync replaced our data


def test_cluster_replicate_starts_replication_from_that_primary(tmp_path):
    from tests.cluster_support import admin, cluster_of, node_ids
    with cluster_of(tmp_path, primaries=3, extra=1) as nodes:
        ids = node_ids(nodes)
        # Find the primary that owns slot 15495 and replicate it.
        with admin(nodes[0]) as r:
            slots = r.execute_command("CLUSTER", "SLOTS")
        port = next(s[2][1] for s in slots if s[0] <= 15495 <= s[1])
        primary_idx = next(i for i, n in enumerate(nodes) if n.port == port)
        with admin(nodes[3]) as rep:
            assert rep.execute_command("CLUSTER", "REPLICATE", ids[primary_idx]) in (True, "OK")
            wait_until(lambda: rep.info("replication").get("master_link_status") == "up",
                       timeout=20)
            assert rep.info("replication")["master_port"] == port
        with admin(nodes[primary_idx]) as p:
            p.set("{a}k2", "after")
            wait_until(lambda: p.info("replication").get("connected_slaves") == 1)
            assert p.wait(1, 5000) == 1
        ro = redis.Redis(port=nodes[3].port)
        ro.execute_command("READONLY")
        assert ro.get("{a}k2") == b"after"
        try:
            ro.set("{a}k3", "x")
            raise AssertionError("no redirect")
        except redis.exceptions.MovedError as err:    # writes go to the primary
            assert str(err) == f"15495 127.0.0.1:{port}"
