"""CLIENT TRACKING side by side with a real redis-server 7.0.15.

Each scenario is a script of steps over several raw connections (RESP2 or RESP3), run once
against our node and once against the real server; the transcripts (every reply and every
invalidation a connection received, as raw bytes, in the order received) must be equal.
A command's frames are read up to its reply, so an invalidation that comes before a reply
and one that comes after it are told apart. Waiting for a message is polling its socket
with a deadline, never a sleep. Client ids differ between the servers: where a reply holds
one (CLIENT GETREDIR, TRACKINGINFO, tracking-redir-broken, HELLO, CLIENT INFO), it is
replaced by the connection's name.

Also redis-py's own client-side cache (RESP3, `cache_config`) against both servers, and
tracking on a cluster-mode node.
"""
from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from tests.support import mb, one_node_clusters, raw_replies, wait_until

pytestmark = pytest.mark.timeout(120)

DEADLINE_S = 5.0


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


# -- raw connections --------------------------------------------------------------------------
def frame_end(buf: bytes, i: int = 0) -> int | None:
    """Where the RESP2/RESP3 value starting at `i` ends; None when it is incomplete."""
    nl = buf.find(b"\r\n", i)
    if nl < 0:
        return None
    kind, line = buf[i:i + 1], buf[i + 1:nl]
    if kind in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if len(buf) >= end else None
    if kind in (b"*", b">", b"~", b"%", b"|"):
        n = int(line)
        j = nl + 2
        for _ in range(max(0, n) * (2 if kind in (b"%", b"|") else 1)):
            j = frame_end(buf, j)
            if j is None:
                return None
        return j
    return nl + 2


def is_push(frame: bytes) -> bool:
    """An invalidation (RESP3 push) or a Pub/Sub message (a RESP2 subscriber's)."""
    return frame.startswith((b">", b"*3\r\n$7\r\nmessage\r\n"))


