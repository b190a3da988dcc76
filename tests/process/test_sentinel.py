"""Our sentinels over real sockets: three of them watch one primary and two replicas of
ours; redis-py's Sentinel finds the primary, survives a kill -9 of it, and the old primary
comes back as a replica of the new one."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import redis
from redis.sentinel import Sentinel

from tests.support import ROOT, ServerProcess, free_port, node_process, wait_until

DOWN_AFTER = 800
FAILOVER_TIMEOUT = 4000


class SentinelProcess(ServerProcess):
    what = "sentinel"

    def __init__(self, directory, master_port: int, name: str = "mymaster",
                 real: bool = False):
        self.real = real
        # The real sentinel's links are killed by the promotion's CLIENT KILL TYPE normal
        # and it reconnects only after a ping period: a down-after below ~1.5 s makes it
        # see the promoted node down and fail over a second time.
        self.down_after = 2000 if real else DOWN_AFTER
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\nlogfile {self.dir / 'sentinel.log'}\n"
            f"sentinel monitor {name} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {name} {self.down_after}\n"
            f"sentinel failover-timeout {name} {FAILOVER_TIMEOUT}\n"
            f"sentinel parallel-syncs {name} 1\n")

    def _popen(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cmd = ([shutil.which("redis-sentinel"), str(self.conf)] if self.real else
               [sys.executable, "-m", "cli.main", "sentinel", str(self.conf)])
        return subprocess.Popen([*cmd, "--port", str(self.port)],
                                cwd=str(self.dir), env=env, stdout=subprocess.DEVNULL,
                                stderr=open(self.dir / "stderr.txt", "ab"))

    def log(self) -> str:
        try:
            return ((self.dir / "sentinel.log").read_text()
                    + (self.dir / "stderr.txt").read_text())
        except OSError:
            return ""


class Events(threading.Thread):
    """A subscriber of one sentinel's events (PSUBSCRIBE *)."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.conn = redis.Redis(port=port, socket_timeout=0.5)
        self.ps = self.conn.pubsub()
        self.ps.psubscribe("*")
        self.seen: list[tuple[str, str]] = []
        self.stop = False

    def run(self):
        while not self.stop:
            try:
                msg = self.ps.get_message(timeout=0.2)
            except Exception:
                continue
            if msg and msg["type"] == "pmessage":
                self.seen.append((msg["channel"].decode(), msg["data"].decode()))


@pytest.mark.parametrize("kind", ["ours", "real-redis-sentinel"])
def test_failover_with_sentinels(tmp_path, kind):
    """Our sentinels, then the real redis-sentinel 7.0.15, against the same kind of
    nodes of ours: the same failover, and how long writes stop."""
    with node_process(tmp_path / "p") as primary:
        with node_process(tmp_path / "r1", "--replicaof", "127.0.0.1", str(primary.port)) \
                as r1, node_process(tmp_path / "r2", "--replicaof", "127.0.0.1",
                                    str(primary.port)) as r2:
            sentinels = [SentinelProcess(tmp_path / f"s{i}", primary.port,
                                         real=kind != "ours") for i in range(3)]
            try:
                for s in sentinels:
                    s.start()
                _failover_scenario(tmp_path, primary, (r1, r2), sentinels)
            finally:
                for s in sentinels:
                    s.stop()


