"""One cluster-enabled node: start-up from nodes.conf, its lock, CLUSTER replies and errors
side by side with a real redis-server 7.0.15 started with cluster-enabled yes."""
from __future__ import annotations

import re
import subprocess

import pytest
import redis

from tests.support import NodeProcess, RealRedis, raw_replies, running

CLUSTER_ARGS = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]


def exit_of(proc: NodeProcess, timeout: float = 20) -> int:
    proc.proc = proc._popen()
    try:
        return proc.proc.wait(timeout)
    finally:
        proc.proc.stderr.close()


@pytest.fixture
def cluster_pair(tmp_path):
    """(our fresh cluster node, a fresh real cluster-enabled redis-server)."""
    ours = NodeProcess(tmp_path / "ours", CLUSTER_ARGS)
    real = RealRedis(["--cluster-enabled", "yes",
                      "--cluster-config-file", str(tmp_path / "real-nodes.conf")])
    with running(ours), running(real):
        yield ours, real


# Errors and deterministic replies, in order, on a node that knows nobody.
SIDE_BY_SIDE = [
    ["CLUSTER", "MEET"], ["CLUSTER", "MEET", "1.2.3.4"], ["CLUSTER", "MEET", "foo", "123"],
    ["CLUSTER", "MEET", "127.0.0.1", "abc"], ["CLUSTER", "MEET", "127.0.0.1", "99999"],
    ["CLUSTER", "MEET", "127.0.0.1", "0"], ["CLUSTER", "MEET", "127.0.0.1", "100", "abc"],
    ["CLUSTER", "MEET", "127.0.0.1", "100", "70000"],
    ["CLUSTER", "MEET", "127.0.0.1", "100", "200", "300"],
    ["CLUSTER", "ADDSLOTS"], ["CLUSTER", "ADDSLOTS", "99999"], ["CLUSTER", "ADDSLOTS", "-1"],
    ["CLUSTER", "ADDSLOTS", "abc"], ["CLUSTER", "ADDSLOTS", "1", "1"],
    ["CLUSTER", "ADDSLOTS", "1", "x"],
    ["CLUSTER", "ADDSLOTSRANGE", "5", "1"], ["CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"],
    ["CLUSTER", "ADDSLOTSRANGE", "1", "5", "3", "8"],
    ["CLUSTER", "DELSLOTS", "7"], ["CLUSTER", "DELSLOTSRANGE", "7", "8"],
    ["CLUSTER", "ADDSLOTS", "1", "2", "3"], ["CLUSTER", "ADDSLOTS", "2"],
    ["CLUSTER", "ADDSLOTSRANGE", "10", "20", "30", "40"],
    ["CLUSTER", "ADDSLOTSRANGE", "50", "60", "55", "70"],
    ["CLUSTER", "DELSLOTSRANGE", "1", "3"], ["CLUSTER", "DELSLOTS", "1"],
    ["CLUSTER", "DELSLOTS", "10", "10"], ["CLUSTER", "SLOTS"],
    ["CLUSTER", "COUNTKEYSINSLOT", "99999"], ["CLUSTER", "COUNTKEYSINSLOT", "abc"],
    ["CLUSTER", "COUNTKEYSINSLOT", "0"], ["CLUSTER", "COUNTKEYSINSLOT", "-1"],
    ["CLUSTER", "GETKEYSINSLOT", "1", "-1"], ["CLUSTER", "GETKEYSINSLOT", "abc", "1"],
    ["CLUSTER", "GETKEYSINSLOT", "99999", "1"], ["CLUSTER", "GETKEYSINSLOT", "1", "x"],
    ["CLUSTER", "GETKEYSINSLOT", "0", "10"],
    ["CLUSTER", "KEYSLOT", "foo"], ["CLUSTER", "KEYSLOT", "{user1000}.following"],
    ["CLUSTER", "KEYSLOT"],
    ["CLUSTER", "FORGET", "abc"], ["CLUSTER", "COUNT-FAILURE-REPORTS", "abc"],
    ["CLUSTER", "REPLICAS", "abc"], ["CLUSTER", "SLAVES", "abc"],
    ["CLUSTER", "SET-CONFIG-EPOCH", "abc"], ["CLUSTER", "SET-CONFIG-EPOCH", "-1"],
    ["CLUSTER", "SET-CONFIG-EPOCH", "5"], ["CLUSTER", "SET-CONFIG-EPOCH", "6"],
    ["CLUSTER", "BUMPEPOCH"], ["CLUSTER", "INFO"],
    ["CLUSTER", "RESET", "foo"], ["CLUSTER", "RESET", "soft", "extra"],
    ["CLUSTER", "FOO"], ["CLUSTER"], ["CLUSTER", "LINKS"], ["CLUSTER", "SAVECONFIG"],
    ["READONLY"], ["READWRITE"], ["READONLY", "x"],
    ["CLUSTER", "FLUSHSLOTS"], ["CLUSTER", "SLOTS"], ["CLUSTER", "RESET", "HARD"],
    ["CLUSTER", "INFO"], ["CLUSTER", "RESET"],
]


def run_masked(port: int, protocol: int) -> list[bytes]:
    """SIDE_BY_SIDE's replies with the node's port and id masked; and Redis's
    cluster_size is only recomputed once its 2 s start-up delay has passed (a timing
    detail), so it is masked too."""
    my_id = raw_replies(port, [["CLUSTER", "MYID"]])[0].split(b"\r\n")[1]
    return [re.sub(rb"cluster_size:\d", b"cluster_size:N",
                   reply.replace(my_id, b"<id>").replace(b":%d\r\n" % port, b":<port>\r\n"))
            for reply in raw_replies(port, SIDE_BY_SIDE, protocol)]


