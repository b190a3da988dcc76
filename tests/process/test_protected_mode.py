"""Protected mode over real sockets, side by side with redis-server 7.0.15.

Both servers listen on a private bridge address and on loopback (tests/netns.py); clients
inside a network namespace reach them through the bridge from a non-loopback address. With
protected-mode yes and no password, such a client gets the DENIED line and a closed
connection; loopback is served; `protected-mode no` or a password lets it in.
"""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from cluster.server.protected import DENIED
from tests import netns
from tests.netns import Lab
from tests.support import NodeProcess, RealRedis, mb, read_one, running

DEADLINE = 10.0

# Run inside the namespace: connect, send argv[3] (hex), read until the server closes or
# the deadline; print the bytes (hex) and how it ended.
_PROBE = r"""
import socket, sys, time
host, port, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
deadline = time.monotonic() + float(sys.argv[4])
s = socket.create_connection((host, port), timeout=5)
if payload:
    s.sendall(payload)
data, end = b"", "timeout"
while time.monotonic() < deadline:
    s.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        end = "reset"
        break
    if not chunk:
        end = "closed"
        break
    data += chunk
    if payload and data.endswith(b"\r\n"):
        end = "replied"
        break
print(data.hex(), end)
"""


@pytest.fixture(scope="module")
def lab():
    with Lab(1) as made:
        yield made


@pytest.fixture(scope="module")
def servers(lab, tmp_path_factory):
    """(our node, the real redis-server), each on lab.host_ip and 127.0.0.1."""
    bind = ["--bind", lab.host_ip, "127.0.0.1"]
    ours = NodeProcess(tmp_path_factory.mktemp("protected"), bind)
    real = RealRedis(bind)
    with running(ours), running(real):
        yield ours, real


def probe(lab, port: int, payload: bytes = b"", wait: float = 3.0) -> tuple[bytes, str]:
    """What a client in the namespace reads from host_ip:port (after sending payload)."""
    res = lab.run(0, [sys.executable, "-c", _PROBE, lab.host_ip, str(port), payload.hex(),
                      str(wait)], text=True, timeout=DEADLINE)
    assert res.returncode == 0, res.stderr
    data, end = res.stdout.split()
    return bytes.fromhex(data), end


def cli_from_namespace(lab, port: int, *args: str) -> tuple[str, str]:
    res = lab.run(0, ["redis-cli", "-h", lab.host_ip, "-p", str(port), *args], text=True,
                  timeout=DEADLINE)
    return res.stdout, res.stderr


def loopback(port: int, *commands) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        out = []
        for args in commands:
            sock.sendall(mb(*args))
            out.append(read_one(sock))
        return out


def stats(sock) -> dict[str, int]:
    sock.sendall(mb("INFO", "stats"))
    text = read_one(sock).decode()
    pairs = (line.split(":", 1) for line in text.split("\r\n") if ":" in line)
    return {k: int(v) for k, v in pairs if v.isdigit()}


def test_a_namespace_client_is_denied_and_closed(lab, servers):
    seen = []
    for server in servers:
        data, end = probe(lab, server.port)
        assert (data, end) == (DENIED, "closed"), server.what
        seen.append(data)
    assert seen[0] == seen[1]


def test_redis_cli_from_a_namespace_sees_the_same(lab, servers):
    ours, real = (cli_from_namespace(lab, s.port, "PING") for s in servers)
    assert ours == real
    assert "DENIED Redis is running in protected mode" in ours[0] + ours[1]


def test_refusals_count_as_rejected_not_received(lab, servers):
    deltas = []
    for server in servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE) as sock:
            before = stats(sock)
            for _ in range(3):
                assert probe(lab, server.port) == (DENIED, "closed")
            after = stats(sock)
        deltas.append({k: after[k] - before[k]
                       for k in ("rejected_connections", "total_connections_received")})
    assert deltas[0] == deltas[1] == {"rejected_connections": 3,
                                      "total_connections_received": 0}


def test_loopback_is_served(servers):
    for server in servers:
        assert loopback(server.port, ["PING"]) == [b"+PONG\r\n"]


def test_protected_mode_no_lets_the_namespace_in(lab, servers):
    for server in servers:
        assert loopback(server.port, ["CONFIG", "SET", "protected-mode", "no"]) == [b"+OK\r\n"]
    try:
        got = [probe(lab, s.port, mb("PING")) for s in servers]
        assert got[0] == got[1] == (b"+PONG\r\n", "replied")
        ours, real = (cli_from_namespace(lab, s.port, "PING") for s in servers)
        assert ours == real == ("PONG\n", "")
    finally:
        for server in servers:
            loopback(server.port, ["CONFIG", "SET", "protected-mode", "yes"])
    assert probe(lab, servers[0].port) == probe(lab, servers[1].port) == (DENIED, "closed")


def test_a_password_lets_the_namespace_in_to_authenticate(lab, servers):
    for server in servers:
        assert loopback(server.port, ["CONFIG", "SET", "requirepass", "s3cret"]) == [
            b"+OK\r\n"]
    try:
        got = [probe(lab, s.port, mb("PING")) for s in servers]
        assert got[0] == got[1] == (b"-NOAUTH Authentication required.\r\n", "replied")
        got = [probe(lab, s.port, mb("AUTH", "s3cret")) for s in servers]
        assert got[0] == got[1] == (b"+OK\r\n", "replied")
    finally:
        for server in servers:
            loopback(server.port, ["AUTH", "s3cret"], ["CONFIG", "SET", "requirepass", ""])
    assert probe(lab, servers[0].port) == probe(lab, servers[1].port) == (DENIED, "closed")


def test_a_refused_connection_takes_a_client_id(lab, servers):
    steps = []
    for server in servers:
        first = loopback(server.port, ["CLIENT", "ID"])[0]
        probe(lab, server.port)
        second = loopback(server.port, ["CLIENT", "ID"])[0]
        steps.append(int(second[1:]) - int(first[1:]))
    assert steps[0] == steps[1]


def test_the_lab_cleans_up_after_itself(monkeypatch):
    with Lab(2) as made:
        names = [ns.name for ns in made.namespaces]
        links = [made.bridge] + [ns.host_dev for ns in made.namespaces]
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert all(n in listed for n in names)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)
    for link in links:
        assert subprocess.run(["ip", "link", "show", link], capture_output=True).returncode != 0

    # a setup failing half way (the second namespace's veth) removes what it made
    real_ip = netns._ip

    def failing_ip(*args, **kwargs):
        if args[:2] == ("link", "add") and args[1:2] and args[2].endswith("h1"):
            raise RuntimeError("injected failure")
        return real_ip(*args, **kwargs)

    monkeypatch.setattr(netns, "_ip", failing_ip)
    made = Lab(2)
    with pytest.raises(RuntimeError, match="injected failure"):
        made.__enter__()
    monkeypatch.undo()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert made.namespaces and not any(ns.name in listed for ns in made.namespaces)
    for link in [made.bridge, made.namespaces[0].host_dev]:
        assert subprocess.run(["ip", "link", "show", link], capture_output=True).returncode != 0
