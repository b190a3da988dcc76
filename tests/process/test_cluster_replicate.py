"""CLUSTER REPLICATE over real sockets: three primaries and three replicas made with
REPLICATE; every node's CLUSTER NODES agrees, CLUSTER REPLICAS lists them, and the real
`redis-cli --cluster check` accepts the topology. Then the real `redis-cli --cluster
create --cluster-replicas 1` builds the same shape on six fresh nodes of ours."""
from __future__ import annotations

import subprocess

import pytest

from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import NodeProcess, wait_until


def parse_nodes(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}


def view(node) -> dict[str, list[str]]:
    with admin(node) as r:
        return parse_nodes(r.execute_command("CLUSTER", "NODES"))


def shape(node) -> tuple:
    """(primaries with their slots, replicas with their primary), ids only."""
    nodes = view(node)
    primaries = sorted((i, tuple(p[8:])) for i, p in nodes.items()
                       if "master" in p[2].split(","))
    replicas = sorted((i, p[3]) for i, p in nodes.items() if "slave" in p[2].split(","))
    return tuple(primaries), tuple(replicas)


@pytest.fixture(scope="module")
def six(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("replicate"), primaries=3, extra=3) as nodes:
        ids = node_ids(nodes)
        for r in range(3, 6):
            with admin(nodes[r]) as c:
                assert c.execute_command("CLUSTER", "REPLICATE", ids[r - 3]) in (True, "OK")
        primaries = sorted([(ids[0], ("0-5460",)), (ids[1], ("5461-10922",)),
                            (ids[2], ("10923-16383",))])
        expected = (tuple(primaries), tuple(sorted((ids[r], ids[r - 3]) for r in range(3, 6))))
        wait_until(lambda: all(shape(n) == expected for n in nodes), 30, interval=0.1,
                   message="every node to see 3 primaries and 3 replicas")
        yield nodes, ids


def test_every_node_agrees_on_three_primaries_and_three_replicas(six):
    nodes, ids = six
    for node in nodes:
        lines = view(node)
        assert sum("master" in p[2] for p in lines.values()) == 3
        for r in range(3, 6):
            parts = lines[ids[r]]
            assert "slave" in parts[2].split(",") and parts[3] == ids[r - 3]
            assert len(parts) == 8                       # a replica lists no slots
        with admin(node) as c:
            info = c.execute_command("CLUSTER", "INFO")
        assert "cluster_state:ok" in info and "cluster_size:3" in info
        assert "cluster_known_nodes:6" in info


def test_replicas_and_slaves_list_the_replica(six):
    nodes, ids = six
    for node in (nodes[0], nodes[4]):
        with admin(node) as c:
            for sub in ("REPLICAS", "SLAVES"):
                lines = c.execute_command("CLUSTER", sub, ids[1])
                assert [line.split()[0] for line in lines] == [ids[4]]
                assert lines[0].split()[3] == ids[1]


def test_replicate_errors_over_the_wire(six):
    nodes, ids = six
    with admin(nodes[3]) as c:
        for target, message in [
                ("x" * 40, "Unknown node " + "x" * 40),
                (ids[3], "Can't replicate myself"),
                (ids[4], "I can only replicate a master, not a replica.")]:
            with pytest.raises(Exception) as exc:
                c.execute_command("CLUSTER", "REPLICATE", target)
            assert str(exc.value) == message
    with admin(nodes[0]) as c:
        with pytest.raises(Exception) as exc:
            c.execute_command("CLUSTER", "REPLICATE", ids[1])
        assert str(exc.value) == ("To set a master the node must be empty and without "
                                  "assigned slots.")


def test_real_redis_cli_check_accepts_the_replicas(six):
    nodes, ids = six
    out = subprocess.run(["redis-cli", "--cluster", "check", f"127.0.0.1:{nodes[0].port}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All nodes agree about slots configuration." in out.stdout
    assert "[OK] All 16384 slots covered." in out.stdout
    for r in range(3, 6):
        assert f"S: {ids[r]} 127.0.0.1:{nodes[r].port}" in out.stdout
        assert f"   replicates {ids[r - 3]}" in out.stdout
    assert out.stdout.count("1 additional replica(s)") == 3


def test_real_redis_cli_create_with_replicas(tmp_path):
    nodes = [NodeProcess(tmp_path / f"n{i}", ["--cluster-enabled", "yes",
                                                "--cluster-node-timeout", "2000"])
             for i in range(6)]
    try:
        for node in nodes:
            node.start()
        out = subprocess.run(
            ["redis-cli", "--cluster", "create",
             *[f"127.0.0.1:{n.port}" for n in nodes], "--cluster-replicas", "1",
             "--cluster-yes"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "[OK] All 16384 slots covered." in out.stdout
        assert out.stdout.count("replicates ") >= 6        # the plan and the check
        # The replicas' new role reaches the others with their next heartbeats.
        def agreed():
            shapes = {shape(n) for n in nodes}
            return len(shapes) == 1 and shapes.pop()
        primaries, replicas = wait_until(
            lambda: (s := agreed()) and len(s[1]) == 3 and s, 30, interval=0.1,
            message="every node to see 3 primaries and 3 replicas")
        assert len(primaries) == 3
        assert {p for _, p in replicas} == {i for i, _ in primaries}
        assert sorted(slots for _, slots in primaries) == [
            ("0-5460",), ("10923-16383",), ("5461-10922",)]
    finally:
        for node in nodes:
            node.stop()
