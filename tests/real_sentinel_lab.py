"""A lab for the real `redis-sentinel` 7.0.15: one primary and two replicas (ours, or real
redis-servers for reference), each started from a config file of its own, watched by three
real sentinels, each with its own sentinel.conf in its own directory. Used by
tests/process/test_real_sentinel.py and scripts/bench_sentinel.py. Every process is
stopped in every outcome (`with SentinelLab(...) as lab:`)."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import redis
from redis.sentinel import Sentinel

from tests.support import (ROOT, NodeProcess, RealRedis, ServerProcess, free_port,
                           wait_until)

NAME = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
SETTLE_TIMEOUT = 30.0
OURS_ARGS = ("--repl-diskless-sync-delay", "0")


def sentinel_binary() -> list[str]:
    if shutil.which("redis-sentinel"):
        return ["redis-sentinel"]
    if shutil.which("redis-server"):
        return ["redis-server"]          # with --sentinel after the config file
    raise RuntimeError("redis-sentinel is not installed (apt-get install redis-sentinel)")


class RealSentinel(ServerProcess):
    """A real redis-sentinel with its own sentinel.conf (which it rewrites) in `directory`."""

    what = "redis-sentinel"

    def __init__(self, directory: Path, master_port: int, quorum: int = 2,
                 down_after: int = DOWN_AFTER_MS):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = self.dir / "sentinel.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n"
            f"logfile {self.dir / 'sentinel.log'}\n"
            f"sentinel monitor {NAME} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {NAME} {down_after}\n"
            f"sentinel failover-timeout {NAME} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {NAME} 1\n")

    def _popen(self) -> subprocess.Popen:
        binary = sentinel_binary()
        extra = ["--sentinel"] if binary == ["redis-server"] else []
        return subprocess.Popen([*binary, str(self.conf), *extra], cwd=str(self.dir),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self) -> str:
        try:
            return (self.dir / "sentinel.log").read_text(errors="replace")
        except OSError:
            return ""


class OurSentinel(RealSentinel):
    """One of OUR sentinels (`pyredis-cluster sentinel sentinel.conf`), same settings."""

    what = "our sentinel"

    def _popen(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.Popen([sys.executable, "-m", "cli.main", "sentinel", str(self.conf),
                                 "--port", str(self.port)], cwd=str(self.dir), env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=open(self.dir / "stderr.txt", "ab"))


class OurNode(NodeProcess):
    """Our node started from a config file (so CONFIG REWRITE has a file to rewrite)."""

    def __init__(self, directory: Path, replicaof: int | None = None):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "node.conf"
        conf.write_text("# node config\n"
                        + (f"replicaof 127.0.0.1 {replicaof}\n" if replicaof else ""))
        super().__init__(directory, list(OURS_ARGS), conf=conf)


class RealNode(RealRedis):
    """A real redis-server started from a config file, for reference."""

    def __init__(self, directory: Path, replicaof: int | None = None):
        super().__init__([])
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "node.conf"
        self.conf.write_text("# node config\n"
                             + (f"replicaof 127.0.0.1 {replicaof}\n" if replicaof else ""))

    def _popen(self) -> subprocess.Popen:
        Path(self.workdir).mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            ["redis-server", str(self.conf), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--dir", self.workdir, "--repl-diskless-sync-delay", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def client(port: int, **kw) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, **kw)


def replication(port: int) -> dict:
    return client(port).info("replication")


def kill9(server: ServerProcess) -> None:
    server.proc.kill()
    server.proc.wait(10)
    if server.proc.stderr:
        server.proc.stderr.close()


class SentinelLab(contextlib.ExitStack):
    """Nodes of `kind` ("ours" or "real") and three sentinels of `sentinels` kind ("real"
    redis-sentinel or "ours"), all under `base`."""

    def __init__(self, base: Path, kind: str = "ours", sentinels: str = "real",
                 down_after: int = DOWN_AFTER_MS):
        super().__init__()
        self.base = Path(base)
        self.kind = kind
        self.sentinel_kind = sentinels
        self.down_after = down_after
        self.nodes: list[ServerProcess] = []
        self.sentinels: list[RealSentinel] = []

    def _node(self, name: str, replicaof: int | None = None) -> ServerProcess:
        cls = OurNode if self.kind == "ours" else RealNode
        node = cls(self.base / name, replicaof)
        self.callback(node.stop)
        node.start()
        return node

    def __enter__(self):
        super().__enter__()
        try:
            primary = self._node("n0")
            self.nodes = [primary, self._node("n1", primary.port),
                          self._node("n2", primary.port)]
            wait_until(lambda: all(replication(n.port).get("master_link_status") == "up"
                                   for n in self.nodes[1:]), SETTLE_TIMEOUT,
                       message="replicas linked")
            for i in range(3):
                cls = OurSentinel if self.sentinel_kind == "ours" else RealSentinel
                s = cls(self.base / f"s{i}", primary.port, down_after=self.down_after)
                self.callback(s.stop)
                s.start()
                self.sentinels.append(s)
            self.wait_known(primary.port)
        except BaseException:
            self.close()
            raise
        return self

    def sentinel_client(self, **kw) -> Sentinel:
        return Sentinel([("127.0.0.1", s.port) for s in self.sentinels],
                        socket_timeout=1.0, **kw)

    def wait_known(self, primary_port: int, timeout: float = SETTLE_TIMEOUT) -> None:
        """Every sentinel names `primary_port` as master, knows 2 replicas and 2 others."""
        def settled():
            for s in self.sentinels:
                m = client(s.port).sentinel_master(NAME)
                if (m["port"] != primary_port or m["num-slaves"] < 2
                        or m["num-other-sentinels"] < 2 or not m["is_master"]
                        or m["is_sdown"] or m["is_odown"]):
                    return False
            return True
        wait_until(settled, timeout, interval=0.1, message="sentinels settled")

    def primary(self) -> ServerProcess:
        port = self.master_port()
        return next(n for n in self.nodes if n.port == port)

    def master_port(self) -> int:
        return client(self.sentinels[0].port).sentinel_master(NAME)["port"]

    def logs(self) -> str:
        return "\n".join(f"--- sentinel {s.port}\n{s.log()[-3000:]}" for s in self.sentinels)


def write_until_ok(master: redis.Redis, key: str, value: str, timeout: float) -> float:
    """Write through `master` (a master_for client) until it succeeds; the monotonic time."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if master.set(key, value):
                return time.monotonic()
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                redis.ResponseError) as exc:
            last = exc
        time.sleep(0.02)
    raise TimeoutError(f"no write within {timeout}s (last error: {last!r})")


def measure_failover(lab: SentinelLab, timeout: float = 60.0) -> float:
    """Kill -9 the current primary; seconds until master_for writes again."""
    sentinel = lab.sentinel_client()
    master = sentinel.master_for(NAME, socket_timeout=0.5, socket_connect_timeout=0.5)
    master.set("before", "1")
    old = lab.primary()
    start = time.monotonic()
    kill9(old)
    done = write_until_ok(master, "after", "1", timeout)
    return done - start
