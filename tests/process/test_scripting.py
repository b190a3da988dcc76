"""EVAL & co over sockets: byte-for-byte against a real redis-server, redis-py's
register_script and Lock, -BUSY and SCRIPT KILL, effects replication to a replica, and a
cluster of ours through redis.RedisCluster."""
from __future__ import annotations

import threading

import pytest
import redis
from redis.cluster import RedisCluster

from tests.cluster_support import cluster_of
from tests.support import assert_same_replies, node_process, wait_until

SCRIPTS = [
    "return 1", "return 3.7", "return {1,2,nil,3}", "return x", "x=1", "function f() end",
    "return type(loadstring)", "return type(os)", "return redis.call('set','s','abc')",
    "return redis.call('incr','s')", "return redis.pcall('incr','s')", "error('hi')",
    "error({err='tbl'})", "return redis.call('nosuch')", "return redis.call()",
    "return redis.call({})", "return redis.sha1hex('')", "return cjson.encode({1,2,{a=1}})",
    "return bit.tohex(255)",
    "local ok,e = pcall(redis.call,'incr','s'); return {type(e), tostring(e)}",
    "return {pcall(function() redis.call('nosuch') end)}",
    "return {{ok='x'},{err='y'},{err='-Z y'}}", "return redis.error_reply('-X boom')",
    "return syntax error here", "string.x = 1", "return 1e20", "return redis.setresp(4)",
    "return {map={a=1}}", "return {double=1.5}", "return redis.call('eval','return 1', 0)",
    "return {false, 1}", "return redis.call('set','a',true)", "return redis.set_repl(99)",
    "return redis.log(99,'hi')", "return redis.call('get')", "return redis.status_reply()",
    "redis.setresp(3); return redis.call('hgetall','nokey')",
    "return redis.call('hset','h','a','1')", "return redis.call('hgetall','h')",
    "redis.setresp(3); return true", "redis.setresp(3); return false", "return true",
    "return {big_number='12345678901234567890'}",
    "redis.setresp(3); return {true, false, {big_number='-7'}}",
]

# struct, cjson, math.random and #!lua shebangs (each reply byte for byte). The random
# scripts rely on both servers starting fresh: Redis 7.0 never seeds lrand48 itself.
LIBS = open(__file__.replace(".py", "_libs.lua"), encoding="utf-8").read().split("\n--\n")


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.mark.parametrize("protocol", [2, 3])
def test_replies_like_redis(pair, protocol):
    commands = [("EVAL", s, 0) for s in SCRIPTS] + [
        ("EVAL", "return 1", -1), ("EVAL", "return 1", 2, "a"), ("EVAL", "return 1", "x"),
        ("EVALSHA", "f" * 40, 0), ("EVAL_RO", "return redis.call('set','x','1')", 0),
        ("SCRIPT", "LOAD", "return 1"), ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"),
        ("SCRIPT", "KILL"), ("SCRIPT", "HELP"), ("SCRIPT", "FLUSH", "x"), ("SCRIPT", "FLUSH")]
    commands += [("EVAL", s.strip("\n"), 0) for s in LIBS] + [
        ("EVAL_RO", "#!lua\nreturn 1", 0), ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0),
        ("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"),
        ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 1"),
        ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "sync"),
        ("SCRIPT", "FLUSH", "SYNC", "x")]
    for conn in pair:
        redis.Redis(port=conn.port).flushall()
    assert_same_replies(pair, commands, protocol)


def test_register_script_and_lock(r):
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    r.script_flush()
    assert incr_by(keys=["counter"], args=[5]) == 5
    assert incr_by(keys=["counter"], args=[2]) == 7
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not r.lock("resource").acquire(blocking=False)
    lock.extend(5)
    lock.release()
    assert r.get("resource") is None


