"""Routing over real sockets, side by side with a real Redis 7.0.15 cluster of the same shape.

Both clusters have three primaries with redis-cli's split (0-5460, 5461-10922, 10923-16383).
Ports and node ids differ between the two, so raw replies are compared with every port and
id replaced by the node's index. Keys: `k2` -> 449 (node 0), `bar` -> 5061 (node 0),
`k0` -> 8579 (node 1), `a` -> 15495 (node 2).
"""
from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import time

import pytest

from tests.cluster_support import admin, cluster_of, cluster_ok, node_ids
from tests.support import mb, raw_replies, read_one, wait_until

K0_SLOT, K2_SLOT = 8579, 449


class Side:
    """One cluster (ours or the real one) and how to normalise its replies."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.ports = [n.port for n in nodes]
        self.ids = node_ids(nodes)

    def norm(self, data: bytes) -> bytes:
        for i, (port, node_id) in enumerate(zip(self.ports, self.ids)):
            data = data.replace(b":%d" % port, b":<P%d>" % i)
            data = data.replace(node_id.encode(), b"<ID%d>" % i)
        return data

    def replies(self, commands, node: int = 0, protocol: int = 2) -> list[bytes]:
        return [self.norm(r) for r in raw_replies(self.ports[node], commands, protocol)]

    def conn(self, node: int = 0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.ports[node]), timeout=10)

    def ask(self, sock, *args) -> bytes:
        sock.sendall(mb(*args))
        return self.norm(read_one(sock))


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("ours"), 3) as nodes:
        yield Side(nodes)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    with cluster_of(tmp_path_factory.mktemp("real"), 3, real=True) as nodes:
        yield Side(nodes)


@pytest.fixture(scope="module")
def both(ours, real):
    return ours, real


def same(both, commands, node: int = 0, protocol: int = 2) -> list[bytes]:
    ours, real = both
    got, want = ours.replies(commands, node, protocol), real.replies(commands, node, protocol)
    for args, g, w in zip(commands, got, want):
        assert g == w, args
    return got


REDIRECTS = [
    ["GET", "k0"], ["GET", "a"], ["SET", "k0", "x"], ["SET", "{k0}tagged", "x"],
    ["SET", "k2", "mine"], ["GET", "k2"],
    ["MSET", "a", "1", "bar", "2"], ["MGET", "k2", "bar"], ["MGET", "{k0}1", "{k0}2"],
    ["DEL", "k0", "a"], ["EXISTS", "k2", "k2"], ["WATCH", "k0"], ["UNWATCH"],
    ["ASKING"], ["GET", "k0"], ["READONLY"], ["GET", "k0"], ["READWRITE"],
    ["PING"], ["DBSIZE"], ["CLUSTER", "KEYSLOT", "k0"], ["CLUSTER", "COUNTKEYSINSLOT", K0_SLOT],
    ["SELECT", "1"], ["SELECT", "0"], ["SELECT", "16"], ["MOVE", "k2", "1"],
    ["MOVE", "k0", "1"], ["SWAPDB", "0", "1"], ["COPY", "{k2}a", "{k2}b", "DB", "1"],
    ["COPY", "k2", "a", "DB", "0"], ["DEL", "k2"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_redirect_replies_match_real(both, protocol):
    got = same(both, REDIRECTS, protocol=protocol)
    assert got[0] == b"-MOVED 8579 127.0.0.1:<P1>\r\n"
    assert got[1] == b"-MOVED 15495 127.0.0.1:<P2>\r\n"
    assert got[6] == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert got[22] == b"-ERR SELECT is not allowed in cluster mode\r\n"


def test_transactions_match_real(both):
    got = same(both, [
        ["MULTI"], ["SET", "k2", "1"], ["SET", "k0", "1"], ["EXEC"], ["GET", "k2"],
        ["MULTI"], ["SET", "{k2}1", "x"], ["SET", "bar", "y"], ["EXEC"], ["EXEC"],
        ["MGET", "{k2}1", "bar"], ["GET", "bar"],
        ["MULTI"], ["ASKING"], ["GET", "k0"], ["DISCARD"],
        ["WATCH", "k2"], ["MULTI"], ["WATCH", "k0"], ["EXEC"],
    ])
    assert got[2] == b"-MOVED 8579 127.0.0.1:<P1>\r\n"
    assert got[3] == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert got[8] == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert got[9] == b"-ERR EXEC without MULTI\r\n"


def _info(port: int, section: str) -> dict[str, str]:
    raw = raw_replies(port, [["INFO", section]])[0]
    body = raw.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in body.splitlines() if ":" in line)


def test_rejections_are_counted_like_real(both):
    stats = []
    for side in both:       # raw sockets only: redis-py's connect-time CLIENT SETINFO errs on 7.0
        raw_replies(side.ports[0], [["CONFIG", "RESETSTAT"], ["GET", "k0"], ["GET", "a"],
                                    ["MGET", "k2", "bar"], ["MULTI"], ["SET", "k0", "1"],
                                    ["EXEC"]])
        cmd = _info(side.ports[0], "commandstats")
        stats.append((_info(side.ports[0], "errorstats"),
                      {name: ",".join(cmd[name].split(",")[-2:])
                       for name in ("cmdstat_get", "cmdstat_mget", "cmdstat_set",
                                    "cmdstat_exec")}))
    assert stats[0] == stats[1]
    assert stats[0][0]["errorstat_MOVED"] == "count=3"
    assert stats[0][1]["cmdstat_get"] == "rejected_calls=2,failed_calls=0"


def test_exec_redirect_discards_the_transaction_like_real(both):
    """A slot lost between MULTI and EXEC: EXEC answers the redirect (no EXECABORT) and the
    transaction and its WATCHes are gone; then the node's cluster state goes fail."""
    transcripts = []
    for side in both:
        out = []
        with side.conn() as tx, side.conn() as other:
            for args in (["WATCH", "k2"], ["MULTI"], ["SET", "k2", "1"], ["GET", "bar"]):
                out.append(side.ask(tx, *args))
            out.append(side.ask(other, "CLUSTER", "DELSLOTS", K2_SLOT))
            out.append(side.ask(tx, "EXEC"))
            out.append(side.ask(tx, "EXEC"))
            out.append(side.ask(tx, "GET", "k2"))
            # Without full coverage the node's state turns fail.
            wait_until(lambda: side.ask(other, "GET", "bar").startswith(b"-CLUSTERDOWN The"),
                       10, message="cluster state fail")
            out.append(side.ask(tx, "GET", "bar"))
            out.append(side.ask(tx, "PING"))
            out.append(side.ask(tx, "CONFIG", "SET", "cluster-allow-reads-when-down", "yes"))
            out.append(side.ask(tx, "GET", "bar"))
            out.append(side.ask(tx, "SET", "bar", "1"))
            out.append(side.ask(tx, "CONFIG", "GET", "cluster-allow-reads-when-down"))
            out.append(side.ask(tx, "CONFIG", "SET", "cluster-allow-reads-when-down", "no"))
            out.append(side.ask(other, "CLUSTER", "ADDSLOTS", K2_SLOT))
        wait_until(lambda: cluster_ok(side.nodes), 20, message="cluster ok again")
        out.append(side.replies([["GET", "k2"]])[0])
        transcripts.append(out)
    assert transcripts[0] == transcripts[1]
    assert transcripts[0][5] == b"-CLUSTERDOWN Hash slot not served\r\n"
    assert transcripts[0][6] == b"-ERR EXEC without MULTI\r\n"
    assert transcripts[0][8] == b"-CLUSTERDOWN The cluster is down\r\n"
    assert transcripts[0][12] == \
        b"-CLUSTERDOWN The cluster is down and only accepts read commands\r\n"


