"""Start small clusters for process tests and benchmarks: ours or real redis-server.

    with cluster_of(tmp_path, primaries=3) as nodes:   # our nodes, slots like redis-cli
        ...
    with cluster_of(tmp_path, primaries=3, real=True) as nodes:   # the real yardstick
        ...

Slots are assigned as `redis-cli --cluster create` assigns them (0-5460, 5461-10922,
10923-16383 for three), every node meets the first, and the context is entered once every
node agrees on the slot map and reports cluster_state:ok. All nodes stop in every outcome.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import redis

from tests.support import NodeProcess, RealRedis, ServerProcess, wait_until

CLUSTER_SLOTS = 16384


def slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """redis-cli's split: master i gets first .. round(cursor + per - 1), last to 16383."""
    per = CLUSTER_SLOTS / primaries
    ranges, first, cursor = [], 0, 0.0
    for i in range(primaries):
        last = CLUSTER_SLOTS - 1 if i == primaries - 1 else round(cursor + per - 1)
        ranges.append((first, last))
        first = last + 1
        cursor += per
    return ranges


def admin(node: ServerProcess) -> redis.Redis:
    return redis.Redis(port=node.port, decode_responses=True, socket_timeout=10)


def slot_signature(node: ServerProcess) -> frozenset:
    """What redis-cli compares while waiting for a join: id:slots of nodes with slots."""
    with admin(node) as r:
        text = r.execute_command("CLUSTER", "NODES")
    sig = set()
    for line in text.splitlines():
        parts = line.split()
        slots = [s for s in parts[8:] if not s.startswith("[")]
        if slots:
            sig.add(parts[0] + ":" + ",".join(slots))
    return frozenset(sig)


def cluster_ok(nodes: list[ServerProcess]) -> bool:
    sigs = {slot_signature(n) for n in nodes}
    if len(sigs) != 1:
        return False
    for n in nodes:
        with admin(n) as r:
            info = r.execute_command("CLUSTER", "INFO")
        known = int(info.split("cluster_known_nodes:")[1].split()[0])
        if "cluster_state:ok" not in info or known != len(nodes):
            return False
    return True


def form_cluster(nodes: list[ServerProcess], primaries: int, timeout: float = 30) -> None:
    """ADDSLOTSRANGE on the first `primaries` nodes, MEET everyone to the first, wait."""
    for node, (start, end) in zip(nodes, slot_ranges(primaries)):
        with admin(node) as r:
            r.execute_command("CLUSTER", "ADDSLOTSRANGE", start, end)
    for epoch, node in enumerate(nodes, 1):
        with admin(node) as r:
            r.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    for node in nodes[1:]:
        with admin(node) as r:
            r.execute_command("CLUSTER", "MEET", "127.0.0.1", nodes[0].port)
    wait_until(lambda: cluster_ok(nodes), timeout, interval=0.1, message="cluster to form")


def node_ids(nodes: list[ServerProcess]) -> list[str]:
    ids = []
    for n in nodes:
        with admin(n) as r:
            ids.append(r.execute_command("CLUSTER", "MYID"))
    return ids


@contextlib.contextmanager
def cluster_of(base: Path, primaries: int = 3, extra: int = 0, real: bool = False,
               args: tuple[str, ...] = (), node_timeout: int = 2000):
    """`primaries` slot owners plus `extra` empty primaries, formed and ok."""
    base = Path(base)
    nodes: list[ServerProcess] = []
    common = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(node_timeout), *args]
    try:
        for i in range(primaries + extra):
            d = base / (f"real{i}" if real else f"n{i}")
            d.mkdir(parents=True, exist_ok=True)
            if real:
                node = RealRedis(["--dir", str(d), *common])
            else:
                node = NodeProcess(d, common)
            nodes.append(node)
            node.start()
        form_cluster(nodes, primaries)
        yield nodes
    finally:
        for node in reversed(nodes):
            node.stop()
