"""Replies of every RESP3 type through a script and back, for each pair of protocols
(the script's redis.setresp and the client's HELLO), byte for byte with redis-server
7.0.15: what redis.call hands Lua (redisProtocolToLuaType) and what the script's return
value becomes (luaReplyToRedisReply)."""
from __future__ import annotations

import contextlib

import pytest

from tests.support import node_process, raw_replies, real_redis

TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib",
         "true", "false", "verbatim"]
DEBUG = ("--enable-debug-command", "yes")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with contextlib.ExitStack() as stack:
        ours = stack.enter_context(node_process(tmp_path_factory.mktemp("resp3"), *DEBUG))
        real = stack.enter_context(real_redis(*DEBUG))
        yield ours, real


@pytest.mark.parametrize("client_proto", [2, 3])
def test_debug_protocol_through_a_script(servers, client_proto):
    commands = [["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]]
    for lua_proto in (2, 3):
        for kind in TYPES:
            commands.append(["EVAL", f"redis.setresp({lua_proto}); "
                                     f"return redis.call('debug', 'protocol', '{kind}')", "0"])
    commands.append(["EVAL", "return {verbatim_string={format='txt', string='a b'}}", "0"])
    ours, real = (raw_replies(server.port, commands, client_proto) for server in servers)
    for command, got, want in zip(commands, ours, real):
        assert got == want, command
