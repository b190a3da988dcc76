"""MIGRATE between standalone servers: ours and real redis-server 7.0.15, both directions,
errors side by side with a real source, and the in-flight guarantees (the node keeps
serving; a command on a key being migrated waits for the migration and runs after it)."""
from __future__ import annotations

import socket
import threading
import time

import hiredis
import pytest
import redis

from tests.support import NodeProcess, RealRedis, raw_replies, running


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    with running(NodeProcess(tmp_path_factory.mktemp("migrate-ours"))) as node:
        yield node


@pytest.fixture(scope="module")
def real():
    with running(RealRedis([])) as node:
        yield node


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """A real redis-server both sources migrate to."""
    with running(RealRedis([])) as node:
        yield node


@pytest.fixture(scope="module")
def locked():
    with running(RealRedis(["--requirepass", "secret"])) as node:
        yield node


def client(node, **kw) -> redis.Redis:
    return redis.Redis(port=node.port, socket_timeout=10, **kw)


@pytest.fixture(autouse=True)
def clean(ours, real, target):
    for node in (ours, real, target):
        with client(node) as r:
            r.flushall()


def test_replies_and_errors_match_a_real_source(ours, real, target):
    p = target.port
    dead = _closed_port()
    commands = [
        ["SET", "k", "v"], ["SET", "k2", "v2"],
        ["MIGRATE", "127.0.0.1", p, "missing", 0, 1000],
        ["MIGRATE", "127.0.0.1", p, "", 0, 1000, "KEYS"],
        ["MIGRATE", "127.0.0.1", p, "", 0, 1000, "KEYS", "nope1", "nope2"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000, "KEYS", "k2"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000, "foo"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000, "AUTH"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000, "AUTH2", "user"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, "soon"],
        ["MIGRATE", "127.0.0.1", p, "k", "zero", "soon"],
        ["MIGRATE", "127.0.0.1", p, "k", "zero", 1000],
        ["MIGRATE", "127.0.0.1", p, "k", 0],
        ["MIGRATE", "127.0.0.1", dead, "k", 0, 1000],
        ["MIGRATE", "127.0.0.1", "notaport", "k", 0, 1000],
        ["MIGRATE", "127.0.0.1", -5, "k", 0, 1000],
        ["MIGRATE", "nosuchhost.invalid", p, "k", 0, 1000],
        ["MIGRATE", "127.0.0.1", p, "k", 99, 1000],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000],
        ["EXISTS", "k"],
        ["SET", "k", "again"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 1000],
        ["MIGRATE", "127.0.0.1", p, "k", 0, -5, "COPY"],
        ["MIGRATE", "127.0.0.1", p, "k", 0, 0, "copy", "replace"],
        ["GET", "k"],
        ["MIGRATE", "127.0.0.1", p, "", 0, 1000, "REPLACE", "KEYS", "k", "k2", "gone"],
        ["EXISTS", "k", "k2"],
        ["COMMAND", "GETKEYS", "MIGRATE", "h", p, "", 0, 1, "AUTH", "x", "KEYS", "a", "b"],
        ["COMMAND", "GETKEYS", "MIGRATE", "h", p, "k", 0, 1, "KEYS", "a"],
        ["COMMAND", "GETKEYS", "MIGRATE", "h", p, "k", 0, 1, "COPY"],
    ]
    mine, theirs = [], []
    for src, out in ((ours, mine), (real, theirs)):
        out.extend(raw_replies(src.port, commands))
        with client(target) as r:
            out.append(r.get("k"))
            r.flushall()
    assert mine == theirs
    assert mine[2] == b"+NOKEY\r\n"
    # SELECT 99 fails on the target, whose RESTORE then lands in its db 0 (as with Redis).
    assert mine[17] == (b"-ERR Target instance replied with error: ERR DB index is out of "
                        b"range\r\n")
    assert mine[18] == (b"-ERR Target instance replied with error: BUSYKEY Target key "
                        b"name already exists.\r\n")
    assert mine[13] == b"-IOERR error or timeout writing to target instance\r\n"
    assert mine[15] == b"-IOERR error or timeout connecting to the client\r\n"


