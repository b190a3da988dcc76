"""redis-py's RedisCluster (RESP2 and RESP3), unchanged, against a 3-primary cluster of ours.

The client learns the slot map from CLUSTER SLOTS and computes slots itself, so every key
lands on its owner only if our CRC16/hash tags, CLUSTER SLOTS and routing all agree with
Redis; each test checks that on the nodes (COUNTKEYSINSLOT / DBSIZE per node).
"""
from __future__ import annotations

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from tests.cluster_support import cluster_of, slot_ranges
from slots import keyslot

KEYS = [f"key:{i}" for i in range(200)]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("rediscluster"), 3) as nodes:
        yield nodes


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rc(nodes, request):
    client = RedisCluster(host="127.0.0.1", port=nodes[0].port, protocol=request.param,
                          decode_responses=True, socket_timeout=10)
    try:
        yield client
    finally:
        try:
            client.flushall(target_nodes=RedisCluster.PRIMARIES)
        finally:
            client.close()


def direct(node) -> redis.Redis:
    return redis.Redis(port=node.port, decode_responses=True, socket_timeout=10)


def owner_index(key: str) -> int:
    slot = keyslot(key.encode())
    return next(i for i, (lo, hi) in enumerate(slot_ranges(3)) if lo <= slot <= hi)


def dbsizes(nodes) -> list[int]:
    out = []
    for node in nodes:
        with direct(node) as r:
            out.append(r.dbsize())
    return out


def test_client_sees_three_primaries_covering_every_slot(rc, nodes):
    primaries = sorted(n.port for n in rc.get_primaries())
    assert primaries == sorted(n.port for n in nodes)
    assert rc.get_node_from_key("k0").port == nodes[1].port
    assert rc.cluster_keyslot("k0") == keyslot(b"k0") == 8579


def test_keys_spread_over_every_node_land_on_their_owner(rc, nodes):
    for i, key in enumerate(KEYS):
        assert rc.set(key, f"v{i}") is True
    for i, key in enumerate(KEYS):
        assert rc.get(key) == f"v{i}"
    expected = [0, 0, 0]
    for key in KEYS:
        expected[owner_index(key)] += 1
    assert all(expected) and dbsizes(nodes) == expected
    # Every key sits in its slot on its owner, and nowhere else.
    per_slot: dict[int, int] = {}
    for key in KEYS:
        per_slot[keyslot(key.encode())] = per_slot.get(keyslot(key.encode()), 0) + 1
    for i, node in enumerate(nodes):
        lo, hi = slot_ranges(3)[i]
        with direct(node) as r:
            for slot, count in per_slot.items():
                want = count if lo <= slot <= hi else 0
                assert r.execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == want, slot
    # Deleting through the cluster client empties every node.
    assert rc.delete(*KEYS) == len(KEYS)            # split per slot by the client
    assert dbsizes(nodes) == [0, 0, 0]


def test_hash_tagged_multi_key_commands(rc, nodes):
    values = {f"{{user:1}}:{field}": field for field in ("name", "mail", "age")}
    assert rc.mset(values) is True
    assert rc.mget(list(values)) == list(values.values())
    owner = owner_index("user:1")
    sizes = dbsizes(nodes)
    assert sizes[owner] == 3 and sum(sizes) == 3
    assert rc.exists(*values) == 3
    assert rc.delete(*values) == 3


def test_multi_key_command_without_tags_is_crossslot(rc, nodes):
    node = rc.get_node(host="127.0.0.1", port=nodes[0].port)
    with pytest.raises(redis.exceptions.ResponseError, match="^Keys in request don't hash"):
        rc.execute_command("MSET", "k2", "1", "a", "2", target_nodes=node)
    with direct(nodes[0]) as r:
        with pytest.raises(redis.exceptions.ResponseError) as info:
            r.execute_command("MGET", "k2", "bar", "a")
        assert str(info.value) == "Keys in request don't hash to the same slot"
        with pytest.raises(redis.exceptions.ResponseError) as info:
            r.get("k0")
        assert isinstance(info.value, redis.exceptions.MovedError)
        assert str(info.value) == f"8579 127.0.0.1:{nodes[1].port}"   # redis-py drops "MOVED"
    # The cluster client refuses it on its own (it computes the slots too).
    with pytest.raises(redis.exceptions.RedisClusterException):
        rc.mget("k2", "a")
    assert dbsizes(nodes) == [0, 0, 0]


def test_pipeline_across_slots(rc, nodes):
    pipe = rc.pipeline(transaction=False)
    for key in KEYS[:60]:
        pipe.set(key, key.upper())
        pipe.incr(f"count:{key}")
    results = pipe.execute()
    assert results == [True, 1] * 60
    pipe = rc.pipeline(transaction=False)
    for key in KEYS[:60]:
        pipe.get(key)
    assert pipe.execute() == [key.upper() for key in KEYS[:60]]
    assert sum(dbsizes(nodes)) == 120
    assert all(dbsizes(nodes))


def test_transaction_on_one_slot(rc, nodes):
    keys = ["{order:7}:items", "{order:7}:total", "{order:7}:state"]
    with rc.pipeline(transaction=True) as pipe:
        pipe.rpush(keys[0], "a", "b")
        pipe.incrby(keys[1], 12)
        pipe.set(keys[2], "paid")
        pipe.lrange(keys[0], 0, -1)
        pushed, total, state, items = pipe.execute()
        # (redis-py's cluster transaction hands SET's +OK back unconverted)
        assert (pushed, total, state, items) == (2, 12, "OK", ["a", "b"])
    owner = owner_index("order:7")
    sizes = dbsizes(nodes)
    assert sizes[owner] == 3 and sum(sizes) == 3
    assert rc.get(keys[2]) == "paid"
    with pytest.raises(redis.exceptions.RedisClusterException):
        with rc.pipeline(transaction=True) as pipe:
            pipe.set("k2", "1")
            pipe.set("a", "1")
            pipe.execute()
    assert rc.exists("k2", "a") == 0


def test_delete_and_count_per_node(rc, nodes):
    for key in KEYS:
        rc.set(key, "x")
    before = dbsizes(nodes)
    assert sum(before) == len(KEYS) and all(before)
    gone = KEYS[::2]
    assert sum(rc.delete(key) for key in gone) == len(gone)
    expected = list(before)
    for key in gone:
        expected[owner_index(key)] -= 1
    assert dbsizes(nodes) == expected
    # summed over the primaries by the client
    assert rc.dbsize(target_nodes=RedisCluster.PRIMARIES) == len(KEYS) - len(gone)


def test_a_stale_slot_map_is_fixed_by_moved(nodes):
    """A client pointed at the wrong node for a key follows MOVED and updates its map."""
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", nodes[0].port)],
                      decode_responses=True, socket_timeout=10)
    try:
        wrong = rc.get_node(host="127.0.0.1", port=nodes[0].port)
        rc.nodes_manager.slots_cache[8579] = [wrong]       # k0 really lives on node 1
        assert rc.set("k0", "moved") is True
        with direct(nodes[1]) as r:
            assert r.get("k0") == "moved"
        assert rc.nodes_manager.slots_cache[8579][0].port == nodes[1].port
        rc.delete("k0")
    finally:
        rc.close()
