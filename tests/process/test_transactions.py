"""MULTI/EXEC/DISCARD/WATCH/UNWATCH over real sockets: redis-py, raw RESP, redis-cli.

Raw sequences run on our node and on a real redis-server 7.0.15 side by side.
"""
from __future__ import annotations

import itertools

import pytest
import redis

from tests.support import redis_cli, side_by_side, wait_until


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request):
    return request.param


_serial = itertools.count()


def fresh(name: str) -> str:
    """A key name no earlier test used (the servers live for the whole module)."""
    return f"{name}:{next(_serial)}"


@pytest.fixture
def clients(pair, protocol):
    """Two redis-py clients on our node, speaking `protocol`."""
    made = [redis.Redis(port=pair[0].port, protocol=protocol, socket_timeout=10)
            for _ in range(2)]
    yield made
    for c in made:
        c.close()


# -- redis-py ------------------------------------------------------------------------
def test_pipeline_transaction(clients):
    r, _ = clients
    a, b, s = fresh("a"), fresh("b"), fresh("s")
    with r.pipeline(transaction=True) as pipe:
        pipe.set(a, "1").incr(a).get(a)
        pipe.set(s, "x").incr(s)
        with pytest.raises(redis.ResponseError, match="not an integer"):
            pipe.execute()
    assert r.get(a) == b"2" and r.get(s) == b"x"
    with r.pipeline(transaction=True) as pipe:
        assert pipe.set(b, "x").get(b).execute() == [True, b"x"]
    with r.pipeline(transaction=True) as pipe:
        results = pipe.set(s, "x").incr(s).get(s).execute(raise_on_error=False)
    assert results[0] is True and isinstance(results[1], redis.ResponseError)
    assert results[2] == b"x"


def test_watch_multi_exec_with_pipeline(clients):
    r, other = clients
    counter = fresh("counter")
    r.set(counter, 10)
    with r.pipeline() as pipe:
        pipe.watch(counter)
        value = int(pipe.get(counter))
        pipe.multi()
        pipe.set(counter, value + 1)
        assert pipe.execute() == [True]
    assert r.get(counter) == b"11"
    with r.pipeline() as pipe:
        pipe.watch(counter)
        other.set(counter, 100)
        pipe.multi()
        pipe.set(counter, 0)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get(counter) == b"100"


def test_transaction_helper_retries_until_unbroken(clients):
    r, other = clients
    n = fresh("n")
    r.set(n, 1)
    attempts = []

    def bump(pipe):
        value = int(pipe.get(n))
        attempts.append(value)
        if len(attempts) == 1:
            other.set(n, 5)              # breaks the first attempt only
        pipe.multi()
        pipe.set(n, value * 2)
    assert r.transaction(bump, n) == [True]
    assert attempts == [1, 5] and r.get(n) == b"10"


def test_queue_time_error_discards_the_transaction(clients):
    r, _ = clients
    k = fresh("k")
    with r.pipeline(transaction=True) as pipe:
        pipe.set(k, "v")
        pipe.execute_command("SET", k)
        with pytest.raises(redis.ResponseError) as info:
            pipe.execute()
    assert str(info.value) == (f"Command # 2 (SET {k}) of pipeline caused error: "
                               "wrong number of arguments for 'set' command")
    assert r.get(k) is None


