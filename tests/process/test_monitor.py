"""MONITOR side by side with a real redis-server 7.0.15: the lines a monitor receives
(timestamps and client ports aside) for a mix of commands from two clients, a script,
MULTI/EXEC (also aborted), AUTH / HELLO / MIGRATE redaction, binary arguments; what a
monitor may still run; RESET; CLIENT LIST's flags=O."""
from __future__ import annotations

import re
import socket
import time

import hiredis
import pytest

from tests.support import mb


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_replies(sock, count: int) -> bytes:
    """Exactly the bytes of `count` replies (bounded by the socket timeout)."""
    data = b""
    while True:
        reader = hiredis.Reader(notEnoughData=Ellipsis)
        reader.feed(data)
        got = 0
        while got < count and reader.gets() is not Ellipsis:
            got += 1
        if got == count:
            return data
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk


def read_until(sock, marker: bytes) -> bytes:
    data = b""
    while not data.endswith(marker):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


_LINE = re.compile(rb"\+(\d+)\.(\d{6}) \[(\d+) ([^\]]*)\] ")


def normalize(stream: bytes, names: dict[str, str]) -> bytes:
    """Monitor lines with `T` for the time and a client's role for its ip:port; the
    times must be now."""
    now = time.time()

    def sub(m):
        assert abs(int(m.group(1)) - now) < 120, m.group(0)
        who = m.group(4).decode()
        return b"+T [%s %s] " % (m.group(3), names.get(who, who).encode())
    return _LINE.sub(sub, stream)


def _addr(sock) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


SCRIPT = "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])"


def _session(port: int) -> tuple[bytes, bytes, bytes, bytes]:
    """Monitor M watches clients A and B; returns (M's lines, A's replies, B's replies,
    M's replies to its own commands)."""
    mon, a, b = _connect(port), _connect(port), _connect(port)
    try:
        mon.sendall(mb("MONITOR"))
        assert read_replies(mon, 1) == b"+OK\r\n"
        names = {_addr(a): "A", _addr(b): "B", _addr(mon): "M"}
        a_cmds = [
            ("SET", "foo", b'b"a\nr\\\t\x00\xe9\x07'), ("GET", "foo"), ("set", "n", "123"),
            ("AUTH", "secret"), ("AUTH", "a", "b", "c"), ("AUTH", "user", "pw"),
            ("HELLO", "2", "AUTH", "u", "p"), ("HELLO", "9", "AUTH", "u", "p"),
            ("HELLO", "3", "SETNAME", "x"), ("HELLO", "2"),
            ("CONFIG", "GET", "hz"), ("CLIENT", "ID"), ("SELECT", "3"), ("PING",),
            ("EVAL", SCRIPT, "1", "k", "v"), ("EVALSHA", "0" * 40, "0"),
            ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("EXEC",),
            ("MULTI",), ("SET", "a", "1"), ("NOSUCHCOMMAND",), ("EXEC",),
            ("MULTI",), ("MONITOR",), ("EXEC",),
            ("MIGRATE", "127.0.0.1", "1", "key", "0", "10", "AUTH", "pw"),
            ("MIGRATE", "127.0.0.1", "1", "key", "0", "10", "COPY", "AUTH2", "u", "p", "KEYS"),
            ("MIGRATE", "127.0.0.1", "1", "key", "0", "10", "AUTH"),
            ("GET",), ("SET", "x"),             # wrong arity: refused, never fed
            ("LPUSH", "l", "x"), ("BLPOP", "l", "0"), ("DEBUG", "SLEEP", "0"),
        ]
        a.sendall(b"".join(mb(*c) for c in a_cmds))
        a_out = read_replies(a, len(a_cmds))
        b_cmds = [("SELECT", "1"), ("SET", "bkey", "1"), ("FLUSHDB",), ("ECHO", "end")]
        b.sendall(b"".join(mb(*c) for c in b_cmds))
        b_out = read_replies(b, len(b_cmds))
        lines = read_until(mon, b'"ECHO" "end"\r\n')
        # What a monitor may still run: no keyspace access; its own lines follow replies.
        own = [("PING",), ("GET", "foo"), ("SET", "foo", "x"), ("PUBLISH", "c", "m"),
               ("EVAL", "return 1", "0"), ("CLIENT", "ID"), ("ECHO", "hi"),
               ("MULTI",), ("PING",), ("EXEC",), ("MULTI",), ("GET", "foo"), ("EXEC",),
               ("MONITOR",),                    # already a monitor: no reply at all
               ("CLIENT", "SETNAME", "mon"), ("RESET",), ("GET", "foo")]
        mon.sendall(b"".join(mb(*c) for c in own))
        mon_out = read_until(mon, b"$" + str(len(a_cmds[0][2])).encode() + b"\r\n"
                             + a_cmds[0][2] + b"\r\n")
        return (normalize(lines, names), a_out, b_out, normalize(mon_out, names))
    finally:
        for s in (mon, a, b):
            s.close()


