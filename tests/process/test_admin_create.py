"""`pyredis-cluster create` against our nodes and real redis-server, and the real
`redis-cli --cluster create` against our nodes; the one-line errors."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from pathlib import Path

import redis

from tests.support import NodeProcess, RealRedis, wait_until

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CLUSTER_ARGS = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]


def tool(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@contextlib.contextmanager
def started(base: Path, count: int, real: bool = False, args: tuple[str, ...] = ()):
    nodes = []
    try:
        for i in range(count):
            d = base / f"{'real' if real else 'n'}{i}"
            d.mkdir(parents=True, exist_ok=True)
            node = (RealRedis(["--dir", str(d), *CLUSTER_ARGS, *args]) if real
                    else NodeProcess(d, [*CLUSTER_ARGS, *args]))
            nodes.append(node)
            node.start()
        yield nodes
    finally:
        for node in reversed(nodes):
            node.stop()


def addrs(nodes) -> list[str]:
    return [f"127.0.0.1:{n.port}" for n in nodes]


def nodes_lines(node, password=None) -> list[list[str]]:
    with redis.Redis(port=node.port, password=password, decode_responses=True) as r:
        return [line.split() for line in r.execute_command("CLUSTER", "NODES").splitlines()]


def topology_ok(nodes) -> bool:
    """Every node sees 3 masters covering all slots and 3 replicas of those masters."""
    for node in nodes:
        lines = nodes_lines(node)
        masters = {p[0] for p in lines if "master" in p[2].split(",") and len(p) > 8}
        replicas = [p for p in lines if "slave" in p[2].split(",")]
        slots = 0
        for p in lines:
            for spec in p[8:]:
                a, _, b = spec.partition("-")
                slots += int(b or a) - int(a) + 1
        if (len(lines) != 6 or len(masters) != 3 or slots != 16384 or len(replicas) != 3
                or {p[3] for p in replicas} != masters):
            return False
    return True


def assert_created(res: subprocess.CompletedProcess, nodes) -> None:
    out = ANSI.sub("", res.stdout)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ">>> Performing hash slots allocation on 6 nodes...\n" in out
    assert "Master[0] -> Slots 0 - 5460\nMaster[1] -> Slots 5461 - 10922\n" \
           "Master[2] -> Slots 10923 - 16383\n" in out
    assert ">>> Nodes configuration updated\n>>> Assign a different config epoch to each " \
           "node\n>>> Sending CLUSTER MEET messages to join the cluster\n" \
           "Waiting for the cluster to join\n" in out
    assert "[OK] All nodes agree about slots configuration." in out
    assert out.endswith("[OK] All 16384 slots covered.\n")
    check = out.split(">>> Performing Cluster Check")[1]
    assert check.count("\nM: ") == 3 and check.count("\nS: ") == 3
    assert check.count("   1 additional replica(s)") == 3
    wait_until(lambda: topology_ok(nodes), 20, message="3 masters + 3 replicas everywhere")
    epochs = {int(p[6]) for p in nodes_lines(nodes[0]) if "master" in p[2]}
    assert epochs <= {1, 2, 3, 4, 5, 6} and len(epochs) == 3


def test_create_six_of_ours(tmp_path):
    with started(tmp_path, 6) as nodes:
        res = tool("create", *addrs(nodes), "--cluster-replicas", "1", "--cluster-yes")
        assert_created(res, nodes)


def test_create_six_real(tmp_path):
    with started(tmp_path, 6, real=True) as nodes:
        res = tool("create", *addrs(nodes), "--cluster-replicas", "1", "--cluster-yes")
        assert_created(res, nodes)


def test_real_redis_cli_create_on_ours(tmp_path):
    with started(tmp_path, 6) as nodes:
        res = subprocess.run(["redis-cli", "--cluster", "create", *addrs(nodes),
                              "--cluster-replicas", "1", "--cluster-yes"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "[OK] All 16384 slots covered." in ANSI.sub("", res.stdout)
        wait_until(lambda: topology_ok(nodes), 20, message="3 masters + 3 replicas")


def test_prompt_answer_and_hostname(tmp_path):
    """Without --cluster-yes the plan is confirmed on stdin; `localhost` is resolved."""
    with started(tmp_path, 3) as nodes:
        args = [f"localhost:{n.port}" for n in nodes]
        res = tool("create", *args, stdin="no\n")
        assert res.returncode == 0
        assert res.stdout.endswith("Can I set the above configuration? (type 'yes' to accept): ")
        assert "M: " in res.stdout and "127.0.0.1:" in res.stdout
        assert all(len(nodes_lines(n)) == 1 and len(nodes_lines(n)[0]) == 8 for n in nodes)
        res = tool("create", *args, stdin="yes\n")
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.endswith("[OK] All 16384 slots covered.\n")
        assert "[OK] Perfect anti-affinity" not in res.stdout    # no replicas: no optimizer


def test_errors_are_one_redis_line(tmp_path):
    with started(tmp_path, 3) as nodes, \
            started(tmp_path / "auth", 1, args=("--requirepass", "secret")) as (locked,), \
            started(tmp_path / "plain", 1, real=True, args=()) as (other,):
        res = tool("create", *addrs(nodes), "--cluster-replicas", "1")
        assert res.returncode == 1
        assert ANSI.sub("", res.stdout) == (
            "*** ERROR: Invalid configuration for cluster creation.\n"
            "*** Redis Cluster requires at least 3 master nodes.\n"
            "*** This is not possible with 3 nodes and 1 replicas per node.\n"
            "*** At least 6 nodes are required.\n")
        dead = NodeProcess(tmp_path / "dead").port        # never started
        res = tool("create", *addrs(nodes), f"127.0.0.1:{dead}")
        assert res.returncode == 1
        assert res.stderr == f"Could not connect to Redis at 127.0.0.1:{dead}: Connection refused\n"
        res = tool("create", *addrs(nodes), f"127.0.0.1:{locked.port}")
        assert res.returncode == 1
        assert res.stdout == f"[ERR] Node 127.0.0.1:{locked.port} NOAUTH Authentication required.\n"
        res = tool("create", f"127.0.0.1:{locked.port}", *addrs(nodes), "-a", "wrong")
        assert res.returncode == 1
        assert res.stdout == (f"Node 127.0.0.1:{locked.port} replied with error:\n"
                              "WRONGPASS invalid username-password pair or user is disabled.\n")
        res = tool("create", *addrs(nodes), "no-such-host.invalid:7000")
        assert res.returncode == 1
        assert res.stderr.startswith("Could not connect to Redis at no-such-host.invalid:7000: ")
        with redis.Redis(port=nodes[0].port) as r:        # knows another node: not empty
            r.execute_command("CLUSTER", "MEET", "127.0.0.1", other.port)
        res = tool("create", *addrs(nodes))
        assert res.returncode == 1
        assert res.stdout == (f"[ERR] Node 127.0.0.1:{nodes[0].port} is not empty. Either the "
                              "node already knows other nodes (check with CLUSTER NODES) or "
                              "contains some key in database 0.\n")


def test_not_a_cluster_node(tmp_path):
    with started(tmp_path, 2) as nodes, contextlib.ExitStack() as stack:
        d = tmp_path / "standalone"
        plain = stack.enter_context(contextlib.closing(_Stopper(NodeProcess(d, []))))
        res = tool("create", *addrs(nodes), f"127.0.0.1:{plain.node.port}")
        assert res.returncode == 1
        assert res.stdout == (f"[ERR] Node 127.0.0.1:{plain.node.port} is not configured as a "
                              "cluster node.\n")


class _Stopper:
    def __init__(self, node):
        self.node = node
        node.start()

    def close(self):
        self.node.stop()
