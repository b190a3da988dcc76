"""Shared fixtures: free ports, real node processes, redis-py clients, redis-cli."""
from __future__ import annotations

import contextlib
import itertools
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest.register_assert_rewrite("tests.support")
from tests.support import NodeProcess, node_process, real_redis, redis_cli  # noqa: E402


@pytest.fixture
def node(tmp_path):
    """A running standalone pyredis-cluster node; stopped (and checked) afterwards."""
    with node_process(tmp_path / "node") as proc:
        yield proc


@pytest.fixture
def make_node(tmp_path):
    """Factory for nodes with extra directives: make_node('--requirepass', 'x')."""
    with contextlib.ExitStack() as started:
        count = itertools.count()

        def make(*args: str) -> NodeProcess:
            return started.enter_context(node_process(tmp_path / f"node{next(count)}", *args))
        yield make


@pytest.fixture(scope="module")
def module_node(request, tmp_path_factory):
    """One node for the whole test module, started with the module's NODE_ARGS (if any).

    A module whose tests should all share it overrides `node` (so r, rr, cli use it):
    `@pytest.fixture(scope="module") def node(module_node): return module_node`.
    """
    name = request.module.__name__.rpartition(".")[2]
    args = getattr(request.module, "NODE_ARGS", ())
    with node_process(tmp_path_factory.mktemp(name), *args) as proc:
        yield proc


@pytest.fixture(scope="module")
def module_real():
    """A real redis-server 7.0.15 (the yardstick) for the whole test module."""
    with real_redis() as real:
        yield real


@pytest.fixture(scope="module")
def pair(module_node, module_real):
    """(our module node, the module's real redis-server): side-by-side comparisons."""
    return module_node, module_real


@pytest.fixture
def r(node):
    """redis-py client (RESP2) on the node."""
    import redis
    with redis.Redis(port=node.port, socket_timeout=10) as client:
        yield client


@pytest.fixture
def r3(node):
    """redis-py client speaking RESP3 on the node."""
    import redis
    with redis.Redis(port=node.port, protocol=3, socket_timeout=10) as client:
        yield client


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def rr(node, request):
    """redis-py client, run once with RESP2 and once with RESP3."""
    import redis
    with redis.Redis(port=node.port, protocol=request.param, socket_timeout=10) as client:
        yield client


@pytest.fixture
def cli(node):
    """Run the real redis-cli against the node: cli('SET', 'a', 'b') -> stdout text."""
    if shutil.which("redis-cli") is None:
        pytest.fail("redis-cli is not installed (apt-get install redis-tools)")

    def run(*args: str, stdin: str | None = None) -> str:
        return redis_cli(node.port, *args, stdin=stdin)
    return run
