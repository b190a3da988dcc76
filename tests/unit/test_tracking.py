"""CLIENT TRACKING without sockets: the table, the messages and where they go, BCAST,
OPTIN/OPTOUT, NOLOOP, REDIRECT, flushes, the table limit, the CLIENT subcommands' errors
(cluster.execution.tracking's rules, Redis 7.0.15's replies)."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.execution import tracking
from cluster.execution.dispatch import execute
from cluster.execution.tracking import overlap, prefix_collision
from cluster.node import Node
from cluster.resp.reply import encode


@pytest.fixture(autouse=True)
def _no_leftover_nodes():
    yield
    tracking.TRACKING.clear()       # the nodes of this test are gone with it


def run(client, *args):
    reply = execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])
    return encode(reply, client.resp == 3)


def push(*keys) -> bytes:
    """The RESP3 invalidation of `keys`."""
    return encode_push(b"invalidate", list(keys))


def encode_push(*items) -> bytes:
    out = b">%d\r\n" % len(items)
    for item in items:
        out += encode(item, True)
    return out


def message(keys) -> bytes:
    """The RESP2 Pub/Sub message on __redis__:invalidate."""
    return encode([b"message", b"__redis__:invalidate", keys], False)


NULL3 = b">2\r\n$10\r\ninvalidate\r\n_\r\n"


def resp3(node):
    c = node.new_client()
    run(c, "HELLO", 3)
    return c


def redirect_target(node):
    """A RESP2 client subscribed to __redis__:invalidate."""
    r = node.new_client()
    run(r, "SUBSCRIBE", "__redis__:invalidate")
    return r


# -- default mode --------------------------------------------------------------------------
def test_read_keys_are_invalidated_when_another_client_writes():
    node = Node()
    t, w = resp3(node), node.new_client()
    assert run(t, "CLIENT", "TRACKING", "on") == b"+OK\r\n"
    run(w, "MSET", "a", "1", "b", "2")
    run(t, "MGET", "a", "b", "c")
    assert node.tracking.items == 3 and set(node.tracking.table) == {b"a", b"b", b"c"}
    run(w, "INCR", "a")
    run(w, "INCR", "a")             # no longer in the table: one message only
    assert t.pushes == [push(b"a")]
    assert b"a" not in node.tracking.table and node.tracking.items == 2


def test_own_write_invalidation_follows_the_reply():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "HSET", "h", "f", "1")
    run(t, "HGET", "h", "f")
    assert run(t, "HDEL", "h", "f") == b":1\r\n" + push(b"h")
    assert t.pushes == []


def test_transaction_invalidation_follows_exec_reply():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "MSET", "a", "1", "b", "2")
    run(t, "GET", "a")
    run(t, "MULTI")
    run(t, "INCR", "a")
    run(t, "GET", "b")
    assert run(t, "EXEC") == b"*2\r\n:2\r\n$1\r\n2\r\n" + push(b"a")


def test_writes_and_non_readonly_commands_are_not_remembered():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "SET", "a", "1")
    run(t, "INCR", "a")
    assert node.tracking.table == {}


def test_resp2_without_redirect_gets_nothing():
    node = Node()
    t, w = node.new_client(), node.new_client()
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "GET", "k")
    assert run(w, "SET", "k", "1") == b"+OK\r\n"
    assert t.pushes == [] and node.tracking.table == {}


def test_redirect_to_a_subscribed_resp2_client():
    node = Node()
    r = redirect_target(node)
    r.pushes.clear()
    t, w = node.new_client(), node.new_client()
    assert run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id) == b"+OK\r\n"
    assert run(t, "CLIENT", "GETREDIR") == b":%d\r\n" % r.id
    run(t, "GET", "k")
    run(w, "SET", "k", "1")
    assert r.pushes == [message([b"k"])]


def test_redirect_to_an_unsubscribed_resp2_client_sends_nothing():
    node = Node()
    r, t, w = node.new_client(), node.new_client(), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id)
    run(t, "GET", "k")
    run(w, "SET", "k", "1")
    assert r.pushes == []


def test_redirect_to_a_resp3_client_is_a_push():
    node = Node()
    r, t, w = resp3(node), node.new_client(), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id)
    run(t, "GET", "k")
    run(w, "SET", "k", "1")
    assert r.pushes == [push(b"k")]


def test_broken_redirect():
    node = Node()
    r = redirect_target(node)
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id)
    run(t, "GET", "k")
    node.remove_client(r)
    run(w, "SET", "k", "1")
    assert t.pushes == [encode_push(b"tracking-redir-broken", r.id)]
    info = run(t, "CLIENT", "TRACKINGINFO")
    assert b"broken_redirect" in info and b":%d\r\n" % r.id in info
    assert " flags=tR " in run(t, "CLIENT", "INFO").decode()


def test_noloop_skips_own_changes():
    node = Node()
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "NOLOOP")
    run(t, "MGET", "mine", "theirs")
    assert run(t, "SET", "mine", "1") == b"+OK\r\n"
    run(w, "SET", "theirs", "1")
    assert t.pushes == [push(b"theirs")]


def test_script_reading_tracks_the_declared_keys():
    node = Node()
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "EVAL", "redis.call('set', 'x', 'bar')", 2, "k1", "k2")
    assert node.tracking.table == {}
    run(t, "EVAL", "redis.call('get', 'x')", 2, "k1", "k2")
    assert set(node.tracking.table) == {b"k1", b"k2"}
    run(w, "MSET", "k2", "1", "k1", "1")
    assert t.pushes == [push(b"k2"), push(b"k1")]
    t.pushes.clear()
    run(t, "EVAL_RO", "redis.call('ping')", 1, "k1")
    assert node.tracking.table == {}


# -- OPTIN / OPTOUT and CLIENT CACHING -------------------------------------------------------
def test_optin_tracks_only_after_caching_yes():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on", "OPTIN")
    run(t, "GET", "a")
    run(t, "CLIENT", "CACHING", "yes")
    run(t, "CLIENT", "ID")                 # a CLIENT subcommand keeps it
    run(t, "GET", "b")
    run(t, "GET", "c")                     # ... for one command only
    assert set(node.tracking.table) == {b"b"}
    run(t, "CLIENT", "CACHING", "yes")
    run(t, "MULTI")
    run(t, "GET", "d")
    run(t, "GET", "e")
    run(t, "EXEC")                         # the whole transaction
    run(t, "GET", "f")
    assert set(node.tracking.table) == {b"b", b"d", b"e"}


def test_optout_tracks_unless_caching_no():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on", "OPTOUT")
    run(t, "CLIENT", "CACHING", "no")
    run(t, "GET", "a")
    run(t, "GET", "b")
    assert set(node.tracking.table) == {b"b"}
    assert b"caching-no" not in run(t, "CLIENT", "TRACKINGINFO")
    run(t, "CLIENT", "CACHING", "no")
    assert b"caching-no" in run(t, "CLIENT", "TRACKINGINFO")


def test_caching_errors():
    node = Node()
    c = node.new_client()
    assert run(c, "CLIENT", "CACHING", "yes") == (
        b"-ERR CLIENT CACHING can be called only when the client is in tracking mode "
        b"with OPTIN or OPTOUT mode enabled\r\n")
    run(c, "CLIENT", "TRACKING", "on")
    assert run(c, "CLIENT", "CACHING", "yes") == (
        b"-ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.\r\n")
    assert run(c, "CLIENT", "CACHING", "no") == (
        b"-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n")
    assert run(c, "CLIENT", "CACHING", "maybe") == b"-ERR syntax error\r\n"
    assert run(c, "CLIENT", "CACHING", "yes", "x") == (
        b"-ERR wrong number of arguments for 'client|caching' command\r\n")


# -- BCAST ---------------------------------------------------------------------------------
def test_bcast_sends_one_message_per_prefix_with_sorted_keys():
    node = Node()
    r = redirect_target(node)
    r.pushes.clear()
    t = node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", r.id, "PREFIX", "b:", "PREFIX",
        "a:")
    run(t, "MULTI")
    for key in ("b:2", "a:2", "c:1", "a:1", "b:1", "a:2"):
        run(t, "INCR", key)
    run(t, "EXEC")
    assert r.pushes == [message([b"a:1", b"a:2"]), message([b"b:1", b"b:2"])]
    assert len(node.tracking.prefixes) == 2 and node.tracking.table == {}


def test_bcast_empty_prefix_and_noloop():
    node = Node()
    t, w = resp3(node), node.new_client()
    assert run(t, "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP") == b"+OK\r\n"
    assert run(t, "SET", "mine", "1") == b"+OK\r\n"     # nothing: all keys are its own
    run(w, "SET", "theirs", "1")
    assert t.pushes == [push(b"theirs")]
    assert run(t, "CLIENT", "TRACKINGINFO") == (
        b"%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n"
        b"$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*1\r\n$0\r\n\r\n")


def test_bcast_own_change_without_noloop_follows_the_reply():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on", "BCAST")
    assert run(t, "SET", "k", "1") == b"+OK\r\n" + push(b"k")


def test_bcast_expiry_is_nobodys_change():
    node = Node()
    node.set_time(1_000_000)
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP")
    run(t, "SET", "k", "v", "PX", "10")
    node.set_time(1_000_100)
    node.cron()                                   # active expiry
    assert t.pushes == [push(b"k")]


def test_switching_to_bcast_drops_normal_invalidations():
    node = Node()
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "GET", "k")
    run(t, "CLIENT", "TRACKING", "off")
    run(t, "CLIENT", "TRACKING", "on", "BCAST")
    run(w, "SET", "k", "1")
    assert t.pushes == [push(b"k")]                 # the broadcast only


def test_prefix_overlap_rules():
    assert overlap(b"foo", b"foobar") and overlap(b"", b"x") and not overlap(b"ab", b"ac")
    assert prefix_collision({}, [b"FOOBAR", b"FOO"]) == (0, b"FOO", False)
    assert prefix_collision({b"FOO": None, b"BAR": None}, [b"BARB"]) == (0, b"BAR", True)
    assert prefix_collision({}, [b"a", b"b", b"bc"]) == (1, b"bc", False)
    assert prefix_collision({b"x": None}, [b"a", b"b"]) is None


def test_tracking_errors():
    node = Node()
    c = node.new_client()
    errors = {
        ("maybe",): "ERR syntax error",
        ("on", "PREFIX"): "ERR syntax error",
        ("on", "BOGUS"): "ERR syntax error",
        ("on", "REDIRECT", "x"): "ERR value is not an integer or out of range",
        ("on", "REDIRECT", "0"): "ERR The client ID you want redirect to does not exist",
        ("off", "REDIRECT", "999"): "ERR The client ID you want redirect to does not exist",
        ("on", "REDIRECT", c.id, "REDIRECT", c.id):
            "ERR A client can only redirect to a single other client",
        ("on", "PREFIX", "a"): "ERR PREFIX option requires BCAST mode to be enabled",
        ("on", "BCAST", "OPTIN"): "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ("on", "OPTIN", "OPTOUT"): "ERR You can't specify both OPTIN mode and OPTOUT mode",
        ("on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"):
            "ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'. Prefixes for "
            "a single client must not overlap.",
    }
    for args, error in errors.items():
        assert run(c, "CLIENT", "TRACKING", *args) == b"-" + error.encode() + b"\r\n", args
    assert c.tracking is None
    run(c, "CLIENT", "TRACKING", "on", "OPTIN")
    assert run(c, "CLIENT", "TRACKING", "on", "OPTOUT").startswith(
        b"-ERR You can't switch OPTIN/OPTOUT mode")
    assert run(c, "CLIENT", "TRACKING", "on", "BCAST").startswith(
        b"-ERR You can't switch BCAST mode on/off")
    run(c, "CLIENT", "TRACKING", "off")
    run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO")
    assert run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO") == (
        b"-ERR Prefix 'FO' overlaps with an existing prefix 'FOO'. Prefixes for a single "
        b"client must not overlap.\r\n")


def test_later_self_overlap_replies_twice_as_redis():
    node = Node()
    c = node.new_client()
    assert run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b",
               "PREFIX", "bc") == (
        b"-ERR Prefix 'b' overlaps with another provided prefix 'bc'. Prefixes for a single "
        b"client must not overlap.\r\n+OK\r\n")
    assert sorted(c.tracking.prefixes) == [b"a", b"b", b"bc"]


def test_adding_prefixes_keeps_the_old_ones():
    node = Node()
    c = node.new_client()
    run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:")
    run(c, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c:")
    assert sorted(c.tracking.prefixes) == [b"a:", b"c:"]
    run(c, "CLIENT", "TRACKING", "off")
    assert node.tracking.prefixes == {}


# -- flushes, the limit, life cycle -----------------------------------------------------------
def test_flushall_sends_one_null_and_empties_the_table():
    node = Node()
    t, t2, w = resp3(node), resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on")
    run(t2, "CLIENT", "TRACKING", "on", "BCAST")
    run(t, "GET", "k")
    run(w, "FLUSHALL")
    assert t.pushes == [NULL3] and t2.pushes == [NULL3]
    assert node.tracking.table == {}
    assert run(t, "FLUSHDB") == b"+OK\r\n" + NULL3


def test_flushes_in_a_transaction_each_send_a_null_after_exec():
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "MULTI")
    run(t, "FLUSHDB")
    run(t, "FLUSHDB")
    assert run(t, "EXEC") == b"*2\r\n+OK\r\n+OK\r\n" + NULL3 + NULL3


def test_flush_null_has_the_tracking_clients_protocol():
    node = Node()
    r = redirect_target(node)
    r.pushes.clear()
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id)
    run(w, "FLUSHALL")
    assert r.pushes == [b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n_\r\n"]


def test_lazy_expiry_invalidation_follows_the_reply():
    node = Node()
    node.set_time(1_000_000)
    t = resp3(node)
    node.active_expire_enabled = False
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "MSET", "x", "1", "y", "2")
    run(t, "PEXPIRE", "y", 100)
    run(t, "GET", "y")
    node.set_time(1_000_200)
    assert run(t, "MGET", "x", "y") == b"*2\r\n$1\r\n1\r\n_\r\n" + push(b"y")
    assert set(node.tracking.table) == {b"x", b"y"}


def test_table_limit_evicts_keys_with_invalidations():
    node = Node()
    r = redirect_target(node)
    r.pushes.clear()
    t, admin = node.new_client(), node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "REDIRECT", r.id)
    for i in range(250):
        run(t, "GET", f"key{i}")
    run(admin, "CONFIG", "SET", "tracking-table-max-keys", 1)
    for _ in range(5):
        node.cron()
    assert len(node.tracking.table) == 1
    assert len(r.pushes) == 249


def test_info_counts_and_hooks():
    node = Node()
    ks = node.keyspace
    t, b = resp3(node), node.new_client()
    assert ks.on_modified is None and ks.on_flush is None
    run(t, "CLIENT", "TRACKING", "on")
    run(b, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p:")
    run(t, "MGET", "k1", "k2")
    info = run(t, "INFO").decode()
    for field in ("tracking_clients:2", "tracking_total_keys:2", "tracking_total_items:2",
                  "tracking_total_prefixes:1"):
        assert field in info
    assert " flags=t " in run(t, "CLIENT", "INFO").decode()
    assert " flags=tB " in run(b, "CLIENT", "INFO").decode()
    run(t, "CLIENT", "TRACKING", "off")
    run(b, "RESET")
    assert node.tracking.count == 0 and node.tracking.prefixes == {}
    assert ks.on_modified is not None           # the table still holds k1, k2 (lazy)
    run(b, "MSET", "k1", "1", "k2", "2")
    assert node.tracking.table == {} and ks.on_modified is None
    assert tracking.TRACKING == []


def test_disconnect_and_reset_turn_tracking_off():
    node = Node()
    t = node.new_client()
    run(t, "CLIENT", "TRACKING", "on", "BCAST")
    assert run(t, "RESET") == b"+RESET\r\n"
    assert t.tracking is None and run(t, "CLIENT", "GETREDIR") == b":-1\r\n"
    assert run(t, "CLIENT", "TRACKINGINFO") == (
        b"*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n"
        b"$8\r\nprefixes\r\n*0\r\n")
    run(t, "CLIENT", "TRACKING", "on")
    assert run(t, "CLIENT", "GETREDIR") == b":0\r\n"
    node.remove_client(t)
    assert node.tracking.count == 0


def test_returning_client_id_gets_old_keys():
    """Ids stay in the table when tracking goes off (cleaned lazily, as Redis)."""
    node = Node()
    t, w = resp3(node), node.new_client()
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "GET", "old")
    run(t, "CLIENT", "TRACKING", "off")
    run(t, "CLIENT", "TRACKING", "on")
    run(w, "SET", "old", "1")
    assert t.pushes == [push(b"old")]


def test_a_served_blocked_client_gets_its_invalidation_after_the_reply():
    node = Node()
    t, w = resp3(node), node.new_client()
    run(w, "RPUSH", "dst", "a")
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "LRANGE", "dst", 0, -1)
    block = execute(t, [b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0"])
    t.blocked = True                    # what the connection does while it waits
    run(w, "RPUSH", "src", "foo")       # serves t: its BLMOVE changes dst
    assert block.ready.reply == b"foo"
    assert t.pushes == []               # its reply has not gone out yet
    t.blocked = False                   # the connection sent the reply
    node.cron()
    assert t.pushes == [push(b"dst")]


def test_a_change_before_the_command_runs_is_sent_at_once():
    """An eviction happens in the gates, before call(): its invalidation of the client
    whose command it is precedes that command's reply."""
    node = Node()
    t = resp3(node)
    run(t, "CLIENT", "TRACKING", "on")
    run(t, "SET", "k", "v")
    run(t, "GET", "k")
    node.current_client = t             # dispatch has set it; no call() runs yet
    node.keyspace[0].delete(b"k")
    assert t.pushes == [push(b"k")] and node.tracking.pending == []
