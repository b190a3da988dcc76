"""A script past busy-reply-threshold, as Redis 7.0.15: SHUTDOWN without NOSAVE is
refused with BUSY, SHUTDOWN NOSAVE ends the process at once; a client blocked on a key
the script fills is served after the script ends, with what the script left."""
from __future__ import annotations

import socket
import threading

import pytest
import redis

from tests.support import NodeProcess, mb, read_one, running, wait_until

ARGS = ["--busy-reply-threshold", "50", "--enable-debug-command", "yes"]


def _busy(r) -> bool:
    try:
        r.ping()
    except redis.exceptions.BusyLoadingError:
        return True
    except redis.ResponseError as err:
        return str(err).startswith("BUSY")
    return False


def test_shutdown_nosave_ends_a_busy_script_and_the_node(tmp_path):
    node = NodeProcess(tmp_path / "n", ARGS)
    with running(node):
        raw = socket.create_connection(("127.0.0.1", node.port), timeout=10)
        raw.sendall(mb("EVAL", "redis.call('set', 'x', '1') while true do end", 0))
        with redis.Redis(port=node.port, socket_timeout=10) as r:
            wait_until(lambda: _busy(r), timeout=10, message="the script busy")
            with pytest.raises(redis.ResponseError, match="^BUSY Redis is busy running a "
                               "script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."):
                r.shutdown()
        with redis.Redis(port=node.port, socket_timeout=10) as r:
            r.shutdown(nosave=True)        # redis-py takes the closed connection as success
        # refused at once, as Redis (which exits there), even before the process is gone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", node.port), timeout=5).close()
        wait_until(lambda: not node.alive(), timeout=15, message="the node gone")
        raw.close()


def test_a_blocked_client_is_served_after_the_busy_script(tmp_path):
    node = NodeProcess(tmp_path / "n", ARGS)
    with running(node), redis.Redis(port=node.port, socket_timeout=20) as r:
        popped = {}
        waiter = threading.Thread(target=lambda: popped.setdefault(
            "v", redis.Redis(port=node.port, socket_timeout=60).blpop("x", 0)))
        waiter.start()
        wait_until(lambda: r.info("clients")["blocked_clients"] == 1, timeout=10,
                   message="the BLPOP blocked")
        r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", 1)
        script = socket.create_connection(("127.0.0.1", node.port), timeout=60)
        script.sendall(mb("EVAL", "redis.call('lpush', KEYS[1], 'y') "
                          "while not string.find(redis.call('client', 'list'), 'stop') do end "
                          "redis.call('lpush', KEYS[1], 'z') return 1", 1, "x"))
        with redis.Redis(port=node.port, socket_timeout=10) as other:
            wait_until(lambda: _busy(other), timeout=10, message="the script busy")
            other.execute_command("HELLO", 2, "SETNAME", "stop")   # allowed while busy
        assert read_one(script) == b":1\r\n"
        waiter.join(timeout=60)
        assert popped["v"] == (b"x", b"z")
        script.close()