def test_values_and_ttls_move_both_ways(ours, real):
    values = {b"s": b"hello", b"n": b"12345", b"neg": b"-7", b"big": b"x" * 70000,
              b"empty": b""}
    items = [b"item%d" % i for i in range(1500)] + [b"7", b"-1", b"y" * 300]
    for src, dst in ((ours, real), (real, ours)):
        with client(src) as a, client(dst) as b:
            for key, value in values.items():
                a.set(key, value)
            a.rpush("list", *items)
            a.set("ttl", "v", px=100_000)
            keys = [*values, b"list", b"ttl"]
            assert a.execute_command("MIGRATE", "127.0.0.1", dst.port, "", 0, 5000,
                                     "KEYS", *keys) == b"OK"
            assert a.exists(*keys) == 0
            for key, value in values.items():
                assert b.get(key) == value
            assert b.lrange("list", 0, -1) == items
            assert 90_000 < b.pttl("ttl") <= 100_000
            assert b.pttl("s") == -1
            b.flushall()


def test_partial_failure_keeps_the_refused_key_and_moves_the_rest(ours, real, target):
    replies = []
    for src in (ours, real):
        with client(src) as a, client(target) as t:
            a.mset({"a": "1", "b": "2", "c": "3"})
            t.set("b", "theirs")
            with pytest.raises(redis.ResponseError) as err:
                a.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 1000,
                                  "KEYS", "a", "b", "c")
            replies.append((str(err.value), sorted(a.keys()), sorted(t.keys()), t.get("b")))
            t.flushall()
    assert replies[0] == replies[1]
    assert replies[0] == ("Target instance replied with error: BUSYKEY Target key name "
                          "already exists.", [b"b"], [b"a", b"b", b"c"], b"theirs")


def test_auth_to_a_protected_target(ours, real, locked):
    seen = []
    for src in (ours, real):
        with client(src) as a:
            out = []
            for extra in ([], ["AUTH", "wrong"], ["AUTH", "secret"],
                          ["AUTH2", "default", "secret"], ["AUTH2", "nobody", "secret"]):
                a.set("k", "v")
                try:
                    out.append(a.execute_command("MIGRATE", "127.0.0.1", locked.port, "k", 0,
                                                 1000, "REPLACE", *extra))
                except redis.ResponseError as err:
                    out.append(str(err))
                out.append(a.exists("k"))
            seen.append(out)
    assert seen[0] == seen[1]
    assert seen[0][0].startswith("Target instance replied with error: NOAUTH")
    assert seen[0][4:8] == [b"OK", 0, b"OK", 0]
    with client(locked, password="secret") as t:
        assert t.get("k") == b"v"


def test_destination_db_and_connection_reuse(ours, target):
    with client(ours) as a, client(target) as t, client(target, db=3) as t3:
        for c in t.client_list():                 # earlier tests' cached connections
            if c["cmd"] in ("restore", "select", "restore-asking"):
                t.execute_command("CLIENT", "KILL", "ID", c["id"])
        a.set("k", "v")
        assert a.execute_command("MIGRATE", "127.0.0.1", target.port, "k", 3, 1000) == b"OK"
        assert t3.get("k") == b"v" and t.get("k") is None
        cached = a.info("stats")["migrate_cached_sockets"]
        a.set("k2", "v")
        assert a.execute_command("MIGRATE", "127.0.0.1", target.port, "k2", 3, 1000) == b"OK"
        assert a.info("stats")["migrate_cached_sockets"] == cached >= 1
        migrators = [c for c in t.client_list() if c["cmd"] in ("restore", "select")]
        assert len(migrators) == 1                  # one cached connection, reused
        # A target that dropped the cached connection: retried once on a new one.
        t.execute_command("CLIENT", "KILL", "ID", migrators[0]["id"])
        a.set("k3", "v")
        assert a.execute_command("MIGRATE", "127.0.0.1", target.port, "k3", 3, 1000) == b"OK"
        assert t3.exists("k", "k2", "k3") == 3
        t3.flushdb()


