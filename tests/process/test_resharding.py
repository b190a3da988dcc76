"""Resharding a 3-primary cluster of ours: SETSLOT, MIGRATE / RESTORE-ASKING between our
nodes, the real `redis-cli -c` following an ASK, the real `redis-cli --cluster reshard`
and `--cluster check`, a slot moved by hand under a concurrent writer, keys dropped by a
node that learns it lost their slot, and SETSLOT errors side by side with a real cluster.

The tests share one cluster and each works on its own slots (looked up, not assumed).
"""
from __future__ import annotations

import subprocess
import threading
import time

import pytest
import redis
from redis.cluster import RedisCluster

from slots import keyslot
from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import raw_replies, wait_until


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("reshard"), primaries=3) as nodes:
        yield nodes


class View:
    """The cluster as a test sees it: nodes, ids, who owns what."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.ids = node_ids(nodes)

    def r(self, i: int) -> redis.Redis:
        return admin(self.nodes[i])

    def owner(self, slot: int) -> int:
        with self.r(0) as r:
            for start, end, primary, *_ in r.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return next(i for i, n in enumerate(self.nodes) if n.port == primary[1])
        raise AssertionError(f"slot {slot} unassigned")

    def call(self, i: int, *args):
        with self.r(i) as r:
            return r.execute_command(*args)


def key_in(slot_range: range, prefix: str = "k") -> str:
    for n in range(1_000_000):
        key = f"{prefix}{n}"
        if keyslot(key.encode()) in slot_range:
            return key
    raise AssertionError("no key found")


def move_slot(view: View, slot: int, src: int, dst: int, batch: int = 10,
              pause: float = 0.0) -> int:
    """What redis-cli does for one slot: open it on both sides, MIGRATE its keys in
    batches, then give it to dst everywhere (dst first). Returns the keys moved."""
    view.call(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", view.ids[src])
    view.call(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", view.ids[dst])
    moved = 0
    while True:
        keys = view.call(src, "CLUSTER", "GETKEYSINSLOT", slot, batch)
        if not keys:
            break
        reply = view.call(src, "MIGRATE", "127.0.0.1", view.nodes[dst].port, "", 0, 5000,
                          "KEYS", *keys)
        assert reply in ("OK", "NOKEY"), reply
        moved += len(keys)
        if pause:
            time.sleep(pause)
    for i in [dst, src] + [i for i in range(len(view.nodes)) if i not in (src, dst)]:
        assert view.call(i, "CLUSTER", "SETSLOT", slot, "NODE", view.ids[dst]) == "OK"
    return moved


@pytest.fixture(scope="module")
def view(ours):
    return View(ours)


def test_restore_asking_is_served_by_an_importing_node(view):
    key = key_in(range(1000, 1100))
    slot = keyslot(key.encode())
    src = view.owner(slot)
    dst = (src + 1) % 3
    view.call(src, "SET", key, "v")
    with redis.Redis(port=view.nodes[src].port, socket_timeout=10) as r:
        payload = r.dump(key)
    with redis.Redis(port=view.nodes[dst].port, socket_timeout=10) as r:
        with pytest.raises(redis.exceptions.MovedError, match=f"^{slot} 127.0.0.1:"):
            r.execute_command("RESTORE", key, 0, payload)
        r.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", view.ids[src])
        with pytest.raises(redis.exceptions.MovedError, match=f"^{slot} 127.0.0.1:"):
            r.execute_command("RESTORE", key, 0, payload)
        assert r.execute_command("RESTORE-ASKING", key, 0, payload) == b"OK"
        with pytest.raises(redis.exceptions.ResponseError, match="BUSYKEY"):
            r.execute_command("RESTORE-ASKING", key, 0, payload)
        assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 1
        pipe = r.pipeline(transaction=False)          # one connection: ASKING, then DEL
        pipe.execute_command("ASKING")
        pipe.execute_command("DEL", key)
        assert pipe.execute() == [True, 1]
        r.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    assert view.call(src, "GET", key) == "v"


def _cli(port: int, *args: str, timeout: float = 60) -> str:
    res = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True,
                         text=True, timeout=timeout)
    return res.stdout + res.stderr


def test_redis_cli_c_follows_ask_then_moved(view):
    key = key_in(range(2000, 2100), "ask")
    other = next(k for k in (f"{key}-{n}" for n in range(100000))
                 if keyslot(k.encode()) == keyslot(key.encode()))
    slot = keyslot(key.encode())
    src = view.owner(slot)
    dst = (src + 1) % 3
    src_port, dst_port = view.nodes[src].port, view.nodes[dst].port
    view.call(src, "SET", key, "moved-value")
    view.call(src, "SET", other, "stays")
    view.call(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", view.ids[src])
    view.call(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", view.ids[dst])
    assert view.call(src, "MIGRATE", "127.0.0.1", dst_port, key, 0, 5000) == "OK"
    out = _cli(src_port, "-c", "GET", key)
    assert "moved-value" in out                       # followed -ASK to dst
    assert _cli(src_port, "-c", "GET", other).strip() == "stays"     # still served here
    assert raw_replies(src_port, [["GET", key]])[0] == \
        f"-ASK {slot} 127.0.0.1:{dst_port}\r\n".encode()
    assert view.call(src, "MIGRATE", "127.0.0.1", dst_port, other, 0, 5000) == "OK"
    for i in (dst, src, 3 - src - dst):
        view.call(i, "CLUSTER", "SETSLOT", slot, "NODE", view.ids[dst])
    assert raw_replies(src_port, [["GET", other]])[0] == \
        f"-MOVED {slot} 127.0.0.1:{dst_port}\r\n".encode()
    assert _cli(src_port, "-c", "GET", other).strip() == "stays"     # followed -MOVED
    assert view.owner(slot) == dst


def test_a_node_that_lost_a_slot_by_update_drops_its_keys(view):
    """B takes slot S by hand (IMPORTING + NODE, epoch bump); A, which still had keys in
    S and never closed it, learns it from the bus and deletes them (delKeysInSlot)."""
    slot = keyslot(key_in(range(3000, 3100), "lost").encode())
    a = view.owner(slot)
    b = (a + 1) % 3
    keys = [k for k in (f"lost{n}" for n in range(200000))
            if keyslot(k.encode()) == slot][:5]
    for key in keys:
        view.call(a, "SET", key, "old")
    assert view.call(a, "CLUSTER", "COUNTKEYSINSLOT", slot) == 5
    view.call(b, "CLUSTER", "SETSLOT", slot, "IMPORTING", view.ids[a])
    view.call(b, "CLUSTER", "SETSLOT", slot, "NODE", view.ids[b])
    info = view.call(b, "CLUSTER", "INFO")          # B holds the greatest epoch now
    assert _field(info, "cluster_my_epoch") == _field(info, "cluster_current_epoch")
    wait_until(lambda: view.call(a, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0, 10,
               message="old owner to drop the keys of the lost slot")
    for i in range(3):
        wait_until(lambda i=i: _slot_owner_line(view, i, slot) == view.ids[b], 10,
                   message="every node to learn the new owner")


def _field(info: str, name: str) -> int:
    return int(info.split(name + ":")[1].split()[0])


def _slot_owner_line(view: View, i: int, slot: int) -> str:
    for start, end, primary, *_ in view.call(i, "CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return primary[2]
    return ""


def test_redis_cli_reshard_moves_100_slots_and_check_is_ok(view):
    src = view.owner(0)
    dst = (src + 1) % 3
    rc = RedisCluster(host="127.0.0.1", port=view.nodes[0].port, socket_timeout=10)
    try:
        keys = [k for k in (f"rs{n}" for n in range(60000)) if keyslot(k.encode()) < 100]
        keys = keys[:400] + [f"spread{n}" for n in range(300)]
        for key in keys:
            rc.set(key, key)
        before = view.call(src, "CLUSTER", "COUNTKEYSINSLOT", 0)
        out = _cli(view.nodes[src].port, "--cluster", "reshard",
                   f"127.0.0.1:{view.nodes[src].port}", "--cluster-from", view.ids[src],
                   "--cluster-to", view.ids[dst], "--cluster-slots", "100", "--cluster-yes",
                   timeout=120)
        assert "Moving slot 0 from" in out and "[ERR]" not in out, out
        for slot in range(100):
            assert view.owner(slot) == dst
        assert view.call(src, "CLUSTER", "COUNTKEYSINSLOT", 0) == 0
        assert view.call(dst, "CLUSTER", "COUNTKEYSINSLOT", 0) == before
        check = _cli(view.nodes[0].port, "--cluster", "check",
                     f"127.0.0.1:{view.nodes[0].port}")
        assert "[OK] All nodes agree about slots configuration." in check, check
        assert "[OK] All 16384 slots covered." in check, check
        assert "[WARNING]" not in check and "[ERR]" not in check, check
        rc2 = RedisCluster(host="127.0.0.1", port=view.nodes[2].port, socket_timeout=10)
        try:
            for key in keys:
                assert rc2.get(key) == key.encode()
        finally:
            rc2.close()
    finally:
        rc.close()


def test_counters_survive_a_manual_move_under_a_concurrent_writer(view):
    tag = key_in(range(12000, 12100), "ctr")
    slot = keyslot(tag.encode())
    counters = [f"{{{tag}}}:{i}" for i in range(20)]
    src = view.owner(slot)
    dst = (src + 2) % 3
    acked = {c: 0 for c in counters}
    errors: list[BaseException] = []
    stop = threading.Event()
    rc = RedisCluster(host="127.0.0.1", port=view.nodes[0].port, socket_timeout=10)
    for c in counters:
        rc.set(c, 0)

    def writer():
        n = 0
        while not stop.is_set():
            key = counters[n % len(counters)]
            n += 1
            try:
                rc.incr(key)
            except Exception as exc:           # noqa: BLE001 - counted, fails the test
                errors.append(exc)
                continue
            acked[key] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_until(lambda: sum(acked.values()) > 200, 20)
        moved = move_slot(view, slot, src, dst, batch=3, pause=0.02)
        done = sum(acked.values())
        wait_until(lambda: sum(acked.values()) > done + 200, 20,
                   message="writer to go on after the move")
    finally:
        stop.set()
        thread.join(30)
    try:
        assert not errors, errors[:3]
        assert moved >= 20
        assert view.owner(slot) == dst
        assert view.call(src, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert view.call(dst, "CLUSTER", "COUNTKEYSINSLOT", slot) == 20
        for c in counters:
            assert int(rc.get(c)) == acked[c], c
    finally:
        rc.close()


# -- side by side with a real cluster --------------------------------------------------------
@pytest.fixture(scope="module")
def real(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("reshard-real"), primaries=3, real=True) as nodes:
        yield nodes


def test_setslot_errors_match_a_real_cluster(view, real):
    """Same commands on node 0 of each cluster (ids and ports normalised)."""
    results = []
    for nodes in (view.nodes, real):
        ids = node_ids(nodes)
        me, peer = ids[0], ids[1]
        mine = key_in(range(4000, 5000), "ss")         # node 0 owns 0-5460 in both
        theirs = 6000
        cmds = [
            ["CLUSTER", "SETSLOT"], ["CLUSTER", "SETSLOT", "1"],
            ["CLUSTER", "SETSLOT", "abc", "STABLE"], ["CLUSTER", "SETSLOT", "16384", "NODE"],
            ["CLUSTER", "SETSLOT", "-1", "stable"], ["CLUSTER", "SETSLOT", "5", "foo"],
            ["CLUSTER", "SETSLOT", "5", "STABLE", "x"], ["CLUSTER", "SETSLOT", "5", "IMPORTING"],
            ["CLUSTER", "SETSLOT", "5", "NODE"],
            ["CLUSTER", "SETSLOT", theirs, "MIGRATING", peer],
            ["CLUSTER", "SETSLOT", "200", "MIGRATING", "nobody"],
            ["CLUSTER", "SETSLOT", "200", "IMPORTING", peer],
            ["CLUSTER", "SETSLOT", theirs, "IMPORTING", "nobody"],
            ["CLUSTER", "SETSLOT", "200", "NODE", "nobody"],
            ["SET", mine, "v"],
            ["CLUSTER", "SETSLOT", keyslot(mine.encode()), "NODE", peer],
            ["CLUSTER", "SETSLOT", "201", "MIGRATING", peer],
            ["CLUSTER", "SETSLOT", theirs, "IMPORTING", peer],
            ["CLUSTER", "SETSLOT", "202", "MIGRATING", me],
            ["CLUSTER", "SETSLOT", "202", "STABLE"], ["CLUSTER", "SETSLOT", "203", "STABLE"],
            ["DEL", mine],
        ]
        replies = raw_replies(nodes[0].port, cmds)
        with admin(nodes[0]) as r:
            line = next(ln for ln in r.execute_command("CLUSTER", "NODES").splitlines()
                        if "myself" in ln)
            r.execute_command("CLUSTER", "SETSLOT", 201, "STABLE")
            r.execute_command("CLUSTER", "SETSLOT", theirs, "STABLE")
        norm = []
        open_slots = [w for w in line.split()[8:] if w.startswith("[")]
        for reply in replies + [" ".join(open_slots).encode()]:
            for i, node_id in enumerate(ids):
                reply = reply.replace(node_id.encode(), b"<ID%d>" % i)
            norm.append(reply)
        results.append(norm)
    assert results[0] == results[1]
    assert results[0][-1] == b"[201->-<ID1>] [6000-<-<ID1>]"
