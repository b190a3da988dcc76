"""The connection protocol over real sockets: HELLO, AUTH, inline commands, pipelining,
big values, RESET, QUIT. Raw replies are compared with a real redis-server 7.0.15."""
from __future__ import annotations

import re
import socket
import time

import hiredis
import pytest
import redis

from tests.support import mb, node_process, real_redis

ID = re.compile(rb"(\$2\r\nid\r\n:)\d+\r\n")


class Conn:
    """One raw connection; `ask` sends bytes and returns exactly `n` replies' bytes."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.closed = False

    def ask(self, payload: bytes, n: int = 1) -> bytes:
        self.sock.sendall(payload)
        data = b""
        while True:
            reader = hiredis.Reader(notEnoughData=Ellipsis)
            reader.feed(data)
            got = 0
            while got < n and reader.gets() is not Ellipsis:
                got += 1
            if got == n:
                return ID.sub(rb"\1<id>\r\n", data)
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                return ID.sub(rb"\1<id>\r\n", data)
            data += chunk

    def is_closed(self) -> bool:
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def conversation(port: int, steps) -> list[bytes]:
    conn = Conn(port)
    try:
        return [conn.ask(payload, n) for payload, n in steps]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pw_pair(tmp_path_factory):
    """(our node, a real redis-server), both with requirepass pw."""
    args = ("--requirepass", "pw")
    with node_process(tmp_path_factory.mktemp("protocol_pw"), *args) as node, \
            real_redis(*args) as real:
        yield node, real


@pytest.fixture(scope="module")
def node(module_node):
    """Our node of `pair`: the conftest clients (r, rr) connect to it."""
    return module_node


def same(pair, steps) -> list[bytes]:
    ours, real = pair
    got = conversation(ours.port, steps)
    want = conversation(real.port, steps)
    assert got == want
    return got


HELLO3 = (b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
          b"$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:<id>\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
          b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
HELLO2 = HELLO3.replace(b"%7", b"*14").replace(b":3\r\n", b":2\r\n")
NOAUTH_HELLO = (b"-NOAUTH HELLO must be called with the client already authenticated, "
                b"otherwise the HELLO AUTH <user> <pass> option can be used to "
                b"authenticate the client and select the RESP protocol version at the "
                b"same time\r\n")
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def test_hello_versions(pair):
    replies = same(pair, [
        (mb("HELLO"), 1), (mb("HELLO", 3), 1), (mb("PING"), 1), (mb("GET", "nokey"), 1),
        (mb("HELLO", 2), 1), (mb("GET", "nokey"), 1), (mb("HELLO", 4), 1), (mb("HELLO", 1), 1),
        (mb("HELLO", "x"), 1), (mb("HELLO", 3, "AUTH", "default"), 1),
        (mb("HELLO", 3, "SETNAME", "a b"), 1), (mb("HELLO", 3, "foo"), 1),
        (mb("HELLO", 3, "AUTH", "default", "anything", "SETNAME", "me"), 1),
        (mb("CLIENT", "GETNAME"), 1),
    ])
    assert replies[0] == HELLO2
    assert replies[1] == HELLO3
    assert replies[3] == b"_\r\n" and replies[5] == b"$-1\r\n"
    assert replies[6] == b"-NOPROTO unsupported protocol version\r\n"
    assert replies[8] == b"-ERR Protocol version is not an integer or out of range\r\n"
    assert replies[9] == b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
    assert replies[13] == b"$2\r\nme\r\n"


def test_hello_through_redis_py(pair):
    ours, _ = pair
    for protocol in (2, 3):
        client = redis.Redis(port=ours.port, protocol=protocol, socket_timeout=10)
        try:
            info = client.execute_command("HELLO", protocol)
            info = {k.decode() if isinstance(k, bytes) else k: v for k, v in
                    (info.items() if isinstance(info, dict) else
                     zip(info[::2], info[1::2]))}
            assert info["proto"] == protocol
            assert info["server"] == b"redis" and info["version"] == b"7.0.15"
            assert info["mode"] == b"standalone" and info["role"] == b"master"
            assert info["modules"] == [] and isinstance(info["id"], int)
        finally:
            client.close()


def test_auth_without_requirepass(pair):
    replies = same(pair, [(mb("AUTH", "x"), 1), (mb("AUTH", "default", "x"), 1),
                          (mb("AUTH", "bob", "x"), 1), (mb("AUTH", "a", "b", "c"), 1)])
    assert replies[0] == (b"-ERR AUTH <password> called without any password configured "
                          b"for the default user. Are you sure your configuration is "
                          b"correct?\r\n")
    assert replies[1] == b"+OK\r\n"
    assert replies[2] == WRONGPASS
    assert replies[3] == b"-ERR syntax error\r\n"


def test_requirepass(pw_pair):
    replies = same(pw_pair, [
        (mb("PING"), 1), (mb("GET", "k"), 1), (mb("HELLO", 3), 1), (b"PING\r\n", 1),
        (mb("AUTH", "nope"), 1), (mb("AUTH", "default", "nope"), 1),
        (mb("HELLO", 3, "AUTH", "default", "nope"), 1), (mb("HELLO", 3, "AUTH", "bob", "pw"), 1),
        (mb("PING"), 1), (mb("HELLO", 3, "AUTH", "default", "pw"), 1), (mb("PING"), 1),
        (mb("RESET"), 1), (mb("PING"), 1), (mb("AUTH", "pw"), 1), (mb("PING"), 1),
        (mb("AUTH", "default", "pw"), 1),
    ])
    noauth = b"-NOAUTH Authentication required.\r\n"
    assert replies[:2] == [noauth, noauth]
    assert replies[2] == NOAUTH_HELLO and replies[3] == noauth
    assert replies[4:8] == [WRONGPASS] * 4
    assert replies[8] == noauth
    assert replies[9] == HELLO3 and replies[10] == b"+PONG\r\n"
    assert replies[11] == b"+RESET\r\n" and replies[12] == noauth     # RESET logs out
    assert replies[13:] == [b"+OK\r\n", b"+PONG\r\n", b"+OK\r\n"]


def test_redis_py_with_password(pw_pair):
    ours, _ = pw_pair
    for protocol in (2, 3):
        client = redis.Redis(port=ours.port, password="pw", protocol=protocol, socket_timeout=10)
        try:
            assert client.ping() is True
            assert client.set("pw:k", "v") is True and client.get("pw:k") == b"v"
        finally:
            client.close()
    bad = redis.Redis(port=ours.port, password="nope", socket_timeout=10)
    with pytest.raises(redis.AuthenticationError):
        bad.ping()
    bad.close()


def test_unauthenticated_request_limits(pw_pair):
    big = mb("MSET", *[f"ul:k{i}" for i in range(12)])
    steps = [(mb("AUTH", "pw") + big + mb("GET", "ul:k0"), 3),          # AUTH lifts them
             (mb("AUTH", "pw") + mb("ECHO", "v" * 20000), 2)]
    replies = same(pw_pair, steps)
    assert replies[0] == b"+OK\r\n+OK\r\n$5\r\nul:k1\r\n"
    for server in pw_pair:
        for payload, message in ((b"*11\r\n", b"unauthenticated multibulk length"),
                                 (b"*2\r\n$4\r\nECHO\r\n$16385\r\n",
                                  b"unauthenticated bulk length"),
                                 (mb("AUTH", "bad") + big, b"unauthenticated multibulk length")):
            conn = Conn(server.port)
            reply = conn.ask(payload, 2 if payload.startswith(b"*2\r\n$4\r\nAUTH") else 1)
            assert reply.endswith(b"-ERR Protocol error: " + message + b"\r\n"), reply
            assert conn.is_closed()
            conn.close()


def test_inline_commands(pair):
    steps = [(b"SET inl:a hello\r\n", 1), (b"GET inl:a\r\n", 1),
             (b'SET inl:b "two words\\x21\\n"\r\n', 1), (b"GET inl:b\n", 1),
             (b"SET inl:c 'it\\'s'\r\n", 1), (b"GET inl:c\r\n", 1), (b"\r\n\r\nPING\r\n", 1),
             (b"ECHO\r\n", 1), (b"  ECHO   spaced  \r\n", 1), (b"RPUSH inl:l a b c\r\n", 1),
             (b"LRANGE inl:l 0 -1\r\n", 1), (b"nosuch a b\r\n", 1)]
    replies = same(pair, steps)
    assert replies[1] == b"$5\r\nhello\r\n"
    assert replies[3] == b"$11\r\ntwo words!\n\r\n"
    assert replies[5] == b"$4\r\nit's\r\n"
    assert replies[8] == b"$6\r\nspaced\r\n"


def test_inline_request_split_across_writes(pair):
    ours, _ = pair
    conn = Conn(ours.port)
    try:
        conn.sock.sendall(b"SET inl:split ")
        time.sleep(0.05)   # make the halves arrive apart (not waiting for state)
        assert conn.ask(b"value\r\n") == b"+OK\r\n"
        conn.sock.sendall(b"*2\r\n$3\r\nGET\r\n$9\r\ninl:")
        time.sleep(0.05)
        assert conn.ask(b"split\r\n") == b"$5\r\nvalue\r\n"
    finally:
        conn.close()


def test_pipeline_1000_commands_in_one_write(pair):
    payload = mb("DEL", "pipe:n") + b"".join(mb("INCR", "pipe:n") for _ in range(1000)) \
        + b"".join(b"ECHO e%d\r\n" % i for i in range(500)) + mb("GET", "pipe:n")
    replies = same(pair, [(payload, 1502)])
    assert replies[0].endswith(b"$4\r\n1000\r\n")
    assert b":1000\r\n$2\r\ne0\r\n" in replies[0]


def test_pipeline_through_redis_py(rr):
    pipe = rr.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"rp:{i}", i)
    for i in range(1000):
        pipe.get(f"rp:{i}")
    results = pipe.execute()
    assert results[:1000] == [True] * 1000
    assert results[1000:] == [str(i).encode() for i in range(1000)]


def test_five_megabyte_value(rr):
    value = bytes(range(256)) * (5 * 1024 * 1024 // 256)
    assert rr.set("big:v", value) is True
    assert rr.get("big:v") == value
    assert rr.strlen("big:v") == len(value)
    assert rr.ping() is True


def test_reset(pair):
    replies = same(pair, [(mb("HELLO", 3), 1), (mb("SELECT", 3), 1), (mb("SET", "rs:k", 1), 1),
                          (mb("MULTI"), 1), (mb("RESET"), 1), (mb("GET", "nokey"), 1),
                          (mb("GET", "rs:k"), 1), (mb("EXEC"), 1), (mb("RESET", "x"), 1)])
    assert replies[4] == b"+RESET\r\n"
    assert replies[5] == b"$-1\r\n"          # back to RESP2
    assert replies[6] == b"$-1\r\n"          # back to db 0
    assert replies[7] == b"-ERR EXEC without MULTI\r\n"
    assert replies[8] == b"-ERR wrong number of arguments for 'reset' command\r\n"


def test_quit(pair):
    for server in pair:
        conn = Conn(server.port)
        reply = conn.ask(mb("SET", "q:k", "before") + mb("QUIT") + mb("SET", "q:k", "after"), 2)
        assert reply == b"+OK\r\n+OK\r\n"
        assert conn.is_closed()
        conn.close()
        assert server.raw(mb("GET", "q:k")) == b"$6\r\nbefore\r\n"
    same(pair, [(b"QUIT extra words\r\n", 1)])


def test_quit_through_redis_py(r):
    assert r.execute_command("QUIT") in (True, b"OK")
