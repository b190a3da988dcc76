"""MIGRATE without sockets: argument handling, the transfer logic driven by a scripted
"network" (retry rules, partial acknowledgements, error texts), the held keys and the
commands made to wait for them, and the DEL propagated for the keys that left."""
from __future__ import annotations

import trio

from cluster.commands import registry  # noqa: F401
from cluster.execution import inflight
from cluster.commands.migrate import migrate_keys
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Await
from cluster.bus.migrate_io import IOFail, Job, Outcome, SocketCache, port_number, transfer
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError, Status


def make():
    node = Node(Config(), clock=lambda: 1_700_000_000.0)
    return node, node.new_client(), node.new_client()


def run(c, *words):
    return execute(c, [w if isinstance(w, bytes) else str(w).encode() for w in words])


class FakeSock:
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


def drive(cache, job, script):
    """Run the transfer; `script` answers each yielded op in turn: a value, or an IOFail
    to throw. Returns (outcome, ops seen)."""
    gen = transfer(cache, job, 1000)
    seen = []
    answer = None
    while True:
        try:
            op = gen.throw(answer) if isinstance(answer, IOFail) else gen.send(answer)
        except StopIteration as stop:
            return stop.value, seen
        seen.append(op[0])
        answer = script.pop(0)
        if answer == "sock":
            answer = FakeSock()


def job(n=2, auth=(), db=0):
    return Job(host="127.0.0.1", port=1, name=b"127.0.0.1:1", db=db, timeout_ms=100,
               auth=list(auth), restores=[b"R%d" % i for i in range(n)])


def test_success_selects_once_then_reuses_the_connection():
    cache = SocketCache()
    out, ops = drive(cache, job(), ["sock", None, b"+OK", b"+OK", b"+OK"])
    assert out == Outcome([0, 1], None)
    assert ops == ["connect", "write", "line", "line", "line"]
    assert cache.entries[b"127.0.0.1:1"].last_db == 0
    out, ops = drive(cache, job(), [None, b"+OK", b"+OK"])          # no SELECT now
    assert out == Outcome([0, 1], None) and ops == ["write", "line", "line"]
    assert job(auth=[b"u", b"p"]).request(False).startswith(
        b"*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n")


def test_target_errors_keep_refused_keys_and_name_the_first_error():
    cache = SocketCache()
    out, _ = drive(cache, job(3), ["sock", None, b"+OK", b"+OK",
                                   b"-BUSYKEY Target key name already exists.", b"+OK"])
    assert out.acked == [0, 2]
    assert out.error == ("ERR Target instance replied with error: BUSYKEY Target key name "
                         "already exists.")
    assert cache.entries[b"127.0.0.1:1"].last_db == -1               # SELECT next time
    out, _ = drive(SocketCache(), job(2, auth=[b"pw"]),
                   ["sock", None, b"-WRONGPASS nope", b"+OK", b"+OK", b"+OK"])
    assert out == Outcome([], "ERR Target instance replied with error: WRONGPASS nope")


def test_a_stale_connection_is_retried_once_on_a_new_one():
    cache = SocketCache()
    drive(cache, job(1), ["sock", None, b"+OK", b"+OK"])
    old = cache.entries[b"127.0.0.1:1"].sock
    out, ops = drive(cache, job(1), [None, IOFail(False), "sock", None, b"+OK", b"+OK"])
    assert out == Outcome([0], None) and old.closed
    assert ops == ["write", "line", "connect", "write", "line", "line"]
    # A second failure is reported, with what failed.
    out, _ = drive(cache, job(1), [IOFail(False), "sock", IOFail(False)])
    assert out == Outcome([], "IOERR error or timeout writing to target instance")
    assert b"127.0.0.1:1" not in cache.entries


def test_timeouts_are_not_retried_and_late_failures_keep_what_was_acknowledged():
    out, ops = drive(SocketCache(), job(2), ["sock", None, b"+OK", IOFail(True)])
    assert out == Outcome([], "IOERR error or timeout reading to target instance")
    assert ops == ["connect", "write", "line", "line"]
    out, _ = drive(SocketCache(), job(2), ["sock", None, b"+OK", b"+OK", IOFail(False)])
    assert out == Outcome([0], "IOERR error or timeout reading to target instance")
    out, _ = drive(SocketCache(), job(1), [IOFail(False)])
    assert out == Outcome([], "IOERR error or timeout connecting to the client")


