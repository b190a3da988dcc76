"""MEMORY STATS: the same fields, in the same order and of the same types, as a real
redis-server 7.0.15 (the values are our estimates: see README)."""
from __future__ import annotations

import redis


def _shape(server, protocol: int):
    with redis.Redis(port=server.port, protocol=protocol, socket_timeout=10) as r:
        r.set("a", "b")
        reply = r.execute_command("MEMORY", "STATS")
    items = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2])
    return [(k, sorted(v) if isinstance(v, dict) else v[::2] if isinstance(v, list)
             else type(v).__name__) for k, v in items]


def test_memory_stats_has_redis_fields(pair):
    for protocol in (2, 3):
        ours, real = (_shape(server, protocol) for server in pair)
        assert ours == real
