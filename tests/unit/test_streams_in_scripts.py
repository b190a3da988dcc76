"""XREAD / XREADGROUP with BLOCK from a script or a function: refused as Redis 7.0
refuses them (the fake client of either engine), without blocking."""
from __future__ import annotations

from cluster.execution.dispatch import execute
from cluster.node import Node

LIBRARY = (b"#!lua name=t\nredis.register_function('f', function(keys, args) "
           b"return redis.pcall('xreadgroup', 'group', 'g', 'c', 'BLOCK', 0, 'STREAMS', "
           b"keys[1], '>') end)")


def test_block_is_refused_in_eval_and_fcall():
    node = Node()
    c = node.new_client()
    reply = execute(c, [b"EVAL", b"return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', "
                                 b"KEYS[1], '$')", b"1", b"s"])
    assert reply.message == "ERR xread command is not allowed with BLOCK option from scripts"
    assert execute(c, [b"FUNCTION", b"LOAD", LIBRARY]) == b"t"
    reply = execute(c, [b"FCALL", b"f", b"1", b"s"])
    assert reply.message == ("ERR xreadgroup command is not allowed with BLOCK option from "
                             "scripts")
    # a client of its own: BLOCK is only refused for scripts
    assert not c.scripting
