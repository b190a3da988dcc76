"""The dispatcher's gates: Redis's processCommand order, and each gate on only while its
subsystem can refuse something (a plain node runs no gate at all)."""
import pytest

from cluster.commands import registry  # noqa: F401  (registers the command table)
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.execution.gates import Gates
from cluster.node import Node
from cluster.resp.reply import OK, QUEUED, ReplyError

NOW = 1_700_000_000_000


@pytest.fixture
def node():
    n = Node(Config(), clock=lambda: NOW / 1000)
    n.set_time(NOW)
    return n


def names(node) -> list[str]:
    on = set(node.gates.active)
    return [name for name, gate in node.gates.order if gate in on]


def test_the_order_is_processcommands():
    assert [name for name, _ in Node(Config()).gates.order] == [
        "auth", "acl", "routing", "client-evict", "oom", "min-replicas", "replica", "pubsub", "loading", "busy",
        "monitor", "pause", "multi", "migrate"]


def test_a_plain_node_runs_no_gate(node):
    assert names(node) == []
    assert execute(node.new_client(), [b"SET", b"k", b"v"]) is OK


def test_turn_and_hold_release():
    seen = []
    gates = Gates([("a", lambda *a: seen.append("a")), ("b", lambda *a: seen.append("b"))])
    gates.turn("b")
    gates.turn("b")                     # idempotent
    gates.hold("a")
    gates.hold("a")
    for gate in gates.active:
        gate()
    assert seen == ["a", "b"]           # in order, whatever the order of switching on
    gates.release("a")
    assert len(gates.active) == 2       # one holder left
    gates.release("a")
    gates.turn("b", False)
    assert gates.active == ()
    with pytest.raises(KeyError):
        gates.turn("nope")


def test_multi_gate_follows_the_clients_in_multi(node):
    a, b = node.new_client(), node.new_client()
    assert execute(a, [b"MULTI"]) is OK
    assert execute(b, [b"MULTI"]) is OK
    assert names(node) == ["multi"]
    assert execute(a, [b"SET", b"k", b"1"]) is QUEUED
    assert execute(a, [b"EXEC"]) == [OK]
    assert names(node) == ["multi"]     # b still queues
    node.remove_client(b)               # a close ends its transaction too
    assert names(node) == []


def test_pubsub_gate_follows_the_subscribed_clients(node):
    c = node.new_client()
    execute(c, [b"SUBSCRIBE", b"ch"])
    assert names(node) == ["pubsub"]
    refused = execute(c, [b"GET", b"k"])
    assert isinstance(refused, ReplyError) and refused.message.startswith(
        "ERR Can't execute 'get'")
    execute(c, [b"UNSUBSCRIBE"])
    assert names(node) == []
    execute(c, [b"PSUBSCRIBE", b"p*"])
    node.remove_client(c)
    assert names(node) == []


def test_auth_and_min_replicas_follow_the_config(node):
    c = node.new_client()
    assert execute(c, [b"CONFIG", b"SET", b"requirepass", b"pw"]) is OK
    assert names(node) == ["auth"]
    other = node.new_client()
    assert execute(other, [b"GET", b"k"]).message == "NOAUTH Authentication required."
    assert execute(c, [b"CONFIG", b"SET", b"min-replicas-to-write", b"1"]) is OK
    assert names(node) == ["auth", "min-replicas"]
    assert execute(c, [b"SET", b"k", b"v"]).message == (
        "NOREPLICAS Not enough good replicas to write.")
    assert execute(c, [b"CONFIG", b"SET", b"requirepass", b""]) is OK
    assert names(node) == ["min-replicas"]
    assert execute(other, [b"GET", b"k"]) is None      # no password: nobody is refused


def test_the_acl_gate_is_on_while_some_user_has_less_than_all(node):
    c = node.new_client()
    assert names(node) == []
    assert execute(c, [b"ACL", b"SETUSER", b"app", b"on", b"nopass", b"~a*", b"+get"]) is OK
    assert names(node) == ["acl"]
    assert execute(c, [b"AUTH", b"app", b"x"]) is OK
    assert execute(c, [b"GET", b"b"]).message == (
        "NOPERM this user has no permissions to access one of the keys used as arguments")
    assert execute(c, [b"SET", b"a", b"1"]).message == (
        "NOPERM this user has no permissions to run the 'set' command")
    assert execute(c, [b"GET", b"a"]) is None
    admin = node.new_client()
    assert execute(admin, [b"ACL", b"DELUSER", b"app"]) == 1
    assert names(node) == []
    assert c.user is node.acl.default and not c.authenticated
    assert execute(admin, [b"ACL", b"SETUSER", b"default", b"-flushall"]) is OK
    assert names(node) == ["acl"]
