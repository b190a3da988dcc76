"""Persistence finish over real processes: LZF-compressed dumps read by a real
redis-server (file and full sync), a restarted primary whose replica continues with a
partial resync (as Redis 7.0.15 does), and shutdown-on-sigterm's flags."""
from __future__ import annotations

import os
import shutil
import signal

import redis

from tests.support import NodeProcess, RealRedis, running, wait_until

DEBUG = ("--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0")
TIMEOUT = 20


def _r(server, **kw) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def _fill(r) -> dict:
    pipe = r.pipeline(transaction=False)
    for i in range(300):
        pipe.set(f"s:{i}", f"value-{i}-" + "abc" * (i % 40))          # some compressible
    pipe.rpush("list", *[f"element-{j}-" + "x" * 30 for j in range(200)])
    pipe.hset("hash", mapping={f"field{j}": "y" * 50 for j in range(50)})
    pipe.zadd("zset", {f"member-{j}-" + "z" * 25: j for j in range(60)})
    pipe.sadd("set", *[f"m{j}" * 8 for j in range(40)])
    pipe.execute()
    return _content(r)


def _content(r) -> dict:
    out = {}
    for key in r.scan_iter(count=1000):
        kind = r.type(key)
        out[key] = {b"string": r.get, b"hash": r.hgetall, b"set": r.smembers,
                    b"list": lambda k: r.lrange(k, 0, -1),
                    b"zset": lambda k: r.zrange(k, 0, -1, withscores=True)}[kind](key)
    return out


def test_compressed_dump_and_full_sync_are_read_by_a_real_redis_server(tmp_path):
    node = NodeProcess(tmp_path / "ours", list(DEBUG))
    with running(node):
        r = _r(node)
        ours = _fill(r)
        r.execute_command("SAVE")
        packed = os.path.getsize(node.dir / "dump.rdb")
        r.config_set("rdbcompression", "no")
        r.execute_command("SAVE")
        plain = os.path.getsize(node.dir / "dump.rdb")
        r.config_set("rdbcompression", "yes")
        r.execute_command("SAVE")
        assert packed < plain * 0.7, (packed, plain)
        # the DUMP payload is compressed as redis-server compresses it
        assert r.dump("hash")[1] == 0xC3
        real = RealRedis([*DEBUG, "--dbfilename", "ours.rdb"])
        shutil.copy(node.dir / "dump.rdb", real.workdir + "/ours.rdb")
        with running(real):
            rr = _r(real)
            assert _content(rr) == ours
            assert rr.dump("s:299") == r.dump("s:299")
            rr.flushall()
            rr.replicaof("127.0.0.1", node.port)              # full sync from us
            wait_until(lambda: rr.info("replication")["master_link_status"] == "up"
                       and rr.dbsize() == r.dbsize(), TIMEOUT)
            assert _content(rr) == ours


def test_a_restarted_primary_lets_its_replica_resume_with_a_partial_resync(tmp_path):
    pdir = tmp_path / "p"
    primary = NodeProcess(pdir, list(DEBUG))
    with running(primary):
        p = _r(primary)
        _fill(p)
        replica = NodeProcess(tmp_path / "r",
                              [*DEBUG, "--replicaof", "127.0.0.1", str(primary.port)])
        with running(replica):
            rep = _r(replica)
            wait_until(lambda: rep.info("replication")["master_link_status"] == "up"
                       and rep.dbsize() == p.dbsize(), TIMEOUT)
            p.set("gone", "soon", px=300)                       # expires while p is down
            p.set("last", "write")
            wait_until(lambda: rep.info("replication")["slave_repl_offset"]
                       == p.info("replication")["master_repl_offset"], TIMEOUT)
            old = p.info("replication")
            try:
                p.execute_command("SHUTDOWN", "SAVE")
            except redis.ConnectionError:
                pass
            wait_until(lambda: not primary.alive(), TIMEOUT)
            again = NodeProcess(pdir, list(DEBUG), port=primary.port)
            with running(again):
                p2 = _r(again)
                wait_until(lambda: p2.info("stats")["sync_partial_ok"] == 1, TIMEOUT)
                info = p2.info("replication")
                assert p2.info("stats")["sync_full"] == 0
                assert info["master_replid"] != old["master_replid"]
                assert info["master_replid2"] == old["master_replid"]
                assert info["second_repl_offset"] == old["master_repl_offset"] + 1
                # the DEL of the key that expired while down went to the replica
                wait_until(lambda: rep.exists("gone") == 0 and
                           rep.info("replication")["master_replid"] == info["master_replid"],
                           TIMEOUT)
                assert "Successful partial resynchronization" in replica.log()
                p2.set("after", "restart")
                wait_until(lambda: rep.get("after") == b"restart", TIMEOUT)


def test_shutdown_on_sigterm_flags(tmp_path):
    # "nosave": a SIGTERM does not save even with save points configured
    node = NodeProcess(tmp_path / "a", ["--save", "3600 1", "--shutdown-on-sigterm", "nosave"])
    with running(node):
        _r(node).set("k", "v")
        node.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not node.alive(), TIMEOUT)
        assert node.proc.returncode == 0
        assert not (node.dir / "dump.rdb").exists()
        assert "Received SIGTERM scheduling shutdown..." in node.log()
    # "save": saves although no save point is configured (--save '')
    node = NodeProcess(tmp_path / "b", ["--shutdown-on-sigterm", "save"])
    with running(node):
        _r(node).set("k", "v")
        node.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not node.alive(), TIMEOUT)
        assert (node.dir / "dump.rdb").exists()
        assert "Saving the final RDB snapshot before exiting." in node.log()
    # a save that fails: "save" keeps running, "save force" exits anyway
    for flags, exits in (("save", False), ("save force", True)):
        node = NodeProcess(tmp_path / flags.replace(" ", "-"),
                           ["--shutdown-on-sigterm", flags])
        with running(node):
            r = _r(node)
            r.set("k", "v")
            os.mkdir(node.dir / "dump.rdb")                 # the rename cannot succeed
            node.proc.send_signal(signal.SIGTERM)
            if exits:
                wait_until(lambda: not node.alive(), TIMEOUT)
                assert "Error trying to save the DB. Exit anyway." in node.log()
            else:
                wait_until(lambda: "can't exit" in node.log(), TIMEOUT)
                assert node.alive() and r.get("k") == b"v"
                os.rmdir(node.dir / "dump.rdb")
