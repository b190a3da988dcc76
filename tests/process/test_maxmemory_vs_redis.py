"""maxmemory side by side with a real redis-server 7.0.15: the OOM refusals, every
eviction policy keeping a filled node under its limit, which keys each policy prefers to
evict (idle ones, rare ones, soon-expiring ones, never a key without a TTL under
volatile-*), the evicted keyspace events and the DELs a replica receives."""
from __future__ import annotations

import contextlib

import pytest
import redis

from tests.support import assert_same_replies, node_process, wait_until

POLICIES = ("allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl")


@contextlib.contextmanager
def limited(server, **settings):
    """A client on a flushed server with CONFIG settings restored afterwards."""
    with redis.Redis(port=server.port, socket_timeout=20) as r:
        r.flushall()
        r.config_resetstat()
        try:
            for name, value in settings.items():
                r.config_set(name.replace("_", "-"), value)
            yield r
        finally:
            r.config_set("maxmemory", 0)
            r.config_set("maxmemory-policy", "noeviction")
            r.config_set("notify-keyspace-events", "")
            r.flushall()


def used(r) -> int:
    return int(r.info("memory")["used_memory"])


def test_oom_refusals_are_redis_s(pair):
    for server in pair:
        with redis.Redis(port=server.port) as r:
            r.flushall()
            r.set("k", "v")
    script_allow = "#!lua flags=allow-oom\nreturn redis.call('set', 'y', '1')"
    script_plain = "#!lua\nreturn redis.call('set', 'y', '1')"
    script_ro = "#!lua flags=no-writes\nreturn redis.call('get', 'k')"
    commands = [
        ["CONFIG", "SET", "maxmemory", "1"],
        ["SET", "a", "b"],                       # denyoom: refused
        ["GET", "k"],                            # reads go on
        ["DEL", "k"],                            # DEL is not denyoom
        ["MULTI"], ["GET", "k"], ["EXEC"],       # anything queued is refused: EXECABORT
        ["MULTI"], ["DISCARD"],
        ["EVAL", "return redis.call('set', 'x', 1)", "0"],    # first write refused inside
        ["EVAL", "return redis.call('get', 'x')", "0"],
        ["EVAL", script_plain, "0"],             # flags, no allow-oom: refused up front
        ["EVAL", script_allow, "0"],             # allow-oom: runs
        ["EVAL", script_ro, "0"],
        ["CONFIG", "SET", "maxmemory", "0"],
        ["SET", "a", "b"],
        ["FLUSHALL"],
    ]
    assert_same_replies(pair, commands)
    for server in pair:
        with redis.Redis(port=server.port) as r:
            stats = r.info("errorstats")
        assert stats["errorstat_OOM"]["count"] >= 3, server


def _fill_then_more(r, volatile_every: int = 1) -> tuple[int, int, int]:
    """Redis's own 'is the memory limit honoured' check: fill to 100 KB above what is
    used, then as many keys again. Returns (limit, keys written, OOM errors)."""
    limit = used(r) + 100 * 1024
    r.config_set("maxmemory", limit)
    n = 0
    while used(r) + 4096 <= limit:
        if n % volatile_every == 0:
            r.setex(f"key:{n}", 10000, "x")
        else:
            r.set(f"key:{n}", "x")
        n += 1
        assert n < 100000
    errors = 0
    for j in range(n):
        try:
            r.setex(f"more:{j}", 10000, "x")
        except redis.exceptions.ResponseError as err:
            assert "used memory > 'maxmemory'" in str(err)
            errors += 1
    return limit, n, errors


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_keeps_under_the_limit(pair, policy):
    outcome = []
    for server in pair:
        with limited(server, maxmemory_policy=policy) as r:
            limit, n, errors = _fill_then_more(r)
            assert n > 10
            assert used(r) < limit + 4096, server
            evicted = int(r.info("stats")["evicted_keys"])
            assert evicted > 0, server
            outcome.append(errors)
    assert outcome == [0, 0]


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_a_ttl(pair, policy):
    for server in pair:
        with limited(server, maxmemory_policy=policy) as r:
            limit, n, _errors = _fill_then_more(r, volatile_every=2)
            assert used(r) < limit + 4096, server
            persistent = [f"key:{j}" for j in range(1, n, 2)]    # even ones have a TTL
            assert r.exists(*persistent) == len(persistent), server


