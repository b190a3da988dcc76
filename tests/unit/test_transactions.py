"""MULTI / EXEC / DISCARD / WATCH / UNWATCH on a Node without sockets."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Block
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, OK, QUEUED, ReplyError, encode
from cluster.execution.table import _make

T0 = 1_700_000_000_000


def setup():
    node = Node(clock=lambda: T0 / 1000)
    node.set_time(T0)
    return node, node.new_client(), node.new_client()


def run(client, *args):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def transaction(client, *queued):
    """MULTI, each command (queued), EXEC: the EXEC reply."""
    run(client, "MULTI")
    for args in queued:
        run(client, *args)
    return run(client, "EXEC")


def message(reply):
    assert isinstance(reply, ReplyError), reply
    return reply.message


def test_multi_exec_runs_queued_commands_in_order():
    node, c, _ = setup()
    assert run(c, "MULTI") is OK
    assert run(c, "SET", "a", "1") is QUEUED
    assert run(c, "GET", "a") is QUEUED
    assert node.db(0).peek(b"a") is None            # nothing ran yet
    assert run(c, "EXEC") == [OK, b"1"]
    assert not c.in_multi and c.multi_queue == []


def test_errors_in_redis_words():
    _, c, _ = setup()
    assert message(run(c, "EXEC")) == "ERR EXEC without MULTI"
    assert message(run(c, "DISCARD")) == "ERR DISCARD without MULTI"
    run(c, "MULTI")
    assert message(run(c, "MULTI")) == "ERR MULTI calls can not be nested"
    assert message(run(c, "WATCH", "a")) == "ERR WATCH inside MULTI is not allowed"
    # Neither aborts the transaction.
    assert run(c, "PING") is QUEUED
    assert run(c, "EXEC") == [b"PONG"]


def test_queue_time_error_aborts_with_execabort():
    _, c, _ = setup()
    run(c, "MULTI")
    assert message(run(c, "SET", "a")) == "ERR wrong number of arguments for 'set' command"
    assert message(run(c, "NOPE")).startswith("ERR unknown command 'NOPE'")
    assert run(c, "SET", "a", "1") is QUEUED
    assert message(run(c, "EXEC")) == \
        "EXECABORT Transaction discarded because of previous errors."
    assert not c.in_multi
    assert run(c, "GET", "a") is None


def test_exec_with_wrong_arity_discards_the_transaction():
    _, c, _ = setup()
    run(c, "WATCH", "k")
    run(c, "MULTI")
    run(c, "SET", "a", "1")
    assert message(run(c, "EXEC", "x")) == ("EXECABORT Transaction discarded because of: "
                                            "wrong number of arguments for 'exec' command")
    assert not c.in_multi and c.watched == []
    assert message(run(c, "EXEC")) == "ERR EXEC without MULTI"


def test_runtime_errors_are_replies_inside_the_array():
    _, c, _ = setup()
    run(c, "SET", "s", "x")
    run(c, "MULTI")
    run(c, "INCR", "s")
    run(c, "SET", "t", "1")
    replies = run(c, "EXEC")
    assert isinstance(replies[0], ReplyError) and replies[0].message.startswith("ERR value")
    assert replies[1] is OK


def test_discard_drops_the_queue_and_unwatches():
    node, c, _ = setup()
    run(c, "WATCH", "a")
    run(c, "MULTI")
    run(c, "SET", "a", "1")
    assert run(c, "DISCARD") is OK
    assert not c.in_multi and c.watched == [] and node.db(0).watched == {}
    assert run(c, "GET", "a") is None


def test_watch_broken_by_another_client():
    node, c, other = setup()
    assert run(c, "WATCH", "a", "b", "a") is OK
    assert c.watched == [(node.db(0), b"a"), (node.db(0), b"b")]
    run(other, "SET", "b", "2")
    assert transaction(c, ["SET", "a", "1"]) is NULL_ARRAY
    assert run(c, "GET", "a") is None
    assert c.watched == [] and node.db(0).watched == {}
    assert encode(NULL_ARRAY, False) == b"*-1\r\n" and encode(NULL_ARRAY, True) == b"_\r\n"


def test_watch_untouched_key_lets_exec_run_and_unwatch_forgets():
    _, c, other = setup()
    run(c, "WATCH", "a")
    run(other, "SET", "zzz", "1")
    assert transaction(c, ["GET", "a"]) == [None]
    run(c, "WATCH", "a")
    assert run(c, "UNWATCH") is OK
    run(other, "SET", "a", "1")
    assert transaction(c, ["GET", "a"]) == [b"1"]


def test_own_write_before_multi_breaks_own_watch():
    _, c, _ = setup()
    run(c, "WATCH", "a")
    run(c, "SET", "a", "1")
    assert transaction(c, ["GET", "a"]) is NULL_ARRAY


def test_watch_is_per_database():
    node, c, other = setup()
    run(c, "WATCH", "a")
    run(other, "SELECT", "1")
    run(other, "SET", "a", "x")
    assert transaction(c, ["GET", "a"]) == [None]


def test_keyspace_changes_break_watch():
    """DEL, EXPIRE (set_expire + modified), FLUSHDB, FLUSHALL and SWAPDB at keyspace level."""
    def watched_then(change, key_exists=True):
        node, c, _ = setup()
        db = node.db(0)
        if key_exists:
            db.store(b"k", b"v")
        run(c, "WATCH", "k")
        change(node, db)
        return transaction(c, ["GET", "k"])

    def expire(node, db):
        db.set_expire(b"k", T0 + 100_000)
        db.modified(b"k")
    assert watched_then(lambda n, db: db.delete(b"k")) is NULL_ARRAY
    assert watched_then(expire) is NULL_ARRAY
    assert watched_then(lambda n, db: db.flush()) is NULL_ARRAY
    assert watched_then(lambda n, db: [d.flush() for d in n.keyspace.dbs]) is NULL_ARRAY
    assert watched_then(lambda n, db: n.keyspace.swap(0, 1)) is NULL_ARRAY
    # Nothing there, nothing changed: deleting or flushing a missing key is no change.
    assert watched_then(lambda n, db: db.delete(b"k"), key_exists=False) == [None]
    assert watched_then(lambda n, db: db.flush(), key_exists=False) == [None]
    assert watched_then(lambda n, db: n.keyspace.swap(0, 1), key_exists=False) == [None]


def watch_key_then_let_it_expire():
    """A client WATCHing "k", which expires (at T0 + 100) after the WATCH: (node, c, db)."""
    node, c, _ = setup()
    db = node.db(0)
    db.store(b"k", b"v")
    db.set_expire(b"k", T0 + 100)
    run(c, "WATCH", "k")
    node.set_time(T0 + 200)
    return node, c, db


def test_key_expiring_after_watch_breaks_exec_even_if_not_yet_deleted():
    _, c, db = watch_key_then_let_it_expire()
    assert b"k" in db.data                          # not deleted by anyone yet
    assert transaction(c, ["PING"]) is NULL_ARRAY


def test_key_expiring_after_watch_and_actively_expired_breaks_exec():
    node, c, db = watch_key_then_let_it_expire()
    node.cron()
    assert b"k" not in db.data
    assert transaction(c, ["PING"]) is NULL_ARRAY


def test_key_already_expired_at_watch_time_is_no_change():
    node, c, other = setup()
    db = node.db(0)
    db.store(b"k", b"v")
    db.set_expire(b"k", T0 - 1)                    # logically gone, still stored
    run(c, "WATCH", "k")
    run(other, "GET", "k")                          # lazy expiry elsewhere: no change
    node.cron()
    assert transaction(c, ["GET", "k"]) == [None]
    # ... but writing it afterwards is a change.
    db.store(b"k", b"v")
    db.set_expire(b"k", T0 - 1)
    run(c, "WATCH", "k")
    run(other, "SET", "k", "new")
    assert transaction(c, ["GET", "k"]) is NULL_ARRAY


def test_exec_propagates_writes_wrapped_in_multi_exec():
    node, c, _ = setup()
    fed = []
    node.propagator.sinks.append(fed.append)
    run(c, "MULTI")
    run(c, "SET", "a", "1")
    run(c, "GET", "a")
    run(c, "SET", "b", "2")
    run(c, "EXEC")
    stream = b"".join(fed)
    assert stream.index(b"MULTI") < stream.index(b"$1\r\na\r\n") < \
        stream.index(b"$1\r\nb\r\n") < stream.index(b"EXEC")
    assert b"GET" not in stream
    fed.clear()
    run(c, "MULTI")
    run(c, "SET", "c", "3")
    run(c, "EXEC")
    assert b"MULTI" not in b"".join(fed) and b"$1\r\nc\r\n" in b"".join(fed)
    fed.clear()
    run(c, "MULTI")
    run(c, "GET", "c")
    run(c, "EXEC")
    assert fed == []


def test_blocking_command_inside_exec_replies_at_once():
    calls = []

    def blocking(client, argv):
        calls.append(client.in_multi)
        return Block(None, b"timed-out-reply")
    cmd = _make("test-block", 1, "write blocking", (0, 0, 0), blocking, "", "generic", "",
                "1.0.0", "", None, "", None, "", "")
    _, c, _ = setup()
    run(c, "MULTI")
    c.multi_queue.append((cmd, [b"test-block"]))    # as dispatch queues it (not in TABLE)
    assert run(c, "EXEC") == [b"timed-out-reply"]
    assert calls == [True]                          # the handler can tell it is in EXEC


def test_select_inside_multi_applies_to_later_commands():
    node, c, _ = setup()
    run(c, "MULTI")
    run(c, "SELECT", "2")
    run(c, "SET", "a", "1")
    assert run(c, "EXEC") == [OK, OK]
    assert node.db(2).peek(b"a") == b"1" and c.db is node.db(2)


def test_reset_and_disconnect_forget_watches_and_queue():
    node, c, other = setup()
    run(c, "WATCH", "a")
    run(c, "MULTI")
    run(c, "SET", "a", "1")
    assert run(c, "RESET") == b"RESET"
    assert not c.in_multi and c.watched == [] and node.db(0).watched == {}
    run(other, "WATCH", "a")
    node.remove_client(other)
    assert node.db(0).watched == {}


def test_exec_refused_for_noauth_says_why():
    from cluster.config.live import Config
    config = Config()
    config.load_args(["--requirepass", "pw"])
    c = Node(config, clock=lambda: T0 / 1000).new_client()
    assert message(run(c, "EXEC")) == \
        "EXECABORT Transaction discarded because of: NOAUTH Authentication required."
    assert message(run(c, "MULTI")) == "NOAUTH Authentication required."
