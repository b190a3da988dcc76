"""CLUSTER SHARDS on a 3+3 cluster of ours (`pyredis-cluster up`): each replica is listed
with role replica, health online and, once heartbeats carry it, its primary's replication
offset - as a real Redis 7.0.15 cluster shows (facts file section 1.8)."""
from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from tests.process.test_cluster_up import kill_leftovers, pids_in, tool, up_detached
from tests.support import wait_until

NODE_KEYS = [b"id", b"port", b"ip", b"endpoint", b"role", b"replication-offset", b"health"]


def _as_dict(value) -> dict:
    if isinstance(value, dict):
        return value
    return {value[i]: value[i + 1] for i in range(0, len(value), 2)}


def _shards(port: int) -> list[dict]:
    with redis.Redis(port=port, socket_timeout=10) as r:
        raw = r.execute_command("CLUSTER", "SHARDS")
    out = []
    for shard in raw:
        shard = _as_dict(shard)
        out.append({b"slots": shard[b"slots"], b"nodes": [_as_dict(n) for n in shard[b"nodes"]]})
    return out


def _replicas_caught_up(port: int) -> bool:
    shards = _shards(port)
    if len(shards) != 3:
        return False
    for shard in shards:
        primary, *replicas = shard[b"nodes"]
        if primary[b"role"] != b"master" or primary[b"replication-offset"] <= 0:
            return False
        if len(replicas) != 1:
            return False
        for rep in replicas:
            if (rep[b"role"] != b"replica" or rep[b"health"] != b"online"
                    or rep[b"replication-offset"] != primary[b"replication-offset"]):
                return False
    return True


def test_shards_show_replicas_online_with_their_primarys_offset(tmp_path):
    pids: dict[int, int] = {}
    try:
        base, data, _ = up_detached(tmp_path)
        pids = pids_in(data)
        rc = RedisCluster(host="127.0.0.1", port=base)
        for i in range(300):
            rc.set(f"k{i}", i)
        rc.close()
        for port in range(base, base + 6):     # every node's view, eventually
            wait_until(lambda: _replicas_caught_up(port), 30, interval=0.2,
                       message=f"CLUSTER SHARDS on {port}")
        for shard in _shards(base):
            assert len(shard[b"slots"]) == 2          # one range per primary
            for node in shard[b"nodes"]:
                assert list(node)[:len(NODE_KEYS)] == NODE_KEYS
            primary = shard[b"nodes"][0]
            with redis.Redis(port=primary[b"port"], socket_timeout=10) as r:
                assert r.info("replication")["master_repl_offset"] >= \
                    primary[b"replication-offset"] > 0
        assert tool("down", "--dir", str(data), cwd=tmp_path).returncode == 0
    finally:
        kill_leftovers(pids.values())