def test_noeviction_and_volatile_without_ttls_refuse_writes(pair):
    for policy in ("noeviction", "volatile-lru"):
        for server in pair:
            with limited(server, maxmemory_policy=policy) as r:
                limit = used(r) + 50 * 1024
                r.config_set("maxmemory", limit)
                with pytest.raises(redis.exceptions.ResponseError,
                                   match="command not allowed when used memory"):
                    for j in range(100000):
                        r.set(f"k{j}", "x" * 100)
                assert int(r.info("stats")["evicted_keys"]) == 0


def _preference(r, old_args, new_args, extra=(), samples=10):
    """Restore 200 keys 'old:*' and 200 'new:*' with RESTORE options (and TTLs), set a
    limit that makes room for about 150 keys, and return the survivors (old, new)."""
    r.config_set("maxmemory-samples", samples)
    r.set("seed", "v" * 2000)       # values big enough that they are most of the memory
    payload = r.dump("seed")
    r.delete("seed")
    ttl_old, ttl_new = extra or (0, 0)
    before = used(r)
    for j in range(200):
        r.execute_command("RESTORE", f"old:{j}", ttl_old, payload, *old_args)
        r.execute_command("RESTORE", f"new:{j}", ttl_new, payload, *new_args)
    after = used(r)
    per_key = (after - before) / 400
    r.config_set("maxmemory", int(after - per_key * 150))
    wait_until(lambda: r.ping() and r.dbsize() <= 260, timeout=10)
    old = sum(r.exists(f"old:{j}") for j in range(200))
    new = sum(r.exists(f"new:{j}") for j in range(200))
    return old, new


def _restore_args(kind: str, old: bool):
    if kind == "lru":
        return ["IDLETIME", 100000 if old else 0]
    return ["FREQ", 0 if old else 100]


@pytest.mark.parametrize("kind", ["lru", "lfu"])
def test_approximated_lru_and_lfu_prefer_the_right_keys(pair, kind):
    for server in pair:
        with limited(server, maxmemory_policy=f"allkeys-{kind}") as r:
            old, new = _preference(r, _restore_args(kind, True), _restore_args(kind, False))
            gone_old, gone_new = 200 - old, 200 - new
            assert gone_old >= 100 and gone_new <= 0.15 * gone_old, (server, kind, old, new)


def test_volatile_ttl_prefers_the_nearest_expiry(pair):
    for server in pair:
        with limited(server, maxmemory_policy="volatile-ttl") as r:
            old, new = _preference(r, [], [], extra=(100_000, 10_000_000))
            gone_old, gone_new = 200 - old, 200 - new
            assert gone_old >= 100 and gone_new <= 0.15 * gone_old, (server, old, new)


def test_evicted_keys_are_notified(pair):
    counts = []
    for server in pair:
        with limited(server, maxmemory_policy="allkeys-random",
                     notify_keyspace_events="Ee") as r:
            for j in range(50):
                r.set(f"k{j}", "x" * 100)
            with redis.Redis(port=server.port, socket_timeout=10) as sub_conn:
                sub = sub_conn.pubsub()
                sub.subscribe("__keyevent@0__:evicted")
                assert sub.get_message(timeout=5)["type"] == "subscribe"
                r.config_set("maxmemory", 1)
                wait_until(lambda: r.dbsize() == 0, timeout=10)
                events = []
                while len(events) < 50:
                    msg = sub.get_message(timeout=5)
                    assert msg is not None, (server, len(events))
                    events.append(msg["data"])
                sub.close()
            counts.append(sorted(events) == sorted(b"k%d" % j for j in range(50)))
            assert int(r.info("stats")["evicted_keys"]) == 50
    assert counts == [True, True]


def test_a_replica_gets_the_evictions_as_dels(tmp_path):
    with node_process(tmp_path / "p") as primary, node_process(tmp_path / "r") as replica:
        with redis.Redis(port=primary.port) as p, redis.Redis(port=replica.port) as rep:
            rep.replicaof("127.0.0.1", primary.port)
            for j in range(100):
                p.set(f"k{j}", "x" * 100)
            wait_until(lambda: rep.dbsize() == 100, timeout=20)
            # the replica ignores maxmemory: a limit of 1 byte evicts nothing there
            rep.config_set("maxmemory", 1)
            rep.config_set("maxmemory-policy", "allkeys-random")
            rep.ping()
            assert rep.dbsize() == 100
            p.config_set("maxmemory-policy", "allkeys-lru")
            p.config_set("maxmemory", 1)
            wait_until(lambda: p.dbsize() == 0, timeout=10)
            wait_until(lambda: rep.dbsize() == 0, timeout=20)
            assert int(p.info("stats")["evicted_keys"]) == 100
            assert int(rep.info("stats")["evicted_keys"]) == 0