def test_cache_limits_and_idle_close():
    cache = SocketCache()
    for i in range(70):
        cache.add(b"h:%d" % i, FakeSock(), 0)
    assert len(cache) == 64
    cache.get(b"h:69", 20_000)
    cache.close_idle(21_000)                  # idle > 10 s (whole seconds) goes
    assert list(cache.entries) == [b"h:69"]


def test_port_is_read_like_atoi():
    assert [port_number(x) for x in (b"6379", b" 12ab", b"-5", b"x", b"")] == \
        [6379, 12, -5, 0, 0]


def test_key_positions_follow_migrate_get_keys():
    base = [b"MIGRATE", b"h", b"1"]
    assert migrate_keys(base + [b"k", b"0", b"5"]) == [3]
    assert migrate_keys(base + [b"", b"0", b"5", b"AUTH2", b"keys", b"x", b"KEYS",
                                b"a", b"b"]) == [10, 11]
    assert migrate_keys(base + [b"k", b"0", b"5", b"KEYS", b"a"]) == []


def test_argument_errors_and_nokey():
    node, c, _ = make()
    assert run(c, "MIGRATE", "h", 1, "nokey", 0, 10) == Status(b"NOKEY")
    assert run(c, "MIGRATE", "h", 1, "", 0, 10, "KEYS") == Status(b"NOKEY")
    assert run(c, "MIGRATE", "h", 1, "k", 0, 10, "KEYS", "a").message == \
        "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
    for extra in (["AUTH"], ["AUTH2", "u"], ["NOPE"]):
        assert run(c, "MIGRATE", "h", 1, "k", 0, 10, *extra).message == "ERR syntax error"
    assert run(c, "MIGRATE", "h", 1, "k", "x", "y").message == \
        "ERR value is not an integer or out of range"


def test_keys_are_held_until_the_transfer_ends_and_others_wait(monkeypatch):
    node, a, b = make()
    db = node.keyspace[0]
    db.store(b"k", b"v")
    db.store(b"other", b"1")
    sent = []
    node.propagator.sinks.append(sent.append)
    pending = run(a, "MIGRATE", "127.0.0.1", 1, "k", 0, 100)
    assert isinstance(pending, Await)
    assert "migrate" in node.gates.on and b"k" in node.inflight_keys
    assert run(b, "INCR", "other") == 2                       # other keys: served
    waiting = run(b, "INCR", "k")
    assert isinstance(waiting, Await)
    run(b, "MULTI")
    assert run(b, "GET", "k") == b"QUEUED"                     # queueing touches nothing
    assert isinstance(run(b, "EXEC"), Await)                   # EXEC names a held key
    run(b, "DISCARD")

    async def both():
        results = {}
        async with trio.open_nursery() as nursery:
            async def one(name, fn):
                results[name] = await fn()
            nursery.start_soon(one, "migrate", pending.fn)
            nursery.start_soon(one, "incr", waiting.fn)
        return results

    async def fake_run(cache, job, now):
        await trio.sleep(0.01)
        return Outcome([0], None)
    monkeypatch.setattr("cluster.commands.migrate.run_async", fake_run)
    results = trio.run(both)
    assert results == {"migrate": OK, "incr": 1}               # INCR ran after the DEL
    assert "migrate" not in node.gates.on and not node.inflight_keys
    assert b"$3\r\nDEL\r\n$1\r\nk\r\n" in b"".join(sent)


def test_failed_transfer_keeps_keys_and_counts_the_error(monkeypatch):
    node, a, _ = make()
    node.keyspace[0].store(b"k", b"v")
    pending = run(a, "MIGRATE", "127.0.0.1", 1, "k", 0, 100, "COPY")
    async def fake_run(cache, job, now):
        return Outcome([], "IOERR error or timeout reading to target instance")
    monkeypatch.setattr("cluster.commands.migrate.run_async", fake_run)
    reply = trio.run(pending.fn)
    assert isinstance(reply, ReplyError) and reply.message.startswith("IOERR")
    assert node.keyspace[0].data == {b"k": b"v"} and not node.inflight_keys
    assert node.stats.command("migrate").failed == 1
