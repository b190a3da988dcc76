"""Six real nodes form a cluster over the bus; one primary dies and comes back.

One cluster for the module (the tests run in file order and build on each other):
slots added with CLUSTER ADDSLOTSRANGE on three nodes, CLUSTER MEET from every other node
to the first, then convergence, the real `redis-cli --cluster check`, reply shapes,
and kill -9 / restart of a primary.
"""
from __future__ import annotations

import signal
import subprocess
import time

import pytest
import redis

from tests.support import NodeProcess, wait_until

NODE_TIMEOUT = 1000
CLUSTER_ARGS = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT),
                "--cluster-config-file", "nodes.conf"]
RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


def client(node, protocol: int = 2) -> redis.Redis:
    return redis.Redis(port=node.port, protocol=protocol, socket_timeout=10,
                       decode_responses=True)


def nodes_view(node) -> list[dict]:
    """CLUSTER NODES of `node`, parsed by hand (fields as Redis prints them)."""
    with client(node) as r:
        text = r.execute_command("CLUSTER", "NODES")
    assert text.endswith("\n")
    out = []
    for line in text.split("\n")[:-1]:
        f = line.split(" ")
        out.append({"id": f[0], "addr": f[1], "flags": set(f[2].split(",")),
                    "primary": f[3], "epoch": int(f[6]), "link": f[7],
                    "slots": " ".join(f[8:])})
    return out


def signature(node) -> frozenset:
    """What redis-cli --cluster compares: id:slots of every node that has slots."""
    return frozenset(f"{n['id']}:{n['slots']}" for n in nodes_view(node) if n["slots"])


def cluster_info(node) -> dict:
    with client(node) as r:
        text = r.execute_command("CLUSTER", "INFO")
    return dict(line.split(":", 1) for line in text.strip().split("\r\n"))


def myid(node) -> str:
    with client(node) as r:
        return r.execute_command("CLUSTER", "MYID")


def all_agree(nodes, known: int) -> bool:
    sigs = {signature(n) for n in nodes}
    if len(sigs) != 1 or len(next(iter(sigs))) != len(RANGES):
        return False
    for n in nodes:
        view = nodes_view(n)
        if len(view) != known or any("handshake" in v["flags"] or "fail" in v["flags"]
                                     or "fail?" in v["flags"] for v in view):
            return False
        if cluster_info(n)["cluster_state"] != "ok":
            return False
    return True


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster6")
    nodes = [NodeProcess(base / f"n{i}", CLUSTER_ARGS) for i in range(6)]
    try:
        for n in nodes:
            n.start()
        yield nodes                 # a test may replace one (restart): stop what is there
    finally:
        for n in nodes:
            n.stop()


def test_six_nodes_meet_and_agree(cluster):
    for node, (start, end) in zip(cluster, RANGES):
        with client(node) as r:
            assert r.execute_command("CLUSTER", "ADDSLOTSRANGE", start, end) == "OK"
    first = cluster[0]
    for node in cluster[1:]:
        with client(node) as r:
            assert r.execute_command("CLUSTER", "MEET", "127.0.0.1", first.port) == "OK"
    wait_until(lambda: all_agree(cluster, 6), timeout=40, interval=0.2,
               message="six nodes agreeing, cluster_state ok")
    ids = {myid(n) for n in cluster}
    assert len(ids) == 6
    view = nodes_view(first)
    assert {v["id"] for v in view} == ids
    me = [v for v in view if "myself" in v["flags"]]
    assert len(me) == 1 and me[0]["addr"] == f"127.0.0.1:{first.port}@{first.port + 10000}"
    assert all(v["link"] == "connected" and "master" in v["flags"] for v in view)
    info = cluster_info(first)
    assert info["cluster_known_nodes"] == "6" and info["cluster_size"] == "3"
    assert info["cluster_slots_assigned"] == info["cluster_slots_ok"] == "16384"
    assert int(info["cluster_stats_messages_ping_sent"]) > 0
    assert int(info["cluster_stats_messages_received"]) > 0
    with client(first) as r:
        assert r.info("clients")["cluster_connections"] == 10     # in + out per peer
        assert r.info("cluster") == {"cluster_enabled": 1}
        assert r.info("server")["redis_mode"] == "cluster"


def test_redis_cli_cluster_check_agrees(cluster):
    res = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{cluster[0].port}"],
                         capture_output=True, text=True, timeout=30)
    assert "[OK] All nodes agree about slots configuration." in res.stdout, res.stdout
    assert "[OK] All 16384 slots covered." in res.stdout, res.stdout
    assert res.returncode == 0