def test_monitor_lines_like_redis(pair):
    ours, real = pair
    got, want = _session(ours.port), _session(real.port)
    # A's replies: CLIENT ID and HELLO's id differ between servers.
    strip_ids = lambda raw: re.sub(rb":\d+\r\n", b":N\r\n", raw)   # noqa: E731
    assert strip_ids(got[1]) == strip_ids(want[1])
    assert got[2] == want[2]
    assert got[0].split(b"\r\n") == want[0].split(b"\r\n")
    assert strip_ids(got[3]) == strip_ids(want[3])
    assert b'[3 lua] "set" "k" "v"' in got[0]
    assert b'"AUTH" "(redacted)" "(redacted)"' in got[0]


def _monitor_flags(port: int) -> tuple[str, tuple[str, str]]:
    mon, other = _connect(port), _connect(port)
    try:
        mon.sendall(mb("CLIENT", "ID") + mb("MONITOR"))
        reader = hiredis.Reader()
        reader.feed(read_replies(mon, 2))
        mon_id = reader.gets()
        other.sendall(mb("CLIENT", "LIST") + mb("CLIENT", "LIST", "TYPE", "normal")
                      + mb("INFO", "clients"))
        reader = hiredis.Reader()
        reader.feed(read_replies(other, 3))
        listing, normal, info = (reader.gets().decode() for _ in range(3))
        mine = [line for line in listing.splitlines() if line.startswith(f"id={mon_id} ")]
        flags = re.search(r" flags=(\S+) ", mine[0]).group(1)
        return flags, (str(normal.count("\n")), re.search(r"connected_clients:(\d+)",
                                                             info).group(1))
    finally:
        mon.close()
        other.close()


def test_monitor_client_list_flags(pair):
    ours, real = pair
    got, want = _monitor_flags(ours.port), _monitor_flags(real.port)
    assert got[0] == want[0] == "O"
    assert got[1] == want[1]      # a monitor is listed as a normal client and counted


def test_monitor_sees_pipelined_writes_in_order(node):
    """Many writes from two connections: every line arrives, in execution order."""
    mon, a, b = _connect(node.port), _connect(node.port), _connect(node.port)
    try:
        mon.sendall(mb("MONITOR"))
        assert read_replies(mon, 1) == b"+OK\r\n"
        a.sendall(b"".join(mb("SET", f"a{i}", i) for i in range(500)))
        read_replies(a, 500)
        b.sendall(b"".join(mb("INCR", "b") for _ in range(500)) + mb("ECHO", "done"))
        read_replies(b, 501)
        lines = read_until(mon, b'"ECHO" "done"\r\n').split(b"\r\n")[:-1]
        assert len(lines) == 1001
        assert [ln.split(b"] ", 1)[1] for ln in lines[:500]] == [
            b'"SET" "a%d" "%d"' % (i, i) for i in range(500)]
        stamps = [float(ln[1:].split(b" ", 1)[0]) for ln in lines]
        assert stamps == sorted(stamps)
    finally:
        for s in (mon, a, b):
            s.close()
