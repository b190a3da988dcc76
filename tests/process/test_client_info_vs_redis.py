"""CLIENT INFO / CLIENT LIST buffer figures over real sockets, side by side with a real
redis-server 7.0.15: the query buffer (qbuf, qbuf-free), the running command's and a
transaction's memory (argv-mem, multi-mem), the output buffers and tot-mem.

rbs / rbp follow Redis's cron, which shrinks a new client's reply buffer within its first
two passes: they are left out, and tot-mem is compared without them.
"""
from __future__ import annotations

import socket

import pytest

from tests.support import mb, read_one, wait_until

COMPARED = ("qbuf", "qbuf-free", "argv-mem", "multi-mem", "obl", "oll", "omem", "flags",
            "multi", "sub", "psub")


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


def _fields(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.strip().split(" "))


def _text(reply: bytes) -> str:
    """A bulk / verbatim reply's text."""
    body = reply.split(b"\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    return body.decode()


def _compared(f: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = {k: f[k] for k in COMPARED}
    out["tot-mem - rbs"] = int(f["tot-mem"]) - int(f["rbs"])
    return out


def _call(sock, *args) -> bytes:
    sock.sendall(mb(*args))
    return read_one(sock)


def _states(port: int) -> dict[str, dict]:
    """The same client states on one server, as CLIENT INFO / CLIENT LIST show them."""
    out = {}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as a, \
            socket.create_connection(("127.0.0.1", port), timeout=10) as b, \
            socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        out["first command"] = _fields(_text(_call(a, "CLIENT", "INFO")))
        _call(a, "SET", "k", "x" * 100)
        out["after a SET"] = _fields(_text(_call(a, "client", "info")))
        _call(b, "CLIENT", "SETNAME", "txn")
        _call(b, "WATCH", "k1", "k2")
        _call(b, "MULTI")
        _call(b, "SET", "k", "vvvvv")
        _call(b, "GET", "k")
        _call(b, "INCR", "x")
        _call(c, "CLIENT", "SETNAME", "sub")
        _call(c, "SUBSCRIBE", "c1", "c2", "c3")
        _call(c, "PSUBSCRIBE", "p*")
        listing = _text(_call(a, "CLIENT", "LIST")).strip().split("\n")
        by_name = {f["name"]: f for f in map(_fields, listing)}
        out["in MULTI"] = by_name["txn"]
        out["subscribed"] = by_name["sub"]
    return out


def test_client_buffers_match_redis(pair):
    ours, real = pair
    mine, theirs = _states(ours.port), _states(real.port)
    assert mine["first command"]["qbuf"] == "26"        # the suite's CLIENT LIST check
    for state in theirs:
        assert _compared(mine[state]) == _compared(theirs[state]), state


def test_an_idle_client_gives_its_query_buffer_back(pair):
    """After more than 2 s idle, the cron frees a client's spare query buffer room:
    qbuf + qbuf-free is 0 (querybuf.tcl), on both servers."""
    ours, real = pair
    idle = {}
    try:
        for server in (ours, real):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            idle[server.port] = sock
            _call(sock, "CLIENT", "SETNAME", "idler")

        def freed(port: int) -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as probe:
                listing = _text(_call(probe, "CLIENT", "LIST")).strip().split("\n")
            f = next(f for f in map(_fields, listing) if f["name"] == "idler")
            return int(f["idle"]) >= 3 and int(f["qbuf"]) + int(f["qbuf-free"]) == 0
        # Redis counts idle seconds on its whole-second clock: it may get there first
        wait_until(lambda: freed(real.port), timeout=10, interval=0.2,
                   message="redis-server frees the idle query buffer")
        wait_until(lambda: freed(ours.port), timeout=3, interval=0.2,
                   message="our node frees the idle query buffer")
    finally:
        for sock in idle.values():
            sock.close()
