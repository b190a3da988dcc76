"""The append-only file over real processes: kill -9 durability (always / everysec),
a rewrite under concurrent writes, truncated / corrupt files at start, and the files
exchanged both ways with a real redis-server 7.0.15."""
from __future__ import annotations

import os
import shutil
import signal
import threading

import pytest
import redis

from tests.support import NodeProcess, RealRedis, wait_until

AOF = ["--appendonly", "yes", "--enable-debug-command", "yes"]


def client(proc) -> redis.Redis:
    return redis.Redis(port=proc.port, socket_timeout=20)


def kill9(proc) -> None:
    proc.proc.send_signal(signal.SIGKILL)
    proc.proc.wait(10)
    if proc.proc.stderr:
        proc.proc.stderr.close()


def info(proc) -> dict:
    return client(proc).info("persistence")


def keys_of(proc) -> dict:
    r = client(proc)
    return {k: r.get(k) for k in r.keys("*")}


@pytest.mark.parametrize("policy", ["always", "everysec"])
def test_kill9_after_acknowledged_writes(tmp_path, policy):
    n = 300
    proc = NodeProcess(tmp_path / "n", [*AOF, "--appendfsync", policy])
    proc.start()
    try:
        r = client(proc)
        for i in range(n):
            assert r.set(f"k{i}", i) is True
        r.incrby("counter", n)
        digest = r.execute_command("DEBUG", "DIGEST")
        kill9(proc)
        proc.start()
        r = client(proc)
        found = sum(r.exists(f"k{i}") for i in range(n))
        # kill -9 does not drop the page cache: everysec loses nothing here either (a
        # power loss could lose up to a second); always fsyncs before each reply.
        print(f"appendfsync {policy}: {n - found} of {n} acknowledged writes lost")
        assert found == n
        assert r.execute_command("DEBUG", "DIGEST") == digest
    finally:
        proc.stop()


def test_rewrite_under_concurrent_writes_loses_nothing(tmp_path):
    proc = NodeProcess(tmp_path / "n", AOF)
    proc.start()
    try:
        r = client(proc)
        pipe = r.pipeline(transaction=False)
        for i in range(60000):
            pipe.set(f"pre{i}", "v" * 20)
        pipe.execute()
        stop = threading.Event()
        written = []

        def writer():
            w = client(proc)
            i = 0
            while not stop.is_set():
                w.set(f"during{i}", i)
                w.rpush("list", i)
                written.append(i)
                i += 1
        t = threading.Thread(target=writer)
        t.start()
        wait_until(lambda: len(written) > 20, 10)
        r.bgrewriteaof()
        saw_progress = info(proc)["aof_rewrite_in_progress"]
        wait_until(lambda: info(proc)["aof_rewrites"] >= 1
                   and info(proc)["aof_rewrite_in_progress"] == 0, 60)
        count_at_end = len(written)
        wait_until(lambda: len(written) > count_at_end + 20, 10)
        stop.set()
        t.join(10)
        digest = r.execute_command("DEBUG", "DIGEST")
        total = len(written)
        files = sorted(os.listdir(tmp_path / "n" / "appendonlydir"))
        assert files == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof",
                         "appendonly.aof.manifest"]
        kill9(proc)
        proc.start()
        r = client(proc)
        assert r.dbsize() == 60000 + total + 1
        assert r.llen("list") == total
        assert r.execute_command("DEBUG", "DIGEST") == digest
        print(f"rewrite in progress right after BGREWRITEAOF: {saw_progress}; "
              f"{total} SET+RPUSH pairs written around it")
        assert saw_progress == 1
    finally:
        proc.stop()


