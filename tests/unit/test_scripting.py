"""The Lua runtime (cluster.scripting.runtime) and the EVAL family, without sockets."""
from __future__ import annotations

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.scripting import lua_libs
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import ReplyError, Status
from cluster.scripting.runtime import sha1hex


@pytest.fixture
def client():
    return Node().new_client()


def ev(client, script: str, *keys_args, numkeys: int = 0):
    return execute(client, [b"EVAL", script.encode(), str(numkeys).encode(),
                            *[a.encode() for a in keys_args]])


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def test_conversions(client):
    assert ev(client, "return 1") == 1
    assert ev(client, "return 3.7") == 3
    assert ev(client, "return -3.9") == -3
    assert ev(client, "return 1e20") == -(1 << 63)
    assert ev(client, "return {1,2,nil,3}") == [1, 2]
    assert ev(client, "return {1,{2,{3}},'x'}") == [1, [2, [3]], b"x"]
    assert ev(client, "return true") == 1
    assert ev(client, "return false") is None
    assert ev(client, "return {false, 1}") == [None, 1]
    assert ev(client, "return {ok='fine'}") == Status(b"fine")
    assert err(ev(client, "return {err='my err'}")) == "my err"
    assert err(ev(client, "return redis.error_reply('boom')")) == "ERR boom"
    assert err(ev(client, "return redis.error_reply('-X boom')")) == "X boom"
    assert ev(client, "return {double=1.5}") == 1.5
    assert ev(client, "return {map={a=1}}") == {b"a": 1}
    assert ev(client, "return {KEYS[1], ARGV[1], ARGV[2]}", "k", "a", "b",
              numkeys=1) == [b"k", b"a", b"b"]


def test_redis_call_and_pcall(client):
    assert ev(client, "return redis.call('set','s','abc')") == Status(b"OK")
    assert ev(client, "return redis.call('get','s')") == b"abc"
    assert ev(client, "return redis.call('get','nokey')") is None
    sha = sha1hex(b"return redis.call('incr','s')")
    assert err(ev(client, "return redis.call('incr','s')")) == (
        "ERR value is not an integer or out of range script: %s, on @user_script:1." % sha)
    assert err(ev(client, "return redis.pcall('incr','s')")) == (
        "ERR value is not an integer or out of range")
    assert ev(client, "local ok, e = pcall(redis.call, 'incr', 's'); return e") == (
        b"ERR value is not an integer or out of range")
    assert ev(client, "return redis.call('set','a',1.5)") == Status(b"OK")
    assert ev(client, "return redis.call('get','a')") == b"1.5"
    assert ev(client, "redis.call('hset','h','f','v'); return redis.call('hgetall','h')") \
        == [b"f", b"v"]
    assert ev(client, "redis.setresp(3); return redis.call('hgetall','h')") == {b"f": b"v"}


def test_errors(client):
    def tail(script):
        return " script: %s, on @user_script:1." % sha1hex(script.encode())
    for script, msg in [
            ("return redis.call('nosuch')", "ERR Unknown Redis command called from script"),
            ("return redis.call('eval','return 1','0')",
             "ERR This Redis command is not allowed from script"),
            ("return redis.call()",
             "ERR Please specify at least one argument for this redis lib call"),
            ("return redis.call({})",
             "ERR Lua redis lib command arguments must be strings or integers"),
            ("return redis.call('get')",
             "ERR Wrong number of args calling Redis command from script"),
            ("return redis.setresp(4)", "ERR RESP version must be 2 or 3."),
            ("return x",
             "ERR user_script:1: Script attempted to access nonexistent global variable 'x'"),
            ("x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
            ("string.x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
            ("error('hi')", "ERR user_script:1: hi"),
            ("error({err='tbl'})", "tbl")]:
        assert err(ev(client, script)) == msg + tail(script), script
    assert err(ev(client, "return syntax error")) == (
        "ERR Error compiling script (new function): user_script:1: '<eof>' expected near "
        "'error'")
    assert err(ev(client, "return 1", numkeys=-1)) == "ERR Number of keys can't be negative"
    assert err(ev(client, "return 1", numkeys=2)) == (
        "ERR Number of keys can't be greater than number of args")
    assert err(execute(client, [b"EVALSHA", b"f" * 40, b"0"])) == (
        "NOSCRIPT No matching script. Please use EVAL.")
    assert err(execute(client, [b"EVAL_RO", b"return redis.call('set','x','1')", b"0"])
               ).startswith("ERR Write commands are not allowed from read-only scripts. ")


def test_sandbox_and_libs(client):
    for name in ("os", "io", "debug", "print", "dofile", "require", "setfenv", "getfenv"):
        assert "nonexistent global variable '%s'" % name in err(
            ev(client, "return type(%s)" % name))
    assert ev(client, "return type(loadstring)") == b"function"
    assert "nonexistent global" in err(ev(client, "return loadstring('return os')()"))
    assert ev(client, "return cjson.encode({1,2,{a=1}})") == b'[1,2,{"a":1}]'
    assert ev(client, "return cjson.decode('[1,2,{\"a\":\"b\"}]')[3].a") == b"b"
    assert ev(client, "return bit.tohex(255)") == b"000000ff"
    assert ev(client, "return bit.band(7, 3)") == 3
    assert ev(client, "return cmsgpack.unpack(cmsgpack.pack({1,2,3}))[3]") == 3
    assert ev(client, "return redis.sha1hex('')") == b"da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert ev(client, "return redis.REDIS_VERSION_NUM") == 458767
    first = ev(client, "return tostring(math.random())")
    assert first != ev(client, "return tostring(math.random())")     # one sequence per node
    assert Node().new_client() is not None
    assert lua_libs.tobit(2 ** 32 + 5) == 5 and lua_libs.bit_bnot(0) == -1


def test_script_commands(client):
    sha = execute(client, [b"SCRIPT", b"LOAD", b"return 'hi'"])
    assert sha == sha1hex(b"return 'hi'").encode()
    assert execute(client, [b"EVALSHA", sha.upper(), b"0"]) == b"hi"
    assert execute(client, [b"SCRIPT", b"EXISTS", sha, b"abc"]) == [1, 0]
    assert execute(client, [b"SCRIPT", b"FLUSH"]) == Status(b"OK")
    assert execute(client, [b"SCRIPT", b"EXISTS", sha]) == [0]
    assert err(execute(client, [b"SCRIPT", b"KILL"])) == "NOTBUSY No scripts in execution right now."
    assert err(execute(client, [b"SCRIPT", b"FLUSH", b"x"])) == (
        "ERR SCRIPT FLUSH only support SYNC|ASYNC option")


def test_effects_propagation(client):
    node = client.node
    fed = []
    node.propagator.sinks.append(fed.append)
    ev(client, "redis.call('incr', KEYS[1])", "c", numkeys=1)
    assert fed[-1].endswith(b"*2\r\n$4\r\nincr\r\n$1\r\nc\r\n")
    fed.clear()
    ev(client, "redis.call('incr', 'a'); redis.call('incr', 'b')")
    joined = b"".join(fed)
    assert joined.count(b"MULTI") == 1 and joined.endswith(b"*1\r\n$4\r\nEXEC\r\n")
    assert b"EVAL" not in joined
    fed.clear()
    ev(client, "redis.set_repl(redis.REPL_NONE); redis.call('incr', 'a')")
    assert fed == []


def test_eval_in_multi(client):
    execute(client, [b"MULTI"])
    assert ev(client, "return redis.call('incr','m')") == Status(b"QUEUED")
    assert execute(client, [b"EXEC"]) == [1]
