"""The Lua sandbox over sockets, side by side with a real redis-server 7.0.15: every way
out of the read-only world (rawset, setmetatable, table.insert, the string metatable, _G),
binary chunks, load/loadstring, unpack's ranges and the library limits give the same
reply bytes on both servers, and the next script still sees an untouched world."""
from __future__ import annotations

import pytest
import redis

from tests.support import assert_same_replies, raw_replies


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


ESCAPES = [
    'rawset(redis, "call", function() return "hijacked" end) return 1',
    'rawset(_G, "x", 1) return 1',
    'rawset(_G, "KEYS", 1) return 1',
    'getmetatable("").x = 1 return 1',
    'getmetatable("").__index = {} return 1',
    'getmetatable("").__index.upper = nil return 1',
    'rawset(getmetatable(""), "x", 1) return 1',
    'rawset(getmetatable("").__index, "upper", 1) return 1',
    'setmetatable(getmetatable(""), {}) return 1',
    'setmetatable(_G, {}) return 1',
    'setmetatable(redis, {}) return 1',
    'table.insert(redis, 1) return 1',
    'table.insert(_G, 1) return 1',
    'table.remove(string) return 1',
    'table.sort(redis) return 1',
    'redis.x = 1 return 1',
    'x = 1 return 1',
    'KEYS = 1 return 1',
    'string.x = 1 return 1',
    'local mt = getmetatable(_G) mt.__index = nil return 1',
    'local mt = getmetatable(_G) rawset(mt, "__index", nil) return 1',
    'return {pcall(rawset, redis, "call", 1)}',
    'return {pcall(table.insert, redis, 1)}',
    'return {pcall(setmetatable, redis, nil)}',
    'return {pcall(setmetatable, _G, nil)}',
    'local s = "" local mt = getmetatable(s) return {pcall(setmetatable, mt, nil)}',
    'return {pcall(rawset, getmetatable(_G), "x", 1)}',
    'local co = coroutine.create(function() x = 1 end) return {coroutine.resume(co)}',
] + ['rawset(%s, "x", 1) return 1' % lib for lib in (
    "cjson", "cmsgpack", "struct", "bit", "math", "table", "string", "coroutine")]

VIEWS = [
    'return type(getmetatable(""))', 'return getmetatable("") == string',
    'return getmetatable("").__index == string', 'return type(getmetatable(_G))',
    'return type(getmetatable(redis))', 'return type(getmetatable(string))',
    'return type(getmetatable(cjson))', 'return type(getmetatable(cjson.null))',
    'return type(getmetatable(getmetatable(_G)))', 'return type(getmetatable(getmetatable("")))',
    'local t = getmetatable(_G) return type(rawget(t, "__index"))',
    'return getmetatable(_G).__newindex', 'return type(rawget(getmetatable(""), "__metatable"))',
    'local n=0 for k in pairs(string) do n=n+1 end return n',
    'local n=0 for k in pairs(getmetatable("")) do n=n+1 end return n',
    'return rawget(string, "upper") == string.upper', 'return next(math) ~= nil',
    'return type(getfenv)', 'return type(setfenv)', 'return type(newproxy)',
    'return type(load)', 'return type(string.dump)', 'return debug',
    'return cjson.encode(string)', 'return cjson.encode(getmetatable(""))',
    'return {pcall(getmetatable)}', 'return {pcall(setmetatable, 1, {})}',
    'return {pcall(rawset, {}, nil, 1)}', 'return {pcall(rawset, 1, 1, 1)}',
    'return {pcall(setmetatable, {}, 1)}',
    'local t = setmetatable({}, {__metatable=1}) return {pcall(setmetatable, t, {})}',
    'return {pcall(table.insert, {}, 1, 2, 3)}', 'return {pcall(table.insert, 1, 1)}',
    'local t = {} table.insert(t, "a") table.insert(t, 1, "b") return t',
]