@pytest.mark.parametrize("protocol", [2, 3])
def test_reply_shapes_with_redis_py(cluster, protocol):
    node = cluster[1]
    ids = {n.port: myid(n) for n in cluster}
    with client(node, protocol) as r:
        slots = r.execute_command("CLUSTER", "SLOTS")
        shards = r.execute_command("CLUSTER", "SHARDS")
        links = r.execute_command("CLUSTER", "LINKS")
        assert r.execute_command("CLUSTER", "MYID") == ids[node.port]
        assert r.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
        nodes_text = r.execute_command("CLUSTER", "NODES")
        replicas = r.execute_command("CLUSTER", "REPLICAS", ids[node.port])
    owners = {start: ids[p.port] for p, (start, _) in zip(cluster, RANGES)}
    assert [(s[0], s[1]) for s in slots] == RANGES
    for s in slots:
        assert len(s) == 3                      # no replicas (and none with an offset)
        ip, port, node_id = s[2][:3]
        assert ip == "127.0.0.1" and node_id == owners[s[0]] and ids[port] == node_id
    assert len(shards) == 6                     # every primary is a shard, slotless too
    by_id = {}
    for shard in shards:
        shard = shard if isinstance(shard, dict) else dict(zip(shard[::2], shard[1::2]))
        [member] = shard["nodes"]
        member = member if isinstance(member, dict) else dict(zip(member[::2], member[1::2]))
        assert list(member) == ["id", "port", "ip", "endpoint", "role",
                                "replication-offset", "health"]
        assert member["role"] == "master" and member["health"] == "online"
        by_id[member["id"]] = shard["slots"]
    assert by_id[owners[0]] == [0, 5460] and by_id[owners[10923]] == [10923, 16383]
    assert sorted(by_id) == sorted(ids.values())
    assert len(nodes_text.split("\n")) == 7 and nodes_text.endswith("\n")
    assert replicas == []
    directions = {}
    for link in links:
        link = link if isinstance(link, dict) else dict(zip(link[::2], link[1::2]))
        assert set(link) == {"direction", "node", "create-time", "events",
                             "send-buffer-allocated", "send-buffer-used"}
        directions.setdefault(link["node"], set()).add(link["direction"])
    assert set(directions) == set(ids.values()) - {ids[node.port]}
    assert all("to" in d for d in directions.values())


def test_reply_shapes_with_redis_cli(cluster):
    port = str(cluster[0].port)

    def cli(*args):
        return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True,
                              text=True, timeout=10).stdout

    assert cli("CLUSTER", "INFO").startswith("cluster_state:ok\n")   # text mode: \r\n -> \n
    assert cli("CLUSTER", "MYID").strip() == myid(cluster[0])
    nodes = cli("CLUSTER", "NODES")
    assert nodes.count("\n") == 6 and "myself,master" in nodes
    slots = cli("CLUSTER", "SLOTS").split("\n")
    assert slots[:3] == ["0", "5460", "127.0.0.1"]
    assert cli("CLUSTER", "COUNTKEYSINSLOT", "0").strip() == "0"


def test_killed_primary_fails_then_rejoins_with_the_same_id(cluster):
    victim = cluster[2]                         # owns 10923-16383
    others = [n for n in cluster if n is not victim]
    victim_id = myid(victim)
    killed = time.monotonic()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(10)

    def flagged_fail():
        for n in others:
            [v] = [v for v in nodes_view(n) if v["id"] == victim_id]
            if "fail" not in v["flags"]:
                return False
        return True

    wait_until(flagged_fail, timeout=30, interval=0.05, message="the others flag it fail")
    elapsed = time.monotonic() - killed
    print(f"\nkill -9 -> FAIL on all 5 others: {elapsed:.2f} s at node-timeout {NODE_TIMEOUT}")
    assert all(cluster_info(n)["cluster_state"] == "fail" for n in others)
    assert cluster_info(others[0])["cluster_slots_fail"] == "5461"

    restarted = NodeProcess(victim.dir, CLUSTER_ARGS, port=victim.port)
    restarted.start()
    cluster[2] = restarted                      # the fixture stops it at the end
    assert myid(restarted) == victim_id
    assert "Node configuration loaded, I'm " + victim_id in restarted.log()
    wait_until(lambda: all_agree(cluster, 6), timeout=40, interval=0.2,
               message="the restarted primary rejoining, fail cleared, state ok")
