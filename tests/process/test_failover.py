"""Failover over real processes: 3 primaries + replicas, node-timeout 1000.

- kill -9 a primary: its replica becomes primary, every live node reports cluster_state:ok,
  redis-py RedisCluster writes to the dead node's slots succeed after its retries, every
  write acknowledged by WAIT 1 before the kill is still there, and the killed node,
  restarted from its nodes.conf, comes back as a replica of the winner with the data;
- CLUSTER FAILOVER (default, FORCE, TAKEOVER) on a replica swaps the roles without losing
  an acknowledged write; a second replica of the old primary follows the new one with a
  partial resync (PSYNC2); redis-cli --cluster check is green after each.
"""
from __future__ import annotations

import subprocess
import time

import pytest
import redis
from redis.cluster import RedisCluster

from slots import keyslot
from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import NodeProcess, wait_until

NODE_TIMEOUT = 1000
DEADLINE = 20


def info(node, section: str = "") -> dict:
    with redis.Redis(port=node.port, socket_timeout=5, decode_responses=True) as r:
        return r.info(section) if section else r.info()


def nodes_view(node) -> dict[str, list[str]]:
    with admin(node) as r:
        text = r.execute_command("CLUSTER", "NODES")
    return {parts[0]: parts for parts in (line.split() for line in text.splitlines())}


def role_of(node, node_id: str, seen_from) -> tuple[str, str]:
    parts = nodes_view(seen_from)[node_id]
    flags = parts[2].split(",")
    return ("master" if "master" in flags else "slave"), parts[3]


def state_ok(node) -> bool:
    try:
        with admin(node) as r:
            return "cluster_state:ok" in r.execute_command("CLUSTER", "INFO")
    except redis.RedisError:
        return False


def link_up(replica) -> bool:
    try:
        return info(replica, "replication").get("master_link_status") == "up"
    except redis.RedisError:
        return False


def keys_in(first: int, last: int, count: int, prefix: str) -> list[str]:
    keys, i = [], 0
    while len(keys) < count:
        key = f"{prefix}:{i}"
        if first <= keyslot(key.encode()) <= last:
            keys.append(key)
        i += 1
    return keys


def acked_writes(primary, keys: list[str]) -> list[str]:
    """SET each key then WAIT 1 100 on `primary`; the keys a replica acknowledged."""
    acked = []
    with redis.Redis(port=primary.port, socket_timeout=5) as r:
        for key in keys:
            r.set(key, key)
            if r.execute_command("WAIT", 1, 100) >= 1:
                acked.append(key)
    return acked


def cluster_check(node) -> str:
    res = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{node.port}"],
                         capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "[ERR]" not in out, out
    assert "[OK] All 16384 slots covered." in out, out
    return out


def checked_green(nodes) -> bool:
    try:
        cluster_check(nodes[0])
        return True
    except AssertionError:
        return False


@pytest.fixture
def cluster(tmp_path):
    """cluster(extra_replicas=0): 3 primaries (n0..n2), a replica of each (n3..n5) and
    `extra_replicas` more replicas of n0 (n6..), ready; every node stopped afterwards."""
    made: list[_Cluster] = []

    def factory(extra_replicas: int = 0) -> "_Cluster":
        c = _Cluster(tmp_path / f"c{len(made)}", extra_replicas)
        made.append(c)
        return c.__enter__()
    yield factory
    for c in made:
        c.__exit__(None, None, None)


class _Cluster:
    def __init__(self, base, extra: int):
        self.base = base
        self.extra = extra
        self.ctx = None

    def __enter__(self):
        self.ctx = cluster_of(self.base, primaries=3, extra=3 + self.extra,
                              node_timeout=NODE_TIMEOUT)
        nodes = self.ctx.__enter__()      # cluster_of stops its nodes on any error
        ids = node_ids(nodes)
        for r in range(3, len(nodes)):
            with admin(nodes[r]) as c:
                c.execute_command("CLUSTER", "REPLICATE", ids[r - 3 if r < 6 else 0])
        wait_until(lambda: all(role_of(nodes[r], ids[r], n)[0] == "slave"
                               for r in range(3, len(nodes)) for n in nodes),
                   DEADLINE, interval=0.05, message="replicas everywhere")
        wait_until(lambda: all(link_up(nodes[r]) for r in range(3, len(nodes))),
                   DEADLINE, interval=0.05, message="replication links up")
        wait_until(lambda: all(state_ok(n) for n in nodes), DEADLINE, interval=0.05)
        self.nodes, self.ids = nodes, ids
        return self

    def __exit__(self, *exc):
        self.ctx.__exit__(None, None, None)

    def restart(self, index: int) -> NodeProcess:
        old = self.nodes[index]
        new = NodeProcess(old.dir, old.args, port=old.port)
        self.nodes[index] = new           # cluster_of's cleanup stops it
        new.start()
        return new


