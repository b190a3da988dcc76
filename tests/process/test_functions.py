"""Redis 7.0 Functions over sockets: every FUNCTION subcommand and FCALL error byte for byte
against a real redis-server (RESP2 and RESP3), FUNCTION DUMP payloads crossing both ways,
libraries surviving a restart (RDB, AOF with and without an RDB preamble, a real server
reading our dump and we reading its), reaching a replica by full sync and by the stream,
FUNCTION KILL / SCRIPT KILL while busy, and a cluster of ours: a library on every node,
FCALL through RedisCluster, still there on a replica promoted by CLUSTER FAILOVER."""
from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
import redis
from redis.cluster import RedisCluster

from tests.cluster_support import admin
from tests.process.test_failover import DEADLINE, cluster, keys_in, role_of, state_ok  # noqa: F401
from tests.support import (NodeProcess, RealRedis, assert_same_replies, node_process,
                           raw_replies, running, wait_until)

TIMEOUT = 20
FAST = ("--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0")


def lib(name: str, body: str) -> str:
    return f"#!lua name={name}\n{body}"


def fn(lib_name: str, fname: str, body: str, flags: str = "") -> str:
    if flags:
        return lib(lib_name, "redis.register_function{function_name='%s', callback="
                             "function(KEYS, ARGV)\n%s\nend, flags={%s}}" % (fname, body, flags))
    return lib(lib_name, "redis.register_function('%s', function(KEYS, ARGV)\n%s\nend)" % (
        fname, body))


SETGET = fn("kv", "setget", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])")
READER = fn("ro", "reader", "return redis.call('get', KEYS[1])", "'no-writes'")

LOAD_ERRORS = [
    "return math.random()", "return redis.call('ping')", "a = 1", "error('x')", "return 1",
    "redis.register_function()", "redis.register_function('f1')",
    "redis.register_function('f1', function() return 1 end, {}, 'description', 'extra')",
    "redis.register_function(nil, function() return 1 end)",
    "redis.register_function('a\\0b', function() return 1 end)",
    "redis.register_function('', function() return 1 end)",
    "redis.register_function('f2', 'not a function')",
    "redis.register_function{function_name=function() end, callback=function() end}",
    "redis.register_function{function_name='f1', callback='bad'}",
    "redis.register_function{function_name='f1', callback=function() end, description={}}",
    "redis.register_function{function_name='f1', callback=function() end, some_unknown=1}",
    "redis.register_function{callback=function() end}", "redis.register_function{function_name='f1'}",
    "redis.register_function{function_name='f1', callback=function() end, flags='bad'}",
    "redis.register_function{function_name='f1', callback=function() end, flags={'unknown'}}",
    "redis.register_function('f1', function() end) redis.register_function('f1', function() end)",
    "local a = 1\nwhile 1 do a = a + 1 end", "mt = getmetatable(_G)", "redis.math.random()",
    "redis.redis.call('ping')", "redis.log()", "bad syntax here",
    "redis.register_function{function_name='F1', callback=function() end, description='d', "
    "flags={'NO-WRITES', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}",
]

RUNS = [
    "return {KEYS[1], ARGV[1]}", "return KEYS", "error('boom')", "return redis.call('nosuch')",
    "return redis.register_function('x', function() end)", "return _G",
    "mt = getmetatable(_G)", "return redis.call('set', KEYS[1], '1')",
    "return redis.pcall('incr', 'fn-not-a-number')",
    "redis.setresp(3); return redis.call('hgetall', 'nokey')", "return redis.REDIS_VERSION",
    "return {1, 2, {err='x'}}", "return redis.error_reply('My Error')",
    "return redis.acl_check_cmd('get', 'x')", "return {double=1.5}", "return {map={a=1}}",
]


