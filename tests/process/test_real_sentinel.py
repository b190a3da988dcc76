"""The real redis-sentinel 7.0.15 watching OUR nodes (one primary, two replicas, each started
from a config file): it discovers the replicas from INFO and the other sentinels over
__sentinel__:hello, and on kill -9 of the primary it promotes one of our replicas (MULTI,
REPLICAOF NO ONE, CONFIG REWRITE, CLIENT KILL ..., EXEC), re-points the other one, publishes
+switch-master, and turns the restarted old primary into a replica (+convert-to-slave);
redis-py's Sentinel.master_for writes again, with every acknowledged write kept."""
from __future__ import annotations

import re
import time

import pytest
import redis

from tests.real_sentinel_lab import (NAME, SentinelLab, client, kill9, replication,
                                     write_until_ok)
from tests.support import wait_until

FAILOVER_BOUND = 30.0        # kill -> write again (down-after is 1 s; typically ~2-4 s)
CONVERT_BOUND = 45.0         # sentinel waits 8 s + an INFO period before +convert-to-slave


@pytest.fixture()
def lab(tmp_path):
    with SentinelLab(tmp_path, "ours") as lab:
        yield lab


def _listen(port: int, *channels: str):
    ps = client(port).pubsub(ignore_subscribe_messages=True)
    ps.subscribe(*channels)
    confirmed = set()

    def all_confirmed():
        m = ps.parse_response(block=False, timeout=0.05)
        if m and m[0] == b"subscribe":
            confirmed.add(m[1])
        return len(confirmed) == len(channels)
    wait_until(all_confirmed, 5, message="subscribed")
    return ps


def _messages(ps, into: list) -> list:
    while (m := ps.get_message(timeout=0.01)) is not None:
        if m["type"] == "message":
            into.append((m["channel"].decode(), m["data"].decode()))
    return into


def _wait_event(listeners, seen: list, channel: str, timeout: float) -> None:
    def arrived():
        for ps in listeners:
            _messages(ps, seen)
        return any(c == channel for c, _ in seen)
    wait_until(arrived, timeout, message=channel)


def _follows(port: int, primary_port: int) -> bool:
    info = replication(port)
    return (info["role"] == "slave" and info["master_port"] == primary_port
            and info["master_link_status"] == "up")


def test_sentinel_sees_what_it_parses_in_our_info(lab):
    primary, r1, r2 = lab.nodes
    server = client(primary.port).info("server")
    assert re.fullmatch(r"[0-9a-f]{40}", server["run_id"])
    assert server["redis_version"] == "7.0.15" and server["tcp_port"] == primary.port
    assert server["uptime_in_seconds"] >= 0
    s = client(lab.sentinels[0].port)
    master = s.sentinel_master(NAME)
    assert master["runid"] == server["run_id"] and master["role-reported"] == "master"
    assert master["num-slaves"] == 2 and master["num-other-sentinels"] == 2
    wait_until(lambda: all(x["master-link-status"] == "ok" and x["runid"]
                           for x in s.sentinel_slaves(NAME)), 15, interval=0.1,
               message="replica runids and link status known")
    replicas = {x["port"]: x for x in s.sentinel_slaves(NAME)}
    assert set(replicas) == {r1.port, r2.port}
    for node in (r1, r2):
        x = replicas[node.port]
        assert x["runid"] == client(node.port).info("server")["run_id"]
        assert x["role-reported"] == "slave" and x["is_slave"]
        assert x["master-host"] == "127.0.0.1" and x["master-port"] == primary.port
        assert x["slave-priority"] == 100 and x["replica-announced"] == "1"
        assert x["slave-repl-offset"] >= 0
    for node in (r1, r2):      # sentinels PUBLISH hellos to replicas too: not propagated
        assert client(node.port).publish("__sentinel__:hello", "x" * 100) >= 2
        info = replication(node.port)
        assert info["master_repl_offset"] == info["slave_repl_offset"]
        assert info["repl_backlog_histlen"] == (info["master_repl_offset"] + 1
                                                - info["repl_backlog_first_byte_offset"])
    sentinels = s.sentinel_sentinels(NAME)
    assert {x["port"] for x in sentinels} == {x.port for x in lab.sentinels[1:]}


