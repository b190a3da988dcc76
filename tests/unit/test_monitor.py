"""MONITOR's feed, CLIENT REPLY's settling and LOLWUT's generator, without sockets."""
from __future__ import annotations

import ctypes
import ctypes.util

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.commands.lolwut import GlibcRand, lolwut
from cluster.config.live import Config
from cluster.execution import monitor, replymode
from cluster.execution.client_info import client_info_line
from cluster.execution.table import lookup
from cluster.node import Node
from cluster.resp.reply import NO_REPLY, OK, Push, Replies, ReplyError, Status, encode


def make_node():
    node = Node(Config(), clock=lambda: 1_700_000_000.25)
    return node


def client(node, port):
    return node.new_client(f"127.0.0.1:{port}", "127.0.0.1:6379")


def run(c, *args):
    """What the connection sends back for one request (replymode.run when careful)."""
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    fn = replymode.run if c.reply_mode else c.node.execute
    reply = fn(c, argv)
    if reply.__class__ is replymode.Switch:
        reply = replymode.settle(c, reply)
    return encode(reply, c.resp == 3)


def drain(c) -> list[bytes]:
    out, c.pushes, c.push_bytes = c.pushes, [], 0
    return b"".join(out).split(b"\r\n")[:-1]


# -- the line format ----------------------------------------------------------------------
@pytest.mark.parametrize("arg,want", [
    (b"plain", b'"plain"'), (b"", b'""'), (b'a"b\\c', b'"a\\"b\\\\c"'),
    (b"\n\r\t\x07\x08", b'"\\n\\r\\t\\a\\b"'), (b"\x00\x7f\xff\xe9", b'"\\x00\\x7f\\xff\\xe9"'),
    (b"~ !", b'"~ !"'),
])
def test_repr_arg_is_sdscatrepr(arg, want):
    assert monitor.repr_arg(arg) == want


def test_lines_time_db_addr_and_lua():
    node = make_node()
    mon, a = client(node, 1), client(node, 2)
    assert run(mon, "MONITOR") == b"+OK\r\n"
    assert run(a, "SELECT", "2") == b"+OK\r\n"
    run(a, "SET", "k", "v")
    run(a, "EVAL", "return redis.call('get', KEYS[1])", "1", "k")
    assert drain(mon) == [
        b'+1700000000.250000 [2 127.0.0.1:2] "SELECT" "2"',
        b'+1700000000.250000 [2 127.0.0.1:2] "SET" "k" "v"',
        b'+1700000000.250000 [2 127.0.0.1:2] "EVAL" "return redis.call(\'get\', KEYS[1])" '
        b'"1" "k"',
        b'+1700000000.250000 [2 lua] "get" "k"',
    ]


def test_admin_skip_monitor_and_refused_commands_are_not_fed():
    node = make_node()
    mon, a = client(node, 1), client(node, 2)
    run(mon, "MONITOR")
    for args in (("CONFIG", "GET", "hz"), ("CLIENT", "LIST"), ("DEBUG", "SLEEP", "0"),
                 ("NOSUCH",), ("GET",), ("MONITOR",)):
        run(a, *args)
    run(a, "CLIENT", "ID")
    assert [line.split(b"] ")[1] for line in drain(mon)] == [b'"CLIENT" "ID"']


def test_multi_exec_and_aborted_exec():
    node = make_node()
    mon, a = client(node, 1), client(node, 2)
    run(mon, "MONITOR")
    for args in (("MULTI",), ("SET", "a", "1"), ("EXEC",), ("MULTI",), ("NOSUCH",),
                 ("EXEC",), ("MULTI",), ("MONITOR",)):
        run(a, *args)
    assert run(a, "EXEC") == b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
    assert [line.split(b"] ")[1] for line in drain(mon)] == [
        b'"MULTI"', b'"SET" "a" "1"', b'"EXEC"', b'"MULTI"', b'"EXEC"', b'"MULTI"',
        b'"EXEC"']


