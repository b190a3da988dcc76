"""CLIENT PAUSE / CLIENT UNPAUSE against our node and a real redis-server side by side:
errors, what waits (WRITE: write commands, EXEC with writes; ALL: everything) and
what does not, and postponed commands resuming in order when the pause ends."""
from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.support import assert_same_replies


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _both(pair):
    return [redis.Redis(port=p.port, socket_timeout=10) for p in pair]


def test_errors_match_redis(pair):
    assert_same_replies(pair, [
        [b"CLIENT", b"PAUSE"],
        [b"CLIENT", b"PAUSE", b"abc"],
        [b"CLIENT", b"PAUSE", b"-1"],
        [b"CLIENT", b"PAUSE", b"1.5"],
        [b"CLIENT", b"PAUSE", b"10", b"foo"],
        [b"CLIENT", b"PAUSE", b"abc", b"foo"],
        [b"CLIENT", b"PAUSE", b"10", b"write", b"extra"],
        [b"CLIENT", b"PAUSE", b"0"],
        [b"CLIENT", b"UNPAUSE", b"x"],
        [b"CLIENT", b"UNPAUSE"],
    ])


def _timed(fn):
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


@pytest.mark.parametrize("which", [0, 1], ids=["ours", "redis"])
def test_write_pause_holds_writes_not_reads(pair, which):
    c = _both(pair)[which]
    c.set("pk", "v0")
    assert c.client_pause(400, all=False) is True
    try:
        value, took = _timed(lambda: c.get("pk"))
        assert value == b"v0" and took < 0.2
        _, took = _timed(lambda: c.set("pk", "v1"))
        assert took >= 0.2
        assert c.get("pk") == b"v1"
        # A transaction of reads only runs; a queued write waits at queueing time.
        c.client_pause(300, all=False)
        pipe = c.pipeline(transaction=True)
        pipe.get("pk")
        value, took = _timed(pipe.execute)
        assert value == [b"v1"] and took < 0.2
    finally:
        c.client_unpause()


@pytest.mark.parametrize("which", [0, 1], ids=["ours", "redis"])
def test_all_pause_holds_reads_and_kind_only_grows(pair, which):
    c = _both(pair)[which]
    c.client_pause(600, all=False)
    c.client_pause(50, all=True)          # ALL now, still until the later end
    try:
        _, took = _timed(lambda: c.get("pk"))
        assert took >= 0.45
    finally:
        c.client_unpause()


@pytest.mark.parametrize("which", [0, 1], ids=["ours", "redis"])
def test_unpause_releases_postponed_writes_in_order(pair, which):
    port = pair[which].port
    admin = redis.Redis(port=port, socket_timeout=10)
    admin.delete("order")
    admin.client_pause(20_000, all=False)
    writers = [redis.Redis(port=port, socket_timeout=10) for _ in range(4)]
    done = []
    threads = []
    try:
        for i, w in enumerate(writers):
            t = threading.Thread(target=lambda w=w, i=i: done.append(w.rpush("order", i)))
            t.start()
            threads.append(t)
            # Each writer is postponed before the next one starts.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                blocked = [cl for cl in admin.client_list() if cl.get("cmd") == "rpush"]
                if len(blocked) == i + 1:
                    break
                time.sleep(0.01)
        assert done == [] and admin.llen("order") == 0
    finally:
        admin.client_unpause()
    for t in threads:
        t.join(5)
    assert sorted(done) == [1, 2, 3, 4]
    assert admin.lrange("order", 0, -1) == [b"0", b"1", b"2", b"3"]
