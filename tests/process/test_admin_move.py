"""`pyredis-cluster reshard / rebalance / add-node / del-node` against a cluster of our
nodes, checked by CLUSTER NODES on every node, key counts and redis-py RedisCluster; the
prompts and plans side by side with the real `redis-cli --cluster`.

One cluster for the module (3 primaries with keys + 1 empty primary) and one fresh node
outside it. The tests run in order and each leaves the cluster whole: prompts and plans
compared with redis-cli and refusals (nothing moves), reshard 100 slots to the empty
primary and back (it then turns replica, as in Redis 7), del-node of that emptied node,
add-node of the fresh node and rebalance with --cluster-use-empty-masters.
"""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from slots import keyslot
from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import NodeProcess, wait_until

ROOT = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[")
SLOT_LINE = re.compile(r"^Moving slot (\d+) from 127\.0\.0\.1:(\d+) to 127\.0\.0\.1:(\d+): "
                       r"(\.*)$")


def tool(*args: str, stdin: str | None = None, timeout: float = 300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


def converse(cmd: list[str], answers: list[tuple[str, str]], timeout: float = 30):
    """Run an interactive command: wait for each prompt, then type the answer (redis-cli
    reads its answers with read(2), so they cannot all be sent at once)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="dumb")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    seen, pos = b"", 0
    deadline = time.monotonic() + timeout
    try:
        for prompt, answer in answers:
            while prompt.encode() not in seen[pos:]:
                ready, _, _ = select.select([proc.stdout], [], [], 0.5)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no prompt {prompt!r} in {seen!r}")
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        raise AssertionError(f"exited before {prompt!r}: {seen!r}")
                    seen += chunk
            pos = seen.index(prompt.encode(), pos) + len(prompt)
            proc.stdin.write(answer.encode() + b"\n")
            proc.stdin.flush()
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return proc.returncode, (seen + rest).decode()


def nodes_table(node) -> dict[str, dict]:
    """CLUSTER NODES as node sees it: id -> {addr, flags, slots:set}."""
    with admin(node) as r:
        text = r.execute_command("CLUSTER", "NODES")
    table = {}
    for line in text.splitlines():
        parts = line.split()
        slots = set()
        for spec in parts[8:]:
            if spec.startswith("["):
                continue
            a, _, b = spec.partition("-")
            slots.update(range(int(a), int(b or a) + 1))
        table[parts[0]] = {"addr": parts[1], "flags": parts[2].split(","), "slots": slots}
    return table


def state_ok(node) -> bool:
    with admin(node) as r:
        return "cluster_state:ok" in r.execute_command("CLUSTER", "INFO")


def everyone_sees(nodes, node_id: str, slots: set[int]) -> bool:
    return all(nodes_table(n).get(node_id, {}).get("slots") == slots for n in nodes)


def keys_in_slots(slot_range: range, count: int, prefix: bytes) -> list[bytes]:
    found, i = [], 0
    while len(found) < count:
        key = prefix + str(i).encode()
        if keyslot(key) in slot_range:
            found.append(key)
        i += 1
    return found


class Cluster:
    def __init__(self, nodes, fresh):
        self.nodes = nodes              # the 3 slot owners and the empty primary
        self.fresh = fresh              # not in the cluster yet
        self.ids = node_ids(nodes)
        self.entry = f"127.0.0.1:{nodes[0].port}"
        self.data: dict[bytes, bytes] = {}

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.nodes[0].port)

    def members(self):
        """The nodes currently in the cluster (by the entry node's view)."""
        ports = {int(v["addr"].split("@")[0].rsplit(":", 1)[1])
                 for v in nodes_table(self.nodes[0]).values()}
        return [n for n in self.nodes + [self.fresh] if n.port in ports]

    def assert_data(self) -> None:
        with self.client() as rc:
            for chunk in range(0, len(self.data), 200):
                keys = list(self.data)[chunk:chunk + 200]
                assert [rc.get(k) for k in keys] == [self.data[k] for k in keys]
        total = 0
        for n in self.members():
            with admin(n) as r:
                if r.info("replication")["role"] == "master":   # replicas hold copies
                    total += r.dbsize()
        assert total == len(self.data)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("admin_move")
    with cluster_of(base, primaries=3, extra=1) as nodes:
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]
        fresh = NodeProcess(base / "fresh", args)
        spare = NodeProcess(base / "spare", args)
        try:
            fresh.start()
            spare.start()
            c = Cluster(nodes, fresh)
            c.spare = spare
            # keys in the 100 slots that move (some not UTF-8), and all over the place
            moving = keys_in_slots(range(0, 100), 150, b"m") + \
                keys_in_slots(range(0, 100), 20, b"\xff\xfe")
            spread = [b"key:%d" % i for i in range(600)]
            with c.client() as rc:
                for i, key in enumerate(moving + spread):
                    value = b"v%d" % i
                    rc.set(key, value)
                    c.data[key] = value
                rc.expire(moving[0], 3600)
            yield c
        finally:
            spare.stop()
            fresh.stop()


def test_prompts_and_plan_match_redis_cli(cluster):
    """The same answers to the real redis-cli and to ours: the same screen."""
    c = cluster
    answers = [("(from 1 to 16384)? ", "0"), ("(from 1 to 16384)? ", "7"),
               ("receiving node ID? ", c.ids[3]), ("Source node #1: ", c.ids[3]),
               ("Source node #1: ", c.ids[2]), ("Source node #2: ", c.ids[1]),
               ("Source node #3: ", "done"), ("(yes/no)? ", "no")]
    rc_real, real = converse(["redis-cli", "--cluster", "reshard", c.entry], answers)
    rc_ours, ours = converse([sys.executable, "-m", "cli.main", "reshard", c.entry], answers)
    assert (rc_ours, ours) == (rc_real, real)
    assert "    Moving slot 5461 from " + c.ids[1] in ours
    real = subprocess.run(["redis-cli", "--cluster", "rebalance", c.entry, "--cluster-weight",
                           f"{c.ids[0][:8]}=2", "--cluster-simulate"],
                          capture_output=True, text=True, env=dict(os.environ, TERM="dumb"))
    ours = tool("rebalance", c.entry, "--cluster-weight", f"{c.ids[0][:8]}=2",
                "--cluster-simulate")
    assert (ours.returncode, ours.stdout) == (real.returncode, real.stdout)
    assert "Total weight = 4.00\n" in ours.stdout


def test_reshard_refusals(cluster):
    c = cluster
    res = tool("reshard", c.entry, "--cluster-from", c.ids[1], "--cluster-to", "nope",
               "--cluster-slots", "5", "--cluster-yes")
    assert res.returncode == 1
    assert res.stdout.endswith("*** The specified node (nope) is not known or not a master, "
                               "please retry.\n")
    res = tool("reshard", c.entry, "--cluster-from", c.ids[1], "--cluster-to", c.ids[1],
               "--cluster-slots", "5", "--cluster-yes")
    assert res.returncode == 1
    assert "*** It is not possible to use the target node as source node.\n" in res.stdout
    assert res.stderr == "*** No source nodes given, operation aborted.\n"
    # no answer at all (end of input): an error, not a question asked forever
    res = tool("reshard", c.entry)
    assert res.returncode == 1
    assert res.stdout.endswith("How many slots do you want to move (from 1 to 16384)? ")
    assert res.stderr == "\n*** No more input, operation aborted.\n"
    # "no" to the plan: nothing moves
    res = tool("reshard", c.entry, "--cluster-from", c.ids[1], "--cluster-to", c.ids[3],
               "--cluster-slots", "5", stdin="no\n")
    assert res.returncode == 1
    assert res.stdout.endswith("(yes/no)? ")
    assert everyone_sees(c.nodes, c.ids[3], set())


def test_reshard_moves_100_slots_with_their_keys(cluster):
    c = cluster
    src, dst = c.ids[0], c.ids[3]
    in_range = [k for k in c.data if keyslot(k) < 100]
    res = tool("reshard", c.entry, "--cluster-from", src, "--cluster-to", dst,
               "--cluster-slots", "100", "--cluster-yes", "--cluster-pipeline", "7")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert not ANSI.search(out)                       # piped: no colours, no bar
    assert "\nReady to move 100 slots.\n  Source nodes:\n    M: " + src in out
    assert "  Resharding plan:\n    Moving slot 0 from " + src + "\n" in out
    moved = [SLOT_LINE.match(line) for line in out.splitlines() if line.startswith("Moving slot ")
             and " to " in line]
    assert [int(m.group(1)) for m in moved] == list(range(100))
    assert {(int(m.group(2)), int(m.group(3))) for m in moved} == \
        {(c.nodes[0].port, c.nodes[3].port)}
    assert sum(len(m.group(4)) for m in moved) == len(in_range)    # a dot per key
    # every node knows the new owner at once (SETSLOT NODE was sent to all primaries)
    assert everyone_sees(c.nodes, dst, set(range(100)))
    assert everyone_sees(c.nodes, src, set(range(100, 5461)))
    with admin(c.nodes[3]) as r:
        assert r.dbsize() == len(in_range)
    c.assert_data()
    with c.client() as rc:
        ttl_key = next(k for k in c.data if k.startswith(b"m"))
        assert 0 < rc.ttl(ttl_key) <= 3600              # the TTL travelled too

    # and back, answering the prompts on standard input
    answers = f"100\n{src}\n{dst}\ndone\nyes\n"
    res = tool("reshard", c.entry, stdin=answers)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "How many slots do you want to move (from 1 to 16384)? What is the receiving " \
           "node ID? Please enter all the source node IDs.\n" in res.stdout
    assert "Source node #1: Source node #2: \nReady to move 100 slots.\n" in res.stdout
    assert "Do you want to proceed with the proposed reshard plan (yes/no)? " in res.stdout
    assert everyone_sees(c.nodes, dst, set())
    assert everyone_sees(c.nodes, src, set(range(0, 5461)))
    c.assert_data()
    # having given away its last slot, the emptied primary became a replica of the new
    # owner (Redis 7's SETSLOT NODE); the tool tolerated its SETSLOT refusal
    assert nodes_table(c.nodes[3])[dst]["flags"] == ["myself", "slave"]


def test_del_node_of_the_emptied_primary(cluster):
    c = cluster
    gone = c.ids[3]
    res = tool("del-node", c.entry, c.ids[2])
    assert res.returncode == 1
    assert res.stdout == (f">>> Removing node {c.ids[2]} from cluster {c.entry}\n"
                          f"[ERR] Node 127.0.0.1:{c.nodes[2].port} is not empty! Reshard "
                          "data away and try again.\n")
    res = tool("del-node", c.entry, gone)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == (f">>> Removing node {gone} from cluster {c.entry}\n"
                          ">>> Sending CLUSTER FORGET messages to the cluster...\n"
                          ">>> Sending CLUSTER RESET SOFT to the deleted node.\n")
    for n in c.nodes[:3]:
        assert gone not in nodes_table(n)
    # the removed node forgot everyone
    assert list(nodes_table(c.nodes[3])) == [gone]
    res = tool("del-node", c.entry, gone)
    assert res.returncode == 1 and f"[ERR] No such node ID {gone}\n" in res.stdout
    c.assert_data()


def test_add_node_then_rebalance_with_empty_masters(cluster):
    c = cluster
    new = f"127.0.0.1:{c.fresh.port}"
    res = tool("add-node", new, c.entry)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith(f">>> Adding node {new} to cluster {c.entry}\n")
    assert f">>> Send CLUSTER MEET to node {new} to make it join the cluster.\n" in res.stdout
    assert res.stdout.endswith("[OK] New node added correctly.\n")
    with admin(c.fresh) as r:
        fresh_id = r.execute_command("CLUSTER", "MYID")
    members = c.members()
    # as with redis-cli, the new node takes writes (RESTORE-ASKING) once it knows the
    # whole slot map and says cluster_state:ok
    wait_until(lambda: all(fresh_id in nodes_table(n) for n in members)
               and len(nodes_table(c.fresh)) == len(members) and state_ok(c.fresh), 20,
               message="the new node to join")
    primaries = members
    # without --cluster-use-empty-masters the empty node is left alone
    res = tool("rebalance", c.entry)
    assert res.returncode == 0
    assert res.stdout.endswith("*** No rebalancing needed! All nodes are within the 2.00% "
                               "threshold.\n")
    res = tool("rebalance", c.entry, "--cluster-use-empty-masters")
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert f">>> Rebalancing across {len(primaries)} nodes. Total weight = " \
           f"{len(primaries)}.00\n" in out
    moves = re.findall(r"^Moving (\d+) slots from 127\.0\.0\.1:\d+ to (127\.0\.0\.1:\d+)\n"
                       r"(#*)$", out, re.M)
    assert moves and all(dst == new and int(n) == len(marks) for n, dst, marks in moves)
    expected = 16384 / len(primaries)
    table = nodes_table(c.nodes[0])
    counts = {node_id: len(v["slots"]) for node_id, v in table.items()}
    assert sum(counts.values()) == 16384
    assert all(abs(count - expected) <= expected * 0.02 + 1 for count in counts.values()), counts
    for n in members:
        assert {k: len(v["slots"]) for k, v in nodes_table(n).items()} == counts
    c.assert_data()
    # and now it is balanced
    res = tool("rebalance", c.entry, "--cluster-use-empty-masters")
    assert "*** No rebalancing needed!" in res.stdout


def test_add_replica_then_del_node(cluster):
    c = cluster
    new = f"127.0.0.1:{c.spare.port}"
    master = c.ids[1]
    res = tool("add-node", new, c.entry, "--cluster-slave", "--cluster-master-id", "f" * 40)
    assert res.returncode == 1 and res.stdout.endswith(f"[ERR] No such master ID {'f' * 40}\n")
    res = tool("add-node", new, c.entry, "--cluster-replica", "--cluster-master-id", master)
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert ">>> Getting functions" not in out          # a replica gets them from its primary
    assert f">>> Send CLUSTER MEET to node {new} to make it join the cluster.\n" \
           "Waiting for the cluster to join\n" in out
    assert out.endswith(f">>> Configure node as replica of 127.0.0.1:{c.nodes[1].port}.\n"
                        "[OK] New node added correctly.\n")
    with admin(c.spare) as r:
        spare_id = r.execute_command("CLUSTER", "MYID")
    wait_until(lambda: nodes_table(c.nodes[0]).get(spare_id, {}).get("flags") == ["slave"],
               20, message="the replica to be known as one")
    res = tool("check", c.entry)
    assert res.returncode == 0 and "   1 additional replica(s)\n" in res.stdout
    # a second add of the same node: it is not empty any more
    res = tool("add-node", new, c.entry, "--cluster-replica")
    assert res.returncode == 1
    assert "\nAutomatically selected master 127.0.0.1:" in res.stdout
    assert res.stdout.endswith(f"[ERR] Node {new} is not empty. Either the node already "
                               "knows other nodes (check with CLUSTER NODES) or contains some "
                               "key in database 0.\n")
    res = tool("del-node", c.entry, spare_id)
    assert res.returncode == 0, res.stdout + res.stderr
    for n in c.members():
        assert spare_id not in nodes_table(n)
    assert list(nodes_table(c.spare)) == [spare_id]
    c.assert_data()
