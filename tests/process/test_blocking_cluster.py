"""A client blocked on a key (BLPOP) in a 3-primary cluster is released with -MOVED when
the key's slot is given to another node (CLUSTER SETSLOT ... NODE on both), the same reply
a real Redis 7.0 cluster sends; a blocked client whose slot stays is left blocked."""
from __future__ import annotations

import socket

import pytest

from slots import keyslot
from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import wait_until

KEY = b"foo"                      # slot 12182: the third primary's
OTHER = b"bar"                    # slot 5061: the first primary's, never moved


def _blocked(node) -> int:
    with admin(node) as r:
        return int(r.info("clients")["blocked_clients"])


def _send_blpop(port: int, key: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"*3\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$1\r\n0\r\n" % (len(key), key))
    return s


def _read_line(s: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = s.recv(4096)
        assert chunk, "connection closed before a reply"
        data += chunk
    return data


def _moved_reply(nodes) -> tuple[bytes, int, bool]:
    """Block on KEY at its owner, give the slot to the first primary, return (the
    blocked client's reply, the new owner's port, whether OTHER's waiter still waits)."""
    ids = node_ids(nodes)
    slot = keyslot(KEY)
    owner, target = nodes[2], nodes[0]
    waiter = _send_blpop(owner.port, KEY)
    bystander = _send_blpop(nodes[0].port, OTHER)
    try:
        wait_until(lambda: _blocked(owner) == 1 and _blocked(target) == 1, 10,
                   message="both clients blocked")
        with admin(target) as r:
            r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[0])
        with admin(owner) as r:
            r.execute_command("CLUSTER", "SETSLOT", slot, "NODE", ids[0])
        waiter.settimeout(10)
        reply = _read_line(waiter)
        wait_until(lambda: _blocked(owner) == 0, 10, message="the waiter released")
        still = _blocked(target) == 1
        bystander.settimeout(0.2)
        try:
            early = bystander.recv(100)
        except socket.timeout:
            early = b""
        return reply, target.port, still and early == b""
    finally:
        waiter.close()
        bystander.close()


@pytest.mark.parametrize("real", [False, True], ids=["ours", "real"])
def test_blocked_client_released_with_moved(tmp_path, real):
    with cluster_of(tmp_path, 3, real=real) as nodes:
        reply, port, bystander_waits = _moved_reply(nodes)
    assert reply == b"-MOVED %d 127.0.0.1:%d\r\n" % (keyslot(KEY), port)
    assert bystander_waits
