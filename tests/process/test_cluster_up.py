"""`pyredis-cluster up` / `down` and `scripts/run` as a user runs them: a detached cluster
answers redis-py's RedisCluster and `down` stops every node; a second `up` on the same
directory restarts the saved cluster; a taken port or a node that cannot start is one
[ERR] line with nothing left running; scripts/run in the background serves RedisCluster
and a SIGINT stops every node."""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support import ROOT, wait_until

NODES = 6


def free_block(count: int = NODES) -> int:
    """A base port whose `count` ports and their +10000 bus ports are all free."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 29000)
        ports = [p for q in range(base, base + count) for p in (q, q + 10000)]
        try:
            socks = []
            for port in ports:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return base
    raise RuntimeError("no free block of ports found")


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def tool(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=str(cwd), env=env(),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def pids_in(directory: Path) -> dict[int, int]:
    return {int(p.stem): int(p.read_text()) for p in directory.glob("*.pid")}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_leftovers(pids) -> None:
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def cluster_serves(port: int) -> bool:
    rc = RedisCluster(host="127.0.0.1", port=port, socket_timeout=5)
    try:
        key = f"k{random.random()}"
        rc.set(key, "v")
        return rc.get(key) == b"v"
    finally:
        rc.close()


def nodes_view(port: int) -> list[list[str]]:
    with redis.Redis(port=port, decode_responses=True) as r:
        return [line.split() for line in r.execute_command("CLUSTER", "NODES").splitlines()]


def topology_ok(port: int) -> bool:
    view = nodes_view(port)
    masters = [p for p in view if "master" in p[2].split(",") and len(p) > 8]
    slaves = [p for p in view if "slave" in p[2].split(",")]
    ids = {p[0] for p in masters}
    return len(masters) == 3 and len(slaves) == 3 and {p[3] for p in slaves} == ids


def up_detached(tmp_path: Path) -> tuple[int, Path, subprocess.CompletedProcess]:
    """`pyredis-cluster up --detach` on a free block of ports; (base port, dir, result)."""
    base = free_block()
    data = tmp_path / "c"
    out = tool("up", "--port", str(base), "--dir", str(data), "--detach",
               "--node-timeout", "3000", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return base, data, out


def test_up_detach_serves_then_down_stops_and_up_restarts(tmp_path):
    pids: dict[int, int] = {}
    try:
        base, data, out = up_detached(tmp_path)
        assert f"redis-cli -c -p {base}" in out.stdout
        assert f'RedisCluster(host="127.0.0.1", port={base})' in out.stdout
        assert "[OK] All 16384 slots covered." in out.stdout
        assert f"pyredis-cluster down --dir {data}" in out.stdout
        pids = pids_in(data)
        assert sorted(pids) == list(range(base, base + NODES))
        assert all(alive(pid) for pid in pids.values())
        assert all((data / str(p) / "nodes.conf").is_file() for p in pids)
        wait_until(lambda: cluster_serves(base), 30, interval=0.2,
                   message="RedisCluster set/get")
        wait_until(lambda: topology_ok(base), 30, interval=0.2, message="3 + 3 topology")
        ids = sorted(p[0] for p in nodes_view(base))

        down = tool("down", "--dir", str(data), cwd=tmp_path)
        assert down.returncode == 0, down.stdout + down.stderr
        assert f"[OK] {NODES} nodes stopped." in down.stdout
        assert not any(alive(pid) for pid in pids.values())
        assert list(data.glob("*.pid")) == []
        again = tool("down", "--dir", str(data), cwd=tmp_path)
        assert again.returncode == 1 and "[ERR] No running cluster found" in again.stdout

        # The directory holds a cluster now: `up` restarts it (same ids), no create.
        out = tool("up", "--dir", str(data), "--detach", "--node-timeout", "3000",
                   cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Restarting the cluster saved in" in out.stdout
        assert "Performing hash slots allocation" not in out.stdout
        pids = pids_in(data)
        assert sorted(p[0] for p in nodes_view(base)) == ids
        wait_until(lambda: cluster_serves(base), 30, interval=0.2,
                   message="RedisCluster after restart")
        busy = tool("up", "--dir", str(data), "--detach", cwd=tmp_path)
        assert busy.returncode == 1 and "is already running" in busy.stdout
        assert tool("down", "--dir", str(data), cwd=tmp_path).returncode == 0
        assert not any(alive(pid) for pid in pids.values())
    finally:
        kill_leftovers(pids.values())


def test_port_in_use_is_one_line_and_nothing_runs(tmp_path):
    base = free_block()
    taken = socket.socket()
    taken.bind(("127.0.0.1", base + 10002))           # a bus port
    taken.listen()
    try:
        out = tool("up", "--port", str(base), "--dir", str(tmp_path / "c"), "--detach",
                   cwd=tmp_path)
    finally:
        taken.close()
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert lines == [f"[ERR] Port {base + 10002} (the bus port of 127.0.0.1:{base + 2}) is "
                     f"already in use: the cluster needs 127.0.0.1:{base}-{base + 5} and "
                     "their bus ports +10000; choose another base with --port."]
    assert not (tmp_path / "c").exists()
    for port in range(base, base + NODES):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_node_that_cannot_start_stops_the_others(tmp_path):
    base = free_block()
    out = tool("up", "--port", str(base), "--dir", str(tmp_path / "c"), "--detach",
               "--", "--no-such-directive", "x", cwd=tmp_path)
    assert out.returncode == 1
    assert "exited at start" in out.stdout and "Bad directive" in out.stdout
    assert not (tmp_path / "c").exists()
    for port in range(base, base + NODES):
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_too_few_primaries_starts_nothing(tmp_path):
    out = tool("up", "--nodes", "4", "--dir", str(tmp_path / "c"), cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.startswith("[ERR] 4 nodes with 1 replica(s) each make 2 primaries")
    assert not (tmp_path / "c").exists()


def test_scripts_run_serves_rediscluster_and_sigint_stops_every_node(tmp_path):
    base = free_block()
    data = tmp_path / "run"
    log = open(tmp_path / "run.out", "w")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "run"), "--dir", str(data),
                             "--node-timeout", "3000"],
                            env=dict(os.environ, PORT=str(base)), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    pids: dict[int, int] = {}
    try:
        wait_until(lambda: cluster_serves(base), 30, interval=0.2,
                   message="scripts/run's cluster to answer RedisCluster")
        pids = pids_in(data)
        assert sorted(pids) == list(range(base, base + NODES))
        wait_until(lambda: topology_ok(base), 30, interval=0.2, message="3 + 3 topology")
        wait_until(lambda: "Stop it with Ctrl-C." in (tmp_path / "run.out").read_text(), 10,
                   message="the connection lines")
        text = (tmp_path / "run.out").read_text()
        assert f"redis-cli -c -p {base}" in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert not any(alive(pid) for pid in pids.values())
        text = (tmp_path / "run.out").read_text()
        assert "[OK] Every node stopped." in text
        assert list(data.glob("*.pid")) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
        kill_leftovers(pids.values())


def test_replicas_hold_their_primaries_keys_and_serve_read_from_replicas(tmp_path):
    from redis.cluster import RedisCluster
    pids: dict[int, int] = {}
    try:
        base, data, _ = up_detached(tmp_path)
        pids = pids_in(data)
        rc = RedisCluster(host="127.0.0.1", port=base)
        for i in range(200):
            rc.set(f"k{i}", i)
        rc.close()
        # A replica is listed in CLUSTER SLOTS once a heartbeat carries its offset.
        probe = redis.Redis(port=base)
        wait_until(lambda: all(len(s) == 4 for s in probe.execute_command("CLUSTER", "SLOTS")),
                   20, interval=0.2, message="replicas in CLUSTER SLOTS")
        probe.close()
        replicas = [int(p[1].split(":")[1].split("@")[0]) for p in nodes_view(base)
                    if "slave" in p[2]]
        assert len(replicas) == 3
        total = 0
        for port in replicas:
            with redis.Redis(port=port) as r:
                wait_until(lambda: r.info("replication")["master_link_status"] == "up", 20)
                total += r.dbsize()
        assert total == 200                       # every key is on one replica
        rr = RedisCluster(host="127.0.0.1", port=base, read_from_replicas=True)
        assert sorted(n.server_type for n in rr.get_nodes()) == ["primary"] * 3 + ["replica"] * 3
        assert all(rr.get(f"k{i}") == str(i).encode() for i in range(200))
        rr.close()
        assert tool("down", "--dir", str(data), cwd=tmp_path).returncode == 0
    finally:
        kill_leftovers(pids.values())
