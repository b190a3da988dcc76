"""The scripts' sandbox (cluster.scripting.lua_sandbox) in process: every way out of
Redis 7.0's read-only Lua world is refused with Redis's error, nothing one script does is
seen by the next, binary chunks never load, and the library limits give Lua errors."""
from __future__ import annotations

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import ReplyError
from cluster.scripting.runtime import sha1hex


@pytest.fixture
def client():
    return Node().new_client()


def ev(client, script: str, *args):
    return execute(client, [b"EVAL", script.encode(), b"0", *[a.encode() for a in args]])


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def raised(script: str, msg: str, positioned: bool) -> str:
    """The full error reply of a script failing at line 1 (as Redis 7.0.15 words it)."""
    where = "user_script:1: " if positioned else ""
    return "ERR %s%s script: %s, on @user_script:1." % (where, msg, sha1hex(script))


RO = "Attempt to modify a readonly table"

# (script, refused inside a C function: no "user_script:1:" prefix)
ESCAPES = [
    ('rawset(redis, "call", function() return "hijacked" end) return 1', False),
    ('rawset(_G, "x", 1) return 1', False),
    ('rawset(_G, "KEYS", 1) return 1', False),
    ('getmetatable("").x = 1 return 1', True),
    ('getmetatable("").__index = {} return 1', True),
    ('getmetatable("").__index.upper = nil return 1', True),
    ('rawset(getmetatable(""), "x", 1) return 1', False),
    ('rawset(getmetatable("").__index, "upper", 1) return 1', False),
    ('setmetatable(getmetatable(""), {}) return 1', False),
    ('setmetatable(_G, {}) return 1', False),
    ('setmetatable(redis, nil) return 1', False),
    ('table.insert(redis, 1) return 1', False),
    ('table.insert(_G, 1) return 1', False),
    ('redis.x = 1 return 1', True),
    ('redis.call = 1 return 1', True),
    ('x = 1 return 1', True),
    ('redis = 1 return 1', True),
    ('KEYS = 1 return 1', True),
    ('string.upper = nil return 1', True),
    ('local mt = getmetatable(_G) mt.__index = nil return 1', True),
    ('rawset(getmetatable(_G), "__index", nil) return 1', False),
] + [('rawset(%s, "x", 1) return 1' % lib, False) for lib in (
    "cjson", "cmsgpack", "struct", "bit", "math", "table", "string", "coroutine")]


@pytest.mark.parametrize("script,positioned", ESCAPES)
def test_escape_refused(client, script, positioned):
    assert err(ev(client, script)) == raised(script, RO, positioned)


def test_nothing_leaks_to_the_next_script(client):
    for script, _ in ESCAPES:
        ev(client, script)
    assert ev(client, "return redis.call('set','k','v')").__class__.__name__ == "Status"
    assert ev(client, "return redis.call('get','k')") == b"v"
    assert ev(client, "return ('abc'):upper()") == b"ABC"
    assert ev(client, "return string.upper('x')") == b"X"
    assert ev(client, "return type(getmetatable('').__index.upper)") == b"function"
    assert ev(client, "return rawget(_G, 'x')") is None
    assert ev(client, "return {pcall(function() return x end)}")[1].startswith(
        b"user_script:1: Script attempted to access nonexistent global variable 'x'")


def test_pcall_escapes_leave_no_trace(client):
    # the same attempts through pcall: refused without a position, nothing changed
    for target in ("redis", "_G", "string", "getmetatable('')", "getmetatable(_G)"):
        assert ev(client, "return {pcall(rawset, %s, 'call', 1)}" % target) == [None, RO.encode()]
        assert ev(client, "return {pcall(setmetatable, %s, nil)}" % target) == [None, RO.encode()]
    assert ev(client, "return {pcall(table.insert, redis, 1)}") == [None, RO.encode()]
    assert ev(client, "return type(redis.call)") == b"userdata"   # a Python callable
    assert ev(client, "return redis.call('ping')").__class__.__name__ == "Status"


