"""CLIENT LIST / CLIENT INFO lines: Redis 7.0.15's accounting of a client's buffers (no
sockets). The expected figures are a real redis-server's for the same client states."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.execution import client_info
from cluster.execution.client_info import client_info_line, jemalloc_size, wire_length
from cluster.execution.dispatch import execute
from cluster.node import Node

NOW = 1_700_000_000_000


def _node():
    node = Node(clock=lambda: NOW / 1000)
    node.set_time(NOW)
    return node


def fields(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.split(" "))


def test_jemalloc_size_classes():
    assert [jemalloc_size(n) for n in (1, 8, 9, 17, 100, 129, 700, 769)] == \
        [8, 8, 16, 32, 112, 160, 768, 896]
    assert jemalloc_size(16390) == 20480          # a 16 KiB query buffer with its header
    assert jemalloc_size(40008) == 40960
    assert jemalloc_size(16384) == 16384


def test_the_running_command_is_still_in_the_query_buffer():
    """The test suite's `qbuf=26` (introspection.tcl): CLIENT LIST's own 26 bytes, in a
    buffer of 20474 bytes of room; Redis's figures for a new client."""
    client = _node().new_client()
    argv = [b"client", b"list"]
    assert wire_length(argv) == 26
    f = fields(client_info_line(client, "client|list", argv))
    assert f["qbuf"] == "26" and f["qbuf-free"] == "20448"
    assert f["argv-mem"] == "10" and f["multi-mem"] == "0"
    assert (f["rbs"], f["rbp"]) == ("16384", "16384")
    assert (f["obl"], f["oll"], f["omem"]) == ("0", "0", "0")
    assert f["tot-mem"] == "37658"
    assert f["cmd"] == "client|list" and f["flags"] == "N" and f["multi"] == "-1"


def test_an_older_client_has_a_shrunk_reply_buffer_and_idle_clients_a_freed_query_buffer():
    node = _node()
    client = node.new_client()
    node.set_time(NOW + 1000)
    f = fields(client_info_line(client))
    assert (f["qbuf"], f["qbuf-free"], f["rbs"], f["rbp"]) == ("0", "20474", "1024", "0")
    assert f["tot-mem"] == str(20480 + 768 + 1024)
    node.set_time(NOW + 3000)                      # idle for more than 2 s: the cron shrank it
    f = fields(client_info_line(client))
    assert (f["qbuf"], f["qbuf-free"], f["idle"]) == ("0", "0", "3")
    assert f["tot-mem"] == str(8 + 768 + 1024)


def test_multi_state_memory():
    """WATCH k1 k2, MULTI, SET k vvvvv, GET k, INCR x: Redis says multi=3 multi-mem=74
    tot-mem=22554 (an older client: 1 KiB reply buffer)."""
    node = _node()
    client = node.new_client()
    for argv in ([b"WATCH", b"k1", b"k2"], [b"MULTI"], [b"set", b"k", b"vvvvv"],
                 [b"get", b"k"], [b"incr", b"x"]):
        execute(client, argv)
    node.set_time(NOW + 500)
    f = fields(client_info_line(client))
    assert (f["flags"], f["multi"], f["multi-mem"]) == ("x", "3", "74")
    assert f["tot-mem"] == "22554"


def test_pubsub_memory():
    node = _node()
    client = node.new_client()
    execute(client, [b"SUBSCRIBE", b"a", b"b", b"c"])
    execute(client, [b"PSUBSCRIBE", b"p*"])
    node.set_time(NOW + 500)
    f = fields(client_info_line(client))
    assert (f["flags"], f["sub"], f["psub"]) == ("P", "3", "1")
    # three dict entries and four slots, one pattern list node
    assert f["tot-mem"] == str(20480 + 768 + 1024 + 3 * 24 + 4 * 8 + 24)


def test_pending_output_past_the_static_buffer_goes_to_reply_blocks():
    node = _node()
    client = node.new_client()
    node.set_time(NOW + 500)
    client.push_bytes = 1024 + 40000
    f = fields(client_info_line(client))
    assert (f["obl"], f["oll"]) == ("1024", "3")
    assert f["omem"] == str(40000 + 3 * client_info.BLOCK_OVERHEAD)