def test_migrate_inside_multi_exec_matches_real(ours, real, target):
    p = target.port
    commands = [["SET", "m", "1"], ["MULTI"], ["MIGRATE", "127.0.0.1", p, "m", 0, 1000],
                ["MIGRATE", "127.0.0.1", p, "nothing", 0, 1000],
                ["MIGRATE", "127.0.0.1", p, "m", 0, 1000], ["GET", "m"], ["EXEC"]]
    mine, theirs = [], []
    for src, out in ((ours, mine), (real, theirs)):
        out.extend(raw_replies(src.port, commands))
        with client(target) as t:
            out.append(t.get("m"))
            t.flushall()
    assert mine == theirs
    assert mine[-2] == b"*4\r\n+OK\r\n+NOKEY\r\n+NOKEY\r\n$-1\r\n" and mine[-1] == b"1"


# -- a silent and a slow target -------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeTarget:
    """Accepts connections; answers each command with +OK after `delay` seconds
    (never, if delay is None). Records the commands it got."""

    def __init__(self, delay: float | None):
        self.delay = delay
        self.commands: list[list[bytes]] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        reader = hiredis.Reader()
        conn.settimeout(0.2)
        with conn:
            while not self.stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    continue
                if not data:
                    return
                reader.feed(data)
                got = []
                while (cmd := reader.gets()) is not False:
                    got.append(cmd)
                self.commands.extend(got)
                if self.delay is None:
                    continue
                time.sleep(self.delay)
                conn.sendall(b"+OK\r\n" * len(got))

    def close(self):
        self.stop.set()
        self.sock.close()


def test_timeout_reading_from_a_silent_target(ours, real):
    fake = FakeTarget(delay=None)
    try:
        for src in (ours, real):
            with client(src) as a:
                a.set("k", "v")
                start = time.monotonic()
                with pytest.raises(redis.ResponseError) as err:
                    a.execute_command("MIGRATE", "127.0.0.1", fake.port, "k", 0, 300)
                took = time.monotonic() - start
                assert str(err.value) == "IOERR error or timeout reading to target instance"
                assert 0.25 < took < 2.5
                assert a.get("k") == b"v"            # nothing acknowledged: kept
    finally:
        fake.close()


def test_node_serves_others_while_a_migrate_waits_and_key_users_wait_for_it(ours):
    fake = FakeTarget(delay=1.0)
    try:
        with client(ours) as a, client(ours) as b:
            a.set("held", "5")
            a.set("free", "1")
            result = {}

            def migrate():
                result["migrate"] = a.execute_command("MIGRATE", "127.0.0.1", fake.port,
                                                      "held", 0, 5000)
                result["migrate_done"] = time.monotonic()

            start = time.monotonic()
            worker = threading.Thread(target=migrate)
            worker.start()
            while not any(cmd[:1] == [b"RESTORE"] for cmd in fake.commands):
                time.sleep(0.01)
            assert b.ping() is True and b.incr("free") == 2          # not blocked
            assert time.monotonic() - start < 0.8
            assert b.incr("held") == 1            # waited for the MIGRATE, then ran again
            incr_done = time.monotonic()
            worker.join(10)
            assert result["migrate"] == b"OK"
            assert incr_done >= result["migrate_done"] - 0.05
            assert incr_done - start > 0.9
            restore = next(cmd for cmd in fake.commands if cmd[0] == b"RESTORE")
            assert restore[1:3] == [b"held", b"0"]
    finally:
        fake.close()