def test_real_sentinel_fails_over_our_nodes(lab):
    old, r1, r2 = lab.nodes
    listeners = [_listen(s.port, "+switch-master", "+convert-to-slave") for s in lab.sentinels]
    seen: list = []
    sentinel = lab.sentinel_client()
    master = sentinel.master_for(NAME, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert sentinel.discover_master(NAME) == ("127.0.0.1", old.port)
    for i in range(200):
        master.set(f"k{i}", i)
    assert master.execute_command("WAIT", 2, 5000) == 2        # both replicas have them

    kill9(old)
    start = time.monotonic()
    took = write_until_ok(master, "after", "1", FAILOVER_BOUND) - start
    assert took < FAILOVER_BOUND

    new_host, new_port = sentinel.discover_master(NAME)
    assert new_port in (r1.port, r2.port)                     # one of OUR replicas
    promoted, other = (r1, r2) if new_port == r1.port else (r2, r1)
    _wait_event(listeners, seen, "+switch-master", 10)
    assert (("+switch-master", f"{NAME} 127.0.0.1 {old.port} 127.0.0.1 {new_port}")
            in seen)
    p = client(new_port)
    assert p.info("replication")["role"] == "master"
    assert [p.get(f"k{i}") for i in range(200)] == [str(i).encode() for i in range(200)]
    assert p.get("after") == b"1"
    # CONFIG REWRITE (sent inside the MULTI) rewrote the promoted node's file: no replicaof
    text = promoted.conf.read_text()
    assert "# Generated by CONFIG REWRITE" in text and "replicaof" not in text

    # the other replica follows the new primary (a partial resync), and its file says so
    wait_until(lambda: _follows(other.port, new_port), 20, interval=0.1,
               message="other replica re-pointed")
    stats = p.info("stats")
    assert stats["sync_partial_ok"] == 1 and stats["sync_full"] == 0
    wait_until(lambda: f"replicaof 127.0.0.1 {new_port}" in other.conf.read_text(), 10)

    # the old primary comes back (same port) and is turned into a replica of the new one
    old.start()
    wait_until(lambda: _follows(old.port, new_port), CONVERT_BOUND, interval=0.2,
               message="old primary converted to a replica")
    _wait_event(listeners, seen, "+convert-to-slave", 10)
    assert any(c == "+convert-to-slave" and f"127.0.0.1 {old.port} @ {NAME}" in d
               for c, d in seen)
    wait_until(lambda: client(old.port).get("k199") == b"199", 10, message="resynced")

    role = p.execute_command("ROLE")
    assert role[0] == b"master"
    wait_until(lambda: {int(x[1]) for x in p.execute_command("ROLE")[2]}
               == {old.port, other.port}, 10, message="ROLE lists both replicas")
    master.set("later", "2")
    assert master.execute_command("WAIT", 2, 5000) == 2
    wait_until(lambda: all(client(n.port).get("later") == b"2" for n in (old, other)), 10)
    for ps in listeners:
        ps.close()
    with pytest.raises(redis.ReadOnlyError):
        client(old.port).set("x", "y")


def test_real_sentinel_kills_a_busy_script_on_our_primary(lab):
    """A script stuck on the primary: PING gets -BUSY, the primary goes SDOWN, and the
    sentinel sends SCRIPT KILL, which our node honours (the EVAL caller gets the error)."""
    primary = lab.nodes[0]
    client(primary.port).config_set("busy-reply-threshold", 100)
    stuck = redis.Redis(port=primary.port, socket_timeout=20)
    start = time.monotonic()
    with pytest.raises(redis.ResponseError, match="Script killed by user with SCRIPT KILL"):
        stuck.eval("local i = 0 while true do i = i + 1 end", 0)
    assert time.monotonic() - start < 20
    assert client(primary.port).ping()
