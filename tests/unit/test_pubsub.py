"""Pub/Sub registry and commands without sockets: replies, counts, delivery, modes."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.bus.cluster_node import attach
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from slots import keyslot
from cluster.resp.reply import encode


def _run(client, *args):
    reply = execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])
    return encode(reply, client.resp == 3)


def _msg(*items):
    return encode(list(items), False)


def test_subscribe_counts_and_unsubscribe_all():
    node = Node()
    c = node.new_client()
    assert _run(c, "SUBSCRIBE", "a", "b") == _msg(b"subscribe", b"a", 1) + \
        _msg(b"subscribe", b"b", 2)
    assert _run(c, "PSUBSCRIBE", "a*") == _msg(b"psubscribe", b"a*", 3)
    assert c.flags_extra == "pubsub"
    assert _run(c, "UNSUBSCRIBE") == _msg(b"unsubscribe", b"a", 2) + \
        _msg(b"unsubscribe", b"b", 1)
    assert _run(c, "UNSUBSCRIBE") == _msg(b"unsubscribe", None, 1)
    assert _run(c, "PUNSUBSCRIBE") == _msg(b"punsubscribe", b"a*", 0)
    assert c.flags_extra == "" and not node.pubsub.channels and not node.pubsub.patterns


def test_publish_delivers_message_and_pmessage_in_both_protocols():
    node = Node()
    sub2, sub3, pub = node.new_client(), node.new_client(), node.new_client()
    sub3.resp = 3
    _run(sub2, "SUBSCRIBE", "news")
    _run(sub3, "PSUBSCRIBE", "n?ws")
    assert _run(pub, "PUBLISH", "news", "hi") == b":2\r\n"
    assert sub2.pushes == [b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"]
    assert sub3.pushes == [b">4\r\n$8\r\npmessage\r\n$4\r\nn?ws\r\n$4\r\nnews\r\n$2\r\nhi\r\n"]
    assert _run(pub, "PUBLISH", "other", "x") == b":0\r\n"


def test_resp2_subscribed_mode_allows_only_pubsub_commands():
    node = Node()
    c = node.new_client()
    _run(c, "SSUBSCRIBE", "s")
    assert _run(c, "GET", "k").startswith(b"-ERR Can't execute 'get'")
    assert _run(c, "PING") == _msg(b"pong", b"")
    assert _run(c, "RESET") == b"+RESET\r\n"
    assert _run(c, "GET", "k") == b"$-1\r\n"
    c.resp = 3
    _run(c, "SUBSCRIBE", "x")
    assert _run(c, "GET", "k") == b"_\r\n"


def test_closing_a_client_forgets_its_subscriptions():
    node = Node()
    c = node.new_client()
    _run(c, "SUBSCRIBE", "a")
    _run(c, "SSUBSCRIBE", "b")
    node.remove_client(c)
    assert not node.pubsub.channels and not node.pubsub.shard_channels
    assert not node.pubsub.slot_channels


def test_output_limit_kills_a_slow_subscriber():
    node = Node()
    node.config.set("client-output-buffer-limit", "pubsub 1000 0 0")
    c, pub = node.new_client(), node.new_client()
    _run(c, "SUBSCRIBE", "a")
    for _ in range(20):
        _run(pub, "PUBLISH", "a", "x" * 100)
    assert c.close_after_reply and c.pushes == []


def test_lost_slot_sends_sunsubscribe():
    config = Config()
    config.load_args(["--cluster-enabled", "yes", "--port", "7100", "--databases", "1"])
    node = Node(config)
    attach(node)
    me = node.cluster.state.myself.id
    node.cluster.state.slot_owner[:] = [me] * 16384
    c = node.new_client()
    c.resp = 3
    node.pubsub.subscribe(c, "shard", b"chan")
    slot = keyslot(b"chan")
    node.cluster.state.slot_owner[slot] = None
    assert node.pubsub.check_shard_slots() == 1
    assert c.pushes == [b">3\r\n$12\r\nsunsubscribe\r\n$4\r\nchan\r\n:0\r\n"]
    assert c.flags_extra == ""


def test_cluster_message_hook_delivers_locally():
    node = Node()
    c = node.new_client()
    _run(c, "SSUBSCRIBE", "s")
    _run(c, "SUBSCRIBE", "p")
    node.deliver_cluster_message(b"s", b"1", True)
    node.deliver_cluster_message(b"p", b"2", False)
    assert c.pushes == [_msg(b"smessage", b"s", b"1"), _msg(b"message", b"p", b"2")]
