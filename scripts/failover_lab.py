"""A 3+3 cluster of ours or of real redis-server, made with `redis-cli --cluster create
--cluster-replicas 1 --cluster-yes`, with kill -9 / restart of a node and the slot map as
a client sees it. Used by scripts/bench_failover.py and scripts/chaos.py (not by tests).

    with Lab("ours", node_timeout=1000) as lab:
        victim = lab.primary_of_slot(0); lab.kill(victim); ...; lab.restart(victim)
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support import NodeProcess, RealRedis, ServerProcess, wait_until

NODES = 6


def client(port: int, timeout: float, **kwargs) -> redis.Redis:
    """A plain connection without redis-py's own retries (8.x retries 10 times by default,
    which would hide a dead node and then reach its restarted successor)."""
    return redis.Redis(port=port, socket_timeout=timeout, socket_connect_timeout=timeout,
                       retry=Retry(NoBackoff(), 0), **kwargs)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Lab:
    def __init__(self, kind: str, node_timeout: int = 1000, nodes: int = NODES):
        assert kind in ("ours", "redis")
        self.kind = kind
        self.node_timeout = node_timeout
        self.count = nodes
        self.base = Path(tempfile.mkdtemp(prefix=f"failover-{kind}-"))
        self.nodes: list[ServerProcess] = []

    # -- life ------------------------------------------------------------------------
    def __enter__(self) -> "Lab":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        common = ["--cluster-enabled", "yes",
                  "--cluster-node-timeout", str(self.node_timeout)]
        for i in range(self.count):
            d = self.base / f"n{i}"
            d.mkdir(parents=True, exist_ok=True)
            node = (NodeProcess(d, common) if self.kind == "ours"
                    else RealRedis(["--dir", str(d), *common]))
            self.nodes.append(node)
            node.start()
        addrs = [f"127.0.0.1:{n.port}" for n in self.nodes]
        res = subprocess.run(["redis-cli", "--cluster", "create", *addrs,
                              "--cluster-replicas", "1", "--cluster-yes"],
                             capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {res.stdout}{res.stderr}")
        self.wait_stable(60)

    def stop(self) -> None:
        for node in self.nodes:
            try:
                node.stop()
            except Exception as err:       # keep stopping the others
                log(f"stopping node {node.port}: {err!r}")
        shutil.rmtree(self.base, ignore_errors=True)

    def kill(self, node: ServerProcess) -> None:
        node.proc.kill()
        node.proc.wait(10)

    def restart(self, node: ServerProcess) -> None:
        node.start()                        # same port, same directory: its nodes.conf

    # -- views -----------------------------------------------------------------------
    def live(self) -> list[ServerProcess]:
        return [n for n in self.nodes if n.alive()]

    def by_port(self, port: int) -> ServerProcess | None:
        return next((n for n in self.nodes if n.port == port), None)

    @staticmethod
    def call(node: ServerProcess, *cmd, timeout: float = 2.0):
        with client(node.port, timeout, decode_responses=True) as r:
            return r.execute_command(*cmd)

    def slot_owner_port(self, slot: int, exclude: int | None = None) -> int | None:
        """The port owning `slot` per CLUSTER SLOTS of the first live node that answers."""
        for node in self.live():
            if node.port == exclude:
                continue
            try:
                ranges = self.call(node, "CLUSTER", "SLOTS")
            except redis.RedisError:
                continue
            for first, last, primary, *_ in ranges:
                if first <= slot <= last:
                    return int(primary[1])
            return None
        return None

    def state_ok(self, node: ServerProcess) -> bool:
        try:
            return "cluster_state:ok" in self.call(node, "CLUSTER", "INFO")
        except redis.RedisError:
            return False

    def stable(self) -> bool:
        """Every node alive and ok, 3 primaries each with a replica whose link is up."""
        if len(self.live()) != self.count or not all(self.state_ok(n) for n in self.nodes):
            return False
        primaries = 0
        for node in self.nodes:
            try:
                with client(node.port, 2, decode_responses=True) as r:
                    info = r.info("replication")
            except redis.RedisError:
                return False
            if info["role"] == "master":
                primaries += 1
                if info.get("connected_slaves", 0) < 1:
                    return False
            elif info.get("master_link_status") != "up":
                return False
        return primaries == self.count // 2

    def wait_stable(self, timeout: float = 60) -> None:
        wait_until(self.stable, timeout, interval=0.1, message=f"{self.kind} cluster stable")

    def primaries(self) -> list[ServerProcess]:
        out = []
        for node in self.live():
            try:
                if self.call(node, "ROLE")[0] == "master":
                    out.append(node)
            except redis.RedisError:
                pass
        return out


def probe_until_ok(lab: Lab, key: str, slot: int, victim_port: int, deadline: float,
                   value: str = "probe") -> float | None:
    """Write `key` in a tight loop to whichever node owns `slot` (CLUSTER SLOTS after an
    error), ignoring the dead victim; the monotonic time of the first OK, or None."""
    owner = lab.slot_owner_port(slot, exclude=victim_port)
    while time.monotonic() < deadline:
        if owner is None or owner == victim_port:
            time.sleep(0.005)
            owner = lab.slot_owner_port(slot, exclude=victim_port)
            continue
        try:
            with client(owner, 0.5) as r:
                while time.monotonic() < deadline:
                    if r.set(key, value):
                        return time.monotonic()
        except redis.RedisError:
            pass
        time.sleep(0.005)
        owner = lab.slot_owner_port(slot, exclude=victim_port)
    return None