def test_metatables_as_redis_shows_them(client):
    assert ev(client, "return type(getmetatable(''))") == b"table"
    assert ev(client, "return getmetatable('').__index == string") == 1
    assert ev(client, "return getmetatable('') == string") is None
    assert ev(client, "return type(getmetatable(_G))") == b"table"
    assert ev(client, "return type(rawget(getmetatable(_G), '__index'))") == b"function"
    for v in ("redis", "string", "cjson", "math", "table", "redis.call", "cjson.null",
              "getmetatable('')", "getmetatable(_G)", "1", "nil"):
        assert ev(client, "return type(getmetatable(%s))" % v) == b"nil", v
    assert ev(client, "local n=0 for k in pairs(string) do n=n+1 end return n") == 15
    assert ev(client, "return rawget(string, 'upper') == string.upper") == 1
    assert ev(client, "return next(math) ~= nil") == 1
    t = "local t = setmetatable({}, {__metatable=1}) return {pcall(setmetatable, t, {})}"
    assert ev(client, t) == [None, b"cannot change a protected metatable"]
    assert ev(client, "local t = setmetatable({}, {__index=function() return 7 end}) "
                      "return t.x") == 7
    assert ev(client, "local t = {} table.insert(t, 'a') table.insert(t, 1, 'b') "
                      "return t") == [b"b", b"a"]


def test_argument_errors_name_the_function(client):
    assert ev(client, "return {pcall(getmetatable)}") == [
        None, b"bad argument #1 to '?' (value expected)"]
    assert ev(client, "return {pcall(rawset, 1, 1, 1)}") == [
        None, b"bad argument #1 to '?' (table expected, got number)"]
    assert ev(client, "return {pcall(setmetatable, {}, 1)}") == [
        None, b"bad argument #2 to '?' (nil or table expected)"]
    assert ev(client, "return {pcall(unpack, {}, 'a')}") == [
        None, b"bad argument #2 to '?' (number expected, got string)"]
    assert ev(client, "return {pcall(table.insert, {}, 1, 2, 3)}") == [
        None, b"wrong number of arguments to 'insert'"]
    s = "local x = unpack(nil) return x"
    assert err(ev(client, s)) == raised(
        s, "bad argument #1 to 'unpack' (table expected, got nil)", True)


def test_python_objects_have_no_attributes(client):
    # lupa would otherwise hand a script redis.call.__self__ (the engine, the node ...)
    for script in ("return tostring(redis.call.__self__)",
                   "return tostring(redis.call.__func__.__globals__)"):
        reply = ev(client, script)
        assert "attribute access is not allowed" in err(reply)
    reply = ev(client, "return {xpcall(function() cjson.decode('[') end, "
                       "function(e) return tostring(e.__class__) end)}")
    assert "class" not in str(reply) and "Error" not in str(reply)


def test_no_binary_chunks(client):
    s = "return select(2, loadstring(string.dump(function() return 1 end)))"
    assert ev(client, s) == b"[string \"\x1bLuaQ\"]:1: unexpected symbol near 'char(27)'"
    s = "return select(2, load(function() return '\\27Lua' end))"
    assert ev(client, s) == b"(load):1: unexpected symbol near 'char(27)'"
    s = ("local s = string.dump(function() return 1 end) local d = false "
         "return select(2, load(function() if d then return nil end d = true return s end))")
    assert ev(client, s) == b"(load):1: unexpected symbol near 'char(27)'"
    for body in (b"\x1bLua return 1", b"\x1bLuaQ\x00\x01\x04"):
        reply = execute(client, [b"EVAL", body, b"0"])
        assert err(reply) == ("ERR Error compiling script (new function): user_script:1: "
                              "unexpected symbol near 'char(27)'")
        reply = execute(client, [b"SCRIPT", b"LOAD", body])
        assert err(reply).endswith("unexpected symbol near 'char(27)'")


