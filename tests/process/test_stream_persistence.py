"""Streams through every way a value leaves or enters a node, against a real
redis-server 7.0.15: DUMP / RESTORE both ways (payloads compared byte for byte), RDB
files both ways, restart from the RDB and from the AOF (with and without the RDB
preamble; the AOF also loaded by the real server), a full sync to a replica, MIGRATE
between two of our nodes and between ours and the real one."""
from __future__ import annotations

import shutil

import pytest
import redis

from tests.support import NodeProcess, RealRedis, running, wait_until

TIMEOUT = 20
DEBUG = ("--enable-debug-command", "yes")
KEYS = (b"s:plain", b"s:groups", b"s:holes", b"s:empty", b"s:edge", b"s:small")


def _r(server) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10)


def fill(r: redis.Redis) -> None:
    """The same streams on any server: explicit ids, explicit delivery times."""
    pipe = r.pipeline(transaction=False)
    for i in range(250):                     # XADDs alone: Redis's layout, many nodes
        fields = {"a": i, "b": "x" * (i % 40)} if i % 7 else {"c": "zz", "d": -i, "e": ""}
        pipe.xadd("s:plain", fields, id=f"{1000 + i // 3}-{i % 3}")
    for i in range(120):
        pipe.xadd("s:groups", {"temp": 20 + i % 9, "hum": f"{i}%"}, id=f"{5000 + i}-0")
    for i in range(300):
        pipe.xadd("s:holes", {"n": i, "pad": "p" * (i % 70)}, id=f"{9000 + i}-1")
    pipe.xadd("s:empty", {"x": "y"}, id="7-7")
    pipe.xadd("s:edge", {"f": "v"}, id="0-1")
    pipe.xadd("s:edge", {"9223372036854775807": "-9223372036854775808"},
              id="18446744073709551614-18446744073709551615")
    pipe.xadd("s:edge", {"f": "\x00\xff" * 3000}, id="18446744073709551615-0")
    pipe.execute()
    r.xgroup_create("s:groups", "readers", id="0")
    r.xgroup_create("s:groups", "late", id="$")
    r.execute_command("XGROUP", "CREATE", "s:groups", "counted", "5010-0", "ENTRIESREAD", "11")
    r.xreadgroup("readers", "alice", {"s:groups": ">"}, count=5)
    r.xreadgroup("readers", "bob", {"s:groups": ">"}, count=7)
    r.xack("s:groups", "readers", "5001-0", "5006-0")
    for n, (who, sid) in enumerate([("alice", "5003-0"), ("carol", "5008-0"),
                                    ("bob", "5000-0")]):
        r.xclaim("s:groups", "readers", who, 0, [sid], time=1700000000000 + n,
                 retrycount=n + 2, force=True, justid=True)
    r.xgroup_createconsumer("s:groups", "readers", "idle")
    r.xgroup_createconsumer("s:groups", "late", "")
    r.xdel("s:holes", *[f"{9000 + i}-1" for i in range(0, 300, 7)])
    r.xtrim("s:holes", minid="9033-1", approximate=False)
    r.xtrim("s:empty", maxlen=0, approximate=False)
    r.xgroup_create("s:empty", "g", id="$")
    r.execute_command("XSETID", "s:empty", "9-9", "ENTRIESADDED", "5", "MAXDELETEDID", "8-0")
    r.xadd("s:small", {"k": "v"}, id="1-1")


def state(r: redis.Redis, key, seen_times: bool = True, delivery_times: bool = True,
          layout: bool = True) -> dict:
    """What XINFO STREAM FULL and XRANGE say about a stream (without the consumers' seen
    times / the PELs' delivery times when those are the clock's, without the node
    counts when commands rebuilt the stream: the replay cuts its own nodes)."""
    info = r.execute_command("XINFO", "STREAM", key, "FULL")
    if not layout:
        del info[b"radix-tree-keys"], info[b"radix-tree-nodes"]
    for group in info[b"groups"]:
        if not delivery_times:
            group[b"pending"] = [[sid, name, count] for sid, name, _, count in group[b"pending"]]
        for consumer in group[b"consumers"]:
            if not seen_times:
                consumer.pop(b"seen-time")
            if not delivery_times:
                consumer[b"pending"] = [[sid, count] for sid, _, count in consumer[b"pending"]]
    return {"full": info, "range": r.xrange(key)}


