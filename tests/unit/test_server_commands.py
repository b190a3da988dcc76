"""Server commands through dispatch: CONFIG, CLIENT, DEBUG, MEMORY, SLOWLOG, TIME, WAIT ..."""
from collections import deque

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.commands.checks import validate_client_name
from cluster.commands.server_client import client_info_line
from cluster.commands.server_debug import dataset_digest
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Block
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError, Status, Verbatim

# The field names of a CLIENT LIST line of redis-server 7.0.15, in order.
CLIENT_FIELDS = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
                 "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir "
                 "resp").split()


def make(*args):
    config = Config()
    config.load_args(list(args))
    node = Node(config, clock=lambda: 1_700_000_000.0)
    return node, node.new_client("127.0.0.1:5000", "127.0.0.1:6379")


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def parse_line(line: str) -> dict:
    return dict(field.split("=", 1) for field in line.split(" "))


def test_config_get_set_through_dispatch():
    node, c = make()
    assert execute(c, [b"CONFIG", b"GET", b"save", b"appendonly"]) == {
        b"save": b"3600 1 300 100 60 10000", b"appendonly": b"no"}
    assert execute(c, [b"CONFIG", b"SET", b"maxmemory", b"10mb", b"timeout", b"5"]) is OK
    assert node.config["maxmemory"] == 10485760 and node.config["timeout"] == 5
    assert err(execute(c, [b"CONFIG", b"SET", b"maxmemory", b"0", b"hz"])) == \
        "ERR syntax error"
    assert err(execute(c, [b"CONFIG", b"SET", b"a"])) == \
        "ERR wrong number of arguments for 'config|set' command"
    assert err(execute(c, [b"CONFIG", b"GET"])) == \
        "ERR wrong number of arguments for 'config|get' command"
    assert err(execute(c, [b"CONFIG", b"foo"])) == \
        "ERR unknown subcommand 'foo'. Try CONFIG HELP."
    assert err(execute(c, [b"CONFIG", b"REWRITE"])) == \
        "ERR The server is running without a config file"
    assert execute(c, [b"CONFIG", b"HELP"])[0] == Status(
        b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")


def test_config_set_requirepass_applies_to_new_clients():
    node, c = make()
    execute(c, [b"CONFIG", b"SET", b"requirepass", b"pw"])
    assert c.authenticated                         # existing connections stay in
    fresh = node.new_client("127.0.0.1:5001", "127.0.0.1:6379")
    assert err(execute(fresh, [b"GET", b"x"])) == "NOAUTH Authentication required."
    assert execute(fresh, [b"AUTH", b"pw"]) is OK


def test_config_set_loglevel_reconfigures_the_log():
    node, c = make()
    execute(c, [b"CONFIG", b"SET", b"loglevel", b"warning"])
    assert node.log.level == 3


def test_protected_dir_allowed_when_enabled_locally(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    node, c = make("--enable-protected-configs", "local")
    (tmp_path / "sub").mkdir()
    assert execute(c, [b"CONFIG", b"SET", b"dir", str(tmp_path / "sub").encode()]) is OK
    assert execute(c, [b"CONFIG", b"GET", b"dir"]) == {b"dir": str(tmp_path / "sub").encode()}
    assert err(execute(c, [b"CONFIG", b"SET", b"dir", b"/nonexistent/x"])) == (
        "ERR CONFIG SET failed (possibly related to argument 'dir') - "
        "No such file or directory")


def test_config_resetstat_clears_counters():
    node, c = make()
    execute(c, [b"GET", b"k"])
    execute(c, [b"NOPE"])
    assert execute(c, [b"CONFIG", b"RESETSTAT"]) is OK
    assert node.keyspace.misses == 0 and node.stats.errors == {}
    assert set(node.stats.commands) == {"config|resetstat"}


def test_client_list_line_has_redis_fields():
    node, c = make()
    other = node.new_client("10.0.0.9:4000", "127.0.0.1:6379", fd=12)
    execute(other, [b"CLIENT", b"SETNAME", b"worker"])
    execute(other, [b"SELECT", b"2"])
    reply = execute(c, [b"CLIENT", b"LIST"])
    assert reply.__class__ is Verbatim and reply.endswith(b"\n")
    lines = reply.decode().splitlines()
    assert [list(parse_line(ln)) for ln in lines] == [CLIENT_FIELDS, CLIENT_FIELDS]
    me, them = parse_line(lines[0]), parse_line(lines[1])
    assert me["cmd"] == "client|list" and me["flags"] == "N" and me["multi"] == "-1"
    assert them == {**them, "id": str(other.id), "addr": "10.0.0.9:4000", "fd": "12",
                    "name": "worker", "db": "2", "cmd": "select", "user": "default",
                    "resp": "2", "redir": "-1", "events": "r"}
    info = execute(c, [b"CLIENT", b"INFO"]).decode()
    assert parse_line(info.rstrip("\n"))["cmd"] == "client|info"
    by_id = execute(c, [b"CLIENT", b"LIST", b"ID", str(other.id).encode(), b"999"])
    assert by_id.decode().count("\n") == 1 and "name=worker" in by_id.decode()
    assert err(execute(c, [b"CLIENT", b"LIST", b"ID", b"abc"])) == "ERR Invalid client ID"
    assert err(execute(c, [b"CLIENT", b"LIST", b"TYPE", b"foo"])) == \
        "ERR Unknown client type 'foo'"
    assert execute(c, [b"CLIENT", b"LIST", b"TYPE", b"master"]) == b""
    assert execute(c, [b"CLIENT", b"LIST", b"TYPE", b"normal"]).count(b"\n") == 2
    assert err(execute(c, [b"CLIENT", b"LIST", b"foo"])) == "ERR syntax error"
    execute(c, [b"MULTI"])
    execute(c, [b"SET", b"a", b"b"])
    multi = parse_line(client_info_line(c))
    assert multi["flags"] == "x" and multi["multi"] == "1"


def test_client_name_rules():
    node, c = make()
    assert execute(c, [b"CLIENT", b"GETNAME"]) is None
    bad = "ERR Client names cannot contain spaces, newlines or special characters."
    assert err(execute(c, [b"CLIENT", b"SETNAME", b"a b"])) == bad
    assert err(execute(c, [b"CLIENT", b"SETNAME", b"a\nb"])) == bad
    assert execute(c, [b"CLIENT", b"SETNAME", b"ok"]) is OK
    assert execute(c, [b"CLIENT", b"GETNAME"]) == b"ok"
    assert execute(c, [b"CLIENT", b"SETNAME", b""]) is OK
    assert execute(c, [b"CLIENT", b"GETNAME"]) is None
    assert execute(c, [b"CLIENT", b"ID"]) == c.id
    with pytest.raises(ReplyError):
        validate_client_name(b"\x7f")
    validate_client_name(b"!~")


def test_client_kill_forms():
    node, c = make()
    killed = []
    other = node.new_client("10.0.0.9:4000", "127.0.0.1:6379")
    other.killer = lambda: killed.append(other.id)
    assert err(execute(c, [b"CLIENT", b"KILL", b"1.2.3.4:5"])) == "ERR No such client"
    assert err(execute(c, [b"CLIENT", b"KILL", b"ID", b"abc"])) == \
        "ERR client-id should be greater than 0"
    assert err(execute(c, [b"CLIENT", b"KILL", b"TYPE", b"foo"])) == \
        "ERR Unknown client type 'foo'"
    assert err(execute(c, [b"CLIENT", b"KILL", b"USER", b"nouser"])) == \
        "ERR No such user 'nouser'"
    assert err(execute(c, [b"CLIENT", b"KILL", b"foo", b"bar"])) == "ERR syntax error"
    assert err(execute(c, [b"CLIENT", b"KILL", b"SKIPME", b"maybe"])) == "ERR syntax error"
    assert err(execute(c, [b"CLIENT", b"KILL", b"ID", b"1", b"TYPE"])) == "ERR syntax error"
    assert execute(c, [b"CLIENT", b"KILL", b"ADDR", b"1.2.3.4:5"]) == 0
    assert execute(c, [b"CLIENT", b"KILL", b"TYPE", b"normal"]) == 1   # skips itself
    assert killed == [other.id] and not c.close_after_reply
    assert execute(c, [b"CLIENT", b"KILL", b"127.0.0.1:5000"]) is OK  # old form: itself
    assert c.close_after_reply


def test_client_misc_subcommands():
    node, c = make()
    assert execute(c, [b"CLIENT", b"NO-EVICT", b"on"]) is OK and c.no_evict
    assert err(execute(c, [b"CLIENT", b"NO-EVICT", b"maybe"])) == "ERR syntax error"
    assert execute(c, [b"CLIENT", b"NO-TOUCH", b"ON"]) is OK and c.no_touch
    assert execute(c, [b"CLIENT", b"SETINFO", b"LIB-NAME", b"redis-py"]) is OK
    assert c.lib_name == b"redis-py"
    assert err(execute(c, [b"CLIENT", b"SETINFO", b"foo", b"x"])) == \
        "ERR Unrecognized option 'foo'"
    assert err(execute(c, [b"CLIENT", b"ID", b"x"])) == \
        "ERR wrong number of arguments for 'client|id' command"
    help_lines = execute(c, [b"CLIENT", b"HELP"])
    assert help_lines[0] == b"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert help_lines[-2:] == [b"HELP", b"    Prints this help."]


def test_debug_needs_enable_debug_command():
    node, c = make()
    assert err(execute(c, [b"DEBUG", b"DIGEST"])).startswith(
        "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
        "\"local\", you can run it from a local connection")


def test_debug_digest_is_order_independent():
    n1, c1 = make("--enable-debug-command", "yes")
    n2, c2 = make("--enable-debug-command", "local")
    assert execute(c1, [b"DEBUG", b"DIGEST"]) == Status(b"0" * 40)
    for k, v in ((b"a", b"1"), (b"b", b"2"), (b"c", b"3")):
        execute(c1, [b"SET", k, v])
    for k, v in ((b"c", b"3"), (b"a", b"1"), (b"b", b"2")):
        execute(c2, [b"SET", k, v])
    d1 = execute(c1, [b"DEBUG", b"DIGEST"])
    assert d1 == execute(c2, [b"DEBUG", b"DIGEST"]) and d1 != b"0" * 40 and len(d1) == 40
    n2.keyspace[0].set_expire(b"a", 1_800_000_000_000)
    assert execute(c2, [b"DEBUG", b"DIGEST"]) != d1
    n2.keyspace[0].persist(b"a")
    n2.keyspace[0].store(b"b", b"changed")
    assert execute(c2, [b"DEBUG", b"DIGEST"]) != d1
    values = execute(c1, [b"DEBUG", b"DIGEST-VALUE", b"a", b"nokey"])
    assert values[1] == b"0" * 40 and values[0] != values[1]
    n1.keyspace[0].store(b"l", deque([b"x", b"y"]))
    n2.keyspace[0].store(b"l", deque([b"y", b"x"]))
    assert dataset_digest(n1.keyspace) != dataset_digest(n2.keyspace)
    assert err(execute(c1, [b"DEBUG", b"foo"])) == (
        "ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.")
    assert err(execute(c1, [b"DEBUG", b"ERROR", b"MYERR boom"])) == "MYERR boom"
    assert execute(c1, [b"DEBUG", b"SLEEP", b"0"]) is OK
    assert execute(c1, [b"DEBUG", b"SLEEP", b"x"]) is OK


def test_memory_usage():
    node, c = make()
    assert execute(c, [b"MEMORY", b"USAGE", b"nokey"]) is None
    execute(c, [b"SET", b"small", b"x"])
    execute(c, [b"SET", b"big", b"x" * 10000])
    small = execute(c, [b"MEMORY", b"USAGE", b"small"])
    big = execute(c, [b"MEMORY", b"USAGE", b"big", b"SAMPLES", b"0"])
    assert 40 < small < 200 and big > small + 9900
    assert err(execute(c, [b"MEMORY", b"USAGE", b"small", b"SAMPLES", b"x"])) == \
        "ERR value is not an integer or out of range"
    assert err(execute(c, [b"MEMORY", b"USAGE", b"small", b"SAMPLES", b"-1"])) == \
        "ERR syntax error"
    assert err(execute(c, [b"MEMORY", b"USAGE", b"small", b"foo"])) == "ERR syntax error"
    node.keyspace[0].store(b"list", deque([b"a" * 100] * 1000))
    assert execute(c, [b"MEMORY", b"USAGE", b"list"]) > 100 * 1000
    assert execute(c, [b"MEMORY", b"HELP"])[-4] == \
        b"    Return memory in bytes used by <key> and its value. Nested values are"


def test_slowlog():
    node, c = make("--slowlog-log-slower-than", "0")
    execute(c, [b"CLIENT", b"SETNAME", b"me"])
    execute(c, [b"SET", b"k", b"v" * 200])
    entries = execute(c, [b"SLOWLOG", b"GET", b"1"])
    assert len(entries) == 1
    ident, ts, duration, args, addr, name = entries[0]
    assert args == [b"SET", b"k", b"v" * 128 + b"... (72 more bytes)"]
    assert (ts, addr, name) == (1_700_000_000, b"127.0.0.1:5000", b"me")
    assert isinstance(ident, int) and isinstance(duration, int)
    assert execute(c, [b"SLOWLOG", b"LEN"]) >= 3
    assert len(execute(c, [b"SLOWLOG", b"GET", b"-1"])) >= 4
    assert err(execute(c, [b"SLOWLOG", b"GET", b"-2"])) == \
        "ERR count should be greater than or equal to -1"
    assert err(execute(c, [b"SLOWLOG", b"GET", b"x"])) == \
        "ERR count should be greater than or equal to -1"
    assert execute(c, [b"SLOWLOG", b"RESET"]) is OK
    assert execute(c, [b"SLOWLOG", b"LEN"]) == 1     # the RESET itself is slow (> 0 us)
    assert err(execute(c, [b"SLOWLOG", b"foo"])) == \
        "ERR unknown subcommand 'foo'. Try SLOWLOG HELP."


def test_time_lastsave_wait():
    node, c = make()
    assert execute(c, [b"TIME"]) == [b"1700000000", b"0"]
    assert execute(c, [b"LASTSAVE"]) == node.persist.last_save_s
    assert execute(c, [b"WAIT", b"0", b"0"]) == 0
    assert err(execute(c, [b"WAIT", b"x", b"0"])) == \
        "ERR value is not an integer or out of range"
    assert err(execute(c, [b"WAIT", b"0", b"-1"])) == "ERR timeout is negative"
    block = execute(c, [b"WAIT", b"1", b"250"])
    assert isinstance(block, Block) and (block.timeout_ms, block.reply) == (250, 0)
    assert execute(c, [b"WAIT", b"1", b"0"]).timeout_ms is None
    execute(c, [b"MULTI"])
    execute(c, [b"WAIT", b"1", b"250"])
    assert execute(c, [b"EXEC"]) == [0]


def test_shutdown_arguments():
    node, c = make()
    asked = []
    node.request_shutdown = lambda: asked.append(True)
    assert err(execute(c, [b"SHUTDOWN", b"foo"])) == "ERR syntax error"
    assert err(execute(c, [b"SHUTDOWN", b"SAVE", b"NOSAVE"])) == "ERR syntax error"
    assert err(execute(c, [b"SHUTDOWN", b"ABORT", b"NOW"])) == "ERR syntax error"
    assert err(execute(c, [b"SHUTDOWN", b"ABORT"])) == "ERR No shutdown in progress."
    assert not asked
    reply = execute(c, [b"SHUTDOWN", b"NOSAVE", b"NOW"])
    assert isinstance(reply, Block) and reply.timeout_ms is None
    assert asked == [True] and node.persist.shutdown_save is False
