"""Shared fixtures: free ports, real node processes, redis-py clients, redis-cli."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import NodeProcess, free_port, redis_cli  # noqa: E402


@pytest.fixture
def node(tmp_path):
    """A running standalone pyredis-cluster node; stopped (and checked) afterwards."""
    proc = NodeProcess(tmp_path / "node")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def make_node(tmp_path):
    """Factory for nodes with extra directives: make_node('--requirepass', 'x')."""
    started = []

    def make(*args: str) -> NodeProcess:
        proc = NodeProcess(tmp_path / f"node{len(started)}", list(args))
        started.append(proc)
        proc.start()
        return proc

    try:
        yield make
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture
def r(node):
    """redis-py client (RESP2) on the node."""
    import redis
    client = redis.Redis(port=node.port, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def r3(node):
    """redis-py client speaking RESP3 on the node."""
    import redis
    client = redis.Redis(port=node.port, protocol=3, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rr(node, request):
    """redis-py client, run once with RESP2 and once with RESP3."""
    import redis
    client = redis.Redis(port=node.port, protocol=request.param, socket_timeout=10)
    yield client
    client.close()


@pytest.fixture
def cli(node):
    """Run the real redis-cli against the node: cli('SET', 'a', 'b') -> stdout text."""
    if shutil.which("redis-cli") is None:
        pytest.fail("redis-cli is not installed (apt-get install redis-tools)")

    def run(*args: str, stdin: str | None = None) -> str:
        return redis_cli(node.port, *args, stdin=stdin)
    return run
