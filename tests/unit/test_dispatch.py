"""The way of a command through dispatch: lookup, arity, auth, stats, propagation."""
from cluster.commands import registry  # noqa: F401
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError


def make_node(*args):
    config = Config()
    config.load_args(list(args))
    node = Node(config, clock=lambda: 1_700_000_000.0)
    return node, node.new_client("127.0.0.1:5000", "127.0.0.1:6379")


def test_unknown_command_words_as_redis():
    node, c = make_node()
    reply = execute(c, [b"FOO", b"a", b"b"])
    assert isinstance(reply, ReplyError)
    assert reply.message == "ERR unknown command 'FOO', with args beginning with: 'a' 'b' "
    long = execute(c, [b"x", b"A" * 200, b"B"])
    assert long.message == ("ERR unknown command 'x', with args beginning with: '"
                            + "A" * 128 + "' ")
    assert node.stats.errors["ERR"] == 2


def test_wrong_arity_and_case_insensitive_lookup():
    node, c = make_node()
    assert execute(c, [b"GeT"]).message == "ERR wrong number of arguments for 'get' command"
    assert execute(c, [b"sEt", b"k", b"v"]) is OK
    assert execute(c, [b"GET", b"k"]) == b"v"
    assert node.stats.commands["get"].rejected == 1
    assert node.stats.commands["get"].calls == 1


def test_noauth_until_auth():
    node, c = make_node("--requirepass", "pw")
    assert execute(c, [b"GET", b"k"]).message == "NOAUTH Authentication required."
    assert execute(c, [b"AUTH", b"nope"]).message.startswith("WRONGPASS")
    assert execute(c, [b"AUTH", b"pw"]) is OK
    assert execute(c, [b"GET", b"k"]) is None


def test_writes_that_change_data_are_propagated_once():
    node, c = make_node()
    seen = []
    node.propagator.sinks.append(seen.append)
    execute(c, [b"SET", b"k", b"v"])
    execute(c, [b"GET", b"k"])
    assert seen == [b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"]


def test_handler_crash_is_an_error_reply_not_a_traceback(monkeypatch):
    node, c = make_node()
    from cluster.execution.table import TABLE
    monkeypatch.setattr(TABLE["echo"], "handler", lambda client, argv: 1 / 0)
    reply = execute(c, [b"ECHO", b"x"])
    assert isinstance(reply, ReplyError) and reply.message.startswith("ERR")
