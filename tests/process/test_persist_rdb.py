"""RDB persistence over real processes: SAVE / SHUTDOWN SAVE / SIGTERM save and restart,
BGSAVE under concurrent writes, the save schedule, a garbage dump refused at start,
dump.rdb exchanged with a real redis-server both ways, and a replica restarted from its
dump resuming with a partial resync."""
from __future__ import annotations

import shutil

import redis

from tests.support import NodeProcess, RealRedis, running, wait_until

DEBUG = ("--enable-debug-command", "yes")
TIMEOUT = 20


def _r(server, **kw) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def _digest(r) -> bytes:
    return r.execute_command("DEBUG", "DIGEST")


def _fill(r, n=2000, tag="k") -> None:
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{tag}:{i}", f"v{i}")
        if i % 10 == 0:
            pipe.rpush(f"{tag}:l{i % 7}", *[f"e{j}" for j in range(20)])
            pipe.hset(f"{tag}:h{i % 5}", f"f{i}", i)
            pipe.sadd(f"{tag}:s{i % 3}", i)
            pipe.zadd(f"{tag}:z", {f"m{i}": i / 3})
    pipe.set(f"{tag}:ttl", "x", px=10_000_000)
    pipe.execute()
    r.execute_command("SELECT", 5)
    r.set(f"{tag}:db5", "five")
    r.execute_command("SELECT", 0)


def _content(server) -> dict:
    """Every key of every db with its type, value and whether it has a TTL (DEBUG DIGEST
    is not comparable across implementations)."""
    out = {}
    for db in range(16):
        r = _r(server, db=db)
        for key in r.scan_iter(count=1000):
            kind = r.type(key)
            value = {b"string": r.get, b"hash": r.hgetall, b"set": r.smembers,
                     b"list": lambda k: r.lrange(k, 0, -1),
                     b"zset": lambda k: r.zrange(k, 0, -1, withscores=True)}[kind](key)
            out[db, key] = (kind, value, r.pttl(key) > 0)
    return out


def _persistence(r) -> dict:
    return r.info("persistence")


def test_save_and_shutdown_saves_survive_a_restart(tmp_path):
    d = tmp_path / "n"
    node = NodeProcess(d, list(DEBUG))
    with running(node):
        r = _r(node)
        _fill(r)
        assert r.execute_command("SAVE") in (b"OK", True)
        assert (d / "dump.rdb").exists() and not list(d.glob("temp-*.rdb"))
        assert _persistence(r)["rdb_changes_since_last_save"] == 0
        before = _digest(r)
        assert r.lastsave()
    with running(NodeProcess(d, list(DEBUG), port=node.port)) as again:
        r = _r(again)
        assert _digest(r) == before
        assert r.ttl("k:ttl") > 9000
        assert _persistence(r)["rdb_last_load_keys_loaded"] > 2000
        r.set("after", "1")
        try:
            r.execute_command("SHUTDOWN", "SAVE")
        except redis.ConnectionError:
            pass
        wait_until(lambda: not again.alive(), TIMEOUT)
        assert again.proc.returncode == 0
        after = before
    log = again.log()
    assert "Saving the final RDB snapshot before exiting." in log and "DB saved on disk" in log
    # SIGTERM with a save point configured saves too (as Redis)
    third = NodeProcess(d, [*DEBUG, "--save", "3600 1"], port=node.port)
    with running(third):
        r = _r(third)
        assert r.get("after") == b"1"
        assert _digest(r) != after
        r.set("on-sigterm", "1")
        digest = _digest(r)
    with running(NodeProcess(d, list(DEBUG), port=node.port)) as fourth:
        assert _digest(_r(fourth)) == digest


def test_bgsave_is_the_dataset_at_its_start_under_concurrent_writes(tmp_path):
    node = NodeProcess(tmp_path / "a", list(DEBUG))
    with running(node):
        r = _r(node)
        _fill(r, 20000)
        before = _digest(r)
        # BGSAVE, then writes in the same batch: every write lands after the snapshot
        pipe = r.pipeline(transaction=False)
        pipe.execute_command("BGSAVE")
        for i in range(3000):
            pipe.set(f"k:{i}", "changed")
            if i % 100 == 0:
                pipe.rpush(f"k:l{i % 7}", "late")
                pipe.hset(f"k:h{i % 5}", "late", 1)
                pipe.delete(f"k:s{i % 3}")
        pipe.execute_command("BGSAVE")
        replies = pipe.execute(raise_on_error=False)
        assert replies[0] is True         # redis-py: "+Background saving started"
        assert str(replies[-1]) == "Background save already in progress"
        r.flushall()
        wait_until(lambda: _persistence(r)["rdb_bgsave_in_progress"] == 0, TIMEOUT)
        info = _persistence(r)
        assert info["rdb_last_bgsave_status"] == "ok" and info["rdb_saves"] == 1
        assert "Background saving terminated with success" in node.log()
    copy = tmp_path / "b"
    copy.mkdir()
    shutil.copy(tmp_path / "a" / "dump.rdb", copy / "dump.rdb")
    with running(NodeProcess(copy, list(DEBUG))) as other:
        assert _digest(_r(other)) == before