class Conn:
    def __init__(self, port: int, protocol: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        self.buf = b""
        if protocol == 3:
            self.call("HELLO", 3)

    def frame(self) -> bytes:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            end = frame_end(self.buf) if self.buf else None
            if end is not None:
                frame, self.buf = self.buf[:end], self.buf[end:]
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete reply within {DEADLINE_S}s: {self.buf!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; pending {self.buf!r}")
            self.buf += chunk

    def call(self, *args) -> list[bytes]:
        """Send a command; the frames received up to and including its reply."""
        self.sock.sendall(mb(*args))
        frames = []
        while True:
            frames.append(self.frame())
            if not is_push(frames[-1]):
                return frames

    def close(self) -> None:
        self.sock.close()


def run(port: int, steps: list) -> list:
    """Run a scenario's steps: ("open", name, protocol), ("call", name, *args),
    ("expect", name, n[, "any-keys"]), ("sync", name) (a PING: what came before it),
    ("info",) (INFO's tracking fields), ("flags", name) (CLIENT INFO's flags and redir)."""
    conns: dict[str, Conn] = {}
    ids: dict[str, int] = {}
    out = []
    first = Conn(port, 2)
    first.call("FLUSHALL")
    first.call("CONFIG", "SET", "tracking-table-max-keys", "1000000")
    first.close()

    def names(frames: list[bytes]) -> list[bytes]:
        text = b"".join(frames)
        if not (text.startswith(b"%") or b"redirect" in text or b"redir=" in text
                or b"tracking-redir-broken" in text or b"GETREDIR" in text):
            return frames
        for name, cid in ids.items():       # a RESP integer, CLIENT INFO's id= and redir=
            text = re.sub(rb"(?:(?<=\n:)|(?<=^:)|(?<= id=)|(?<=^id=)|(?<=redir=))%d(?=[\r ])"
                          % cid, name.encode(), text)
        return [text]

    try:
        for step in steps:
            kind, rest = step[0], step[1:]
            if kind == "open":
                name, protocol = rest
                conn = conns[name] = Conn(port, protocol)
                ids[name] = int(conn.call("CLIENT", "ID")[0][1:-2])
            elif kind == "call":
                name, args = rest[0], [ids[a[1:]] if isinstance(a, str) and a[:1] == "@"
                                       else a for a in rest[1:]]
                frames = conns[name].call(*args)
                if args[:2] == ["CLIENT", "GETREDIR"]:
                    frames = [b"GETREDIR\r\n" + f for f in frames]
                out.append((name, step[2:], names(frames)))
            elif kind == "expect":
                conn = conns[rest[0]]
                frames = names([conn.frame() for _ in range(rest[1])])
                if "any-keys" in rest[2:]:      # which keys is random: how many is not
                    frames = sorted(re.sub(rb"\$\d+\r\nkey\d+", b"KEY", f) for f in frames)
                out.append((rest[0], "expect", frames))
            elif kind == "sync":
                out.append((rest[0], "sync", names(conns[rest[0]].call("PING"))))
            elif kind == "info":                # on a connection of its own
                probe = Conn(port, 2)
                text = probe.call("INFO")[0].decode()
                probe.close()
                fields = re.findall(r"tracking_\w+:\d+", text)
                assert len(fields) == 4, text
                out.append(("info", fields))
            elif kind == "flags":
                text = b"".join(names(conns[rest[0]].call("CLIENT", "INFO"))).decode()
                out.append((rest[0], "flags", re.findall(r" (flags|redir)=(\S+)", text)))
            else:
                raise ValueError(kind)
    finally:
        for conn in conns.values():
            conn.close()
    return out


def same(pair, steps: list) -> list:
    ours, real = pair
    got, want = run(ours.port, steps), run(real.port, steps)
    for g, w in zip(got, want):
        assert g == w
    assert len(got) == len(want)
    return got


def redirected(*more) -> list:
    """R: a RESP2 connection subscribed to __redis__:invalidate; T tracks, redirecting to
    it; W writes."""
    return [("open", "R", 2), ("open", "T", 2), ("open", "W", 2),
            ("call", "R", "SUBSCRIBE", "__redis__:invalidate"),
            ("call", "T", "CLIENT", "TRACKING", "on", "REDIRECT", "@R", *more)]


# -- scenarios ---------------------------------------------------------------------------------
def test_resp3_pushes_for_writes_transactions_and_flushall(pair):
    got = same(pair, [
        ("open", "T", 3), ("open", "W", 2),
        ("call", "W", "MSET", "a", "1", "b", "1"),
        ("call", "T", "CLIENT", "TRACKING", "on"),
        ("call", "T", "GET", "a"),
        ("call", "T", "MGET", "a", "b", "c"),
        ("call", "W", "INCR", "b"),
        ("expect", "T", 1),
        ("call", "W", "INCR", "a"),
        ("expect", "T", 1),
        ("call", "W", "INCR", "a"),             # no longer tracked: nothing
        ("sync", "T"),
        ("call", "T", "GET", "a"),
        ("call", "T", "SET", "a", "5"),         # its own write: the push follows the reply
        ("expect", "T", 1),
        ("call", "T", "HSET", "h", "f", "1"), ("call", "T", "HGET", "h", "f"),
        ("call", "T", "HDEL", "h", "f"),
        ("expect", "T", 1),
        ("call", "T", "MGET", "a", "b"),
        ("call", "T", "MULTI"), ("call", "T", "INCR", "a"), ("call", "T", "GET", "b"),
        ("call", "T", "EXEC"),
        ("expect", "T", 1),
        ("call", "T", "GET", "a"),
        ("call", "W", "FLUSHALL"),
        ("expect", "T", 1),
        ("call", "T", "FLUSHDB"),
        ("expect", "T", 1),
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("call", "T", "CLIENT", "GETREDIR"),
        ("flags", "T"),
        ("info",),
    ])
    assert ("T", "expect", [b">2\r\n$10\r\ninvalidate\r\n_\r\n"]) in got   # FLUSHALL


def test_resp2_redirect_messages_and_flush_nulls(pair):
    same(pair, redirected() + [
        ("call", "T", "CLIENT", "GETREDIR"),
        ("call", "T", "GET", "k"),
        ("call", "W", "SET", "k", "1"),
        ("expect", "R", 1),
        ("call", "T", "MGET", "k1", "k2"),
        ("call", "W", "DEL", "k1", "k2"),       # nothing existed: no change, no message
        ("call", "W", "MSET", "k1", "1", "k2", "2"),
        ("expect", "R", 2),
        ("call", "W", "FLUSHALL"),
        ("expect", "R", 1),                     # a RESP2 null
        ("flags", "T"),
        ("call", "T", "HELLO", "3"),
        ("call", "T", "GET", "k"),
        ("call", "W", "SET", "k", "2"),
        ("expect", "R", 1),
        ("call", "W", "FLUSHDB"),
        ("expect", "R", 1),                     # the RESP3 null of the tracking client
        ("sync", "T"),
    ])


def test_invalidation_on_expiry(pair):
    same(pair, redirected() + [
        ("call", "W", "SET", "e", "v", "PX", "100"),
        ("call", "T", "GET", "e"),
        ("expect", "R", 1),                     # the active expiry
        ("call", "T", "CLIENT", "TRACKING", "off"),
        ("call", "T", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@R", "NOLOOP"),
        ("call", "T", "SET", "mykey", "v", "PX", "1"),
        ("call", "T", "SET", "mykeyother", "v"),    # its own: never sent
        ("expect", "R", 1),                     # the expiry is nobody's change
        ("sync", "R"),
    ])


def test_invalidation_on_eviction(pair):
    """An evicted key is invalidated: as a RESP2 redirect message and a RESP3 push."""
    same(pair, redirected() + [
        ("open", "P", 3),
        ("call", "P", "CLIENT", "TRACKING", "on"),
        ("call", "W", "SET", "ev", "v"),
        ("call", "T", "GET", "ev"),
        ("call", "P", "GET", "ev"),
        ("call", "W", "CONFIG", "SET", "maxmemory-policy", "allkeys-random"),
        ("call", "W", "CONFIG", "SET", "maxmemory", "1"),
        ("call", "W", "DBSIZE"),                # evicts before it runs: 0
        ("expect", "R", 1),
        ("expect", "P", 1),
        ("call", "W", "CONFIG", "SET", "maxmemory", "0"),
        ("call", "W", "CONFIG", "SET", "maxmemory-policy", "noeviction"),
        ("sync", "R"),
    ])


def test_bcast_prefixes(pair):
    same(pair, redirected("BCAST", "PREFIX", "a:", "PREFIX", "b:") + [
        ("call", "W", "MULTI"),
        ("call", "W", "INCR", "b:2"), ("call", "W", "INCR", "a:2"),
        ("call", "W", "INCR", "c:1"), ("call", "W", "INCR", "a:1"),
        ("call", "W", "INCR", "b:1"),
        ("call", "W", "EXEC"),
        ("expect", "R", 2),                     # one message per prefix, keys sorted
        ("call", "T", "CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "@R", "PREFIX", "c:"),
        ("call", "W", "MSET", "c:9", "1", "c:1", "2", "d", "3"),
        ("expect", "R", 1),
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("call", "T", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"),
        ("call", "T", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y",
         "PREFIX", "yz"),
        ("expect", "T", 1),                     # 7.0.15 answers that one twice
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("flags", "T"),
        ("info",),
        ("call", "T", "CLIENT", "TRACKING", "on"),
        ("call", "T", "CLIENT", "TRACKING", "off"),
        ("info",),
    ])


def test_bcast_resp3_own_change_and_noloop(pair):
    same(pair, [
        ("open", "T", 3), ("open", "N", 3), ("open", "W", 2),
        ("call", "T", "CLIENT", "TRACKING", "on", "BCAST"),
        ("call", "N", "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"),
        ("call", "T", "SET", "k", "1"),         # own change, no NOLOOP: after the reply
        ("expect", "T", 1),
        ("expect", "N", 1),
        ("call", "N", "SET", "n", "1"),         # NOLOOP: not to N
        ("expect", "T", 1),
        ("call", "W", "MSET", "x", "1", "y", "2"),
        ("expect", "T", 1), ("expect", "N", 1),
        ("sync", "T"), ("sync", "N"),
    ])


def test_optin_and_optout(pair):
    same(pair, redirected("OPTIN") + [
        ("call", "T", "GET", "o1"),             # not tracked: no CLIENT CACHING yes
        ("call", "T", "CLIENT", "CACHING", "yes"),
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("call", "T", "GET", "o2"),
        ("call", "T", "GET", "o3"),
        ("call", "T", "CLIENT", "CACHING", "yes"),
        ("call", "T", "MULTI"), ("call", "T", "GET", "o4"), ("call", "T", "GET", "o5"),
        ("call", "T", "EXEC"),
        ("call", "W", "MSET", "o1", "1", "o2", "1", "o3", "1", "o4", "1", "o5", "1"),
        ("expect", "R", 3),
        ("call", "T", "CLIENT", "TRACKING", "on", "REDIRECT", "@R", "OPTOUT"),
        ("call", "T", "CLIENT", "TRACKING", "off"),
        ("call", "T", "CLIENT", "TRACKING", "on", "REDIRECT", "@R", "OPTOUT"),
        ("call", "T", "CLIENT", "CACHING", "no"),
        ("call", "T", "GET", "p1"),
        ("call", "T", "GET", "p2"),
        ("call", "W", "MSET", "p1", "1", "p2", "1"),
        ("expect", "R", 1),
        ("call", "T", "CLIENT", "CACHING", "yes"),
        ("sync", "R"),
    ])


def test_noloop(pair):
    same(pair, redirected("NOLOOP") + [
        ("call", "T", "MGET", "other1", "loop", "other2"),
        ("call", "W", "SET", "other1", "1"),
        ("call", "T", "SET", "loop", "1"),
        ("call", "W", "SET", "other2", "1"),
        ("expect", "R", 2),
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("call", "T", "EVAL", "redis.call('get', KEYS[1]) return redis.call('set', KEYS[1], "
                              "'2')", 1, "s1"),
        ("call", "W", "SET", "s1", "3"),        # s1 left the table at the script's SET
        ("call", "T", "EVAL", "return redis.call('get', KEYS[1])", 1, "s2"),
        ("call", "T", "EVAL_RO", "return redis.call('ping')", 1, "s3"),    # no read
        ("call", "W", "MSET", "s3", "1", "s2", "1"),
        ("expect", "R", 1),
        ("sync", "R"),
    ])


def test_broken_redirect(pair):
    same(pair, [
        ("open", "R", 2), ("open", "T", 3), ("open", "W", 2),
        ("call", "T", "CLIENT", "TRACKING", "on", "REDIRECT", "@R"),
        ("call", "W", "SET", "key1", "1"),
        ("call", "T", "GET", "key1"),
        ("call", "R", "QUIT"),
        ("call", "W", "SET", "key1", "2"),
        ("expect", "T", 1),
        ("call", "T", "CLIENT", "TRACKINGINFO"),
        ("flags", "T"),
        ("call", "T", "GET", "key1"),
        ("call", "T", "SET", "key1", "3"),      # its own change: after the reply
        ("expect", "T", 1),
        ("call", "T", "CLIENT", "TRACKING", "on"),
        ("flags", "T"),
    ])


def test_errors_and_subcommands(pair):
    ours, real = pair
    cmds = [
        ["CLIENT", "TRACKING"], ["CLIENT", "TRACKING", "maybe"],
        ["CLIENT", "TRACKING", "on", "REDIRECT"], ["CLIENT", "TRACKING", "on", "REDIRECT", "x"],
        ["CLIENT", "TRACKING", "on", "REDIRECT", "0"],
        ["CLIENT", "TRACKING", "off", "REDIRECT", "99999"],
        ["CLIENT", "TRACKING", "on", "PREFIX", "a"],
        ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
        ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "FOOBAR"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a\x00b", "PREFIX", "a"],
        ["CLIENT", "CACHING", "yes"], ["CLIENT", "CACHING"], ["CLIENT", "GETREDIR", "x"],
        ["CLIENT", "TRACKINGINFO", "x"], ["CLIENT", "TRACKINGINFO"], ["CLIENT", "GETREDIR"],
        ["CLIENT", "TRACKING", "on", "OPTIN"], ["CLIENT", "CACHING", "no"],
        ["CLIENT", "CACHING", "maybe"], ["CLIENT", "TRACKING", "on", "OPTOUT"],
        ["CLIENT", "TRACKING", "on", "BCAST"], ["CLIENT", "TRACKINGINFO"],
        ["RESET"], ["CLIENT", "TRACKINGINFO"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOO", "PREFIX", "BAR"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FO"],
        ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "BARB"],
        ["CLIENT", "TRACKING", "on", "BCAST", "OPTOUT"],
        ["CLIENT", "TRACKING", "on"],
        ["CLIENT", "TRACKING", "off"], ["CLIENT", "TRACKING", "off"],
        ["CLIENT", "HELP"],
    ]
    for protocol in (2, 3):
        assert raw_replies(ours.port, cmds, protocol) == raw_replies(real.port, cmds, protocol)


def test_table_limit(pair):
    keys = [f"key{i}" for i in range(20)]
    same(pair, redirected() + [("call", "T", "MGET", *keys), ("info",),
                               ("call", "W", "CONFIG", "SET", "tracking-table-max-keys", "5"),
                               ("expect", "R", 15, "any-keys"),
                               ("call", "W", "CONFIG", "SET", "tracking-table-max-keys", "0"),
                               ("info",)])


def _read_until(sock, done) -> bytes:
    """Bytes received on `sock` until `done(bytes)` holds (deadline DEADLINE_S)."""
    data = b""
    deadline = time.monotonic() + DEADLINE_S
    while not done(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"waited {DEADLINE_S}s, got {data!r}")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def test_client_reply_off_still_gets_invalidations(pair):
    """CLIENT REPLY OFF: no replies, but invalidation pushes still come (CLIENT_PUSHING)."""
    seen = []
    for server in pair:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as t, \
                socket.create_connection(("127.0.0.1", server.port), timeout=5) as w:
            w.sendall(mb("SET", "foo", "bar"))
            _read_until(w, lambda d: d == b"+OK\r\n")
            t.sendall(mb("HELLO", 3) + mb("CLIENT", "TRACKING", "on") + mb("GET", "foo") +
                      mb("CLIENT", "REPLY", "OFF"))
            _read_until(t, lambda d: d.endswith(b"+OK\r\n$3\r\nbar\r\n"))
            w.sendall(mb("SET", "foo", "bar2"))
            pushed = _read_until(t, lambda d: d.endswith(b"\r\nfoo\r\n"))
            t.sendall(mb("CLIENT", "REPLY", "ON") + mb("PING"))
            after = _read_until(t, lambda d: d.endswith(b"+PONG\r\n"))
            seen.append((pushed, after))
    assert seen[0] == seen[1] == (b">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nfoo\r\n",
                                  b"+OK\r\n+PONG\r\n")


def _redis_py_session(port: int) -> list:
    """What redis-py sees: RESP3 pushes on a tracking connection, RESP2 Pub/Sub messages
    on a connection the invalidations are redirected to."""
    seen = []
    writer = redis.Redis(port=port, protocol=2, socket_timeout=5)   # its Pub/Sub: RESP2
    conn = redis.Connection(port=port, protocol=3, socket_timeout=5)
    pubsub = writer.pubsub()
    try:
        conn.connect()
        # redis-py hands "invalidate" pushes to this handler; push_request returns its value
        conn._parser.set_invalidation_push_handler(lambda push: push)
        conn.send_command("CLIENT", "TRACKING", "on")
        seen.append(conn.read_response())
        writer.set("k", "v1")
        conn.send_command("GET", "k")
        seen.append(conn.read_response())
        writer.set("k", "v2")
        seen.append(conn.read_response(push_request=True))      # the push
        conn.send_command("GET", "k")
        seen.append(conn.read_response())
        writer.expire("k", 1)           # a change too: k leaves the table
        seen.append(conn.read_response(push_request=True))
        conn.send_command("GET", "k")
        seen.append(conn.read_response())
        writer.pexpire("k", 50)
        seen.append(conn.read_response(push_request=True))      # PEXPIRE
        conn.send_command("GET", "k")
        seen.append(conn.read_response())
        seen.append(conn.read_response(push_request=True, timeout=DEADLINE_S))  # the expiry
        pubsub.subscribe("__redis__:invalidate")
        wait_until(lambda: pubsub.get_message(timeout=0.1), DEADLINE_S,
                   message="the subscribe confirmation")
        redir = next(c["id"] for c in writer.client_list(_type="pubsub"))
        other = redis.Redis(port=port, protocol=2, socket_timeout=5)
        try:
            seen.append(other.client_tracking_on(clientid=int(redir), bcast=True,
                                                 prefix=["p:"]))
            writer.mset({"p:1": "a", "q:1": "b"})
            writer.flushall()
            for _ in range(2):
                msg = wait_until(lambda: pubsub.get_message(timeout=0.1), DEADLINE_S,
                                 message="an invalidation message")
                seen.append((msg["type"], msg["channel"], msg["data"]))
        finally:
            other.close()
    finally:
        pubsub.close()
        conn.disconnect()
        writer.close()
    return seen


def test_redis_py_receives_pushes_and_messages(pair):
    ours, real = pair
    got, want = _redis_py_session(ours.port), _redis_py_session(real.port)
    assert got == want
    assert got[2] == [b"invalidate", [b"k"]]
    assert got[-2:] == [("message", b"__redis__:invalidate", [b"p:1"]),
                        ("message", b"__redis__:invalidate", None)]


def test_cluster_mode_tracks_per_node(tmp_path):
    steps = [("open", "R", 2), ("open", "T", 3), ("open", "W", 2),
             ("call", "R", "SUBSCRIBE", "__redis__:invalidate"),
             ("call", "T", "CLIENT", "TRACKING", "on"),
             ("call", "T", "GET", "{t}a"),
             ("call", "W", "SET", "{t}a", "1"),
             ("expect", "T", 1),
             ("call", "T", "CLIENT", "TRACKING", "off"),
             ("call", "T", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "{t}"),
             ("call", "W", "MSET", "{t}b", "1", "{t}c", "2"),
             ("expect", "T", 1),
             ("info",)]
    with one_node_clusters(tmp_path) as (ours, real):
        same((ours, real), steps)