@pytest.mark.parametrize("argv,want", [
    ([b"AUTH", b"pw"], [b"AUTH", b"(redacted)"]),
    ([b"AUTH", b"u", b"pw"], [b"AUTH", b"(redacted)", b"(redacted)"]),
    ([b"AUTH", b"a", b"b", b"c"], [b"AUTH", b"a", b"b", b"c"]),
    ([b"HELLO", b"3", b"AUTH", b"u", b"p", b"SETNAME", b"n"],
     [b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)", b"SETNAME", b"n"]),
    ([b"HELLO", b"4", b"AUTH", b"u", b"p"], [b"HELLO", b"4", b"AUTH", b"u", b"p"]),
    ([b"HELLO", b"x", b"AUTH", b"u", b"p"], [b"HELLO", b"x", b"AUTH", b"u", b"p"]),
    ([b"MIGRATE", b"h", b"1", b"", b"0", b"9", b"COPY", b"AUTH", b"p", b"KEYS", b"AUTH"],
     [b"MIGRATE", b"h", b"1", b"", b"0", b"9", b"COPY", b"AUTH", b"(redacted)", b"KEYS",
      b"AUTH"]),
    ([b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH2", b"u", b"p"],
     [b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH2", b"(redacted)", b"(redacted)"]),
    ([b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH2", b"u"],
     [b"MIGRATE", b"h", b"1", b"k", b"0", b"9", b"AUTH2", b"u"]),
])
def test_redaction_as_each_command_parses(argv, want):
    assert monitor.redacted(lookup(argv), argv) == want


def test_hello_redaction_stops_at_the_failing_auth():
    argv = [b"HELLO", b"2", b"AUTH", b"u", b"p", b"AUTH", b"v", b"q"]
    wrong = ReplyError("WRONGPASS invalid username-password pair or user is disabled.")
    assert monitor.redacted(lookup(argv), argv, wrong)[5:] == [b"AUTH", b"v", b"q"]


def test_monitor_may_not_touch_keys_and_its_lines_follow_its_replies():
    node = make_node()
    mon = client(node, 1)
    run(mon, "MONITOR")
    drain(mon)
    assert run(mon, "PING") == b'+PONG\r\n+1700000000.250000 [0 127.0.0.1:1] "PING"\r\n'
    assert run(mon, "GET", "k") == b"-ERR Replica can't interact with the keyspace\r\n"
    assert run(mon, "PUBLISH", "c", "m").startswith(b"-ERR Replica can't")
    assert run(mon, "MONITOR") == b""               # already monitoring: no reply
    assert " flags=O " in client_info_line(mon)
    assert run(mon, "RESET") == b"+RESET\r\n"
    assert node.monitors == [] and "monitor" not in node.gates.on
    assert run(mon, "GET", "k") == b"$-1\r\n"


def test_closed_monitor_is_forgotten():
    node = make_node()
    mon = client(node, 1)
    run(mon, "MONITOR")
    assert node.monitors == [mon]
    node.remove_client(mon)
    assert node.monitors == []


# -- CLIENT REPLY -------------------------------------------------------------------------
def test_reply_off_skip_on_state_machine():
    node = make_node()
    c = client(node, 3)
    assert run(c, "CLIENT", "REPLY", "OFF") == b""
    assert run(c, "PING") == b""
    assert run(c, "NOSUCH") == b""
    assert run(c, "CLIENT", "REPLY", "SKIP") == b""        # no effect while OFF
    assert run(c, "CLIENT", "REPLY", "ON") == b"+OK\r\n"
    assert c.reply_mode == 0
    assert run(c, "CLIENT", "REPLY", "SKIP") == b""
    assert c.reply_mode == replymode.SKIP
    assert run(c, "PING", "a") == b""
    assert run(c, "PING", "b") == b"$1\r\nb\r\n"
    assert c.reply_mode == 0
    assert run(c, "CLIENT", "REPLY", "NOPE") == b"-ERR syntax error\r\n"


def test_settle_lets_pushes_through():
    node = make_node()
    c = client(node, 3)
    c.reply_mode = replymode.OFF
    push = Replies([Push([b"subscribe", b"c", 1])])
    assert replymode.settle(c, push) is push
    assert replymode.settle(c, Status(b"PONG")) is NO_REPLY
    assert replymode.settle(c, replymode.Switch(OK)) is NO_REPLY


def test_reply_in_multi_is_plain():
    node = make_node()
    c = client(node, 3)
    run(c, "MULTI")
    run(c, "CLIENT", "REPLY", "SKIP")
    assert run(c, "EXEC") == b"*1\r\n"                # Redis: the header, then nothing
    assert c.reply_mode == replymode.SKIP
    assert run(c, "PING") == b""                      # the command after EXEC is skipped
    assert run(c, "PING") == b"+PONG\r\n"


# -- LOLWUT's rand() ----------------------------------------------------------------------
def test_glibc_rand_matches_libc():
    path = ctypes.util.find_library("c")
    if path is None or "libc.so.6" not in path:
        pytest.skip("needs glibc")
    libc = ctypes.CDLL(path)
    for seed in (0, 1, 7, 2**31 - 1, 2**31, 2**32 - 1, 123456789):
        libc.srand(ctypes.c_uint(seed))
        ours = GlibcRand(seed)
        assert [ours.rand() for _ in range(700)] == [libc.rand() for _ in range(700)]


def test_lolwut_versions():
    assert lolwut([b"LOLWUT"], 1) == b"Redis ver. 7.0.15\n"
    assert lolwut([b"LOLWUT", b"VERSION", b"8"], 1) == b"Redis ver. 7.0.15\n"
    five = lolwut([b"LOLWUT", b"VERSION", b"5", b"2", b"1", b"1"], 1)
    assert five.endswith(b"\n\nGeorg Nees - schotter, plotter on paper, 1968. "
                         b"Redis ver. 7.0.15\n")
    six = lolwut([b"LOLWUT", b"version", b"6", b"2", b"1"], 1)
    assert six.endswith(b"Original 8 bit image from Plaguemon by hikikomori. "
                        b"Redis ver. 7.0.15\n")
    with pytest.raises(ReplyError, match="not an integer"):
        lolwut([b"LOLWUT", b"VERSION", b"five"], 1)