def states(r: redis.Redis, exact: bool = True) -> dict:
    """Every stream's state; `exact` False: as far as a command replay keeps it (no
    seen times, no node layout)."""
    return {key: state(r, key, exact, True, exact) for key in KEYS}


@pytest.fixture(scope="module")
def real():
    with running(RealRedis(list(DEBUG))) as proc:
        yield proc


@pytest.fixture
def ours(tmp_path):
    with running(NodeProcess(tmp_path / "ours", list(DEBUG))) as proc:
        yield proc


@pytest.fixture
def filled_real(real):
    r = _r(real)
    r.flushall()
    fill(r)
    return r


# -- DUMP / RESTORE --------------------------------------------------------------------
def test_dump_restore_both_ways(ours, filled_real):
    rr, o = filled_real, _r(ours)
    for key in KEYS:
        payload = rr.dump(key)
        assert o.restore(key, 0, payload)
        mine = o.dump(key)
        if key != b"s:holes":
            # same layout as Redis's (XADDs only): byte for byte
            assert mine == payload, key
        assert state(o, key) == state(rr, key), key
        # and back: the real server reads ours, and writes it back unchanged
        rr.restore(b"back:" + key, 0, mine)
        assert rr.dump(b"back:" + key) == mine
        assert state(rr, b"back:" + key) == state(rr, key), key


def test_dumps_of_the_same_commands_are_byte_identical(ours, filled_real):
    o = _r(ours)
    fill(o)
    for key in KEYS:
        # s:holes: Redis keeps XDELed entries as tombstones, we do not;
        # s:groups: XREADGROUP's delivery times and seen times are each server's clock
        if key not in (b"s:holes", b"s:groups"):
            assert o.dump(key) == filled_real.dump(key), key
        assert state(o, key, False, False) == state(filled_real, key, False, False), key


@pytest.mark.parametrize("limits", [("5", "300"), ("0", "0"), ("1000", "100")])
def test_node_limits_are_followed_like_redis(ours, real, limits):
    rr, o = _r(real), _r(ours)
    rr.flushall()
    for server in (rr, o):
        server.config_set("stream-node-max-entries", limits[0])
        server.config_set("stream-node-max-bytes", limits[1])
    try:
        for server in (rr, o):
            for i in range(200):
                server.xadd("s", {"f": i, "g": "v" * (i % 50)} if i % 5 else {"h": i},
                            id=f"{i + 1}-0")
        assert o.dump("s") == rr.dump("s")
        # tombstones on their side, then more XADDs on both: the nodes still match
        rr.xdel("s", *[f"{i}-0" for i in range(150, 200, 3)])
        o.restore("s", 0, rr.dump("s"), replace=True)
        for server in (rr, o):
            for i in range(200, 260):
                server.xadd("s", {"f": i}, id=f"{i + 1}-0")
        assert state(o, "s") == state(rr, "s")
        rr.restore("s2", 0, o.dump("s"))
        assert state(rr, "s2")["full"][b"radix-tree-keys"] == \
            state(rr, "s")["full"][b"radix-tree-keys"]
    finally:
        for server in (rr, o):
            server.config_set("stream-node-max-entries", "100")
            server.config_set("stream-node-max-bytes", "4096")


def test_corrupt_payload_is_refused(ours, filled_real):
    o = _r(ours)
    payload = bytearray(filled_real.dump("s:groups"))
    payload[40] ^= 0xFF
    with pytest.raises(redis.ResponseError, match="checksum"):
        o.restore("x", 0, bytes(payload))
    assert not o.exists("x")


# -- RDB files ---------------------------------------------------------------------------
def test_rdb_files_both_ways(tmp_path, filled_real, real):
    expected = states(filled_real)
    filled_real.execute_command("SAVE")
    ours_dir = tmp_path / "ours"
    ours_dir.mkdir()
    shutil.copy(real.workdir + "/dump.rdb", ours_dir / "dump.rdb")
    with running(NodeProcess(ours_dir, list(DEBUG))) as ours:
        o = _r(ours)
        assert states(o) == expected
        o.execute_command("SAVE")
    back = RealRedis([*DEBUG, "--dbfilename", "ours.rdb"])
    shutil.copy(ours_dir / "dump.rdb", back.workdir + "/ours.rdb")
    with running(back):
        assert states(_r(back)) == expected