def _commands() -> list[tuple]:
    cmds = [
        ("FUNCTION", "FLUSH"), ("SET", "fn-not-a-number", "abc"),
        ("FUNCTION", "LOAD", fn("test", "test", "return 'hello'")),
        ("FCALL", "test", 0), ("FCALL", "TEST", 0),
        ("FUNCTION", "LOAD", fn("test", "test", "return 1")),
        ("FUNCTION", "LOAD", "foo", "bar", fn("test", "test", "x")),
        ("FUNCTION", "LOAD", lib("bad\0format", "x")), ("FUNCTION", "LOAD", lib("bad-name", "x")),
        ("FUNCTION", "LOAD", "#!bad_engine name=x\nx"), ("FUNCTION", "LOAD", "no shebang"),
        ("FUNCTION", "LOAD", "#!lua name=x"), ("FUNCTION", "LOAD", "#! name=test\nx"),
        ("FUNCTION", "LOAD", "#!lua name=test foo=bar\nx"), ("FUNCTION", "LOAD", "#!lua\nx"),
        ("FUNCTION", "LOAD", "#!lua name=foo name=bar\nx"),
        ("FUNCTION", "LOAD", fn("other", "TEST", "return 2")),
        ("FCALL", "nosuch", 0), ("FCALL", "test", "bad"), ("FCALL", "test", 10, "k"),
        ("FCALL", "test", -1, "k"), ("FCALL", "test", "01", "k"),
        ("FUNCTION", "DELETE", "nosuch"), ("FUNCTION", "KILL"), ("FUNCTION", "BADSUB"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "T*"), ("FUNCTION", "LIST", "LIBRARYNAME", "x*"),
        ("FUNCTION", "LIST", "bad"), ("FUNCTION", "LIST", "libraryname"),
        ("FUNCTION", "LIST", "withcode", "withcode"),
        ("FUNCTION", "LIST", "withcode", "libraryname", "a", "libraryname", "b"),
        ("FUNCTION", "STATS"), ("FUNCTION", "HELP"), ("FUNCTION", "DUMP"),
        ("FUNCTION", "RESTORE", "bad"), ("FUNCTION", "RESTORE", "a", "b", "c"),
        ("FUNCTION", "RESTORE", "a", "bad"), ("FUNCTION", "FLUSH", "bad"),
        ("FUNCTION", "FLUSH", "sync", "x"), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "LIST"),
        ("FUNCTION", "STATS"), ("FUNCTION", "DUMP"),
    ]
    for body in LOAD_ERRORS:
        cmds += [("FUNCTION", "LOAD", "REPLACE", lib("lx", body)),
                 ("FUNCTION", "LIST", "LIBRARYNAME", "lx")]
    cmds.append(("FUNCTION", "DELETE", "lx"))
    for body in RUNS:
        cmds += [("FUNCTION", "LOAD", "REPLACE", fn("run", "r", body)),
                 ("FCALL", "r", 1, "fn-k", "a"), ("FCALL_RO", "r", 1, "fn-k", "a")]
    cmds += [
        ("FUNCTION", "LOAD", "REPLACE", fn("run", "r", "return redis.call('set', 'fn-x', 1)",
                                           "'no-writes'")),
        ("FCALL", "r", 0), ("FCALL_RO", "r", 0), ("FUNCTION", "LIST"),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('r', function() end)")),
        ("FUNCTION", "STATS"), ("FUNCTION", "DUMP"), ("FUNCTION", "DELETE", "run"),
        ("FUNCTION", "LIST"), ("FUNCTION", "STATS"), ("DEL", "fn-k", "fn-x", "fn-not-a-number"),
    ]
    return cmds


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.mark.parametrize("protocol", [2, 3])
def test_replies_like_redis(pair, protocol):
    """One library at a time where the reply lists them (Redis lists in hash order)."""
    assert_same_replies(pair, _commands(), protocol)


def test_restore_keeps_libraries_on_collision(pair):
    three = lib("lib1", "\n".join(f"redis.register_function('f{i}', function() return {i} end)"
                                  for i in (1, 2, 3)))
    cmds = [("FUNCTION", "FLUSH"), ("FUNCTION", "LOAD", three), ("FUNCTION", "DUMP")]
    ours, real = (raw_replies(s.port, cmds) for s in pair)
    assert ours == real
    payload = real[-1].split(b"\r\n", 1)[1][:-2]
    assert_same_replies(pair, [
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "LOAD", lib("lib1", "redis.register_function('f6', function() end)")),
        ("FUNCTION", "RESTORE", payload), ("FUNCTION", "RESTORE", payload, "REPLACE"),
        ("FUNCTION", "LOAD", lib("lib2", "redis.register_function('f3', function() end)")),
        ("FUNCTION", "RESTORE", payload, "replace"), ("FCALL", "f6", 0), ("FCALL", "f1", 0),
        ("FUNCTION", "RESTORE", payload, "FLUSH"), ("FCALL", "f3", 0), ("FCALL", "f6", 0),
        ("FUNCTION", "STATS"), ("FUNCTION", "FLUSH")])