def test_save_schedule_triggers_a_bgsave(tmp_path):
    node = NodeProcess(tmp_path, [*DEBUG, "--save", "1 3"])
    with running(node):
        r = _r(node)
        r.set("a", 1)
        r.set("b", 2)
        r.set("c", 3)
        wait_until(lambda: _persistence(r)["rdb_changes_since_last_save"] == 0, TIMEOUT)
        wait_until(lambda: _persistence(r)["rdb_bgsave_in_progress"] == 0, TIMEOUT)
        assert "3 changes in 1 seconds. Saving..." in node.log()
        assert (tmp_path / "dump.rdb").exists()


def test_garbage_dump_refuses_to_start(tmp_path):
    (tmp_path / "dump.rdb").write_bytes(b"this is not an rdb file\n" * 4)
    node = NodeProcess(tmp_path)
    try:
        node.start()
    except RuntimeError:
        pass
    wait_until(lambda: not node.alive(), TIMEOUT)
    assert node.proc.returncode == 1
    log = node.log()
    assert "Wrong signature trying to load DB from file" in log
    assert "Fatal error loading the DB: Invalid argument. Exiting." in log
    node.stop()
    (tmp_path / "dump.rdb").write_bytes(b"REDIS0010\xfa\x09redis-ver\x067.0.15")
    again = NodeProcess(tmp_path)
    try:
        again.start()
    except RuntimeError:
        pass
    wait_until(lambda: not again.alive(), TIMEOUT)
    assert again.proc.returncode == 1
    assert "Short read or OOM loading DB. Unrecoverable error, aborting now." in again.log()
    again.stop()


def test_dump_files_are_exchanged_with_a_real_redis_server(tmp_path):
    ours_dir = tmp_path / "ours"
    node = NodeProcess(ours_dir, list(DEBUG))
    with running(node):
        r = _r(node)
        _fill(r, 500)
        r.set("big", "x" * 5000)
        r.set("n", 12345)
        ours = _content(node)
        r.execute_command("SAVE")
    real = RealRedis([*DEBUG, "--dbfilename", "ours.rdb"])
    shutil.copy(ours_dir / "dump.rdb", real.workdir + "/ours.rdb")
    with running(real):
        rr = _r(real)
        assert _content(real) == ours
        rr.set("from-real", "yes")
        rr.lpush("real:list", *range(300))        # a quicklist of listpacks
        rr.set("real:compressible", "ab" * 3000)  # LZF-compressed by redis-server
        theirs = _content(real)
        rr.execute_command("SAVE")
        their_dir = tmp_path / "theirs"
        their_dir.mkdir()
        shutil.copy(real.workdir + "/ours.rdb", their_dir / "dump.rdb")
    with running(NodeProcess(their_dir, list(DEBUG))) as back:
        assert _content(back) == theirs


def test_replica_restarted_from_its_dump_resumes_with_a_partial_resync(tmp_path):
    primary = NodeProcess(tmp_path / "p", [*DEBUG, "--repl-diskless-sync-delay", "0"])
    with running(primary):
        p = _r(primary)
        _fill(p, 500)
        rdir = tmp_path / "r"
        args = [*DEBUG, "--replicaof", "127.0.0.1", str(primary.port)]
        replica = NodeProcess(rdir, args)
        with running(replica):
            rep = _r(replica)
            wait_until(lambda: _digest(rep) == _digest(p)
                       and rep.info("replication")["master_link_status"] == "up", TIMEOUT)
            rep.execute_command("SAVE")
            replica.proc.kill()                 # SIGKILL: no shutdown save
            replica.proc.wait(10)
        for i in range(100):
            p.set(f"while-down:{i}", i)
        assert p.info("stats")["sync_full"] == 1
        again = NodeProcess(rdir, args, port=replica.port)
        with running(again):
            rep = _r(again)
            wait_until(lambda: _digest(rep) == _digest(p), TIMEOUT)
            stats = p.info("stats")
            assert stats["sync_partial_ok"] == 1 and stats["sync_full"] == 1
            assert "Partial resynchronization" in again.log() or \
                "Successful partial resynchronization" in again.log()


def test_cluster_node_claims_unowned_slots_of_its_loaded_keys(tmp_path):
    src = NodeProcess(tmp_path / "src")
    with running(src):
        r = _r(src)
        r.set("foo", "1")            # slot 12182
        r.set("{user1}a", "2")       # slot 8106
        r.execute_command("SAVE")
    d = tmp_path / "c"
    d.mkdir()
    shutil.copy(tmp_path / "src" / "dump.rdb", d / "dump.rdb")
    node = NodeProcess(d, ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
    with running(node):
        r = _r(node)
        wait_until(lambda: b"12182" in r.execute_command("CLUSTER", "NODES"), TIMEOUT)
        mine = r.execute_command("CLUSTER", "NODES").decode()
        assert "8106" in mine and "12182" in mine
        assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", 12182) == 1
        assert "I have keys for unassigned slot 12182. Taking responsibility for it." \
            in node.log()
        wait_until(lambda: "12182" in (d / "nodes.conf").read_text(), TIMEOUT)
