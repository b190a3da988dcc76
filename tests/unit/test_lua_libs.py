"""struct, cjson, math.random and #!lua shebangs (cluster.scripting.lua_struct, lua_cjson,
lua_shebang), without sockets. The byte-for-byte comparison with a real redis-server is
in tests/process/test_scripting.py (LIBS)."""
from __future__ import annotations

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.scripting import lua_shebang
from cluster.scripting import lua_struct
from cluster.execution.dispatch import execute
from cluster.scripting.lua_libs import Rand48
from cluster.node import Node
from cluster.resp.reply import ReplyError, Status


@pytest.fixture
def client():
    return Node().new_client()


def ev(client, script: str, *args, cmd=b"EVAL"):
    return execute(client, [cmd, script.encode(), b"0", *[a.encode() for a in args]])


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def test_struct_pack_unpack_size():
    assert lua_struct.pack(b">I2", 258) == b"\x01\x02"
    assert lua_struct.pack(b"<hB", -2, 255) == b"\xfe\xff\xff"
    assert lua_struct.pack(b"!4bi", 1, 2) == b"\x01\0\0\0\x02\0\0\0"
    assert lua_struct.pack(b"s c3", b"ab", b"xyz!") == b"ab\0xyz"
    assert lua_struct.unpack(b">i", b"\xff\xff\xff\xfe") == (-2, 5)
    assert lua_struct.unpack(b">ic0", b"\0\0\0\x02abc") == (b"ab", 7)
    assert lua_struct.unpack(b"<d", lua_struct.pack(b"<d", 3.25)) == (3.25, 9)
    assert lua_struct.size(b"!8bd") == 16
    with pytest.raises(lua_struct.LuaLibError, match="invalid format option 'z'"):
        lua_struct.pack(b"z")
    with pytest.raises(lua_struct.LuaLibError, match="data string too short"):
        lua_struct.unpack(b"<i", b"ab")


def test_struct_and_cjson_errors_carry_the_script_position(client):
    assert ev(client, "return struct.pack('>I2', 258)") == b"\x01\x02"
    assert err(ev(client, "\nreturn struct.pack('i')")).startswith(
        "ERR user_script:2: bad argument #2 to 'pack' (number expected, got nil) script: ")
    assert ev(client, "local ok, e = pcall(struct.pack, 'z'); return e") == \
        b"bad argument #1 to '?' (invalid format option 'z')"
    assert err(ev(client, "return cjson.decode('[1,2')")).startswith(
        "ERR user_script:1: Expected comma or array end but found T_END at character 5")
    assert err(ev(client, "return cjson.encode({[1]=1,[20]=3})")).startswith(
        "ERR user_script:1: Cannot serialise table: excessively sparse array")


def test_cjson(client):
    assert ev(client, "return cjson.encode({})") == b"{}"
    assert ev(client, "return cjson.encode({a=cjson.null})") == b'{"a":null}'
    assert ev(client, "return cjson.encode({1.5, 1/3, 1e20, 123456789012345678})") == \
        b"[1.5,0.33333333333333,1e+20,1.2345678901235e+17]"
    assert ev(client, "return cjson.encode({[1]=1,[3]=3})") == b"[1,null,3]"
    assert ev(client, "return cjson.encode({'/', '\\1'})") == b'["\\/","\\u0001"]'
    assert ev(client, "return cjson.decode('{\"a\":null}').a == cjson.null") == 1
    assert ev(client, "return type(cjson.null)") == b"userdata"
    assert ev(client, "return tostring(cjson.decode('1e400'))") == b"inf"
    assert "Found too many nested data structures (1001) at character 1001" in err(
        ev(client, "return cjson.decode(string.rep('[', 1100))"))
    assert "Cannot serialise, excessive nesting (1001)" in err(
        ev(client, "local t = {} for i=1,1100 do t = {t} end return cjson.encode(t)"))


def test_math_random_is_redis_lrand48(client):
    # Redis 7.0 never seeds lrand48: the first scripts see its default state
    assert ev(client, "return {math.random(), math.random(100), math.random(5,10)}") == \
        [0, 85, 7]
    assert ev(client, "return {math.random(), math.random(100), math.random(5,10)}") == \
        [0, 32, 10]
    assert ev(client, "math.randomseed(0); return tostring(math.random())") == \
        b"0.17082803611217"
    assert "bad argument #2 to 'random' (interval is empty)" in err(
        ev(client, "return math.random(3,1)"))
    r = Rand48()
    assert r.next() == ((0x1234ABCD330E * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF) >> 17


def test_shebang_parse():
    assert lua_shebang.parse(b"return 1") == (None, b"return 1")
    assert lua_shebang.parse(b"#!lua flags=no-writes,allow-oom\nreturn 1") == (
        frozenset({"no-writes", "allow-oom"}), b"--lua flags=no-writes,allow-oom\nreturn 1")
    for body, message in [
            (b"#!lua", "ERR Invalid script shebang"),
            (b"#!js\n", "ERR Unexpected engine in script shebang: #!js"),
            (b"#!lua flags=foo\n", "ERR Unexpected flag in script shebang: foo"),
            (b"#!lua name=x\n", "ERR Unknown lua shebang option: name=x")]:
        with pytest.raises(ReplyError) as exc:
            lua_shebang.parse(body)
        assert exc.value.message == message


def test_shebang_flags_in_eval(client):
    ev(client, "#!lua\nreturn redis.call('set','k','v')")
    assert ev(client, "#!lua flags=no-writes\nreturn redis.call('get','k')") == b"v"
    assert err(ev(client, "#!lua flags=no-writes\nreturn redis.call('set','a','b')")) \
        .startswith("ERR Write commands are not allowed from read-only scripts. script: ")
    assert err(ev(client, "#!lua\nreturn 1", cmd=b"EVAL_RO")) == \
        "ERR Can not execute a script with write flag using *_ro command."
    assert ev(client, "#!lua flags=no-writes\nreturn 1", cmd=b"EVAL_RO") == 1
    assert err(ev(client, "#!lua\nerror('x')")).startswith("ERR user_script:2: x script: ")
    assert execute(client, [b"SCRIPT", b"FLUSH", b"ASYNC"]) == Status(b"OK")
    assert err(execute(client, [b"SCRIPT", b"LOAD", b"#!lua flags=bad\nreturn 1"])) == \
        "ERR Unexpected flag in script shebang: bad"