def test_ask_and_tryagain_match_real(both):
    """An open slot by hand (SETSLOT IMPORTING / MIGRATING): ASK for a missing key, TRYAGAIN
    for a partial multi-key request, ASKING on the target, MOVED back without ASKING."""
    transcripts = []
    for side in both:
        src, dst = side.ids[1], side.ids[0]
        with admin(side.nodes[0]) as r0, admin(side.nodes[1]) as r1:
            r1.set("{k0}here", "1")
            r0.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "IMPORTING", src)
            r1.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "MIGRATING", dst)
            try:
                out = side.replies([
                    ["GET", "{k0}here"], ["GET", "{k0}gone"], ["MGET", "{k0}here", "{k0}gone"],
                    ["MGET", "{k0}here", "{k0}here"], ["SET", "{k0}here", "2"],
                    ["MIGRATE", "127.0.0.1", "1", "{k0}gone", "0", "100"],
                ], node=1)
                out += side.replies([
                    ["GET", "{k0}gone"], ["ASKING"], ["GET", "{k0}gone"],
                    ["ASKING"], ["SET", "{k0}new", "1"], ["GET", "{k0}new"],
                    ["ASKING"], ["MGET", "{k0}new", "{k0}other"],
                    ["ASKING"], ["MULTI"], ["GET", "{k0}new"], ["EXEC"],
                    ["MULTI"], ["GET", "{k0}new"], ["EXEC"],
                ], node=0)
            finally:
                raw_replies(side.ports[0], [["ASKING"], ["DEL", "{k0}new"]])
                for r in (r0, r1):
                    r.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "STABLE")
                r1.delete("{k0}here")
        transcripts.append(out)
    assert transcripts[0] == transcripts[1]
    ask = b"-ASK 8579 127.0.0.1:<P0>\r\n"
    assert transcripts[0][1] == ask
    assert transcripts[0][2] == b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
    assert transcripts[0][6] == b"-MOVED 8579 127.0.0.1:<P1>\r\n"