def test_function_dump_crosses_both_ways(pair):
    ours, real = (redis.Redis(port=s.port, socket_timeout=10) for s in pair)
    for r in (ours, real):
        r.function_flush()
    real.function_load(SETGET)
    payload = real.function_dump()
    assert ours.function_restore(payload) is True
    assert ours.function_list() == real.function_list()
    assert ours.function_dump() == payload
    assert ours.fcall("setget", 1, "fn-cross", "v") == b"v"
    ours.function_flush()
    ours.function_load(READER)
    real.function_flush()
    assert real.function_restore(ours.function_dump(), "FLUSH") is True
    assert real.function_list(withcode=True) == ours.function_list(withcode=True)
    assert real.fcall_ro("reader", 1, "fn-cross") is None
    for r in (ours, real):
        r.function_flush()
        r.delete("fn-cross")


def _r(server, **kw) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def test_library_survives_restart_rdb_and_crosses_to_real_redis(tmp_path):
    node = NodeProcess(tmp_path / "ours", list(FAST))
    with running(node):
        r = _r(node)
        r.function_load(SETGET)
        r.function_load(READER)
        assert r.fcall("setget", 1, "k", "v") == b"v"
        r.execute_command("DEBUG", "RELOAD")
        assert r.fcall_ro("reader", 1, "k") == b"v"
        want = r.function_list(withcode=True)
        r.execute_command("SAVE")
    with running(node):
        assert _r(node).function_list(withcode=True) == want
        assert _r(node).fcall("setget", 1, "k", "w") == b"w"
    real = RealRedis(["--dbfilename", "ours.rdb"])
    shutil.copy(node.dir / "dump.rdb", real.workdir + "/ours.rdb")
    with running(real):
        rr = _r(real)
        assert sorted(rr.function_list(withcode=True), key=str) == sorted(want, key=str)
        assert rr.fcall_ro("reader", 1, "k") == b"v"
        rr.function_delete("ro")
        rr.execute_command("SAVE")
        (tmp_path / "back").mkdir()
        shutil.copy(real.workdir + "/ours.rdb", tmp_path / "back" / "ours.rdb")
    back = NodeProcess(tmp_path / "back", [*FAST, "--dbfilename", "ours.rdb"])
    with running(back):
        rb = _r(back)
        assert [e[1] for e in rb.function_list()] == [b"kv"]
        assert rb.fcall("setget", 1, "k", "z") == b"z"


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_library_survives_restart_aof(tmp_path, preamble):
    node = NodeProcess(tmp_path / "ours", [*FAST, "--appendonly", "yes",
                                           "--aof-use-rdb-preamble", preamble])
    with running(node):
        r = _r(node)
        r.function_load(SETGET)
        r.function_load(fn("gone", "gone", "return 1"))
        r.function_delete("gone")
        r.function_load(READER)
    with running(node):              # replayed from the incr file
        r = _r(node)
        assert sorted(e[1] for e in r.function_list()) == [b"kv", b"ro"]
        r.execute_command("BGREWRITEAOF")
        wait_until(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0, TIMEOUT)
        r.function_load(fn("after", "after", "return 'after'"))
    with running(node):              # base file (RDB or commands) plus the new incr
        r = _r(node)
        assert sorted(e[1] for e in r.function_list()) == [b"after", b"kv", b"ro"]
        assert r.fcall("after", 0) == b"after"
        assert r.fcall("setget", 1, "k", "v") == b"v"


