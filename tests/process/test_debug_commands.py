"""DEBUG subcommands Redis's test suite calls, byte for byte against a real redis-server."""
from __future__ import annotations

import pytest
import redis

from tests.support import node_process, raw_replies, real_redis

DEBUG = ("--enable-debug-command", "yes")
TYPES = ("string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
         "push", "verbatim", "true", "false", "nosuch", "STRING")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    with node_process(tmp_path_factory.mktemp("debug"), *DEBUG) as ours, \
            real_redis(*DEBUG) as real:
        yield ours, real


def same(both, commands, protocol=2):
    ours, real = (raw_replies(s.port, commands, protocol) for s in both)
    for args, got, want in zip(commands, ours, real):
        assert got == want, args


@pytest.mark.parametrize("protocol", [2, 3])
def test_debug_protocol_byte_for_byte(both, protocol):
    commands = [("DEBUG", "PROTOCOL", t) for t in TYPES if t not in ("attrib", "push")]
    same(both, commands, protocol)


def test_debug_protocol_attrib_and_push(both):
    # RESP2: attrib is the plain reply, push an error; RESP3: two frames each
    same(both, [("DEBUG", "PROTOCOL", "attrib"), ("DEBUG", "PROTOCOL", "push")], 2)
    for t in ("attrib", "push"):
        got = [_two_frames(s.port, t) for s in both]
        assert got[0] == got[1]


def _two_frames(port, kind):
    import socket
    from tests.support import mb, read_one
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(mb("HELLO", 3))
        read_one(sock)
        sock.sendall(mb("DEBUG", "PROTOCOL", kind) + mb("PING"))
        data = b""
        while not data.endswith(b"+PONG\r\n"):
            chunk = sock.recv(65536)
            assert chunk
            data += chunk
        return data


def test_debug_help_and_simple_switches(both):
    same(both, [
        ("DEBUG", "HELP"),
        ("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"),
        ("DEBUG", "PAUSE-CRON", "0"), ("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"),
        *[("DEBUG", "QUICKLIST-PACKED-THRESHOLD", size) for size in ("1b", "0", "5gb", "x")],
        ("DEBUG", "REPLYBUFFER", "peak-reset-time", "100"),
        ("DEBUG", "REPLYBUFFER", "peak-reset-time", "never"),
        ("DEBUG", "REPLYBUFFER", "peak-reset-time", "x"),
        ("DEBUG", "REPLYBUFFER", "resizing", "0"), ("DEBUG", "REPLYBUFFER", "nope", "0"),
        ("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"), ("DEBUG", "AOF-FLUSH-SLEEP", "0"),
        ("DEBUG", "STRINGMATCH-TEST"), ("DEBUG", "STRUCTSIZE"), ("DEBUG", "CLIENT-EVICTION"),
        ("DEBUG", "LOG", "hello"), ("DEBUG", "LEAK", "x"), ("DEBUG", "SLEEP", "0"),
        ("DEBUG", "NOSUCH"), ("DEBUG", "PROTOCOL"), ("DEBUG", "SLEEP"),
        ("DEBUG", "HTSTATS", "0"), ("DEBUG", "HTSTATS", "99"), ("DEBUG", "HTSTATS", "x"),
        ("DEBUG", "POPULATE", "-1"), ("DEBUG", "POPULATE", "x"),
        ("DEBUG", "SDSLEN", "nokey"), ("DEBUG", "LISTPACK", "nokey"),
        ("DEBUG", "QUICKLIST", "nokey"), ("DEBUG", "HTSTATS-KEY", "nokey"),
    ])


def test_debug_on_values(both):
    same(both, [
        ("FLUSHALL",), ("DEBUG", "POPULATE", "3"), ("DEBUG", "POPULATE", "2", "p", "20"),
        ("DBSIZE",), ("GET", "key:2"), ("GET", "p:1"), ("DEBUG", "POPULATE", "3"), ("DBSIZE",),
        ("RPUSH", "l", "a"), ("HSET", "h", "f", "v"), ("SADD", "s", "x", "y"), ("SET", "n", "1"),
        ("DEBUG", "LISTPACK", "l"), ("DEBUG", "QUICKLIST", "l"), ("DEBUG", "LISTPACK", "h"),
        ("DEBUG", "QUICKLIST", "h"), ("DEBUG", "HTSTATS-KEY", "l"), ("DEBUG", "SDSLEN", "l"),
        ("DEBUG", "SDSLEN", "n"), ("DEBUG", "SDSLEN", "key:1"),
    ])


def test_debug_change_repl_id_and_active_expire(both):
    for server in both:
        with redis.Redis(port=server.port, socket_timeout=10) as r:
            before = r.info("replication")["master_replid"]
            assert r.execute_command("DEBUG", "CHANGE-REPL-ID") == b"OK"
            info = r.info("replication")
            assert info["master_replid"] != before
            assert info["master_replid2"] in (0, "0" * 40)      # redis-py reads 000... as 0
            r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            r.set("gone", "v", px=1)
            r.execute_command("DEBUG", "SLEEP", "0.3")      # cron would have expired it
            assert r.execute_command("DBSIZE") >= 1
            assert r.execute_command("DEBUG", "OBJECT", "gone")  # still there, unexpired
            r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            r.delete("gone")


def test_set_disable_deny_scripts_lets_scripts_call_debug(both):
    for server in both:             # refused (the error's script suffix is not ours here)
        reply = raw_replies(server.port, [
            ("EVAL", "return redis.call('debug', 'protocol', 'string')", "0")])[0]
        assert reply.startswith(b"-ERR This Redis command is not allowed from script")
    same(both, [
        ("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"),
        ("EVAL", "return redis.call('debug', 'protocol', 'integer')", "0"),
        ("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"),
    ])