def test_busy_and_script_kill(node):
    r = redis.Redis(port=node.port, socket_timeout=20)
    r.config_set("busy-reply-threshold", 100)
    result = {}

    def run():
        try:
            redis.Redis(port=node.port, socket_timeout=20).eval("while true do end", 0)
        except redis.ResponseError as exc:
            result["error"] = str(exc)
    t = threading.Thread(target=run)
    t.start()

    def busy():
        try:
            r.ping()
            return False
        except redis.exceptions.BusyLoadingError:
            return True
        except redis.ResponseError as exc:
            return str(exc).startswith("BUSY") or "busy" in str(exc)
    wait_until(busy)
    assert r.script_kill()
    t.join(10)
    assert result["error"].startswith("Script killed by user with SCRIPT KILL...")
    assert r.ping()
    r.config_set("busy-reply-threshold", 5000)


def test_unkillable_after_write(tmp_path):
    with node_process(tmp_path, "--busy-reply-threshold", "100") as node:
        r = redis.Redis(port=node.port, socket_timeout=20)
        t = threading.Thread(target=_eval_quietly, args=(node.port,
                             "redis.call('set','w','1') while true do end"), daemon=True)
        t.start()
        wait_until(lambda: (_busy_error(r) or "").startswith("BUSY"))
        with pytest.raises(redis.ResponseError, match="UNKILLABLE Sorry the script already"):
            r.script_kill()
    # stopping the process ends the endless script too (the script thread is a daemon)
    assert not node.alive()


def _eval_quietly(port, script):
    try:
        redis.Redis(port=port, socket_timeout=20).eval(script, 0)
    except redis.RedisError:
        pass


def _busy_error(r):
    try:
        r.get("x")
    except Exception as exc:  # noqa: BLE001
        return str(exc)
    return None


def test_script_effects_reach_replica(tmp_path):
    with node_process(tmp_path / "p") as primary, node_process(tmp_path / "r") as replica:
        rp = redis.Redis(port=primary.port, socket_timeout=10)
        rr_ = redis.Redis(port=replica.port, socket_timeout=10)
        rr_.replicaof("127.0.0.1", primary.port)
        wait_until(lambda: rr_.info("replication").get("master_link_status") == "up")
        assert rp.eval("return redis.call('incr', KEYS[1])", 1, "n") == 1
        assert rp.eval("redis.call('incr', KEYS[1]); return redis.call('incr', KEYS[1])",
                       1, "n") == 3
        wait_until(lambda: rr_.get("n") == b"3")


def test_cluster_scripts(tmp_path):
    with cluster_of(tmp_path, primaries=3) as nodes:
        rc = RedisCluster(host="127.0.0.1", port=nodes[0].port, socket_timeout=10)
        script = rc.register_script("return redis.call('incr', KEYS[1])")
        for key in ("a", "b", "c", "{a}x"):
            assert script(keys=[key]) == 1
        lock = rc.lock("lk", timeout=5)
        assert lock.acquire(blocking=False)
        lock.release()
        with pytest.raises(redis.exceptions.RedisClusterException):
            rc.eval("return 1", 2, "a", "b")
        # a key not declared and served elsewhere
        node = rc.get_node_from_key("a")
        other = next(k for k in ("b", "c", "d", "e", "f")
                     if rc.get_node_from_key(k).port != node.port)
        direct = redis.Redis(port=node.port, socket_timeout=10)
        with pytest.raises(redis.ResponseError,
                           match="Script attempted to access a non local key in a cluster node"):
            direct.eval("return redis.call('get', ARGV[1])", 0, other)
        # shebang scripts keep to one slot unless allow-cross-slot-keys; no-cluster refuses
        mine = [k for k in ("a", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p")
                if rc.get_node_from_key(k).port == node.port][:2]
        assert len(mine) == 2
        cross = "#!lua%s\nredis.call('get', ARGV[1]); return redis.call('get', ARGV[2])"
        with pytest.raises(redis.ResponseError,
                           match="Script attempted to access keys that do not hash to the "
                                 "same slot"):
            direct.eval(cross % "", 0, *mine)
        assert direct.eval(cross % " flags=allow-cross-slot-keys", 0, *mine) is None
        assert direct.eval(cross.replace("#!lua%s\n", ""), 0, *mine) is None
        with pytest.raises(redis.ResponseError,
                           match="Can not run script on cluster, 'no-cluster' flag is set."):
            direct.eval("#!lua flags=no-cluster\nreturn 1", 0)
