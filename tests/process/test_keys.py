"""Generic key commands over real sockets: redis-py (RESP2/RESP3), redis-cli, and side by
side with a real redis-server 7.0 (same replies; DUMP payloads exchanged both ways)."""
from __future__ import annotations

import os
import socket
import time

import hiredis
import pytest
import redis

from tests.support import mb, redis_cli, wait_until

pytestmark = pytest.mark.process


@pytest.fixture(scope="module")
def node(module_node):
    """The module's one node (rr / cli from conftest use it)."""
    return module_node


@pytest.fixture(scope="module")
def real(module_real):
    """A redis-py client on the module's real redis-server 7.0 (the yardstick)."""
    with redis.Redis(port=module_real.port, socket_timeout=10) as client:
        yield client


@pytest.fixture
def ours(node):
    with redis.Redis(port=node.port, socket_timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean(node, request):
    """Every test starts with empty servers."""
    redis.Redis(port=node.port).flushall()
    if "module_real" in request.fixturenames:     # also when through `real`
        redis.Redis(port=request.getfixturevalue("module_real").port).flushall()


def pipelined_replies(port: int, commands: list[list]) -> list:
    """Send a pipeline of commands; return the parsed replies (errors as their text)."""
    payload = b"".join(mb(*c) for c in commands)
    reader = hiredis.Reader()
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        while len(out) < len(commands):
            data = s.recv(65536)
            assert data, "connection closed"
            reader.feed(data)
            while True:
                reply = reader.gets()
                if reply is False:
                    break
                out.append(("error", str(reply)) if isinstance(reply, hiredis.ReplyError)
                           else reply)
    return out


SIDE_BY_SIDE = [
    ["set", "a", "1"], ["set", "b", "hello"], ["rpush", "l", "x", "1", "y"],
    ["exists", "a", "a", "nokey", "l"], ["touch", "a", "nokey"], ["type", "a"], ["type", "l"],
    ["type", "nokey"], ["del", "nokey"], ["unlink", "nokey"],
    ["rename", "nokey", "x"], ["renamenx", "nokey", "x"], ["rename", "a", "a"],
    ["renamenx", "a", "a"], ["rename", "a", "c"], ["renamenx", "b", "c"], ["renamenx", "b", "d"],
    ["copy", "c", "c"], ["copy", "c", "e"], ["copy", "c", "e"], ["copy", "c", "e", "replace"],
    ["copy", "c", "e", "db"], ["copy", "c", "e", "db", "x"], ["copy", "c", "e", "db", "16"],
    ["copy", "c", "e", "db", "99999999999"], ["copy", "c", "e", "bogus"], ["copy", "l", "l2"],
    ["move", "c", "0"], ["move", "c", "x"], ["move", "c", "16"], ["move", "c", "99999999999"],
    ["move", "c", "3"], ["move", "c", "3"], ["move", "nokey", "3"],
    ["swapdb", "0", "x"], ["swapdb", "x", "0"], ["swapdb", "0", "16"], ["swapdb", "-1", "0"],
    ["swapdb", "0", "99999999999"], ["swapdb", "2", "2"],
    ["expire", "d", "100", "bogus"], ["expire", "d", "100", "nx", "xx"],
    ["expire", "d", "100", "gt", "lt"], ["expire", "d", "100", "lt", "nx"],
    ["expire", "d", "99999999999999999"], ["pexpire", "d", "9223372036854775807"],
    ["expireat", "d", "9223372036854775807"], ["expire", "d", "x"],
    ["expire", "d", "100", "xx"], ["expire", "d", "100", "gt"], ["expire", "d", "100000", "nx"],
    ["expire", "d", "100", "nx"], ["pexpireat", "d", "99999999999999", "lt"],
    ["pexpireat", "d", "999999999999999", "gt"], ["expiretime", "d"], ["pexpiretime", "d"],
    ["expiretime", "e"], ["ttl", "nokey"], ["pttl", "e"], ["persist", "d"], ["persist", "d"],
    ["persist", "nokey"], ["expire", "d", "-5"], ["exists", "d"], ["expire", "nokey", "5"],
    ["scan", "x"], ["scan", " 1"], ["scan", "-"], ["scan", "18446744073709551616"],
    ["scan", "0", "count", "0"], ["scan", "0", "count", "x"], ["scan", "0", "match"],
    ["scan", "0", "bogus", "1"], ["scan", "0", "type"],
    ["object"], ["object", "encoding"], ["object", "encoding", "e", "x"],
    ["object", "bogus", "e"], ["object", "help"], ["object", "encoding", "nokey"],
    ["object", "encoding", "e"], ["object", "encoding", "l"],
    ["object", "freq", "e"], ["set", "n", "5"], ["object", "refcount", "n"],
    ["object", "refcount", "d"], ["set", "big", "x" * 100], ["object", "encoding", "big"],
    ["set", "emb", "x" * 44], ["object", "encoding", "emb"], ["object", "refcount", "big"],
    ["dump", "nokey"], ["dump", "e"], ["dump", "l"],
    ["restore", "e", "0", "x"], ["restore", "new", "-1", "x"], ["restore", "new", "x", "x"],
    ["restore", "new", "0", "short"], ["restore", "new", "0", "x" * 30],
    ["restore", "new", "0", "x", "idletime", "-1"], ["restore", "new", "0", "x", "freq", "256"],
    ["restore", "new", "0", "x", "idletime", "1", "freq", "1"],
    ["restore", "new", "0", "x", "freq"], ["restore", "new", "0", "x", "bogus"],
    ["keys", "[a-z]"], ["dbsize"], ["flushdb", "bogus"],
    ["flushdb", "sync", "x"], ["flushall", "bogus"], ["flushdb", "ASYNC"], ["dbsize"],
    ["randomkey"], ["flushall", "SYNC"], ["keys", "*"], ["scan", "0"],
    ["del"], ["exists"], ["rename", "a"], ["expire", "a"], ["restore", "a", "0"],
]


def test_same_replies_as_real_redis(node, module_real):
    ours = pipelined_replies(node.port, SIDE_BY_SIDE)
    theirs = pipelined_replies(module_real.port, SIDE_BY_SIDE)
    for command, mine, expected in zip(SIDE_BY_SIDE, ours, theirs):
        if command[0] == "keys":
            mine, expected = sorted(mine), sorted(expected)
        assert mine == expected, command


def test_basics_both_protocols(rr):
    rr.set("a", "1")
    rr.rpush("l", "x", "y")
    assert rr.exists("a", "a", "l", "nokey") == 3
    assert rr.type("a") == b"string" and rr.type("l") == b"list"
    assert rr.rename("a", "b") is True
    assert rr.copy("b", "c") is True
    assert rr.expire("c", 100) is True and rr.ttl("c") == 100
    assert 99_000 < rr.pttl("c") <= 100_000
    assert rr.persist("c") is True and rr.ttl("c") == -1
    assert rr.object("encoding", "b") == b"int"
    assert rr.object("encoding", "nokey") is None
    assert rr.object("refcount", "l") == 1
    assert sorted(rr.keys("*")) == [b"b", b"c", b"l"]
    assert sorted(rr.scan_iter(match="[bc]")) == [b"b", b"c"]
    assert rr.dbsize() == 3
    assert rr.randomkey() in (b"b", b"c", b"l")
    assert rr.delete("b", "c", "nokey") == 2
    payload = rr.dump("l")
    assert rr.restore("l2", 0, payload) == b"OK"
    assert rr.lrange("l2", 0, -1) == [b"x", b"y"]
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        rr.restore("l2", 0, payload)
    assert rr.flushall() is True and rr.dbsize() == 0


def test_expiry_happens(ours):
    ours.set("a", "1", px=50)
    ours.set("b", "1")
    ours.pexpire("b", 50)
    wait_until(lambda: ours.exists("a", "b") == 0, 5, message="keys to expire")
    ours.set("c", "1")
    assert ours.expireat("c", int(time.time()) - 10) is True
    assert ours.exists("c") == 0


def test_dump_exchange_with_real_redis(ours, real):
    values = [b"", b"a", b"0", b"-1", b"127", b"128", b"-32769", b"2147483647", b"2147483648",
              b"012", b"12345678901234567890", b"hello world", b"a" * 44, b"b" * 5000,
              os.urandom(300)]
    for i, value in enumerate(values):
        key = f"s{i}"
        real.set(key, value)
        ours.set(key, value)
        theirs, mine = real.dump(key), ours.dump(key)
        if len(value) <= 20 or value == values[-1]:
            assert mine == theirs, value           # byte for byte where Redis does not compress
        assert ours.restore(key + "r", 0, theirs) and ours.get(key + "r") == value
        assert real.restore(key + "r", 0, mine) and real.get(key + "r") == value
    lists = [[b"a", b"1", b"-5", b"100000", b"hello", b"", b"5000000000"],
             [b"%d-abcdefghijklmnopq" % i for i in range(2000)],
             [os.urandom(50) for _ in range(500)], [b"y" * 5000, b"z" * 70000, b"q"],
             [b"%d" % (i * 7919 - 10**6) for i in range(3000)]]
    for i, items in enumerate(lists):
        key = f"l{i}"
        real.rpush(key, *items)
        ours.rpush(key, *items)
        theirs, mine = real.dump(key), ours.dump(key)
        if i in (0, 2):
            assert mine == theirs
        assert ours.restore(key + "r", 0, theirs) and ours.lrange(key + "r", 0, -1) == items
        assert real.restore(key + "r", 0, mine) and real.lrange(key + "r", 0, -1) == items
    # TTL, REPLACE and ABSTTL agree too.
    payload = real.dump("s1")
    ours.restore("t", 5000, payload, replace=True)
    assert 4000 < ours.pttl("t") <= 5000
    ours.restore("t", int(time.time() * 1000) + 60_000, payload, replace=True, absttl=True)
    assert 50 < ours.ttl("t") <= 60


KEY_CORPUS = [b"", b"a", b"b", b"ab", b"abc", b"hello", b"hallo", b"hxllo", b"hllo",
              b"heeello", b"A", b"AB", b"a*b", b"a?b", b"a[b", b"a]b", b"a\\b", b"a-b",
              b"^", b"-", b"]", b"[", b"\\", b"\x00", b"a\x00b", b"\x80", b"\xff", b"\xfe\xff",
              b"user:1", b"user:22", b"user:", b"{tag}x", b"*", b"?", b"zz", b"z"]
PATTERNS = [b"*", b"**", b"?", b"??", b"a*", b"*b", b"a*b", b"a?b", b"h?llo", b"h*llo",
            b"h[ae]llo", b"h[^e]llo", b"h[a-b]llo", b"[a-c]", b"[c-a]", b"[^a]", b"[^",
            b"[", b"[]", b"[]]", b"[a-]", b"[-a]", b"[\\]]", b"a\\*b", b"a\\?b", b"\\",
            b"a\\", b"[abc", b"[a-\xff]", b"[\x80-\xff]", b"[\x00-a]", b"*[", b"user:*",
            b"user:?", b"*:*", b"{tag}*", b"\\*", b"*\\", b"[\\", b"[^\\]]", b"[A-Z]*",
            b"a*b*", b"*a*b*c", b"\x00", b"a\x00*", b"[\x00]", b"*\xff"]


def test_keys_glob_matches_real_redis(ours, real):
    for key in KEY_CORPUS:
        ours.set(key, b"v")
        real.set(key, b"v")
    for pattern in PATTERNS:
        assert sorted(ours.keys(pattern)) == sorted(real.keys(pattern)), pattern
        assert sorted(ours.scan_iter(match=pattern)) == sorted(real.scan_iter(match=pattern))


def test_scan_under_concurrent_writes(ours):
    ours.mset({f"stable:{i}": "v" for i in range(2000)})
    ours.mset({f"churn:{i}": "v" for i in range(2000)})
    seen = set()
    cursor = 0
    step = 0
    while True:
        cursor, keys = ours.scan(cursor, count=25)
        seen.update(keys)
        step += 1
        ours.delete(*[f"churn:{i}" for i in range(step * 20, step * 20 + 20)])
        ours.mset({f"added:{step}:{i}": "v" for i in range(30)})
        if cursor == 0:
            break
    assert {b"stable:%d" % i for i in range(2000)} <= seen


def test_redis_cli(node, cli):
    cli("SET", "user:1", "x")
    cli("SET", "user:2", "y")
    cli("RPUSH", "list", "a", "b")
    assert sorted(cli("KEYS", "user:*").split()) == ["user:1", "user:2"]
    assert sorted(cli("--scan", "--pattern", "user:*").split()) == ["user:1", "user:2"]
    assert cli("TYPE", "list").strip() == "list"
    assert cli("OBJECT", "ENCODING", "list").strip() == "quicklist"
    assert cli("EXPIRE", "user:1", "100").strip() == "1"
    assert cli("TTL", "user:1").strip() == "100"
    assert cli("DBSIZE").strip() == "3"
    assert "OBJECT <subcommand>" in cli("OBJECT", "HELP")
    assert cli("RENAME", "nokey", "x").strip() == "ERR no such key"
    assert cli("FLUSHALL").strip() == "OK"
    assert redis_cli(node.port, "DBSIZE").strip() == "0"
