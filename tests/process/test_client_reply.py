"""CLIENT REPLY ON|OFF|SKIP side by side with a real redis-server 7.0.15: pipelined
requests over raw sockets, RESP2 and RESP3, the bytes equal."""
from __future__ import annotations

import re
import socket

import pytest

from tests.support import mb


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


END = b"the-end"


def exchange(port: int, commands: list, protocol: int = 2, split: bool = False) -> bytes:
    """Send `commands` pipelined (or one write each when `split`), then CLIENT REPLY ON and
    ECHO <END>; every byte received up to END's reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        frames = [mb(*c) for c in commands] + [mb("CLIENT", "REPLY", "ON"), mb("ECHO", END)]
        if protocol == 3:
            frames.insert(0, mb("HELLO", 3))
        if split:
            for frame in frames:
                sock.sendall(frame)
        else:
            sock.sendall(b"".join(frames))
        want = b"$%d\r\n%s\r\n" % (len(END), END)
        data = b""
        while not data.endswith(want):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:N\r\n", data)


CASES = {
    "off-on": [("CLIENT", "REPLY", "OFF"), ("PING", "a"), ("SET", "k", "v"), ("GET", "k"),
               ("CLIENT", "REPLY", "ON"), ("PING", "b")],
    "off-errors": [("CLIENT", "REPLY", "OFF"), ("NOSUCH",), ("GET",), ("INCR", "k"),
                   ("CLIENT", "REPLY", "BAD"), ("LPUSH", "k", "x")],
    "skip": [("CLIENT", "REPLY", "SKIP"), ("PING", "a"), ("PING", "b"),
             ("CLIENT", "REPLY", "SKIP"), ("NOSUCH",), ("PING", "c")],
    "skip-skip": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "SKIP"), ("PING", "a"),
                  ("PING", "b")],
    "skip-on": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING", "a")],
    "skip-while-off": [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"),
                       ("CLIENT", "REPLY", "ON"), ("PING", "a"), ("PING", "b")],
    "bad-word": [("CLIENT", "REPLY", "MAYBE"), ("CLIENT", "REPLY"), ("PING",)],
    "pushes-pass": [("CLIENT", "REPLY", "OFF"), ("SUBSCRIBE", "c1", "c2"),
                    ("UNSUBSCRIBE", "c1", "c2"), ("PING",)],
    "skip-pushes": [("CLIENT", "REPLY", "SKIP"), ("SUBSCRIBE", "c1"), ("UNSUBSCRIBE", "c1"),
                    ("ECHO", "x")],
    "multi": [("CLIENT", "REPLY", "OFF"), ("MULTI",), ("SET", "m", "1"), ("EXEC",),
              ("CLIENT", "REPLY", "ON"), ("MULTI",), ("INCR", "m"), ("EXEC",)],
    "reset": [("CLIENT", "REPLY", "OFF"), ("PING",), ("RESET",), ("PING", "after")],
    "skip-reset": [("CLIENT", "REPLY", "SKIP"), ("RESET",), ("PING", "after")],
    "hello": [("CLIENT", "REPLY", "OFF"), ("HELLO", "3"), ("CLIENT", "REPLY", "ON"),
              ("HELLO", "2"), ("PING",)],
    "blocking": [("DEL", "bl"), ("RPUSH", "bl", "x"), ("CLIENT", "REPLY", "SKIP"),
                 ("BLPOP", "bl", "1"), ("CLIENT", "REPLY", "OFF"), ("BLPOP", "bl", "0.01"),
                 ("CLIENT", "REPLY", "ON"), ("BLPOP", "bl", "0.01")],
}


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("name", sorted(CASES))
def test_client_reply_pipelined_like_redis(pair, name, protocol):
    ours, real = pair
    got = exchange(ours.port, CASES[name], protocol)
    want = exchange(real.port, CASES[name], protocol)
    assert got == want


@pytest.mark.parametrize("name", ["off-on", "skip", "skip-skip", "blocking", "pushes-pass"])
def test_client_reply_one_write_per_command_like_redis(pair, name):
    ours, real = pair
    assert (exchange(ours.port, CASES[name], 2, split=True)
            == exchange(real.port, CASES[name], 2, split=True))


def test_client_reply_off_pubsub_messages_still_arrive(pair):
    """A subscriber with replies off still gets its messages (CLIENT_PUSHING)."""
    for server in pair:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sub, \
                socket.create_connection(("127.0.0.1", server.port), timeout=10) as pub:
            sub.sendall(mb("CLIENT", "REPLY", "OFF") + mb("SUBSCRIBE", "news"))
            want = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
            data = b""
            while len(data) < len(want):
                data += sub.recv(65536)
            assert data == want
            pub.sendall(mb("PUBLISH", "news", "hello"))
            assert pub.recv(100) == b":1\r\n"
            want = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
            data = b""
            while len(data) < len(want):
                data += sub.recv(65536)
            assert data == want
