"""ACL users as real clients use them, each side by side with a real redis-server 7.0.15:
redis-py with a username (RESP2 and RESP3), redis-cli --user, the ACL LOG a refusal
leaves, CLIENT LIST / CLIENT KILL USER, DELUSER closing the user's connections, MULTI/EXEC
re-checked at EXEC, a replica authenticating with masteruser, and RedisCluster with a
username on a cluster of our nodes."""
from __future__ import annotations

import contextlib
import subprocess

import pytest
import redis
from redis.cluster import RedisCluster

from tests.cluster_support import cluster_of
from tests.support import (NodeProcess, node_process, raw_replies, real_redis, running,
                           wait_until)

APP_RULES = ["on", ">app-pw", "~app:*", "&news", "+@all", "-flushall", "-debug"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(ours, real), each with user `app` restricted to app:* keys and the news channel."""
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(node_process(tmp_path_factory.mktemp("acl")))
        real = stack.enter_context(real_redis())
        for server in (ours, real):
            with redis.Redis(port=server.port, socket_timeout=10) as admin:
                admin.execute_command("ACL", "SETUSER", "app", "reset", *APP_RULES)
        yield ours, real


def _both(servers, fn):
    """fn(server) on our node and on redis-server; both results, to compare."""
    return [fn(server) for server in servers]


def _outcome(fn):
    try:
        return ("ok", fn())
    except redis.RedisError as err:
        return (type(err).__name__, str(err))


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_user_over_redis_py(servers, protocol):
    def session(server):
        with redis.Redis(port=server.port, username="app", password="app-pw",
                         protocol=protocol, socket_timeout=10) as r:
            return [
                _outcome(lambda: r.set("app:1", "v")),
                _outcome(lambda: r.get("app:1")),
                _outcome(lambda: r.get("other:1")),
                _outcome(lambda: r.flushall()),
                _outcome(lambda: r.execute_command("ACL", "WHOAMI")),
                _outcome(lambda: r.publish("news", "x")),
                _outcome(lambda: r.publish("gossip", "x")),
                _outcome(lambda: r.mset({"app:2": 1, "other:2": 2})),
                _outcome(lambda: " user=app " in str(r.execute_command("CLIENT", "INFO"))),
            ]
    ours, real = _both(servers, session)
    assert ours == real
    assert ours[2] == ("NoPermissionError", "this user has no permissions to access one of "
                       "the keys used as arguments")
    assert ours[3][0] == "NoPermissionError"


def test_wrong_password_and_unknown_user(servers):
    commands = [["AUTH", "app", "nope"], ["AUTH", "ghost", "x"], ["AUTH", "default", "x"],
                ["AUTH", "only-a-password"], ["HELLO", "3", "AUTH", "app", "nope"],
                ["AUTH", "app", "app-pw"], ["ACL", "WHOAMI"]]
    ours, real = (raw_replies(server.port, commands) for server in servers)
    assert ours == real
    assert ours[0] == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"

    def reasons(server):
        with redis.Redis(port=server.port, socket_timeout=10) as r:
            log = r.execute_command("ACL", "LOG", "4")
            r.execute_command("ACL", "LOG", "RESET")
        return [(e[b"reason"], e[b"object"], e[b"username"]) if isinstance(e, dict) else
                tuple(dict(zip(e[::2], e[1::2]))[f] for f in (b"reason", b"object",
                                                               b"username")) for e in log]
    assert reasons(servers[0]) == reasons(servers[1])


def test_redis_cli_with_user(servers):
    def cli(server, *args):
        res = subprocess.run(["redis-cli", "-p", str(server.port), "--user", "app", "--pass",
                              "app-pw", "--no-auth-warning", *args],
                             capture_output=True, text=True, timeout=20)
        return res.stdout
    for args in (("SET", "app:cli", "1"), ("GET", "app:cli"), ("GET", "nope"),
                 ("ACL", "WHOAMI"), ("CONFIG", "SET", "maxclients", "10")):
        ours, real = _both(servers, lambda s: cli(s, *args))
        assert ours == real, args
    assert "NOPERM" in cli(servers[0], "GET", "nope")


def test_exec_checks_again_and_the_log_says_multi(servers):
    def run(server):
        with redis.Redis(port=server.port, socket_timeout=10) as admin, \
                redis.Redis(port=server.port, username="app", password="app-pw",
                            socket_timeout=10) as r:
            admin.execute_command("ACL", "LOG", "RESET")
            conn = r.connection_pool.get_connection()
            conn.send_command("MULTI")
            first = conn.read_response()
            conn.send_command("INCR", "app:m")
            queued = conn.read_response()
            admin.execute_command("ACL", "SETUSER", "app", "resetkeys", "~other:*")
            conn.send_command("EXEC")
            replies = conn.read_response()
            r.connection_pool.release(conn)
            admin.execute_command("ACL", "SETUSER", "app", "resetkeys", "~app:*")
            entry = admin.execute_command("ACL", "LOG", "1")[0]
            entry = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2]))
            return (first, queued, [str(x) for x in replies],
                    entry[b"reason"], entry[b"context"], entry[b"object"])
    ours, real = _both(servers, run)
    assert ours == real
    assert ours[4] == b"multi"


def test_deluser_closes_its_connections_and_kill_user(servers):
    def run(server):
        with redis.Redis(port=server.port, socket_timeout=10) as admin:
            admin.execute_command("ACL", "SETUSER", "tmp", "on", ">t", "+@all", "~*")
            victim = redis.Redis(port=server.port, username="tmp", password="t",
                                 socket_timeout=5)
            victim.ping()
            listed = [c["user"] for c in admin.client_list() if c["user"] == "tmp"]
            killed = admin.execute_command("CLIENT", "KILL", "USER", "tmp")
            victim.ping()                  # reconnects
            deleted = admin.execute_command("ACL", "DELUSER", "tmp")
            left = [c for c in admin.client_list() if c["user"] == "tmp"]
            gone = _outcome(lambda: admin.execute_command("CLIENT", "KILL", "USER", "tmp"))
            victim.close()
            return listed, killed, deleted, left, gone
    ours, real = _both(servers, run)
    assert ours == real
    assert ours[0] == ["tmp"] and ours[1] == 1 and ours[3] == []


def test_a_replica_authenticates_with_masteruser(tmp_path):
    rules = ["reset", "on", ">repl-pw", "+psync", "+replconf", "+ping"]
    with node_process(tmp_path / "primary", "--requirepass", "admin-pw") as primary:
        with redis.Redis(port=primary.port, password="admin-pw", socket_timeout=10) as p:
            p.execute_command("ACL", "SETUSER", "repl", *rules)
            p.set("k", "v")
            replica = NodeProcess(tmp_path / "replica",
                                  ["--replicaof", "127.0.0.1", str(primary.port),
                                   "--masteruser", "repl", "--masterauth", "repl-pw"])
            with running(replica), redis.Redis(port=replica.port, socket_timeout=10) as r:
                wait_until(lambda: r.info("replication").get("master_link_status") == "up",
                           timeout=20, message="the replica's link up")
                p.set("k2", "v2")
                wait_until(lambda: r.get("k2") == b"v2", timeout=20, message="k2 replicated")
                assert r.get("k") == b"v"
                # The replication user may run nothing else on the primary.
                with redis.Redis(port=primary.port, username="repl", password="repl-pw",
                                 socket_timeout=10) as as_repl:
                    with pytest.raises(redis.exceptions.NoPermissionError):
                        as_repl.get("k")


def test_rediscluster_with_a_username(tmp_path):
    with cluster_of(tmp_path, primaries=3) as nodes:
        for node in nodes:
            with redis.Redis(port=node.port, socket_timeout=10) as r:
                r.execute_command("ACL", "SETUSER", "svc", "on", ">svc-pw", "~svc:*",
                                  "+@all")
        rc = RedisCluster(host="127.0.0.1", port=nodes[0].port, username="svc",
                          password="svc-pw", socket_timeout=10)
        try:
            for i in range(60):
                rc.set(f"svc:{i}", i)
            assert [int(rc.get(f"svc:{i}")) for i in range(60)] == list(range(60))
            with pytest.raises(redis.exceptions.NoPermissionError):
                rc.set("elsewhere", 1)
        finally:
            rc.close()


def test_scripts_are_checked_per_command(servers):
    scripts = ["return redis.call('incr', 'app:n')",
               "return redis.call('get', 'other:n')",
               "return redis.call('flushall')",
               "return redis.pcall('get', 'other:n')",
               "return redis.call('publish', 'gossip', 'x')",
               "return redis.acl_check_cmd('get', 'app:1')",
               "return redis.acl_check_cmd('get', 'other:1')",
               "return redis.acl_check_cmd('no-such-command')"]

    def run(server):
        out = []
        with redis.Redis(port=server.port, username="app", password="app-pw",
                         socket_timeout=10) as r, \
                redis.Redis(port=server.port, socket_timeout=10) as admin:
            admin.execute_command("ACL", "LOG", "RESET")
            for body in scripts:
                out.append(_outcome(lambda: r.eval(body, 0)))
            for entry in admin.execute_command("ACL", "LOG"):
                entry = entry if isinstance(entry, dict) else dict(zip(entry[::2], entry[1::2]))
                info = entry[b"client-info"].decode()
                out.append((entry[b"reason"], entry[b"context"], entry[b"object"],
                            entry[b"username"], "cmd=eval " in info, "user=app " in info))
        return out
    ours, real = _both(servers, run)
    assert ours == real
    assert ours[1][1].startswith("The user executing the script can't access at least one "
                                 "of the keys mentioned in the command arguments")