@pytest.mark.parametrize("protocol", [2, 3])
def test_replies_and_errors_match_redis(cluster_pair, protocol):
    ours, real = cluster_pair
    got, want = run_masked(ours.port, protocol), run_masked(real.port, protocol)
    problems = [f"{' '.join(c)}: ours={a!r} redis={b!r}"
                for c, a, b in zip(SIDE_BY_SIDE, got, want) if a != b]
    assert not problems, "\n".join(problems)


def test_fresh_node_views(cluster_pair):
    ours, real = cluster_pair
    for port in (ours.port, real.port):
        r = redis.Redis(port=port, decode_responses=True)
        my_id = r.execute_command("CLUSTER", "MYID")
        assert len(my_id) == 40 and int(my_id, 16) >= 0
        assert r.execute_command("CLUSTER", "NODES") == \
            f"{my_id} :{port}@{port + 10000} myself,master - 0 0 0 connected\n"
        assert r.execute_command("CLUSTER", "REPLICAS", my_id) == []
        assert r.execute_command("CLUSTER", "COUNT-FAILURE-REPORTS", my_id) == 0
        with pytest.raises(redis.ResponseError, match="I tried hard but I can't forget "
                                                      "myself..."):
            r.execute_command("CLUSTER", "FORGET", my_id)
        info = r.info()
        assert info["redis_mode"] == "cluster" and info["cluster_enabled"] == 1
        r.close()


def test_standalone_node_refuses_cluster_commands(make_node):
    node = make_node()
    commands = [["CLUSTER", "INFO"], ["CLUSTER", "HELP"], ["CLUSTER", "KEYSLOT", "x"],
                ["CLUSTER", "FOO"], ["CLUSTER", "MEET"], ["READONLY"], ["READWRITE"],
                ["INFO", "cluster"]]
    with running(RealRedis([])) as real:
        assert raw_replies(node.port, commands) == raw_replies(real.port, commands)


def test_nodes_conf_keeps_the_id_across_restarts(tmp_path):
    node = NodeProcess(tmp_path / "n", CLUSTER_ARGS)
    with running(node):
        r = redis.Redis(port=node.port, decode_responses=True)
        first_id = r.execute_command("CLUSTER", "MYID")
        assert r.execute_command("CLUSTER", "ADDSLOTSRANGE", 100, 200) == "OK"
        assert r.execute_command("CLUSTER", "SET-CONFIG-EPOCH", 7) == "OK"
        r.close()
    assert f"No cluster configuration found, I'm {first_id}" in node.log()
    text = (tmp_path / "n" / "nodes.conf").read_text()
    assert text.startswith(f"{first_id} :{node.port}@{node.port + 10000},,shard-id=")
    assert text.endswith("myself,master - 0 0 7 connected 100-200\n"
                         "vars currentEpoch 7 lastVoteEpoch 0\n")
    again = NodeProcess(tmp_path / "n", CLUSTER_ARGS, port=node.port)
    with running(again):
        r = redis.Redis(port=again.port, decode_responses=True)
        assert r.execute_command("CLUSTER", "MYID") == first_id
        info = r.execute_command("CLUSTER", "INFO")
        assert "cluster_slots_assigned:101\r\n" in info and "cluster_my_epoch:7\r\n" in info
        r.close()
    assert f"Node configuration loaded, I'm {first_id}" in again.log()


def test_corrupt_nodes_conf_stops_the_node_naming_the_line(tmp_path):
    node = NodeProcess(tmp_path / "n", CLUSTER_ARGS)
    good = "a" * 40 + " :7000@17000 myself,master - 0 0 0 connected 0-10\n"
    (node.dir / "nodes.conf").write_text(good + "garbage line here\n"
                                         "vars currentEpoch 0 lastVoteEpoch 0\n")
    assert exit_of(node) == 1
    log = node.log()
    assert 'Unrecoverable error: corrupted cluster config file' in log
    assert "nodes.conf\" line 2:" in log and "garbage line here" in log
    assert "Ready to accept connections" not in log


def test_two_nodes_cannot_share_one_nodes_conf(tmp_path):
    first = NodeProcess(tmp_path / "a", CLUSTER_ARGS)
    shared = str(first.dir / "nodes.conf")
    with running(first):
        second = NodeProcess(tmp_path / "b", ["--cluster-enabled", "yes",
                                              "--cluster-config-file", shared])
        assert exit_of(second) == 1
        assert (f"Sorry, the cluster configuration file {shared} is already used by a "
                "different Redis Cluster node.") in second.log()
        assert first.raw(b"PING\r\n") == b"+PONG\r\n"


def test_bus_secret_is_hidden_from_config_get_star(tmp_path):
    node = NodeProcess(tmp_path / "n", [*CLUSTER_ARGS, "--cluster-bus-secret", "s3cret"])
    with running(node):
        r = redis.Redis(port=node.port, decode_responses=True)
        assert r.config_get("cluster-bus-secret") == {"cluster-bus-secret": "s3cret"}
        assert "cluster-bus-secret" not in r.config_get("*")
        assert "cluster-node-timeout" in r.config_get("*")
        r.close()


def test_redis_cli_sees_a_cluster_node(cluster_pair):
    ours, _ = cluster_pair
    out = subprocess.run(["redis-cli", "-p", str(ours.port), "INFO", "cluster"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "# Cluster\ncluster_enabled:1\n" in out
