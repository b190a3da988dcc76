"""Stream commands over real sockets, side by side with a real redis-server 7.0.15: raw
reply bytes equal in RESP2 and RESP3 for every command and error path (integers masked
only where a reply carries elapsed milliseconds), node boundaries (`~` trims, LIMIT,
XINFO radix-tree-keys/nodes) under several stream-node-max-* settings, keyspace events,
generic key commands on streams."""
from __future__ import annotations

import re

import pytest
import redis

from tests.support import raw_replies

NODE_ARGS = ("--enable-debug-command", "yes")


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _same(pair, script, protocol, masked=()):
    ours, real = pair
    got = raw_replies(ours.port, script, protocol)
    want = raw_replies(real.port, script, protocol)
    for i, (cmd, a, b) in enumerate(zip(script, got, want)):
        if i in masked:
            a, b = (re.sub(rb":\d+\r\n", b":N\r\n", x) for x in (a, b))
        assert a == b, cmd


BASIC = [
    ["FLUSHALL"], ["SET", "str", "v"],
    ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-*", "b", "2"],
    ["XADD", "s", "2", "c", "3", "d", "4"], ["XADD", "s", "0-0", "a", "1"],
    ["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "x", "a", "1"], ["XADD", "s", "1-1", "a"],
    ["XADD", "s", "*"], ["XADD", "str", "*", "a", "b"], ["XADD", "nos", "NOMKSTREAM", "*", "a", "b"],
    ["EXISTS", "nos"], ["XADD", "s", "MAXLEN", "x", "*", "a", "1"],
    ["XADD", "s", "MAXLEN", "-1", "*", "a", "1"], ["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "a", "1"],
    ["XADD", "s", "LIMIT", "1", "3-0", "a", "1"], ["XADD", "s", "MAXLEN", "10", "LIMIT", "1", "3-0", "a", "1"],
    ["XADD", "s", "MAXLEN", "~", "10", "LIMIT", "-1", "3-0", "a", "1"], ["XADD", "s", "MAXLEN"],
    ["XADD", "s", "MAXLEN", "=", "3", "3-0", "x", "y"], ["XLEN", "s"], ["XRANGE", "s", "-", "+"],
    ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"], ["XADD", "s", "*", "a", "b"],
    ["XADD", "s", "18446744073709551616-1", "a", "b"], ["XADD", "s", "-", "a", "b"],
    ["XADD", "s", "+", "a", "b"], ["DEL", "s"], ["XADD", "s", "5-*", "a", "1"], ["XADD", "s", "5-*", "a", "1"],
    ["XADD", "s", "5-18446744073709551615", "a", "1"], ["XADD", "s", "5-*", "a", "1"],
    ["XADD", "s", "MINID", "5-1", "6-0", "f", "v"], ["XRANGE", "s", "-", "+"], ["XLEN", "str"],
    ["XLEN", "nokey"], ["XADD", "s", "007-01", "f", "v"], ["XADD", "s", "8--01", "f", "v"],
    ["XRANGE", "s", "-", "+"],
]

RANGES = [["FLUSHALL"], ["SET", "str", "v"]] + [
    ["XADD", "r", "%d-%d" % (i // 3 + 1, i % 3), "f", str(i)] for i in range(20)] + [
    ["XRANGE", "r", "-", "+", "COUNT", "3"], ["XRANGE", "r", "(1-0", "(3-2"], ["XRANGE", "r", "2", "3"],
    ["XREVRANGE", "r", "+", "-", "COUNT", "4"], ["XREVRANGE", "r", "(5", "(2"],
    ["XRANGE", "r", "-", "+", "COUNT", "0"], ["XRANGE", "r", "-", "+", "COUNT", "-1"],
    ["XRANGE", "r", "-", "+", "COUNT"], ["XRANGE", "r", "-", "+", "FOO", "1"], ["XRANGE", "r", "(-", "+"],
    ["XRANGE", "r", "(18446744073709551615-18446744073709551615", "+"], ["XRANGE", "r", "-", "(0-0"],
    ["XRANGE", "r", "x", "+"], ["XRANGE", "nokey", "-", "+"], ["XRANGE", "str", "-", "+"],
    ["XRANGE", "r", " 2", "+"], ["XRANGE", "r", "+2", "+"], ["XRANGE", "r", "02", "3"],
    ["XRANGE", "r", "2-", "3"], ["XRANGE", "r", "5", "2"], ["XRANGE", "r", "(", "+"],
    ["XDEL", "r", "1-0", "1-1", "9-9"], ["XDEL", "r", "x"], ["XDEL", "nokey", "1-0"],
    ["XDEL", "r", "1-2", "2-0"], ["XINFO", "STREAM", "r"], ["XINFO", "STREAM", "r", "FULL"],
    ["XINFO", "STREAM", "r", "FULL", "COUNT", "2"], ["XINFO", "STREAM", "r", "FULL", "COUNT", "-5"],
    ["XINFO", "STREAM", "r", "FOO"], ["XINFO", "STREAM", "r", "FULL", "FOO", "1"],
    ["XINFO", "STREAM", "nokey"], ["XINFO", "STREAM", "str"], ["XINFO", "HELP"], ["XINFO", "HELP", "x"],
    ["XINFO", "FOO", "r"], ["XINFO", "GROUPS", "r"], ["XINFO"],
    ["XTRIM", "r", "MAXLEN", "5"], ["XTRIM", "r", "MINID", "6"], ["XTRIM", "r"], ["XTRIM", "r", "FOO", "1"],
    ["XTRIM", "r", "MAXLEN", "~", "2"], ["XTRIM", "r", "MAXLEN", "2", "LIMIT", "5"],
    ["XTRIM", "r", "MAXLEN", "2", "NOMKSTREAM"], ["XTRIM", "nokey", "MAXLEN", "1"],
    ["XTRIM", "str", "MAXLEN", "1"], ["XRANGE", "r", "-", "+"], ["XSETID", "r", "1-0"],
    ["XSETID", "r", "100-0"], ["XSETID", "nokey", "1-0"], ["XSETID", "str", "1-0"],
    ["XSETID", "r", "200-0", "ENTRIESADDED", "1"],
    ["XSETID", "r", "200-0", "ENTRIESADDED", "100", "MAXDELETEDID", "300-0"],
    ["XSETID", "r", "200-0", "ENTRIESADDED", "100", "MAXDELETEDID", "150-0"],
    ["XSETID", "r", "200-0", "FOO"], ["XSETID", "r", "200-0", "ENTRIESADDED", "-1"],
    ["XSETID", "r", "+"], ["XINFO", "STREAM", "r"], ["TYPE", "r"], ["OBJECT", "ENCODING", "r"],
    ["COPY", "r", "r2"], ["XRANGE", "r2", "-", "+"], ["XINFO", "STREAM", "r2"],
    ["RENAME", "r2", "r3"], ["XLEN", "r3"], ["SCAN", "0", "TYPE", "stream", "MATCH", "r3", "COUNT", "100"], ["SCAN", "0", "TYPE", "string", "MATCH", "r3", "COUNT", "100"],
    ["DEL", "r3"], ["XADD", "e", "1-0", "f", "v"], ["XDEL", "e", "1-0"], ["EXISTS", "e"],
    ["XINFO", "STREAM", "e"], ["XADD", "e", "1-0", "f", "v"],
]

GROUPS = [
    ["FLUSHALL"], ["SET", "str", "v"], ["XADD", "g", "1-0", "a", "1"], ["XADD", "g", "2-0", "b", "2"],
    ["XADD", "g", "3-0", "c", "3"], ["XGROUP", "CREATE", "g", "grp", "0"],
    ["XGROUP", "CREATE", "g", "grp", "0"], ["XGROUP", "CREATE", "nokey", "grp", "$"],
    ["XGROUP", "CREATE", "str", "grp", "$"], ["XGROUP", "CREATE", "nokey", "grp", "$", "MKSTREAM"],
    ["XGROUP", "CREATE", "g", "g2", "$", "ENTRIESREAD", "-2"],
    ["XGROUP", "CREATE", "g", "g2", "$", "ENTRIESREAD", "2", "FOO"], ["XGROUP", "CREATE", "g", "g3", "x"],
    ["XGROUP", "CREATE", "g", "g4", "+"], ["XGROUP", "CREATE", "g", "g5", "2", "ENTRIESREAD", "2"],
    ["XGROUP", "CREATE", "g", "g6", "$", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM"],
    ["XGROUP", "SETID", "g", "nogrp", "0"], ["XGROUP", "SETID", "g", "g5", "1", "ENTRIESREAD"],
    ["XGROUP", "SETID", "g", "g5", "+"], ["XGROUP", "CREATECONSUMER", "g", "grp", "alice"],
    ["XGROUP", "CREATECONSUMER", "g", "grp", "alice"], ["XGROUP", "CREATECONSUMER", "g", "nogrp", "x"],
    ["XGROUP", "FOO", "g", "grp"], ["XGROUP", "HELP"], ["XGROUP", "CREATE", "g"],
    ["XREADGROUP", "GROUP", "grp", "bob", "COUNT", "2", "STREAMS", "g", ">"],
    ["XREADGROUP", "GROUP", "grp", "bob", "STREAMS", "g", "0"],
    ["XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "g", ">"],
    ["XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "g", ">"],
    ["XREADGROUP", "GROUP", "g5", "carol", "NOACK", "STREAMS", "g", ">"],
    ["XREADGROUP", "GROUP", "nogrp", "carol", "STREAMS", "g", ">"],
    ["XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "g", "$"],
    ["XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "g"], ["XREAD", "STREAMS", "g", ">"],
    ["XREAD", "GROUP", "a", "b", "STREAMS", "g", "0"], ["XREAD", "NOACK", "STREAMS", "g", "0"],
    ["XREADGROUP", "STREAMS", "g", "0"], ["XREAD", "COUNT", "2", "STREAMS", "g", "0"],
    ["XREAD", "STREAMS", "g", "nokey", "0", "0"], ["XREAD", "STREAMS", "g", "$"],
    ["XREAD", "STREAMS", "str", "0"], ["XREAD", "COUNT", "x", "STREAMS", "g", "0"],
    ["XREAD", "BLOCK", "-1", "STREAMS", "g", "0"], ["XREAD", "BLOCK", "x", "STREAMS", "g", "0"],
    ["XREAD", "STREAMS", "g", "0", "FOO"], ["XREAD", "FOO", "STREAMS", "g", "0"],
    ["XPENDING", "g", "grp"], ["XPENDING", "g", "grp", "-", "+", "10", "nobody"],
    ["XPENDING", "g", "grp", "IDLE", "100000", "-", "+", "10"], ["XPENDING", "g", "grp", "-", "+"],
    ["XPENDING", "g", "nogrp"], ["XPENDING", "g", "grp", "IDLE", "x", "-", "+", "1"],
    ["XPENDING", "g", "grp", "IDLE", "1", "-", "+"], ["XPENDING", "str", "grp"],
    ["XPENDING", "g", "grp", "-", "+", "x"], ["XPENDING", "g", "grp", "(-", "+", "1"],
    ["XINFO", "GROUPS", "g"], ["XINFO", "CONSUMERS", "g", "nogrp"],
    ["XACK", "g", "grp", "1-0", "9-0"], ["XACK", "g", "grp", "x"], ["XACK", "g", "nogrp", "1-0"],
    ["XACK", "nokey", "grp", "1-0"], ["XACK", "str", "grp", "1-0"],
    ["XCLAIM", "g", "grp", "alice", "0", "2-0", "JUSTID"], ["XCLAIM", "g", "grp", "alice", "0", "3-0"],
    ["XCLAIM", "g", "grp", "alice", "x", "3-0"], ["XCLAIM", "g", "grp", "alice", "0", "3-0", "FOO"],
    ["XCLAIM", "g", "grp", "alice", "0", "3-0", "IDLE", "x"],
    ["XCLAIM", "g", "grp", "alice", "0", "3-0", "RETRYCOUNT", "x"],
    ["XCLAIM", "g", "grp", "alice", "0", "3-0", "LASTID", "x"],
    ["XCLAIM", "g", "nogrp", "alice", "0", "3-0"], ["XCLAIM", "str", "grp", "alice", "0", "3-0"],
    ["XCLAIM", "g", "grp", "dave", "0", "1-0", "FORCE", "JUSTID", "RETRYCOUNT", "7"],
    ["XCLAIM", "g", "grp", "dave", "3600000", "2-0", "JUSTID"],
    ["XCLAIM", "g", "grp", "dave", "0", "9-0", "FORCE", "JUSTID", "LASTID", "9-0"],
    ["XPENDING", "g", "grp"], ["XDEL", "g", "2-0"],
    ["XAUTOCLAIM", "g", "grp", "eve", "0", "0", "COUNT", "1"],
    ["XAUTOCLAIM", "g", "grp", "eve", "0", "0", "JUSTID"], ["XAUTOCLAIM", "g", "grp", "eve", "0", "0", "COUNT", "0"],
    ["XAUTOCLAIM", "g", "grp", "eve", "x", "0"], ["XAUTOCLAIM", "g", "nogrp", "eve", "0", "0"],
    ["XAUTOCLAIM", "g", "grp", "eve", "0", "(0-0", "FOO"], ["XAUTOCLAIM", "g", "grp", "eve", "0", "x"],
    ["XAUTOCLAIM", "g", "grp", "eve", "3600000", "0"], ["XAUTOCLAIM", "str", "grp", "eve", "0", "0"],
    ["XINFO", "GROUPS", "g"], ["XGROUP", "DELCONSUMER", "g", "grp", "eve"],
    ["XGROUP", "DELCONSUMER", "g", "grp", "eve"], ["XGROUP", "SETID", "g", "grp", "$", "ENTRIESREAD", "3"],
    ["XGROUP", "SETID", "g", "grp", "0", "FOO"], ["XINFO", "GROUPS", "g"], ["XDEL", "g", "1-0"],
    ["XINFO", "GROUPS", "g"], ["XGROUP", "DESTROY", "g", "grp"], ["XGROUP", "DESTROY", "g", "grp"],
    ["XINFO", "GROUPS", "g"], ["XGROUP", "DESTROY", "nokey", "grp"],
    ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "g", "$"], ["EXEC"],
]
TIMED = [  # replies with elapsed ms: compared with integers masked
    ["FLUSHALL"], ["XADD", "p", "1-0", "a", "1"], ["XADD", "p", "2-0", "b", "2"],
    ["XGROUP", "CREATE", "p", "grp", "0"], ["XREADGROUP", "GROUP", "grp", "bob", "STREAMS", "p", ">"],
    ["XPENDING", "p", "grp", "-", "+", "10"], ["XPENDING", "p", "grp", "-", "+", "10", "bob"],
    ["XINFO", "CONSUMERS", "p", "grp"], ["XINFO", "STREAM", "p", "FULL"],
]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize("script", [BASIC, RANGES, GROUPS], ids=["basic", "ranges", "groups"])
def test_side_by_side(pair, script, protocol):
    _same(pair, script, protocol)


@pytest.mark.parametrize("protocol", [2, 3])
def test_side_by_side_timed(pair, protocol):
    _same(pair, TIMED, protocol, masked=range(5, 9))


def _nodes_script(max_entries: int, max_bytes: int) -> list:
    cmds = [["FLUSHALL"], ["CONFIG", "SET", "stream-node-max-entries", str(max_entries)],
            ["CONFIG", "SET", "stream-node-max-bytes", str(max_bytes)]]
    for i in range(1, 260):
        if i % 7 == 0:
            cmds.append(["XADD", "t", "%d-1" % i, "field", "v" * (i % 13), "other", str(i * 1000)])
        else:
            cmds.append(["XADD", "t", "%d-%d" % (i, i % 3), "field", "x" * (i % 5)])
        if i % 60 == 0:
            cmds.append(["XINFO", "STREAM", "t"])
    for tail in (["XDEL", "t", "5-2", "6-0", "100-1"], ["XTRIM", "t", "MAXLEN", "~", "200"],
                 ["XTRIM", "t", "MINID", "~", "120"], ["XTRIM", "t", "MAXLEN", "150"],
                 ["XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "30"], ["XTRIM", "t", "MINID", "200"],
                 ["XADD", "t", "MAXLEN", "~", "20", "300-0", "a", "b"],
                 ["XADD", "t", "MINID", "~", "250", "LIMIT", "5", "301-0", "a", "b"],
                 ["XTRIM", "t", "MAXLEN", "0"]):
        cmds += [tail, ["XINFO", "STREAM", "t"]]
    return cmds + [["CONFIG", "SET", "stream-node-max-entries", "100"],
                   ["CONFIG", "SET", "stream-node-max-bytes", "4096"]]


@pytest.mark.parametrize("limits", [(100, 4096), (10, 4096), (3, 0), (0, 120), (1, 4096)])
def test_node_boundaries(pair, limits):
    _same(pair, _nodes_script(*limits), 2)


def _events(port: int, script: list) -> list:
    r = redis.Redis(port=port, socket_timeout=10)
    r.config_set("notify-keyspace-events", "KEA")
    p = r.pubsub()
    p.psubscribe("__keyevent@*")
    p.get_message(timeout=5)
    for cmd in script:
        try:
            r.execute_command(*cmd)
        except redis.ResponseError:
            pass
    r.execute_command("PING")
    events = []
    while True:
        m = p.get_message(timeout=0.5)
        if m is None:
            break
        events.append((m["channel"], m["data"]))
    p.close()
    r.config_set("notify-keyspace-events", "")
    r.close()
    return events


def test_keyspace_events(pair):
    script = [["FLUSHALL"], ["XADD", "n", "1-0", "f", "v"], ["XADD", "n", "MAXLEN", "0", "2-0", "f", "v"],
              ["XADD", "n", "3-0", "f", "v"], ["XDEL", "n", "3-0"], ["XDEL", "n", "3-0"],
              ["XADD", "n", "4-0", "f", "v"], ["XTRIM", "n", "MAXLEN", "0"],
              ["XGROUP", "CREATE", "n", "g", "$"], ["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
              ["XGROUP", "CREATECONSUMER", "n", "g", "c"], ["XGROUP", "SETID", "n", "g", "0"],
              ["XADD", "n", "5-0", "f", "v"],
              ["XREADGROUP", "GROUP", "g", "d", "STREAMS", "n", ">"],
              ["XCLAIM", "n", "g", "e", "0", "5-0"], ["XAUTOCLAIM", "n", "g", "f", "0", "0"],
              ["XGROUP", "DELCONSUMER", "n", "g", "c"], ["XGROUP", "DESTROY", "n", "g"],
              ["XSETID", "n", "9-0"], ["DEL", "n"]]
    ours, real = pair
    assert _events(ours.port, script) == _events(real.port, script)


def test_memory_usage_and_debug_on_streams(node):
    r = redis.Redis(port=node.port, socket_timeout=10)
    r.delete("mu")
    for i in range(50):
        r.xadd("mu", {"f": str(i)})
    r.xgroup_create("mu", "g", "0")
    r.xreadgroup("g", "c", {"mu": ">"}, count=5)
    assert r.memory_usage("mu") > 0
    assert r.execute_command("DEBUG", "DIGEST-VALUE", "mu")
    assert r.object("encoding", "mu") == b"stream"
    r.close()
