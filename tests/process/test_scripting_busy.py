"""A script past busy-reply-threshold, as Redis 7.0.15: SHUTDOWN without NOSAVE is
refused with BUSY, SHUTDOWN NOSAVE ends the process at once. (A client blocked on a key
the script fills is served after the script ends: tests/unit/test_blocking.py.)"""
from __future__ import annotations

import socket

import pytest
import redis

from tests.support import NodeProcess, mb, running, wait_until

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