def test_redis_cli_follows_moved(ours):
    p0, p1 = ours.ports[0], ours.ports[1]
    run = subprocess.run(["redis-cli", "-c", "-p", str(p0), "SET", "k0", "via-cli"],
                         capture_output=True, text=True, timeout=20)
    assert run.stdout.strip().endswith("OK")
    run = subprocess.run(["redis-cli", "-c", "-p", str(p0), "GET", "k0"],
                         capture_output=True, text=True, timeout=20)
    assert run.stdout.strip().endswith("via-cli")
    assert raw_replies(p1, [["GET", "k0"]]) == [b"$7\r\nvia-cli\r\n"]
    # Interactive on a terminal, redis-cli says where it was sent (and its prompt follows).
    text = _on_a_tty(["redis-cli", "-c", "-p", str(p0)],
                     [(f"127.0.0.1:{p0}>", "GET k0\n"), (f"127.0.0.1:{p1}>", "quit\n")])
    assert f"-> Redirected to slot [{K0_SLOT}] located at 127.0.0.1:{p1}" in text
    assert '"via-cli"' in text.split("Redirected", 1)[1]
    assert f"127.0.0.1:{p1}>" in text
    raw_replies(p1, [["DEL", "k0"]])


def test_redis_cli_follows_ask(ours):
    p0, p1 = ours.ports[0], ours.ports[1]
    with admin(ours.nodes[0]) as r0, admin(ours.nodes[1]) as r1:
        r0.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "IMPORTING", ours.ids[1])
        r1.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "MIGRATING", ours.ids[0])
        try:
            for args, want in ((["SET", "{k0}asked", "there"], "OK"),
                               (["GET", "{k0}asked"], "there")):
                run = subprocess.run(["redis-cli", "-c", "-p", str(p1), *args],
                                     capture_output=True, text=True, timeout=20)
                assert run.stdout.strip() == want, run
            # It went to the importing node (with ASKING), not to the slot's owner.
            assert raw_replies(p0, [["ASKING"], ["GET", "{k0}asked"]])[1] == b"$5\r\nthere\r\n"
            assert raw_replies(p1, [["EXISTS", "{k0}asked"]]) == [b"-ASK 8579 127.0.0.1:%d\r\n"
                                                                   % p0]
            text = _on_a_tty(["redis-cli", "-c", "-p", str(p1)],
                             [(f"127.0.0.1:{p1}>", "GET {k0}asked\n"),
                              (f"127.0.0.1:{p0}>", "quit\n")])
            assert f"-> Redirected to slot [{K0_SLOT}] located at 127.0.0.1:{p0}" in text
            assert '"there"' in text.split("Redirected", 1)[1]
        finally:
            raw_replies(p0, [["ASKING"], ["DEL", "{k0}asked"]])
            for r in (r0, r1):
                r.execute_command("CLUSTER", "SETSLOT", K0_SLOT, "STABLE")


def _on_a_tty(argv: list[str], steps: list[tuple[str, str]], timeout: float = 20) -> str:
    """Run `argv` on a terminal; for each (wait_for, then_type) step, read until `wait_for`
    shows, then type. Returns everything printed."""
    master, slave = pty.openpty()
    try:
        # TERM=dumb: linenoise reads plain lines (no raw mode, no cursor queries).
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                env=dict(os.environ, TERM="dumb"))
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        for wait_for, typed in steps:
            while wait_for.encode() not in out:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{wait_for!r} never showed; got {out!r}")
                ready, _, _ = select.select([master], [], [], left)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:         # EIO: the child closed the terminal
                        chunk = b""
                    if not chunk:
                        raise AssertionError(f"exited before {wait_for!r}; got {out!r}")
                    out += chunk
            os.write(master, typed.encode())
        proc.wait(max(0.1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(master)
    return out.decode(errors="replace").replace("\r\n", "\n")