def test_replica_gets_libraries_by_full_sync_and_by_the_stream(tmp_path):
    with node_process(tmp_path / "p", *FAST) as p, node_process(tmp_path / "r", *FAST) as rep:
        rp, rr = _r(p), _r(rep)
        rp.function_load(SETGET)
        rr.function_load(fn("stale", "stale", "return 1"))    # dropped by the full sync
        rr.execute_command("REPLICAOF", "127.0.0.1", p.port)
        wait_until(lambda: rr.info("replication").get("master_link_status") == "up", TIMEOUT)
        wait_until(lambda: [e[1] for e in rr.function_list()] == [b"kv"], TIMEOUT)
        rp.function_load(READER)
        rp.fcall("setget", 1, "k", "v")
        wait_until(lambda: rr.get("k") == b"v" and len(rr.function_list()) == 2, TIMEOUT)
        assert rr.fcall_ro("reader", 1, "k") == b"v"
        assert rr.fcall("reader", 1, "k") == b"v"
        with pytest.raises(redis.ResponseError) as err:
            rr.fcall("setget", 1, "k", "x")
        assert str(err.value) == "You can't write against a read only replica."
        with pytest.raises(redis.ResponseError, match="read only replica"):
            rr.function_load(fn("x", "x", "return 1"))
        payload = rp.function_dump()
        rp.function_delete("ro")
        wait_until(lambda: len(rr.function_list()) == 1, TIMEOUT)
        rp.function_restore(payload, "REPLACE")
        wait_until(lambda: len(rr.function_list()) == 2, TIMEOUT)
        assert rr.function_dump() == rp.function_dump()
        rp.function_flush()
        wait_until(lambda: rr.function_list() == [], TIMEOUT)


def test_function_kill_and_script_kill_while_busy(node):
    r = _r(node)
    r.config_set("busy-reply-threshold", 50)
    r.function_load(fn("busy", "spin", "local a = 1 while true do a = a + 1 end"), replace=True)
    runner = redis.Redis(port=node.port, socket_timeout=30)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("err", _catch(
        lambda: runner.fcall("spin", 0))))
    thread.start()
    try:
        wait_until(lambda: _catch(r.ping) is not None, TIMEOUT)
        busy = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                "SHUTDOWN NOSAVE.")
        assert str(_catch(r.ping)) == busy
        assert str(_catch(lambda: r.execute_command("SCRIPT", "KILL"))) == busy
        stats = raw_replies(node.port, [("FUNCTION", "STATS")])[0]
        assert stats.startswith(b"*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n"
                                b"$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n"
                                b"$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"), stats
        assert r.execute_command("FUNCTION", "KILL") == b"OK"
        thread.join(TIMEOUT)
        assert "Script killed by user" in str(out["err"])
        assert r.ping() is True
    finally:
        _catch(lambda: r.execute_command("FUNCTION", "KILL"))
        thread.join(TIMEOUT)
        r.function_delete("busy")
        r.config_set("busy-reply-threshold", 5000)
    assert "No scripts in execution right now." in str(
        _catch(lambda: r.execute_command("FUNCTION", "KILL")))


def _catch(call):
    try:
        call()
    except redis.RedisError as err:
        return err
    return None


def test_library_on_every_node_fcall_through_rediscluster_and_after_failover(cluster):  # noqa: F811
    c = cluster()
    nodes, ids = c.nodes, c.ids
    code = SETGET + "\nredis.register_function{function_name='solo', callback=function() " \
                    "return 1 end, flags={'no-cluster'}}"
    res = subprocess.run(["redis-cli", "--cluster", "call", f"127.0.0.1:{nodes[0].port}",
                          "FUNCTION", "LOAD", code, "--cluster-only-masters"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stdout + res.stderr
    for n in nodes:               # the primaries by the call, their replicas by the stream
        wait_until(lambda: [e[1] for e in _r(n).function_list()] == [b"kv"], DEADLINE)
    rc = RedisCluster(host="127.0.0.1", port=nodes[1].port, socket_timeout=5)
    try:
        for key in keys_in(0, 16383, 30, "fn"):
            assert rc.fcall("setget", 1, key, key) == key.encode()
            assert rc.get(key) == key.encode()
        with pytest.raises(redis.ResponseError, match="'no-cluster' flag is set"):
            _r(nodes[0]).fcall("solo", 0)
    finally:
        rc.close()
    key = keys_in(0, 5460, 1, "fo")[0]
    _r(nodes[0]).fcall("setget", 1, key, "before")
    with admin(nodes[3]) as r:
        assert r.execute_command("CLUSTER", "FAILOVER") in (True, "OK")
    wait_until(lambda: all(role_of(nodes[3], ids[3], n)[0] == "master" for n in nodes)
               and all(state_ok(n) for n in nodes), DEADLINE, interval=0.05,
               message="the replica promoted everywhere")
    promoted = _r(nodes[3])
    assert [e[1] for e in promoted.function_list()] == [b"kv"]
    assert promoted.fcall("setget", 1, key, "after") == b"after"
