"""Pub/Sub over real sockets: redis-py's PubSub (RESP2 and RESP3), subscribed-mode rules,
PUBSUB introspection, byte-for-byte replies against a real redis-server, slow subscribers."""
from __future__ import annotations

import socket

import hiredis
import pytest
import redis

from tests.support import mb, wait_until


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _get(ps, timeout=5.0):
    msg = None

    def got():
        nonlocal msg
        msg = ps.get_message(timeout=0.05)
        return msg is not None
    wait_until(got, timeout, message="a pub/sub message")
    return msg


def test_subscribe_publish_pattern_and_counts(rr):
    ps = rr.pubsub()
    ps.subscribe("news", "sport")
    assert _get(ps)["type"] == "subscribe"
    second = _get(ps)
    assert second["channel"] == b"sport" and second["data"] == 2
    ps.psubscribe("n*")
    assert _get(ps) == {"type": "psubscribe", "pattern": None, "channel": b"n*", "data": 3}
    assert rr.publish("news", "hello") == 2
    assert _get(ps) == {"type": "message", "pattern": None, "channel": b"news",
                        "data": b"hello"}
    assert _get(ps) == {"type": "pmessage", "pattern": b"n*", "channel": b"news",
                        "data": b"hello"}
    assert rr.pubsub_numsub("news", "none") == [(b"news", 1), (b"none", 0)]
    assert rr.pubsub_numpat() == 1
    assert sorted(rr.pubsub_channels()) == [b"news", b"sport"]
    assert rr.pubsub_channels("s*") == [b"sport"]
    ps.unsubscribe()
    ps.punsubscribe()
    kinds = sorted((_get(ps)["type"] for _ in range(3)))
    assert kinds == ["punsubscribe", "unsubscribe", "unsubscribe"]
    wait_until(lambda: rr.pubsub_numpat() == 0 and rr.pubsub_channels() == [])
    assert rr.publish("news", "x") == 0
    ps.close()


def test_shard_channels_standalone(rr):
    ps = rr.pubsub()
    ps.ssubscribe("orders")
    assert _get(ps)["type"] == "ssubscribe"
    assert rr.spublish("orders", "o1") == 1
    assert _get(ps) == {"type": "smessage", "pattern": None, "channel": b"orders",
                        "data": b"o1"}
    assert rr.pubsub_shardchannels() == [b"orders"]
    assert rr.pubsub_shardnumsub("orders") == [(b"orders", 1)]
    ps.close()
    wait_until(lambda: rr.pubsub_shardchannels() == [])


def _read(sock, count: int) -> bytes:
    """Bytes of exactly `count` replies."""
    data = b""
    while True:
        reader = hiredis.Reader(notEnoughData=Ellipsis)
        reader.feed(data)
        n = 0
        while n < count and reader.gets() is not Ellipsis:
            n += 1
        if n == count:
            return data
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk


# (command, number of replies it sends)
SCRIPT = [
    (("SSUBSCRIBE", "a", "b"), 2),
    (("UNSUBSCRIBE",), 1),
    (("GET", "x"), 1),
    (("PUNSUBSCRIBE",), 1),
    (("SUNSUBSCRIBE", "b", "a"), 2),
    (("GET", "x"), 1),
    (("SUBSCRIBE", "c", "c"), 2),
    (("PING",), 1),
    (("PING", "hi"), 1),
    (("PUBSUB", "NUMSUB"), 1),
    (("PSUBSCRIBE", "c*"), 1),
    (("PUNSUBSCRIBE", "zz"), 1),
    (("RESET",), 1),
    (("GET", "x"), 1),
    (("PUBSUB", "HELP"), 1),
    (("PUBSUB", "NUMSUB", "a", "c"), 1),
    (("PUBSUB", "NUMPAT", "x"), 1),
    (("PUBSUB", "CHANNELS", "a", "b"), 1),
    (("PUBSUB", "SHARDNUMSUB"), 1),
    (("UNSUBSCRIBE", "q"), 1),
    (("RESET",), 1),
    (("MULTI",), 1),
    (("SUBSCRIBE", "z"), 1),
    (("EXEC",), 1),
    (("RESET",), 1),
    (("HELLO", "3"), None),
    (("SUBSCRIBE", "a"), 1),
    (("GET", "x"), 1),
    (("PUBLISH", "a", "hi"), 2),
    (("PING",), 1),
    (("UNSUBSCRIBE", "a"), 1),
    (("UNSUBSCRIBE",), 1),
]


def _run_script(port: int) -> list[bytes]:
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for args, count in SCRIPT:
            sock.sendall(mb(*args))
            reply = _read(sock, count or 1)
            out.append(b"HELLO" if count is None else reply)
    return out


def test_raw_replies_match_redis(node, module_real):
    ours, real = _run_script(node.port), _run_script(module_real.port)
    for (args, _), got, want in zip(SCRIPT, ours, real):
        assert got == want, args


def test_resp2_subscribed_mode_rejects_other_commands(node, r):
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(mb("SUBSCRIBE", "ch"))
        _read(sock, 1)
        sock.sendall(mb("SET", "k", "v"))
        assert _read(sock, 1).startswith(b"-ERR Can't execute 'set': only (P|S)SUBSCRIBE")
        assert r.publish("ch", "after") == 1
        assert _read(sock, 1) == b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nafter\r\n"
        sock.sendall(mb("QUIT"))
        assert _read(sock, 1) == b"+OK\r\n"
    assert r.get("k") is None


def test_info_and_client_list_show_subscriptions(r):
    ps = r.pubsub()
    ps.subscribe("i1", "i2")
    ps.psubscribe("p*")
    ps.ssubscribe("s1")
    wait_until(lambda: r.info("stats")["pubsub_channels"] == 2)
    stats = r.info("stats")
    assert stats["pubsub_patterns"] == 1 and stats["pubsubshard_channels"] == 1
    line = [c for c in r.client_list() if c["sub"] != "0"][0]
    assert (line["sub"], line["psub"], line["ssub"], "P" in line["flags"]) == \
        ("2", "1", "1", True)
    ps.close()
    wait_until(lambda: r.info("stats")["pubsub_channels"] == 0)


def test_slow_subscriber_is_disconnected(make_node):
    node = make_node("--client-output-buffer-limit", "pubsub 256kb 128kb 60")
    with redis.Redis(port=node.port, socket_timeout=10) as r:
        sock = socket.create_connection(("127.0.0.1", node.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(mb("SUBSCRIBE", "flood"))
        wait_until(lambda: r.pubsub_numsub("flood") == [(b"flood", 1)])
        payload = b"x" * 65536
        # The subscriber never reads: once its queue passes 256kb it is closed.
        wait_until(lambda: r.publish("flood", payload) == 0, timeout=20, interval=0.01)
        assert r.pubsub_numsub("flood") == [(b"flood", 0)]
        assert "output buffer limits" in node.log()
        sock.close()
        assert r.ping()