CHUNKS = [
    'return loadstring(string.dump(function() return 1 end))',
    'return select(2, loadstring(string.dump(function() return 1 end)))',
    'return {load(string.dump(function() return 1 end))}',
    'return select(2, load(function() return "\\27Lua" end))',
    'local s = string.dump(function() return 1 end) local d = false '
    'return select(2, load(function() if d then return nil end d = true return s end))',
    'local i = 0 return {load(function() i = i + 1 if i == 1 then return "return 5" end end)}',
    'return type(load(function() return nil end))', 'return {pcall(load, "x")}',
    'return {pcall(load, 5)}', 'return select(2, loadstring("\\27"))',
    'return select(2, loadstring("x("))', 'return select(2, loadstring("x(", "=nm"))',
    'local n=0 return select(2, load(function() n=n+1 if n<3 then return 5 end end))',
    'return select(2, load(function() return {} end))',
    'return select(2, load(function() error("boom") end))',
    'local f = loadstring("y = 1") return {pcall(f)}', 'return {pcall(loadstring)}',
]

LIMITS = [
    'local x = unpack({}, 1, 2^31-1) return x', 'return {pcall(unpack, {}, 1, 1e8)}',
    'return {pcall(unpack, {}, 1, 2^31)}', 'return {pcall(unpack, {}, -2^31, 2^31-1)}',
    'return {pcall(unpack, {}, 2^31-1, 2^31-1)}', 'return {pcall(unpack, {}, 2^40, 2^40+1)}',
    'return #{unpack({}, 1, 7000)}', 'local x = #{unpack({}, 1, 8000)} return x',
    'return {pcall(unpack, {}, "a")}', 'return {pcall(unpack)}', 'return {pcall(unpack, nil)}',
    'return {pcall(string.rep, "x", 2^31)}', 'return {pcall(table.concat, {}, "", 1, 2^31)}',
    'local t = {} for i=1,1001 do t = {t} end return {pcall(cjson.encode, t)}',
    'return {pcall(cjson.decode, string.rep("[", 1001) .. string.rep("]", 1001))}',
    'local t = {} t[1] = t return {pcall(cjson.encode, t)}',
    'local t = {} t[1] = t return {pcall(cmsgpack.pack, t)}',
    'local t = {} for i=1,20 do t = {t} end return cmsgpack.pack(t)',
    'return {pcall(cmsgpack.unpack, "\\221\\255\\255\\255\\255")}',
    'return {pcall(cmsgpack.unpack, "\\219\\255\\255\\255\\255")}',
    'return {pcall(cmsgpack.unpack, "\\193")}', 'return {pcall(cmsgpack.pack)}',
    'return {pcall(cmsgpack.unpack, string.rep("\\145", 100000))}',
    'return {pcall(cmsgpack.unpack, string.rep("\\192", 100000))}',
    'return cmsgpack.pack(1.5, 0.1, -2^63, 2^64, {[1]=1,[3]=3}, {}, "a", true, -33, 300)',
    'return {pcall(struct.pack, "i999999999", 1)}', 'return {pcall(struct.pack, "c999999999", "a")}',
    'return {pcall(struct.unpack, "c999999999", "a")}',
]


def test_escapes_like_redis(pair):
    assert_same_replies(pair, [("EVAL", s, 0) for s in ESCAPES])


def test_views_like_redis(pair):
    assert_same_replies(pair, [("EVAL", s, 0) for s in VIEWS])


def test_binary_chunks_and_load_like_redis(pair):
    commands = [("EVAL", s, 0) for s in CHUNKS] + [
        ("EVAL", b"\x1bLua return 1", 0), ("EVAL", b"\x1bLuaQ\x00\x01\x04", 0),
        ("SCRIPT", "LOAD", b"\x1bLua return 1")]
    assert_same_replies(pair, commands)


def test_limits_like_redis(pair):
    assert_same_replies(pair, [("EVAL", s, 0) for s in LIMITS])


def test_world_untouched_afterwards(pair):
    checks = ['return redis.call("ping")', 'return ("abc"):upper()',
              'return type(getmetatable("").__index.upper)', 'return rawget(_G, "x")',
              'return type(redis.call("get", "nokey"))', 'return {pcall(function() return x end)}']
    for conn in pair:
        for s in ESCAPES:
            raw_replies(conn.port, [("EVAL", s, 0)])
    assert_same_replies(pair, [("EVAL", s, 0) for s in checks])
    ours = redis.Redis(port=pair[0].port, socket_timeout=10)
    assert ours.eval('return redis.call("ping")', 0) == b"PONG"