def test_kill_primary_replica_takes_over_and_old_primary_rejoins(cluster):
    c = cluster()
    nodes, ids = c.nodes, c.ids
    victim, heir = nodes[0], nodes[3]
    keys = keys_in(0, 5460, 200, "acked")
    acked = acked_writes(victim, keys)
    assert len(acked) >= len(keys) // 2, "most writes should be acknowledged by WAIT 1"
    victim.proc.kill()
    victim.proc.wait(10)
    killed = time.monotonic()
    live = nodes[1:]
    wait_until(lambda: role_of(heir, ids[3], heir)[0] == "master"
               and all(state_ok(n) for n in live), DEADLINE, interval=0.05,
               message="the replica to be promoted and the cluster ok")
    promoted_after = time.monotonic() - killed
    assert promoted_after < NODE_TIMEOUT / 1000 + 5
    wait_until(lambda: all(role_of(heir, ids[3], n)[0] == "master" for n in live),
               DEADLINE, interval=0.05, message="every live node to see the new primary")
    # Every acknowledged write survived, on the new primary.
    with redis.Redis(port=heir.port, socket_timeout=5) as r:
        missing = [k for k in acked if r.get(k) != k.encode()]
    assert missing == []
    # redis-py's cluster client follows the change by itself.
    rc = RedisCluster(host="127.0.0.1", port=nodes[1].port, socket_timeout=5)
    try:
        for key in keys_in(0, 5460, 20, "after"):
            assert rc.set(key, "x") is True
            assert rc.get(key) == b"x"
    finally:
        rc.close()
    # The killed node, restarted from its nodes.conf, becomes a replica of the winner.
    back = c.restart(0)
    wait_until(lambda: role_of(back, ids[0], back) == ("slave", ids[3]), DEADLINE,
               interval=0.05, message="the old primary to rejoin as a replica")
    wait_until(lambda: link_up(back), DEADLINE, interval=0.05, message="its link up")
    with redis.Redis(port=back.port, socket_timeout=5) as r:
        r.execute_command("READONLY")
        wait_until(lambda: all(r.get(k) == k.encode() for k in acked), DEADLINE,
                   interval=0.1, message="the rejoined node to hold the data")
    wait_until(lambda: all(state_ok(n) for n in nodes), DEADLINE, interval=0.05)
    wait_until(lambda: checked_green(nodes), DEADLINE, interval=0.2)
    cluster_check(nodes[0])


def _manual(c, replica_index: int, primary_index: int, mode: str) -> None:
    nodes, ids = c.nodes, c.ids
    replica, primary = nodes[replica_index], nodes[primary_index]
    keys = keys_in(0, 5460, 30, f"mf-{mode}")
    acked = acked_writes(primary, keys)
    args = ["CLUSTER", "FAILOVER"] + ([mode.upper()] if mode != "default" else [])
    with admin(replica) as r:
        assert r.execute_command(*args) in (True, "OK")
    wait_until(lambda: all(role_of(replica, ids[replica_index], n)[0] == "master"
                           and role_of(primary, ids[primary_index], n)
                           == ("slave", ids[replica_index]) for n in nodes),
               DEADLINE, interval=0.05, message=f"roles to swap ({mode})")
    wait_until(lambda: all(state_ok(n) for n in nodes), DEADLINE, interval=0.05)
    with redis.Redis(port=replica.port, socket_timeout=5) as r:
        assert [k for k in acked if r.get(k) != k.encode()] == []
    wait_until(lambda: all(link_up(n) for i, n in enumerate(nodes)
                           if role_of(n, ids[i], n)[0] == "slave"),
               DEADLINE, interval=0.05, message="every replica's link up")
    wait_until(lambda: checked_green(nodes), DEADLINE, interval=0.2)


def test_manual_failover_default_force_takeover(cluster):
    c = cluster(extra_replicas=1)          # n0 has two replicas: n3 and n6
    nodes, ids = c.nodes, c.ids
    with admin(nodes[0]) as r:
        assert len(r.execute_command("CLUSTER", "REPLICAS", ids[0])) == 2
    with admin(nodes[0]) as r:
        with pytest.raises(redis.ResponseError, match="send CLUSTER FAILOVER to a replica"):
            r.execute_command("CLUSTER", "FAILOVER")
    with admin(nodes[3]) as r:
        with pytest.raises(redis.ResponseError, match="^syntax error"):
            r.execute_command("CLUSTER", "FAILOVER", "BOGUS")
    _manual(c, 3, 0, "default")
    # The other replica of the old primary follows the winner with a partial resync.
    wait_until(lambda: role_of(nodes[6], ids[6], nodes[6]) == ("slave", ids[3]), DEADLINE,
               interval=0.05, message="the sibling to follow the winner")
    wait_until(lambda: link_up(nodes[6]), DEADLINE, interval=0.05)
    assert info(nodes[3], "stats")["sync_partial_ok"] >= 1
    _manual(c, 0, 3, "force")
    _manual(c, 3, 0, "takeover")