def test_load_and_loadstring(client):
    assert ev(client, "return type(load)") == b"function"
    assert ev(client, "local i = 0 return load(function() i = i + 1 "
                      "if i == 1 then return 'return 5' end end)()") == 5
    assert ev(client, "return type(load(function() return nil end))") == b"function"
    assert ev(client, "return {pcall(load, 'x')}") == [
        None, b"bad argument #1 to '?' (function expected, got string)"]
    assert ev(client, "local n=0 return select(2, load(function() n=n+1 "
                      "if n<3 then return 5 end end))") == b"(load):1: unexpected symbol near '55'"
    assert err(ev(client, "return select(2, load(function() return {} end))")) == (
        "ERR user_script:1: reader function must return a string")
    assert err(ev(client, "return select(2, load(function() error('boom') end))")) == (
        "ERR user_script:1: boom")
    assert ev(client, "return loadstring('return 7')()") == 7
    assert ev(client, "local f = loadstring('y = 1') return {pcall(f)}") == [
        None, b'[string "y = 1"]:1: Attempt to modify a readonly table']
    assert ev(client, "return loadstring('return _G == ...')(_G)") == 1
    assert ev(client, "return select(2, loadstring('x(', '=nm'))") == (
        b"nm:1: unexpected symbol near '<eof>'")
    # a collection inside the reader while the parser holds the chunk name (CVE-2025-49844)
    s = ("local n = 0 local f = load(function() n = n + 1 collectgarbage('collect') "
         "if n == 1 then return '' elseif n == 2 then return 'return 3' end end) "
         "collectgarbage('collect') return f and f()")
    for _ in range(20):
        ev(client, s)
    assert ev(client, "return 1") == 1


def test_unpack_ranges(client):
    # (not in tail position: a Lua wrapper called by `return f()` has no caller line left)
    s = "local x = unpack({}, 1, 2^31-1) return x"
    assert err(ev(client, s)) == raised(s, "too many results to unpack", True)
    for i, e in (("-2^31", "2^31-1"), ("1", "1e8"), ("1", "1e6")):
        assert ev(client, "return {pcall(unpack, {}, %s, %s)}" % (i, e)) == [
            None, b"too many results to unpack"]
    for i, e in (("1", "2^31"), ("2^31-1", "2^31-1"), ("-2^31", "-2^31+10"), ("0", "-1"),
                 ("2^40", "2^40+1")):
        assert ev(client, "return {pcall(unpack, {}, %s, %s)}" % (i, e)) == [1]
    assert ev(client, "return #{unpack({}, 1, 7000)}") == 0
    assert ev(client, "return {unpack({1, 2, 3})}") == [1, 2, 3]
    assert ev(client, "return {unpack({1, 2, 3}, 2)}") == [2, 3]


def test_library_limits_are_lua_errors(client):
    assert ev(client, "local t = {} t[1] = t return {pcall(cjson.encode, t)}") == [
        None, b"Cannot serialise, excessive nesting (1001)"]
    assert ev(client, "return {pcall(cjson.decode, string.rep('[', 1001) .. "
                      "string.rep(']', 1001))}") == [
        None, b"Found too many nested data structures (1001) at character 1001"]
    nested = b"\x91" * 16 + b"\xc0"
    assert ev(client, "local t = {} t[1] = t return cmsgpack.pack(t)") == nested
    assert ev(client, "local t = {} for i=1,20 do t = {t} end return cmsgpack.pack(t)") == nested
    assert ev(client, "return {pcall(cmsgpack.unpack, '\\221\\255\\255\\255\\255')}") == [
        None, b"Missing bytes in input."]
    assert ev(client, "return {pcall(cmsgpack.unpack, '\\219\\255\\255\\255\\255')}") == [
        None, b"Missing bytes in input."]
    assert ev(client, "return {pcall(cmsgpack.unpack, '\\193')}") == [
        None, b"Bad data format in input."]
    assert ev(client, "return {pcall(cmsgpack.unpack, string.rep('\\145', 100000))}") == [
        None, b"stack overflow (in function mp_decode_to_lua_array)"]
    assert ev(client, "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {a=1}, -1, "
                      "2^40, true))}") == [1, b"a", [1, 2], [], -1, 2 ** 40, 1]
    assert ev(client, "return {pcall(struct.pack, 'i999999999', 1)}") == [
        None, b"integral size 999999999 is larger than limit of 32"]
    assert ev(client, "return {pcall(struct.pack, 'c999999999', 'a')}") == [
        None, b"bad argument #3 to '?' (string too short)"]
    # a self-referencing reply ends in Redis's error instead of a Python RecursionError
    reply = ev(client, "local t = {} t[1] = t return t")
    while isinstance(reply, list):
        reply = reply[0]
    assert err(reply) == "ERR reached lua stack limit"