# -- restart from the AOF, and the AOF loaded by a real server ----------------------------------
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_aof_rewrite_and_restart(tmp_path, filled_real, preamble):
    args = [*DEBUG, "--appendonly", "yes", "--aof-use-rdb-preamble", preamble]
    # commands replayed set a consumer's seen time to the replay's time and cut their own
    # nodes (as in Redis)
    seen = preamble == "yes"
    directory = tmp_path / "ours"
    with running(NodeProcess(directory, args)) as ours:
        o = _r(ours)
        for key in KEYS:
            o.restore(key, 0, filled_real.dump(key))
        o.bgrewriteaof()
        wait_until(lambda: o.info("persistence")["aof_rewrites"] >= 1
                   and o.info("persistence")["aof_rewrite_in_progress"] == 0, TIMEOUT)
        o.xadd("s:small", {"after": "rewrite"}, id="2-0")
        expected = states(o, seen)
    with running(NodeProcess(directory, args)) as again:
        assert states(_r(again), seen) == expected
    real_dir = tmp_path / "real"
    shutil.copytree(directory / "appendonlydir", real_dir / "appendonlydir")
    with running(RealRedis([*args, "--dir", str(real_dir)])) as real:
        assert states(_r(real), seen) == expected


def test_real_aof_without_preamble_loads_here(tmp_path, filled_real, real):
    directory = tmp_path / "theirs"
    directory.mkdir()
    args = [*DEBUG, "--appendonly", "yes", "--aof-use-rdb-preamble", "no"]
    with running(RealRedis([*args, "--dir", str(directory)])) as theirs:
        t = _r(theirs)
        for key in KEYS:
            t.restore(key, 0, filled_real.dump(key))
        t.bgrewriteaof()
        wait_until(lambda: t.info("persistence")["aof_rewrites"] >= 1
                   and t.info("persistence")["aof_rewrite_in_progress"] == 0, TIMEOUT)
        wait_until(lambda: t.info("persistence")["aof_buffer_length"] == 0, TIMEOUT)
        expected = states(t, exact=False)
    with running(NodeProcess(directory, args)) as ours:
        assert states(_r(ours), exact=False) == expected


# -- full sync -------------------------------------------------------------------------------
def test_full_sync_to_a_replica(tmp_path, filled_real):
    primary = NodeProcess(tmp_path / "p", [*DEBUG, "--repl-diskless-sync-delay", "0"])
    with running(primary):
        p = _r(primary)
        for key in KEYS:
            p.restore(key, 0, filled_real.dump(key))
        expected = states(p)
        replica = NodeProcess(tmp_path / "r", [*DEBUG, "--replicaof", "127.0.0.1",
                                                str(primary.port)])
        with running(replica):
            rep = _r(replica)
            wait_until(lambda: rep.info("replication")["master_link_status"] == "up"
                       and rep.dbsize() == len(KEYS), TIMEOUT)
            assert states(rep) == expected
            # and the stream commands that follow the sync reach it
            # (not XREADGROUP: 7.0 propagates it as XCLAIM ... LASTID, which leaves the
            # group's entries-read behind on a replica, a real one included)
            p.xadd("s:small", {"more": 1}, id="3-0")
            p.xack("s:groups", "readers", "5003-0")
            p.xclaim("s:groups", "readers", "erin", 0, ["5004-0"], time=1700000000500,
                     retrycount=9, force=True, justid=True)
            p.execute_command("XGROUP", "DELCONSUMER", "s:groups", "readers", "idle")
            wait_until(lambda: rep.xlen("s:small") == 2, TIMEOUT)
            wait_until(lambda: state(rep, "s:groups", False) == state(p, "s:groups", False),
                       TIMEOUT)


# -- MIGRATE ------------------------------------------------------------------------------
def test_migrate_between_ours_and_real(tmp_path, filled_real, real):
    expected = states(filled_real)
    with running(NodeProcess(tmp_path / "a", list(DEBUG))) as a, \
            running(NodeProcess(tmp_path / "b", list(DEBUG))) as b:
        ra, rb = _r(a), _r(b)
        # real -> ours
        assert filled_real.migrate("127.0.0.1", a.port, list(KEYS), 0, 5000) == b"OK"
        assert states(ra) == expected
        # ours -> ours
        assert ra.migrate("127.0.0.1", b.port, list(KEYS), 0, 5000) == b"OK"
        assert ra.dbsize() == 0
        assert states(rb) == expected
        # ours -> real
        assert rb.migrate("127.0.0.1", real.port, list(KEYS), 0, 5000) == b"OK"
        assert states(filled_real) == expected
