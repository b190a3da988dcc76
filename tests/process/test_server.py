"""Server commands over real sockets: INFO, CLIENT, DEBUG, SLOWLOG, TIME, WAIT, SHUTDOWN,
and the timeout / maxclients settings, with redis-py (RESP2 and RESP3) and redis-cli."""
import socket
import time

import pytest
import redis

from tests.support import redis_cli, wait_until

CLIENT_FIELDS = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
                 "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir "
                 "resp").split()
NODE_ARGS = ["--enable-debug-command", "yes"]


@pytest.fixture(scope="module")
def node(module_node):
    """The module's one node (rr / cli from conftest use it)."""
    return module_node


def test_info_parses_the_same_in_both_protocols(rr):
    info = rr.info()
    assert info["redis_version"] == "7.0.15"
    assert info["redis_mode"] == "standalone"
    assert info["role"] == "master" and info["connected_slaves"] == 0
    assert info["cluster_enabled"] == 0
    assert info["master_replid2"] == 0            # redis-py reads forty zeros as 0
    assert len(str(info["master_replid"])) == 40
    assert "pyredis_cluster_version" in info
    assert info["connected_clients"] >= 1
    assert set(rr.info("server")) >= {"run_id", "tcp_port", "uptime_in_seconds", "hz",
                                      "executable", "config_file", "process_id"}
    rr.set("info:k", "v")
    assert rr.info("keyspace")["db0"]["keys"] >= 1
    stats = rr.info("commandstats")["cmdstat_set"]
    assert stats["calls"] >= 1 and "usec_per_call" in stats


def test_info_wire_format(node):
    raw = node.raw(b"INFO cluster\r\nINFO bogus\r\nHELLO 3\r\nINFO cluster\r\n")
    assert raw.startswith(b"$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n$0\r\n\r\n")
    assert raw.endswith(b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n")


def test_redis_cli_info_and_client_list(node):
    out = redis_cli(node.port, "INFO", "server")
    assert out.startswith("# Server\nredis_version:7.0.15\n")
    assert f"tcp_port:{node.port}\n" in out
    listing = redis_cli(node.port, "CLIENT", "LIST")
    fields = [f.split("=", 1)[0] for f in listing.strip().split("\n")[-1].split(" ")]
    assert fields == CLIENT_FIELDS
    assert "cmd=client|list" in listing


def test_client_list_and_info_parse_in_both_protocols(rr):
    rr.client_setname("tester")
    name = rr.client_getname()                     # RESP3: redis-py leaves it as bytes
    assert (name.decode() if isinstance(name, bytes) else name) == "tester"
    mine = [c for c in rr.client_list() if c["name"] == "tester"]
    assert len(mine) == 1 and list(mine[0]) == CLIENT_FIELDS
    info = rr.client_info()
    assert info["name"] == "tester" and info["cmd"] == "client|info"
    assert int(info["id"]) == rr.client_id()
    assert info["resp"] == str(rr.get_connection_kwargs().get("protocol", 2))
    with pytest.raises(redis.ResponseError, match="Client names cannot contain spaces"):
        rr.client_setname("a b")


def test_client_kill_closes_another_connection(node):
    victim = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    victim.sendall(b"CLIENT ID\r\n")
    victim_id = int(victim.recv(100)[1:-2])
    killer = redis.Redis(port=node.port, socket_timeout=5)
    assert killer.execute_command("CLIENT", "KILL", "ID", victim_id) == 1
    victim.settimeout(5)
    assert victim.recv(100) == b""                 # closed by the server
    victim.close()
    wait_until(lambda: all(int(c["id"]) != victim_id for c in killer.client_list()),
               message="killed client gone")
    with pytest.raises(redis.ResponseError, match="No such client"):
        killer.execute_command("CLIENT", "KILL", "1.2.3.4:5")
    laddr = killer.client_info()["laddr"]
    assert killer.execute_command("CLIENT", "KILL", "LADDR", laddr, "SKIPME", "yes") >= 0
    killer.close()


def test_old_form_client_kill_can_kill_itself(node):
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(b"CLIENT INFO\r\n")
        addr = s.recv(4096).split(b"addr=")[1].split(b" ")[0]
        s.sendall(b"CLIENT KILL " + addr + b"\r\n")
        assert s.recv(100) == b"+OK\r\n"
        assert s.recv(100) == b""


def test_time_lastsave_and_wait(rr):
    sec, usec = rr.time()
    assert abs(sec - time.time()) < 5 and 0 <= usec < 10**6
    assert isinstance(rr.lastsave().year, int)
    assert rr.execute_command("WAIT", 0, 0) == 0
    start = time.monotonic()
    assert rr.execute_command("WAIT", 1, 150) == 0
    assert time.monotonic() - start >= 0.14


def test_slowlog_entries_shape(rr):
    rr.config_set("slowlog-log-slower-than", 0)
    try:
        rr.slowlog_reset()
        rr.set("slow:key", "x")
        entries = rr.slowlog_get(5)
        assert any(e["command"] == b"SET slow:key x" for e in entries)
        assert rr.slowlog_len() >= 1
    finally:
        rr.config_set("slowlog-log-slower-than", 10000)


def test_debug_sleep_blocks_the_whole_server(node):
    sleeper = socket.create_connection(("127.0.0.1", node.port), timeout=10)
    other = redis.Redis(port=node.port, socket_timeout=10)
    other.ping()
    sleeper.sendall(b"DEBUG SLEEP 0.6\r\n")
    time.sleep(0.1)                                # let the sleep start first
    start = time.monotonic()
    assert other.ping() is True
    assert time.monotonic() - start > 0.3          # the PING waited for the sleep
    assert sleeper.recv(100) == b"+OK\r\n"
    sleeper.close()
    other.close()


def test_debug_digest_and_memory_usage(rr):
    rr.set("d:a", "1")
    d1 = rr.execute_command("DEBUG", "DIGEST")
    assert len(d1) == 40 and d1 not in (b"0" * 40, "0" * 40)
    rr.set("d:a", "2")
    assert rr.execute_command("DEBUG", "DIGEST") != d1
    assert rr.memory_usage("d:a") > 0
    assert rr.memory_usage("d:nokey") is None


def test_idle_clients_are_closed_after_timeout(make_node):
    node = make_node("--timeout", "1")
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        start = time.monotonic()
        s.settimeout(5)
        assert s.recv(100) == b""
        assert 0.9 < time.monotonic() - start < 4


def test_maxclients_refuses_extra_connections(make_node):
    node = make_node("--maxclients", "2")
    a = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    b = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    for s in (a, b):
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
    c = socket.create_connection(("127.0.0.1", node.port), timeout=5)
    assert c.recv(100) == b"-ERR max number of clients reached\r\n"
    for s in (a, b, c):
        s.close()
    r = redis.Redis(port=node.port, socket_timeout=5)
    wait_until(lambda: r.info("stats")["rejected_connections"] == 1, message="rejected")
    r.close()


def test_shutdown_closes_the_connection_and_stops_the_process(make_node):
    node = make_node()
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(b"SHUTDOWN NOSAVE\r\n")
        s.settimeout(10)
        assert s.recv(100) == b""
    node.proc.wait(10)
    assert node.proc.returncode == 0
    assert "Redis is now ready to exit, bye bye..." in node.log()
