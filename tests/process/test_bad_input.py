"""Bad input over raw sockets, side by side with a real redis-server 7.0.15.

Every payload goes to our node and to the real server; the reply bytes and whether the
connection was closed must be the same. Bad frames must not disturb other connections or
the data.
"""
from __future__ import annotations

import random
import socket
import time

import pytest

from tests.support import mb, node_process, real_redis


@pytest.fixture(scope="module")
def ours(module_node):
    return module_node


@pytest.fixture(scope="module")
def real(module_real):
    return module_real


def talk(port: int, payload: bytes, half_close: bool = True, quiet: float = 0.5,
         timeout: float = 10.0) -> tuple[bytes, bool]:
    """Send `payload`; return (reply bytes, closed by the server).

    With half_close the write side is shut after the payload, so the server answers what
    it parsed and then closes: no waiting on timeouts. Without, read until the server
    closes or stays quiet for `quiet` seconds.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data, closed = b"", False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s.settimeout(timeout if half_close else quiet)
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
        return data, closed


def compare(ours, real, payload: bytes, **kw) -> tuple[bytes, bool]:
    got = talk(ours.port, payload, **kw)
    want = talk(real.port, payload, **kw)
    assert got == want, f"payload {payload[:120]!r}"
    return got


MALFORMED = [
    (b"*x\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*01\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*-0\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$01\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$99999999999999999999\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'"),
    (b"*1\r\n+PING\r\n", "ERR Protocol error: expected '$', got '+'"),
    (b"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
    (b"*1\r\n=8\r\ntxt:PING\r\n", "ERR Protocol error: expected '$', got '='"),
    (b"*2\r\n$4\r\nECHO\r\n*1\r\n$1\r\na\r\n", "ERR Protocol error: expected '$', got '*'"),
    (b"*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '"),
    (b'SET "a b\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b"SET 'a\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b'ECHO "a"b\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b"x" * 70000, "ERR Protocol error: too big inline request"),
    (b"*" + b"1" * 70000, "ERR Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "ERR Protocol error: too big bulk count string"),
]


def test_malformed_frames_close_only_their_connection(ours, real):
    for server in (ours, real):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as keeper:
            keeper.sendall(mb("SET", "bad:k", "v1") + mb("RPUSH", "bad:l", "a", "b"))
            assert _read_exactly(keeper, 9) == b"+OK\r\n:2\r\n"
            for payload, message in MALFORMED:
                reply, closed = talk(server.port, payload, half_close=False)
                assert (reply, closed) == (b"-" + message.encode() + b"\r\n", True), payload
            # The connection opened before still works, and nothing changed.
            keeper.sendall(mb("GET", "bad:k") + mb("LRANGE", "bad:l", 0, -1) + mb("PING"))
            want = b"$2\r\nv1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n+PONG\r\n"
            assert _read_exactly(keeper, len(want)) == want


def _read_exactly(sock, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    return data


@pytest.mark.parametrize("payload", [p for p, _ in MALFORMED] + [
    b"*1\r\n\xff\r\n",                              # the raw byte comes back
    mb("PING") + b"*x\r\n" + mb("PING"),             # replies before the error, none after
    mb("ECHO", "a") + b'PING "\r\n',
    b"PING\r\n*1\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n",  # lax line ends, as Redis
    b"*1\rX$4\rXPING\r\n",
    b"~1\r\n$4\r\nPING\r\n",                         # RESP3 types are inline words
    b"*1\r\n$4\r\nPING\r\n%1\r\n",
    b"*0\r\n*-1\r\n*-7\r\nPING\r\n",                 # empty and null multibulks ignored
    b"\r\n\n \r\nPING\n",
    b"ECHO a\x0bb\r\nECHO \"\\x41\\x4a\\n\" 'it\\'s'\r\n",
])
def test_frames_against_real_redis(ours, real, payload):
    compare(ours, real, payload, half_close=False)


@pytest.mark.parametrize("payload", [
    b"*1\r\n$536870912\r\n",     # exactly proto-max-bulk-len: the server waits
    b"*2147483647\r\n",
    b"*1\r\nx",                  # no '\r' yet: Redis does not look at the type byte
    b"PING\0\r\n",               # strchr() stops at the NUL: no line end seen
    b"*1\0\r\n$4\r\nPING\r\n",
    b"x" * 65536,
])
def test_incomplete_frames_wait(ours, real, payload):
    assert compare(ours, real, payload, half_close=False, quiet=0.3) == (b"", False)


def test_proto_max_bulk_len_config(tmp_path):
    args = ("--proto-max-bulk-len", "1048576")
    with node_process(tmp_path / "n", *args) as node, real_redis(*args) as real:
        # Only the header: the server answers it before any value would arrive.
        for payload in (b"*1\r\n$1048577\r\n",
                        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"):
            reply = compare(node, real, payload)
            assert reply == (b"-ERR Protocol error: invalid bulk length\r\n", True)
        ok = mb("SET", "k", "v" * 1048576) + mb("STRLEN", "k")
        assert compare(node, real, ok) == (b"+OK\r\n:1048576\r\n", True)


def test_query_buffer_limit_closes_silently(tmp_path):
    args = ("--client-query-buffer-limit", "1048576")
    with node_process(tmp_path / "n", *args) as node, real_redis(*args) as real:
        payload = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n" + b"v" * 1500000
        for server in (node, real):
            assert talk(server.port, payload, half_close=False, timeout=10) == (b"", True)
            assert server.raw(b"PING\r\n") == b"+PONG\r\n"


ARITY = [
    ["GET"], ["GET", "a", "b"], ["SET", "k"], ["ECHO"], ["ECHO", "a", "b"],
    ["PING", "a", "b"], ["INCR"], ["LPUSH", "l"], ["LRANGE", "l", 0], ["LINDEX", "l"],
    ["LLEN"], ["LPOP", "l", 1, 2], ["RPOP"], ["SELECT"], ["AUTH"], ["get"], ["gEt"],
]


def test_wrong_arity(ours, real):
    payload = b"".join(mb(*argv) for argv in ARITY)
    reply, closed = compare(ours, real, payload)
    assert reply.count(b"-ERR wrong number of arguments for '") == len(ARITY)
    assert closed


UNKNOWN = [
    ["foo"], ["foo", "a" * 200], ["f" * 200, "a" * 100, "b" * 100],
    ["foo", "a" * 60, "b" * 60, "c" * 60], ["foo", "a" * 126, "b"], ["foo", "a" * 125, "b"],
    ["foo", "a" * 124, "bc"], ["foo", "a" * 127], ["foo", "a" * 128], ["foo", "a" * 129],
    ["foo", b"\xc3\xa9" * 100], ["foo", b"a\x00b", "c"], [b"fo\x00o", "x"],
    ["foo", b"a\r\nb"], [b"foo\r\n", b"a\r\n"], [b"\xff\xfe", b"\xff"], ["foo"] + ["x"] * 50,
    ["foo", "%s%d", "%n"], ["foo", ""], ["", ""], [b"GET\x00", "a"], ["GETX", "k"],
    ["foo", "it's", 'say "hi"'],
]


@pytest.mark.parametrize("argv", UNKNOWN, ids=range(len(UNKNOWN)))
def test_unknown_commands(ours, real, argv):
    reply, closed = compare(ours, real, mb(*argv))
    assert reply.startswith(b"-ERR unknown command '") and closed


def test_unknown_inline_command(ours, real):
    reply, _ = compare(ours, real, b"NOSUCH a 'b c' \"d\\x00e\"\r\n")
    assert reply.startswith(b"-ERR unknown command 'NOSUCH', with args beginning with: 'a'")


NUMBERS = [
    ["SET", "num:s", "abc"], ["INCR", "num:s"], ["DECR", "num:s"], ["INCRBY", "num:n", "x"],
    ["INCRBY", "num:n", "1.5"], ["INCRBY", "num:n", " 1"], ["INCRBY", "num:n", "+1"],
    ["INCRBY", "num:n", "99999999999999999999"], ["DECRBY", "num:n", ""],
    ["SET", "num:n", "9223372036854775807"], ["INCR", "num:n"],
    ["SET", "num:k", "v", "EX", "abc"], ["SET", "num:k", "v", "EX", "0"],
    ["SET", "num:k", "v", "PX", "-1"], ["SET", "num:k", "v", "EX", "1.5"],
    ["INCRBYFLOAT", "num:f", "abc"], ["INCRBYFLOAT", "num:f", "nan"],
    ["RPUSH", "num:l", "a"], ["LRANGE", "num:l", "a", "b"], ["LRANGE", "num:l", "0", "1.0"],
    ["LINDEX", "num:l", "x"], ["LPOP", "num:l", "-1"], ["LPOP", "num:l", "x"],
    ["RPOP", "num:l", "1.5"], ["LPOP", "num:nokey", "x"], ["INCR", "num:l"],
    ["LLEN", "num:s"], ["GET", "num:l"], ["SELECT", "x"], ["SELECT", "99"],
]


def test_non_numeric_numbers(ours, real):
    payload = b"".join(mb(*argv) for argv in NUMBERS)
    reply, closed = compare(ours, real, payload)
    assert reply.count(b"\r\n-") + reply.startswith(b"-") >= 20 and closed


VOCABULARY = [b"PING", b"ECHO", b"GET", b"SET", b"INCR", b"LPUSH", b"RPUSH", b"LPOP",
              b"RPOP", b"LRANGE", b"LINDEX", b"LLEN", b"EXISTS", b"STRLEN", b"APPEND"]


def _garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 200))
    words = [rng.choice(VOCABULARY)] + [
        rng.choice([b"g:k", b"g:l", b"0", b"-1", b"3", b"x", rng.randbytes(3)])
        for _ in range(rng.randrange(4))]
    frame = mb(*words) if kind != 1 else b" ".join(words) + b"\r\n"
    frame = frame * rng.randrange(1, 4)
    data = bytearray(frame)
    for _ in range(rng.randrange(1, 4)):   # corrupt: flip, insert or drop a byte
        op, pos = rng.randrange(3), rng.randrange(len(data))
        if op == 0:
            data[pos] = rng.randrange(256)
        elif op == 1:
            data.insert(pos, rng.choice(b"*$\r\n+-:0123456789 \"'\\\x00x"))
        elif len(data) > 1:
            del data[pos]
    return bytes(data)


def test_random_garbage(ours, real):
    rng = random.Random(20240607)
    for i in range(200):
        payload = _garbage(rng)
        got = talk(ours.port, payload)
        want = talk(real.port, payload)
        assert got == want, f"#{i}: {payload!r}"
    # Still up and answering on a fresh connection.
    assert ours.raw(b"*1\r\n$4\r\nPING\r\n") == b"+PONG\r\n"
    assert ours.alive()