def test_truncated_aof_loads_with_the_tail_trimmed(tmp_path):
    proc = NodeProcess(tmp_path / "n", AOF)
    proc.start()
    try:
        client(proc).mset({"a": "1", "b": "2"})
        proc.stop()
        incr = tmp_path / "n" / "appendonlydir" / "appendonly.aof.1.incr.aof"
        good = incr.stat().st_size
        with open(incr, "ab") as f:
            f.write(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$10\r\nabc")
        proc.start()
        assert client(proc).mget("a", "b", "c") == [b"1", b"2", None]
        assert incr.stat().st_size == good
        log = proc.log()
        assert ("!!! Warning: short read while loading the AOF file "
                "appendonly.aof.1.incr.aof!!!") in log
        assert ("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated "
                "is enabled") in log
    finally:
        proc.stop()


def test_corrupt_middle_byte_refuses_to_start(tmp_path):
    proc = NodeProcess(tmp_path / "n", AOF)
    proc.start()
    try:
        r = client(proc)
        for i in range(5):
            r.set(f"k{i}", i)
        proc.stop()
        incr = tmp_path / "n" / "appendonlydir" / "appendonly.aof.1.incr.aof"
        data = bytearray(incr.read_bytes())
        offset = data.index(b"*3", 40)
        data[offset] = ord("?")
        incr.write_bytes(bytes(data))
        with pytest.raises(RuntimeError):
            proc.start()
        assert proc.proc.returncode == 1
        log = proc.log()
        assert ("Bad file format reading the append only file appendonly.aof.1.incr.aof: "
                "make a backup of your AOF file, then use ./redis-check-aof --fix "
                "<filename.manifest>") in log
        assert f"at offset {offset}" in log
    finally:
        proc.stop()


def _sample(r) -> None:
    r.set("s", "hello")
    r.rpush("l", "a", "b", "c")
    r.sadd("set", "x", "y")
    r.hset("h", mapping={"f": "v", "g": "w"})
    r.zadd("z", {"m": 1.5, "n": 2})
    r.set("ttl", "v", px=10_000_000)


READ = {b"string": lambda r, k: r.get(k), b"list": lambda r, k: r.lrange(k, 0, -1),
        b"set": lambda r, k: sorted(r.smembers(k)), b"hash": lambda r, k: r.hgetall(k),
        b"zset": lambda r, k: r.zrange(k, 0, -1, withscores=True)}


def _dump_all(r) -> dict:
    out = {}
    for k in r.keys("*"):
        kind = r.type(k)
        out[k] = (kind, READ[kind](r, k), r.pttl(k) > 0)
    return out


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_real_redis_loads_ours_and_we_load_its(tmp_path, preamble):
    extra = ["--aof-use-rdb-preamble", preamble]
    ours = NodeProcess(tmp_path / "ours", [*AOF, *extra])
    ours.start()
    try:
        r = client(ours)
        _sample(r)
        r.bgrewriteaof()
        wait_until(lambda: info(ours)["aof_rewrites"] >= 1
                   and info(ours)["aof_rewrite_in_progress"] == 0, 20)
        r.incr("after-rewrite")
        expected = _dump_all(r)
    finally:
        ours.stop()
    real_dir = tmp_path / "real"
    shutil.copytree(tmp_path / "ours" / "appendonlydir", real_dir / "appendonlydir")
    real = RealRedis([*AOF, *extra, "--dir", str(real_dir)])
    real.start()
    try:
        rr = client(real)
        assert _dump_all(rr) == expected
        rr.set("from-real", "1")
        rr.bgrewriteaof()
        wait_until(lambda: info(real)["aof_rewrites"] >= 1
                   and info(real)["aof_rewrite_in_progress"] == 0, 20)
        rr.lpush("l", "z")
        wait_until(lambda: info(real)["aof_buffer_length"] == 0, 5)
        expected = _dump_all(rr)
        back = tmp_path / "back"
        back.mkdir()
        shutil.copytree(real_dir / "appendonlydir", back / "appendonlydir")
    finally:
        real.stop()
    again = NodeProcess(back, [*AOF, *extra])
    again.start()
    try:
        assert _dump_all(client(again)) == expected
    finally:
        again.stop()


def test_config_set_appendonly_at_runtime(tmp_path):
    proc = NodeProcess(tmp_path / "n", [])
    proc.start()
    try:
        r = client(proc)
        r.set("before", "1")
        assert r.config_set("appendonly", "yes")
        wait_until(lambda: info(proc)["aof_rewrites"] >= 1, 10)
        assert info(proc)["aof_enabled"] == 1
        r.set("after", "2")
        kill9(proc)
        proc.args = [*AOF]
        proc.start()
        assert client(proc).mget("before", "after") == [b"1", b"2"]
    finally:
        proc.stop()
