"""Keyspace notifications without sockets: flags, channels, events of commands."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.keyspace import notify
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import encode


def _run(client, *args):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def _events(node, sub, *commands):
    sub.pushes.clear()
    c = node.new_client()
    for cmd in commands:
        _run(c, *cmd.split())
    out = []
    for raw in sub.pushes:
        parts = raw.split(b"\r\n")
        out.append((parts[6].decode(), parts[8].decode()))  # pmessage: channel, payload
    return out


def _subscribed(flags: str):
    node = Node()
    node.config.set("notify-keyspace-events", flags)
    sub = node.new_client()
    _run(sub, "PSUBSCRIBE", "__key*__:*")
    return node, sub


def test_flags_of_canonical_text():
    assert notify.flags_of("") == 0
    assert notify.flags_of("AKE") == notify.ALL | notify.KEYSPACE | notify.KEYEVENT
    assert notify.flags_of("g$K") == notify.GENERIC | notify.STRING | notify.KEYSPACE


def test_off_means_no_messages():
    node, sub = _subscribed("")
    assert _events(node, sub, "SET k v", "DEL k") == []


def test_keyspace_then_keyevent_for_set_and_del():
    node, sub = _subscribed("KEA")
    assert _events(node, sub, "SET k v", "DEL k") == [
        ("__keyspace@0__:k", "set"), ("__keyevent@0__:set", "k"),
        ("__keyspace@0__:k", "del"), ("__keyevent@0__:del", "k")]


def test_class_filter_and_type_events():
    node, sub = _subscribed("Eh")
    assert _events(node, sub, "SET s v", "HSET h f v", "HDEL h f") == [
        ("__keyevent@0__:hset", "h"), ("__keyevent@0__:hdel", "h")]
    node, sub = _subscribed("Eg")
    assert _events(node, sub, "SADD s a", "SREM s a") == [("__keyevent@0__:del", "s")]


def test_rename_expire_and_expired():
    node, sub = _subscribed("Egx")
    node.set_time(1_000_000)
    assert _events(node, sub, "SET a 1", "RENAME a b", "PEXPIRE b 10") == [
        ("__keyevent@0__:rename_from", "a"), ("__keyevent@0__:rename_to", "b"),
        ("__keyevent@0__:expire", "b")]
    node.set_time(1_000_100)
    assert _events(node, sub, "GET b") == [("__keyevent@0__:expired", "b")]


def test_zset_events():
    node, sub = _subscribed("Ez")
    assert _events(node, sub, "ZADD z 1 a", "ZINCRBY z 2 a", "ZREM z a") == [
        ("__keyevent@0__:zadd", "z"), ("__keyevent@0__:zincr", "z"),
        ("__keyevent@0__:zrem", "z")]
    assert encode(_run(node.new_client(), "CONFIG", "GET", "notify-keyspace-events"),
                  False) == b"*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nzE\r\n"
