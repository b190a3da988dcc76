"""`check`, `info`, `fix`, `call`, `set-timeout` against a cluster of our nodes, compared
with what the real redis-cli --cluster prints for the same cluster."""
from __future__ import annotations

import re
import subprocess

import pytest
import redis

from tests.cluster_support import cluster_of, node_ids
from tests.process.test_admin_create import ANSI, tool
from tests.support import wait_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("admin_check"), primaries=3) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def ids(cluster):
    return node_ids(cluster)


def redis_cli_cluster(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "--cluster", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def addr(node) -> str:
    return f"127.0.0.1:{node.port}"


def client(node) -> redis.Redis:
    return redis.Redis(port=node.port, decode_responses=True, single_connection_client=True)


def key_in_slot(slot: int, node) -> str:
    with client(node) as r:
        for i in range(200000):
            if r.execute_command("CLUSTER", "KEYSLOT", f"k{i}") == slot:
                return f"k{i}"
    raise AssertionError("no key found")


def checks_clean(node) -> bool:
    return tool("check", addr(node)).returncode == 0


@pytest.mark.parametrize("sub", ["check", "info"])
def test_same_output_as_redis_cli(cluster, sub):
    ours = tool(sub, addr(cluster[0]))
    theirs = redis_cli_cluster(sub, addr(cluster[0]))
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == ANSI.sub("", theirs.stdout)
    lines = ours.stdout.splitlines()
    assert re.fullmatch(r"127\.0\.0\.1:\d+ \([0-9a-f]{8}\.\.\.\) -> 0 keys \| 5461 slots \| "
                        r"0 slaves\.", lines[0])
    assert lines[3:5] == ["[OK] 0 keys in 3 masters.", "0.00 keys per slot on average."]
    if sub == "check":
        assert ours.stdout.endswith("[OK] All nodes agree about slots configuration.\n"
                                    ">>> Check for open slots...\n"
                                    ">>> Check slots coverage...\n"
                                    "[OK] All 16384 slots covered.\n")


def test_host_port_as_two_arguments_and_multiple_owners(cluster):
    res = tool("check", "127.0.0.1", str(cluster[1].port), "--cluster-search-multiple-owners")
    assert res.returncode == 0, res.stdout
    assert res.stdout.endswith(">>> Check for multiple slot owners...\n"
                               "[OK] No multiple owners found.\n")
    assert f">>> Performing Cluster Check (using node {addr(cluster[1])})" in res.stdout


def test_call(cluster):
    res = tool("call", addr(cluster[0]), "SET", "{user}1", "v")
    assert res.returncode == 0
    lines = res.stdout.split("\n")
    assert lines[0] == ">>> Calling SET {user}1 v"
    with client(cluster[0]) as r:
        slot = r.execute_command("CLUSTER", "KEYSLOT", "{user}1")
    oks = [l for l in lines if l.endswith(": OK")]
    moved = [l for l in lines if ": MOVED " in l]
    assert len(oks) == 1 and len(moved) == 2
    assert all(l.endswith(f"MOVED {slot} {oks[0].split(': ')[0]}") for l in moved)
    res = tool("call", addr(cluster[0]), "DBSIZE", "--cluster-only-masters")
    assert sorted(l.split(": ")[1] for l in res.stdout.splitlines()[1:]) == ["0", "0", "1"]
    res = tool("call", addr(cluster[0]), "DBSIZE", "--cluster-only-replicas")
    assert res.stdout == ">>> Calling DBSIZE\n"
    res = tool("call", addr(cluster[0]), "LRANGE", "nolist", "0", "-1")
    assert res.returncode == 0 and "Unrecognized" not in res.stderr
    for r in (client(n) for n in cluster):
        r.execute_command("FLUSHALL")
        r.close()


def test_fix_slot_left_open(cluster, ids):
    """Slot 100 (owned by node 0) set IMPORTING by hand on node 1: closed again."""
    owner, other = cluster[0], cluster[1]
    with client(other) as r:
        assert r.execute_command("CLUSTER", "SETSLOT", 100, "IMPORTING", ids[0]) == "OK"
    res = tool("check", addr(owner))
    assert res.returncode == 1
    assert (f"[WARNING] Node {addr(other)} has slots in importing state 100.\n"
            "[WARNING] The following slots are open: 100.\n") in res.stdout
    res = tool("fix", addr(owner))
    assert res.returncode == 0, res.stdout + res.stderr
    assert (f">>> Fixing open slot 100\n"
            f"Set as importing in: {addr(other)}\n"
            f">>> Case 2: Moving all the 100 slot keys to its owner {addr(owner)}\n"
            f"Moving slot 100 from {addr(other)} to {addr(owner)}: \n"
            f">>> Setting 100 as STABLE in {addr(other)}\n"
            ">>> Check slots coverage...\n") in res.stdout
    res = tool("check", addr(owner))
    assert res.returncode == 0, res.stdout
    assert ">>> Check for open slots...\n>>> Check slots coverage...\n" in res.stdout


def test_fix_interrupted_migration(cluster, ids):
    """Slot 101 MIGRATING on its owner and IMPORTING on node 1, a key still on the owner:
    fix finishes the move (redis-cli's case 1)."""
    owner, other = cluster[0], cluster[1]
    key = key_in_slot(101, owner)
    with client(owner) as r:
        r.set(key, "payload")
        r.execute_command("CLUSTER", "SETSLOT", 101, "MIGRATING", ids[1])
    with client(other) as r:
        r.execute_command("CLUSTER", "SETSLOT", 101, "IMPORTING", ids[0])
    res = tool("fix", addr(owner))
    assert res.returncode == 0, res.stdout + res.stderr
    assert (f"Set as migrating in: {addr(owner)}\n"
            f"Set as importing in: {addr(other)}\n"
            f">>> Case 1: Moving slot 101 from {addr(owner)} to {addr(other)}\n"
            f"Moving slot 101 from {addr(owner)} to {addr(other)}: .\n") in res.stdout
    with client(other) as r:
        assert r.get(key) == "payload"
        assert r.execute_command("CLUSTER", "NODES").count("[") == 0
    wait_until(lambda: checks_clean(owner), 20, message="slot 101 agreed on node 1")
    res = tool("check", addr(owner))
    assert "slots:[0-100],[102-5460] (5460 slots) master" in res.stdout
    with client(other) as r:
        r.delete(key)


def test_fix_uncovered_slot(cluster):
    for node in cluster:
        with client(node) as r:
            r.execute_command("CLUSTER", "DELSLOTS", 200)
    res = tool("check", addr(cluster[0]))
    assert res.returncode == 1
    assert "[ERR] Not all 16384 slots are covered by nodes.\n\n" in res.stdout
    res = tool("fix", addr(cluster[0]), stdin="yes\n")
    assert res.returncode == 0, res.stdout + res.stderr
    assert ("The following uncovered slots have no keys across the cluster:\n[200]\n"
            "Fix these slots by covering with a random node? (type 'yes' to accept): "
            ">>> Covering slot 200 with 127.0.0.1:") in res.stdout
    wait_until(lambda: checks_clean(cluster[0]), 20, message="slot 200 covered everywhere")


def test_set_timeout(cluster):
    res = tool("set-timeout", addr(cluster[0]), "50")
    assert res.returncode == 1
    assert res.stderr == "Setting a node timeout of less than 100 milliseconds is a bad idea.\n"
    ours = tool("set-timeout", addr(cluster[0]), "2500")
    theirs = redis_cli_cluster("set-timeout", addr(cluster[0]), "2000")
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout.replace("2500", "2000") == ANSI.sub("", theirs.stdout)
    assert ours.stdout.startswith(">>> Reconfiguring node timeout in every cluster node...\n")
    for node in cluster:
        with client(node) as r:
            assert r.config_get("cluster-node-timeout") == {"cluster-node-timeout": "2000"}


def test_errors(cluster, tmp_path):
    res = tool("check", "127.0.0.1:1")
    assert res.returncode == 1
    assert res.stderr == "Could not connect to Redis at 127.0.0.1:1: Connection refused\n"
    res = tool("check", "nohostport")
    assert res.returncode == 1
    assert res.stdout.startswith("[ERR] Invalid arguments: you need to pass either a valid")
    res = tool("info", addr(cluster[0]), "--bogus")
    assert res.returncode == 1
    assert res.stderr == "Unrecognized option or bad number of args for: '--bogus'\n"