def _failover_scenario(tmp_path, primary, replicas, sentinels):
    s0 = redis.Redis(port=sentinels[0].port, decode_responses=True)
    wait_until(lambda: all(
        int(redis.Redis(port=s.port).sentinel_master("mymaster")["num-other-sentinels"]) == 2
        and int(redis.Redis(port=s.port).sentinel_master("mymaster")["num-slaves"]) == 2
        for s in sentinels), timeout=20, message="sentinels discover each other")
    listeners = [Events(s.port) for s in sentinels]
    for listener in listeners:
        listener.start()
    events = listeners[1]
    wait_until(lambda: all(ev.ps.subscribed for ev in listeners), timeout=5)
    sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=0.5)
    master = sentinel.master_for("mymaster", socket_timeout=0.5)
    assert master.set("k", "v1")
    assert sentinel.discover_master("mymaster") == ("127.0.0.1", primary.port)
    wait_until(lambda: all(redis.Redis(port=r.port).get("k") == b"v1" for r in replicas))

    old_port = primary.port
    t0 = time.monotonic()
    primary.proc.send_signal(signal.SIGKILL)
    primary.proc.wait()

    def writes_again():
        try:
            return master.set("k", "v2")
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                redis.sentinel.MasterNotFoundError):
            return False
    wait_until(writes_again, timeout=sentinels[0].down_after / 1000 + FAILOVER_TIMEOUT / 1000
               + 15,
               interval=0.05, message="redis-py writes after the failover")
    elapsed = time.monotonic() - t0
    print(f"\n{sentinels[0].what} real={sentinels[0].real}: kill -9 -> redis-py writes "
          f"again: {elapsed:.2f} s")
    new_ip, new_port = sentinel.discover_master("mymaster")
    assert new_port in {r.port for r in replicas}
    wait_until(lambda: any(name == "+switch-master" for name, _ in events.seen), timeout=10)
    switch = next(p for n, p in events.seen if n == "+switch-master")
    assert switch == f"mymaster 127.0.0.1 {old_port} 127.0.0.1 {new_port}"
    assert s0.sentinel_get_master_addr_by_name("mymaster") == ("127.0.0.1", new_port)

    # the old primary comes back and is turned into a replica of the new one
    restarted = type(primary)(tmp_path / "p", port=old_port)
    restarted.start()
    try:
        wait_until(lambda: redis.Redis(port=old_port).info("replication").get("master_port")
                   == new_port, timeout=30, message="old primary becomes a replica")
        wait_until(lambda: redis.Redis(port=old_port).get("k") == b"v2", timeout=10)
        converted = [p for ev in listeners for n, p in ev.seen if n == "+convert-to-slave"]
        assert converted and converted[0].startswith(f"slave 127.0.0.1:{old_port} ")
        assert converted[0].endswith(f"@ mymaster 127.0.0.1 {new_port}")
    finally:
        restarted.stop()
        for ev in listeners:
            ev.stop = True


class SentinelViaServer(SentinelProcess):
    """Started the redis-server way: `pyredis-cluster server sentinel.conf --sentinel`."""

    def _popen(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.Popen([sys.executable, "-m", "cli.main", "server", str(self.conf),
                                 "--sentinel", "--port", str(self.port)],
                                cwd=str(self.dir), env=env, stdout=subprocess.DEVNULL,
                                stderr=open(self.dir / "stderr.txt", "ab"))


def test_server_dash_dash_sentinel_answers_sentinel_commands(tmp_path):
    with node_process(tmp_path / "p") as primary:
        s = SentinelViaServer(tmp_path / "s", primary.port)
        s.start()
        try:
            for protocol in (2, 3):
                r = redis.Redis(port=s.port, protocol=protocol, decode_responses=True)
                assert r.execute_command("ROLE") == ["sentinel", ["mymaster"]]
                assert r.sentinel_get_master_addr_by_name("mymaster") == \
                    ("127.0.0.1", primary.port)
                info = r.info("sentinel")
                assert info["sentinel_masters"] == 1
                assert info["master0"]["address"] == f"127.0.0.1:{primary.port}"
                wait_until(lambda: r.sentinel_master("mymaster")["runid"] != "")
                m = r.sentinel_master("mymaster")
                assert m["is_master"] and m["quorum"] == 2
            myid = redis.Redis(port=s.port).execute_command("SENTINEL", "MYID")
            wait_until(lambda: f"sentinel myid {myid.decode()}" in s.conf.read_text())
        finally:
            s.stop()
