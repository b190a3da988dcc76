"""Memory accounting, the LFU counter, the eviction pool and the OOM gate, in process."""
from __future__ import annotations

import random
from collections import deque

from hypothesis import given, settings, strategies as st

from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.execution import eviction
from cluster.execution.eviction import Usage, time_limit_us
from cluster.keyspace import evict, memory
from cluster.keyspace.databases import Keyspace
from cluster.node import Node

OOM = "OOM command not allowed when used memory > 'maxmemory'."


def make_node(**config):
    node = Node(Config(), rng=random.Random(7))
    node.set_time(1_800_000_000_000)
    client = node.new_client()
    for name, value in config.items():
        execute(client, [b"CONFIG", b"SET", name.replace("_", "-").encode(), str(value).encode()])
    return node, client


def run(client, *args):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])


# -- accounting ---------------------------------------------------------------------------
def recount(db) -> int:
    """What the running total must equal: every key priced afresh."""
    return sum(memory.key_cost(k, v) for k, v in db.data.items())


ops = st.lists(st.tuples(
    st.sampled_from(["set", "del", "hset", "hdel", "lpush", "lpop", "sadd", "expire", "zadd",
                     "flush", "append"]),
    st.integers(0, 5), st.binary(max_size=40)), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_the_running_total_is_the_sum_of_the_keys_costs(script):
    node, client = make_node()
    db = node.keyspace[0]
    for op, k, value in script:
        key = b"k%d" % k
        args = {"set": ("SET", key, value), "del": ("DEL", key),
                "hset": ("HSET", key, value or b"f", value), "hdel": ("HDEL", key, value or b"f"),
                "lpush": ("LPUSH", key, value), "lpop": ("LPOP", key),
                "sadd": ("SADD", key, value), "expire": ("EXPIRE", key, 100),
                "zadd": ("ZADD", key, 1, value), "flush": ("FLUSHALL",),
                "append": ("APPEND", key, value)}[op]
        run(client, *args)
        assert db.used == recount(db)
    usage = Usage(node)
    assert usage.used == usage.startup + usage.dataset + usage.hashtables + \
        usage.clients_normal + usage.clients_replicas + usage.backlog + usage.aof + \
        usage.functions


def test_used_memory_follows_the_dataset():
    node, client = make_node()
    empty = Usage(node).used
    for j in range(1000):
        run(client, "SET", b"key:%06d" % j, b"x" * 100)
    full = Usage(node).used
    per_key = (full - empty) / 1000
    assert 150 < per_key < 400          # 100-byte values and their keys, as CPython holds them
    run(client, "FLUSHALL")
    assert Usage(node).used == empty


def test_a_collection_is_repriced_as_it_grows():
    node, client = make_node()
    run(client, "RPUSH", "l", "a")
    small = node.keyspace[0].used
    for _ in range(100):
        run(client, "RPUSH", "l", b"y" * 50)
    assert node.keyspace[0].used > small + 100 * 50
    assert run(client, "MEMORY", "USAGE", "l") > 100 * 50


# -- LFU ----------------------------------------------------------------------------------
def test_lfu_counter_grows_logarithmically():
    counter = evict.LFU_INIT_VAL
    rng = random.Random(1)
    for _ in range(100_000):
        counter = evict.lfu_increment(counter, 10, rng.random())
    # Redis's table for lfu-log-factor 10: about 18 after 100 hits, 142 after 100K ... 255 at 1M
    assert 100 <= counter <= 180
    assert evict.lfu_increment(255, 10, 0.0) == 255
    assert evict.lfu_increment(5, 10, 0.999) == 6      # at or below LFU_INIT_VAL: always


def test_lfu_decays_one_step_per_period():
    now = 1_800_000_000_000
    word = (evict.lfu_minutes(now) << 8) | 20
    assert evict.lfu_decayed(word, now, 1) == 20
    assert evict.lfu_decayed(word, now + 5 * 60_000, 1) == 15
    assert evict.lfu_decayed(word, now + 5 * 60_000, 2) == 18
    assert evict.lfu_decayed(word, now + 50 * 60_000, 1) == 0
    assert evict.lfu_decayed(word, now + 50 * 60_000, 0) == 20     # lfu-decay-time 0: never


def test_object_freq_counts_accesses_under_lfu():
    node, client = make_node(maxmemory_policy="allkeys-lfu", lfu_log_factor=0)
    run(client, "SET", "k", "v")
    assert run(client, "OBJECT", "FREQ", "k") == 5
    for _ in range(10):
        run(client, "GET", "k")
    assert run(client, "OBJECT", "FREQ", "k") == 15      # log factor 0: every access counts


# -- the pool -----------------------------------------------------------------------------
def filled(n=200, ttl_every=0):
    ks = Keyspace(2)
    ks.set_time(1_800_000_000_000)
    for j in range(n):
        ks[0].store(b"k%d" % j, b"v")
        if ttl_every and j % ttl_every == 0:
            ks[0].set_expire(b"k%d" % j, ks.now_ms + 1000 * (j + 1))
    return ks


def test_lru_picks_the_most_idle_keys_first():
    ks = filled()
    db = ks[0]
    for j in range(200):
        db.lru[b"k%d" % j] = ks.lru_clock - (1000 if j < 20 else 0)
    ev = evict.Evictor(ks, random.Random(3))
    firsts = []
    for _ in range(10):
        _db, key = ev.pick("allkeys-lru", 10)
        db.delete(key)
        firsts.append(int(key[1:]))
    # sampling 10 of 200 keys a pick, with a pool of 16 kept across picks (random
    # picks would find about one of the 20 idle keys in 10)
    assert sum(j < 20 for j in firsts) >= 4


def test_volatile_policies_pick_only_keys_with_a_ttl_and_ttl_the_nearest():
    ks = filled(ttl_every=4)
    ev = evict.Evictor(ks, random.Random(5))
    for policy in ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"):
        _db, key = ev.pick(policy, 5)
        assert key in ks[0].expires
    ttl_picks = []
    for _ in range(5):
        db, key = ev.pick("volatile-ttl", 50)
        ttl_picks.append(int(key[1:]))
        db.delete(key)
    assert ttl_picks == [0, 4, 8, 12, 16]


def test_nothing_to_pick():
    ks = filled(ttl_every=0)
    ev = evict.Evictor(ks, random.Random(5))
    assert ev.pick("volatile-random", 5) is None
    assert ev.pick("volatile-lru", 5) is None
    ks[0].flush()
    assert ev.pick("allkeys-random", 5) is None


def test_tenacity_time_limits():
    assert time_limit_us(10) == 500
    assert time_limit_us(0) == 0
    assert 500 < time_limit_us(50) < 500 * 1.15 ** 41
    assert time_limit_us(100) > 10 ** 15


# -- the gate -----------------------------------------------------------------------------
def test_noeviction_refuses_denyoom_and_queued_commands():
    node, client = make_node()
    run(client, "SET", "k", "v")
    run(client, "CONFIG", "SET", "maxmemory", 1)
    assert run(client, "SET", "a", "b") .message == OOM
    assert run(client, "GET", "k") == b"v"
    assert run(client, "MULTI") == b"OK"
    assert run(client, "GET", "k") .message == OOM
    assert run(client, "DISCARD") == b"OK"
    assert node.stats.evicted_keys == 0


def test_allkeys_lru_evicts_and_propagates_dels():
    node, client = make_node(maxmemory_policy="allkeys-lru")
    fed = []
    node.propagator.feed = lambda db, argv: fed.append(argv)
    for j in range(10):
        run(client, "SET", b"k%d" % j, "v")
    fed.clear()
    run(client, "CONFIG", "SET", "maxmemory", 1)
    assert node.evicting
    node.cron()
    assert len(node.keyspace[0].data) == 0
    assert sorted(argv[1] for argv in fed if argv[0] == b"DEL") == sorted(
        b"k%d" % j for j in range(10))
    assert node.stats.evicted_keys == 10
    assert run(client, "SET", "a", "b") .message == OOM     # nothing left to evict
    run(client, "CONFIG", "SET", "maxmemory", 0)
    assert run(client, "SET", "a", "b") == b"OK"


def test_lists_and_other_values_are_priced():
    assert memory.value_cost(deque()) > 0
    assert memory.value_cost(deque([b"a" * 100] * 10)) > 10 * 100
    assert memory.key_cost(b"k", b"v" * 100) == memory.obj(1) + memory.obj(100)


def test_invalidations_wait_until_the_eviction_round_ends(monkeypatch):
    """Each evicted key sends an invalidation to ten tracking clients: were they queued
    during the round, their output would outgrow what the round frees, and it would
    empty the database (Redis's 'no eviction feedback loop' rule)."""
    queued_during = []
    real_evict_key = eviction.evict_key

    def evict_key(node, db, key):
        queued_during.append(sum(len(t.pushes) for t in trackers))
        return real_evict_key(node, db, key)
    monkeypatch.setattr(eviction, "evict_key", evict_key)
    node, writer = make_node(maxmemory_policy="allkeys-lru",
                             maxmemory_eviction_tenacity=100)     # one round, untimed
    trackers = [node.new_client() for _ in range(10)]
    for t in trackers:
        run(t, "HELLO", 3)
        run(t, "CLIENT", "TRACKING", "on")
    for j in range(300):
        key = b"%d" % j + b"x" * 1000
        run(writer, "SET", key, "x")
        for t in trackers:
            run(t, "GET", key)
    node.set_time(node.now_ms + 5000)         # older clients: 1 KiB reply buffers
    used = Usage(node).used
    run(writer, "CONFIG", "SET", "maxmemory", used - 40000)
    run(writer, "PING")                       # the round runs before PING
    assert 200 <= len(node.keyspace[0].data) <= 290
    assert 10 <= node.stats.evicted_keys <= 100
    assert queued_during and not any(queued_during)   # none while the round ran
    assert all(t.pushes for t in trackers)    # then the invalidations went out
