"""A 6-node cluster (3 primaries, 3 replicas) with appendonly yes: every node stopped, then
started again, comes back with the same topology, the same keys and cluster_state ok."""
from __future__ import annotations

from redis.cluster import RedisCluster

from tests.cluster_support import admin, cluster_of, cluster_ok, node_ids
from tests.support import wait_until


def topology(nodes) -> list[tuple]:
    out = []
    for n in nodes:
        with admin(n) as r:
            text = r.execute_command("CLUSTER", "NODES")
        mine = next(line for line in text.splitlines() if "myself" in line).split()
        role = "master" if "master" in mine[2] else "slave"
        out.append((mine[0], role, mine[3], tuple(mine[8:])))
    return out


def replicas_in_sync(nodes) -> bool:
    for primary, replica in zip(nodes[:3], nodes[3:]):
        with admin(replica) as r:
            if r.info("replication").get("master_link_status") != "up":
                return False
            size = r.dbsize()
        with admin(primary) as r:
            if r.dbsize() != size:
                return False
    return True


def test_cluster_restart_with_appendonly(tmp_path):
    with cluster_of(tmp_path, primaries=3, extra=3, args=("--appendonly", "yes")) as nodes:
        ids = node_ids(nodes)
        for i in range(3):
            with admin(nodes[3 + i]) as r:
                r.execute_command("CLUSTER", "REPLICATE", ids[i])
        wait_until(lambda: all(t[1] == "slave" for t in topology(nodes)[3:]), 30)
        rc = RedisCluster(host="127.0.0.1", port=nodes[0].port, decode_responses=True)
        try:
            for i in range(300):
                rc.set(f"key:{i}", i)
        finally:
            rc.close()
        wait_until(lambda: replicas_in_sync(nodes), 30)
        before = topology(nodes)
        sizes = [admin(n).dbsize() for n in nodes]
        assert sum(sizes[:3]) == 300
        for node in reversed(nodes):
            node.stop()
        for node in nodes:
            node.start()
        wait_until(lambda: cluster_ok(nodes), 60, interval=0.2, message="cluster ok again")
        assert topology(nodes) == before
        assert [admin(n).dbsize() for n in nodes[:3]] == sizes[:3]
        wait_until(lambda: replicas_in_sync(nodes), 30)
        rc = RedisCluster(host="127.0.0.1", port=nodes[1].port, decode_responses=True)
        try:
            assert [rc.get(f"key:{i}") for i in range(300)] == [str(i) for i in range(300)]
        finally:
            rc.close()
        for n in nodes:
            with admin(n) as r:
                assert "cluster_state:ok" in r.execute_command("CLUSTER", "INFO")
                assert r.info("persistence")["aof_enabled"] == 1