# -- raw sequences, side by side -------------------------------------------------------
SEQUENCES = {
    "basic": [["SET", "tk", "0"], ["MULTI"], ["SET", "tk", "1"], ["INCR", "tk"], ["GET", "tk"],
              ["EXEC"]],
    "nesting-and-watch-inside": [["MULTI"], ["MULTI"], ["WATCH", "tk"], ["PING"],
                                 ["EXEC"], ["EXEC"], ["DISCARD"]],
    "execabort-arity": [["MULTI"], ["SET", "tk"], ["SET", "tk", "2"], ["EXEC"],
                        ["GET", "tk"]],
    "execabort-unknown": [["MULTI"], ["NO-SUCH-CMD", "a"], ["EXEC"], ["EXEC"]],
    "exec-bad-arity": [["WATCH", "tk"], ["MULTI"], ["EXEC", "x"], ["EXEC"]],
    "exec-bad-arity-outside": [["EXEC", "x"], ["MULTI", "x"], ["DISCARD", "x"]],
    "runtime-error-inside": [["SET", "tk", "x"], ["MULTI"], ["INCR", "tk"], ["SET", "tk", "y"],
                             ["EXEC"], ["GET", "tk"]],
    "discard": [["SET", "tk", "a"], ["MULTI"], ["SET", "tk", "b"], ["DISCARD"], ["GET", "tk"],
                ["EXEC"]],
    "own-write-breaks-watch": [["WATCH", "tk"], ["SET", "tk", "z"], ["MULTI"], ["GET", "tk"],
                               ["EXEC"]],
    "unwatch": [["WATCH", "tk"], ["SET", "tk", "z"], ["UNWATCH"], ["MULTI"], ["GET", "tk"],
                ["EXEC"]],
    "unwatch-queued": [["WATCH", "tk"], ["MULTI"], ["UNWATCH"], ["EXEC"]],
    "watch-arity": [["WATCH"], ["UNWATCH", "x"]],
    "empty": [["MULTI"], ["EXEC"]],
    "select-inside": [["MULTI"], ["SELECT", "1"], ["SET", "tk", "db1"], ["SELECT", "0"],
                      ["EXEC"], ["SELECT", "1"], ["GET", "tk"], ["SET", "tk", "-"]],
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_raw_sequence_matches_redis(pair, protocol, name):
    ours, real = side_by_side(pair, SEQUENCES[name], protocol)
    assert ours == real


def test_null_array_bytes(pair, protocol):
    commands = [["SET", "nk", "1"], ["WATCH", "nk"], ["SET", "nk", "2"], ["MULTI"],
                ["GET", "nk"], ["EXEC"]]
    ours, real = side_by_side(pair, commands, protocol)
    assert ours[-1] == (b"*-1\r\n" if protocol == 2 else b"_\r\n")
    assert ours == real


# -- what breaks a WATCH -----------------------------------------------------------------
def watch_outcome(port, protocol, setup, change, key):
    """Set up `key` ("wk" in the commands), WATCH it, let another client `change` things,
    then MULTI/GET/EXEC."""
    r = redis.Redis(port=port, protocol=protocol, socket_timeout=10)
    other = redis.Redis(port=port, socket_timeout=10)
    try:
        for args in setup:
            other.execute_command(*[key if a == "wk" else a for a in args])
        r.execute_command("WATCH", key)
        for args in change:
            other.execute_command(*[key if a == "wk" else a for a in args])
        r.execute_command("MULTI")
        r.execute_command("GET", key)
        return r.execute_command("EXEC")
    finally:
        r.close()
        other.close()


BREAKERS = {
    "set": ([["SET", "wk", "v"]], [["SET", "wk", "v"]], True),
    "set-on-missing": ([], [["SET", "wk", "v"]], True),
    "del": ([["SET", "wk", "v"]], [["DEL", "wk"]], True),
    "del-missing": ([], [["DEL", "wk"]], False),
    "expire": ([["SET", "wk", "v"]], [["EXPIRE", "wk", "100"]], True),
    "expire-missing": ([], [["EXPIRE", "wk", "100"]], False),
    "flushdb": ([["SET", "wk", "v"]], [["FLUSHDB"]], True),
    "flushdb-missing": ([["SET", "other", "v"]], [["FLUSHDB"]], False),
    "flushall": ([["SET", "wk", "v"]], [["FLUSHALL"]], True),
    "swapdb": ([["SET", "wk", "v"]], [["SWAPDB", "0", "1"]], True),
    "swapdb-into": ([["SELECT", "1"], ["SET", "wk", "v"], ["SELECT", "0"]],
                    [["SWAPDB", "0", "1"]], True),
    "swapdb-missing-both": ([], [["SWAPDB", "0", "1"]], False),
    "other-db": ([], [["SELECT", "1"], ["SET", "wk", "v"], ["SELECT", "0"]], False),
    "other-key": ([["SET", "wk", "v"]], [["SET", "wk2", "v"]], False),
}


@pytest.mark.parametrize("name", sorted(BREAKERS))
def test_what_breaks_a_watch_matches_redis(pair, protocol, name):
    setup, change, breaks = BREAKERS[name]
    key = fresh("wk")
    ours = watch_outcome(pair[0].port, protocol, setup, change, key)
    real = watch_outcome(pair[1].port, protocol, setup, change, key)
    assert ours == real
    assert (ours is None) == breaks


def _server_ms(client) -> int:
    sec, usec = client.execute_command("TIME")
    return int(sec) * 1000 + int(usec) // 1000


def expiry_outcome(port, protocol, ttl_ms, watch_before_expiry):
    r = redis.Redis(port=port, protocol=protocol, socket_timeout=10)
    key = fresh("ek")
    try:
        deadline = _server_ms(r) + ttl_ms
        r.execute_command("SET", key, "v", "PX", ttl_ms)
        if watch_before_expiry:
            r.execute_command("WATCH", key)
        wait_until(lambda: _server_ms(r) > deadline + 5, 5, message="expiry time")
        if not watch_before_expiry:
            r.execute_command("WATCH", key)
        r.execute_command("MULTI")
        r.execute_command("GET", key)
        return r.execute_command("EXEC")
    finally:
        r.close()


@pytest.mark.parametrize("watch_before_expiry", [True, False], ids=["expires-later",
                                                                     "already-expired"])
def test_expiry_and_watch_match_redis(pair, protocol, watch_before_expiry):
    """A key expiring after WATCH breaks it; one already expired at WATCH does not."""
    ttl = 250 if watch_before_expiry else 30   # room for a slow machine between SET and WATCH
    ours = expiry_outcome(pair[0].port, protocol, ttl, watch_before_expiry)
    real = expiry_outcome(pair[1].port, protocol, ttl, watch_before_expiry)
    assert ours == real
    assert (ours is None) == watch_before_expiry


def test_redis_cli_transaction_matches_redis(pair):
    script = ("SET ck 0\nMULTI\nSET ck 1\nINCR ck\nMULTI\nEXEC\nEXEC\nDISCARD\n"
              "MULTI\nSET ck\nEXEC\n")
    ours = redis_cli(pair[0].port, stdin=script)
    real = redis_cli(pair[1].port, stdin=script)
    assert "QUEUED" in ours and "EXECABORT" in ours
    assert ours == real
