"""Redis 7.0 Functions, the engine side (functions.c + function_lua.c over lupa).

A library is the code given to FUNCTION LOAD: a `#!<engine> name=<library>` first line
(functionExtractLibMetaData), then Lua that registers functions with
redis.register_function. The node keeps its libraries in one `Libraries` (node.functions);
their codes, in load order, are mirrored in `keyspace.functions`, which the snapshots
(RDB file, full sync, AOF base) write as FUNCTION2 records or FUNCTION LOAD commands.

The Lua world. Functions run in a Lua runtime of their own (`FunctionEngine`, made by the
first library), built like EVAL's (cluster.scripting.runtime, sandbox of
cluster.scripting.lua_sandbox) and run through the same Engine machinery: the script
thread, busy-reply-threshold, the kill hook, redis.call's per-call checks (ACL, no-writes,
READONLY, cluster keys), the same reply conversions. What differs is the globals a
library's code sees, as in function_lua.c:

* while FUNCTION LOAD runs the code, the globals hold only `redis`, itself only
  register_function, log, the LOG_* levels and REDIS_VERSION(_NUM); reading anything
  else fails ("Script attempted to access nonexistent global variable 'math'") and so
  does writing (`a = 1`: "Attempt to modify a readonly table"). A hook ends the run after
  500 ms ("FUNCTION LOAD timeout"), except for our primary's link and the AOF;
* when a function runs, the same global table (the library's functions keep it) reads
  through to the full, read-only EVAL globals; KEYS and ARGV are not globals, the function
  gets them as its two arguments; register_function is gone (calling it: "attempt to call
  field 'register_function' (a nil value)"), and a `redis` table kept from load time
  refuses it ("can only be called on FUNCTION LOAD command").

A library that fails to load changes nothing: it is built on the side and linked (its
functions made callable) only when complete, the library it replaces restored on failure
(functionsCreateWithLibraryCtx). FUNCTION RESTORE builds a whole side set (`Ctx`) first
and joins it (libraryJoin). Library names are case-sensitive, function names are not.
"""
from __future__ import annotations

import time

from cluster.resp.parser import split_inline
from cluster.resp.reply import ReplyError
from cluster.scripting import lua_shebang
from cluster.scripting import runtime

ENGINE = b"LUA"                     # the one engine (FUNCTION LIST / STATS spell it so)
LOAD_TIMEOUT_S = 0.5                # LOAD_TIMEOUT_MS
FLAGS = lua_shebang.FLAGS           # scripts_flags_def order (FUNCTION LIST's order)
BAD_NAME = ("ERR Library names can only contain letters, numbers, or underscores(_) and "
            "must be at least one character long")
_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# The library world, run once per FunctionEngine after the sandbox (its internals given).
FUNCTIONS_LUA = r"""
local sb, py = ...
local genv, backing, readonly, prelude, errmsg =
      sb.genv, sb.backing, sb.readonly, sb.prelude, sb.errmsg
local error, type, rawget, rawset, setmetatable, tostring, select, next, pcall, xpcall,
      loadstring, setfenv = error, type, rawget, rawset, setmetatable, tostring, select,
      next, pcall, xpcall, loadstring, setfenv
local lower, find = string.lower, string.find
local sethook, getinfo = debug.sethook, debug.getinfo
local here = getinfo(1, 'S').source

local function missing(k)
  -- luaProtectedTableError, raised where the script indexed (missing=1, __index=2)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 3)
end

-- a read-only table that fails on a missing name (luaSetErrorMetatable + readonly)
local function strict(real)
  local proxy = setmetatable({}, {__index=function(_, k)
    local v = rawget(real, k)
    if v == nil then missing(k) end
    return v
  end, __newindex=readonly, __metatable=false})
  backing[proxy] = real          -- rawset/rawget/next see through it, as the sandbox's
  return proxy
end

local function isstring(v)
  local t = type(v)
  return t == 'string' or t == 'number'
end

local function fail(msg)
  -- luaPushError + luaError: an error table, no position
  error({err='ERR ' .. msg}, 0)
end

local FLAGS = {}
for _, name in ipairs(py.flags) do FLAGS[name] = true end

local pending = nil     -- the library being loaded: {seen = {lower name = true}, list = {}}

local function register(...)
  if pending == nil then
    fail('redis.register_function can only be called on FUNCTION LOAD command')
  end
  local n = select('#', ...)
  if n < 1 or n > 2 then fail('wrong number of arguments to redis.register_function') end
  local name, desc, fn
  local flags = {}
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable ' ..
           'to Lua table (representing named arguments).')
    end
    for k, v in next, t do
      if not isstring(k) then
        fail('named argument key given to redis.register_function is not a string')
      end
      local key = lower(tostring(k))
      if key == 'function_name' then
        if not isstring(v) then
          fail('function_name argument given to redis.register_function must be a string')
        end
        name = tostring(v)
      elseif key == 'description' then
        if not isstring(v) then
          fail('description argument given to redis.register_function must be a string')
        end
        desc = tostring(v)
      elseif key == 'callback' then
        if type(v) ~= 'function' then
          fail('callback argument given to redis.register_function must be a function')
        end
        fn = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then
          fail('flags argument to redis.register_function must be a table representing ' ..
               'function flags')
        end
        local j = 1
        while true do
          local f = v[j]
          if f == nil then break end
          if not isstring(f) or not FLAGS[lower(tostring(f))] then
            fail('unknown flag given')
          end
          flags[lower(tostring(f))] = true
          j = j + 1
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if name == nil then fail('redis.register_function must get a function name argument') end
    if fn == nil then fail('redis.register_function must get a callback argument') end
  else
    local a, b = ...
    if not isstring(a) then fail('first argument to redis.register_function must be a string') end
    if type(b) ~= 'function' then
      fail('second argument to redis.register_function must be a function')
    end
    name, fn = tostring(a), b
  end
  -- functionLibCreateFunction
  if not find(name, '^[a-zA-Z0-9_]+$') then
    fail('Library names can only contain letters, numbers, or underscores(_) and must ' ..
         'be at least one character long')
  end
  if pending.seen[lower(name)] then fail('Function already exists in the library') end
  pending.seen[lower(name)] = true
  local set = {}
  for _, f in ipairs(py.flags) do if flags[f] then set[#set + 1] = f end end
  pending.list[#pending.list + 1] = {name, desc, fn, set}
end

-- the load-time API: redis.register_function, redis.log, the levels, the version
local R = backing[rawget(genv, 'redis')]
local libredis = {register_function=register, log=R.log, LOG_DEBUG=R.LOG_DEBUG,
                  LOG_VERBOSE=R.LOG_VERBOSE, LOG_NOTICE=R.LOG_NOTICE,
                  LOG_WARNING=R.LOG_WARNING, REDIS_VERSION=R.REDIS_VERSION,
                  REDIS_VERSION_NUM=R.REDIS_VERSION_NUM}
local loadapi = {redis=strict(libredis)}

-- the globals of every library: the load-time API while loading, then EVAL's globals
local loading = false
local fenv = setmetatable({}, {__index=function(_, k)
  local v = rawget(loading and loadapi or genv, k)
  if v == nil then missing(k) end
  return v
end, __newindex=readonly, __metatable=false})

local function errtext(e)
  -- luaExtractErrorInformation's message
  local t = type(e)
  if t == 'string' or t == 'number' then return 'ERR ' .. tostring(e) end
  if t == 'userdata' then return (errmsg(e)) end
  if t == 'table' then
    local m = rawget(e, 'err')
    if type(m) == 'string' then return m end
  end
  return 'ERR unknown error'
end

local function timeout_line_hook()
  -- raise in the library's code only, never in this chunk (past its pcall)
  local i = getinfo(2, 'S')
  if i and i.source ~= prelude and i.source ~= here then
    error({err='ERR FUNCTION LOAD timeout'}, 0)
  end
end
local function timeout_hook()
  if py.timed_out() then sethook(timeout_line_hook, 'l') end
end

local function load_library(body, timeout)
  local f, e = loadstring(body, '@user_function')
  if f == nil then return false, 'Error compiling function: ' .. e end
  setfenv(f, fenv)
  pending = {seen={}, list={}}
  loading = true
  if timeout then sethook(timeout_hook, '', py.hook_every) end
  local ok, err = pcall(f)
  sethook()
  loading = false
  local list = pending.list
  pending = nil
  if not ok then return false, 'Error registering functions: ' .. errtext(err) end
  return true, list
end

-- running a function: the sandbox's kill hook and error handler, this chunk's frames
-- skipped as the prelude's are
local function killed_line_hook()
  local i = getinfo(2, 'S')
  if i and i.source ~= prelude and i.source ~= here then error({err=py.killed}) end
end
local function kill_hook()
  if py.hook_check() then sethook(killed_line_hook, 'l') end
end
local handler = sb.make_handler(here)
local function call(f, keys, args)
  sethook(kill_hook, '', py.hook_every)
  local ok, v = xpcall(function() return f(keys, args) end, handler)
  sethook()
  return ok, v
end
return load_library, call
"""


class Function:
    """One registered function: its name as registered, description, flags, callback."""

    __slots__ = ("name", "desc", "flags", "callback", "library")

    def __init__(self, name: bytes, desc: bytes | None, flags: tuple[str, ...], callback,
                 library: "Library"):
        self.name = name
        self.desc = desc
        self.flags = flags                  # names, in FLAGS order
        self.callback = callback            # the Lua function
        self.library = library


class Library:
    """A loaded library: its name, its whole code (shebang included), its functions in
    registration order."""

    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes):
        self.name = name
        self.code = code
        self.functions: dict[bytes, Function] = {}


class Ctx:
    """A set of libraries and the function names they register (functionsLibCtx)."""

    __slots__ = ("libraries", "functions")

    def __init__(self):
        self.libraries: dict[bytes, Library] = {}     # name (case-sensitive) -> library
        self.functions: dict[bytes, Function] = {}    # lower-cased name -> function

    def link(self, lib: Library) -> None:
        for fn in lib.functions.values():
            self.functions[fn.name.lower()] = fn
        self.libraries[lib.name] = lib

    def unlink(self, lib: Library) -> None:
        for fn in lib.functions.values():
            del self.functions[fn.name.lower()]
        del self.libraries[lib.name]

    def function_count(self) -> int:
        return len(self.functions)


class FunctionEngine(runtime.Engine):
    """The Lua runtime of the libraries: EVAL's engine whose runs call a function with
    (keys, args) instead of a script with KEYS/ARGV globals."""

    def __init__(self, node):
        super().__init__(node)
        lua = self.lua
        py = lua.table_from({
            b"flags": lua.table_from([f.encode() for f in FLAGS]),
            b"hook_every": runtime.HOOK_INSTRUCTIONS,
            b"hook_check": self._hook_check,
            b"killed": runtime.KILLED.encode(),
            b"timed_out": self._timed_out,
        })
        self._load_library, self._run = lua.execute(FUNCTIONS_LUA, self.sandbox, py)
        self._deadline: float | None = None

    def _timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def create(self, name: bytes, code: bytes, body: bytes, timeout: float | None) -> Library:
        """Run a library's code (luaEngineCreate); ReplyError on a compile or run error."""
        self._deadline = None if not timeout else time.monotonic() + timeout
        try:
            ok, result = self._load_library(body, bool(timeout))
        finally:
            self._deadline = None
        if not ok:
            raise ReplyError("ERR " + result.decode("utf-8", "surrogateescape"))
        lib = Library(name, code)
        i = 1
        while result[i] is not None:
            entry = result[i]
            fname = entry[1]
            flags = entry[4]
            names = tuple(flags[j].decode() for j in range(1, len(flags) + 1))
            lib.functions[fname] = Function(fname, entry[2], names, entry[3], lib)
            i += 1
        return lib

    def prepare(self, fn: Function) -> None:
        """Make `fn` the one the next `start(client, fn.name, ...)` runs."""
        self.scripts.clear()
        self.flags.clear()
        self.scripts[fn.name.decode("utf-8", "surrogateescape")] = fn.callback
        self.flags[fn.name.decode("utf-8", "surrogateescape")] = frozenset(fn.flags)


def parse_metadata(code: bytes) -> tuple[bytes, bytes, bytes]:
    """functionExtractLibMetaData: (engine, library name, the code after the shebang
    line, its newline included so line numbers count from the shebang)."""
    if not code.startswith(b"#!"):
        raise ReplyError("ERR Missing library metadata")
    nul = code.find(b"\0")                # strchr stops at the C string's end
    end = code.find(b"\n", 0, len(code) if nul < 0 else nul)
    if end < 0:
        raise ReplyError("ERR Invalid library metadata")
    parts = split_inline(code[:end])
    if not parts:
        raise ReplyError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise ReplyError("ERR Invalid metadata value, name argument was given "
                                 "multiple times")
            name = part[5:]
            continue
        raise ReplyError("ERR Invalid metadata value given: %s" % _text(part))
    if name is None:
        raise ReplyError("ERR Library name was not given")
    return engine, name, code[end:]


def valid_name(name: bytes) -> bool:
    """functionsVerifyName: [a-zA-Z0-9_]+."""
    return bool(name) and all(c in _NAME_CHARS for c in name)


class Libraries:
    """The node's function libraries (node.functions)."""

    def __init__(self, node):
        self.node = node
        self.ctx = Ctx()
        self.engine: FunctionEngine | None = None     # made by the first library

    # -- reading ------------------------------------------------------------------------
    def find(self, name: bytes) -> Function | None:
        return self.ctx.functions.get(name.lower())

    def __len__(self) -> int:
        return len(self.ctx.libraries)

    def lua(self) -> FunctionEngine:
        eng = self.engine
        if eng is None:
            eng = self.engine = FunctionEngine(self.node)
        return eng

    # -- changing -----------------------------------------------------------------------
    def create(self, code: bytes, replace: bool = False, timeout: float | None = None,
               ctx: Ctx | None = None) -> bytes:
        """functionsCreateWithLibraryCtx: load `code` into `ctx` (the node's by default);
        the library's name. ReplyError (nothing changed) on failure."""
        target = self.ctx if ctx is None else ctx
        engine, name, body = parse_metadata(code)
        if not valid_name(name):
            raise ReplyError(BAD_NAME)
        if engine.upper() != ENGINE:
            raise ReplyError("ERR Engine '%s' not found" % _text(engine))
        old = target.libraries.get(name)
        if old is not None and not replace:
            raise ReplyError("ERR Library '%s' already exists" % _text(name))
        if old is not None:
            target.unlink(old)
        try:
            lib = self.lua().create(name, code, body, timeout)
            if not lib.functions:
                raise ReplyError("ERR No functions registered")
            for fn in lib.functions.values():
                if fn.name.lower() in target.functions:
                    raise ReplyError("ERR Function %s already exists" % _text(fn.name))
        except BaseException:
            if old is not None:
                target.link(old)
            raise
        target.link(lib)
        if target is self.ctx:
            self._changed()
        return name

    def delete(self, name: bytes) -> None:
        lib = self.ctx.libraries.get(name)
        if lib is None:
            raise ReplyError("ERR Library not found")
        self.ctx.unlink(lib)
        self._changed()

    def flush(self) -> None:
        self.ctx = Ctx()
        self._changed()

    def load_side(self, codes) -> Ctx:
        """A side set of the libraries in `codes` (no timeout: they were loaded once);
        ReplyError on the first that fails."""
        side = Ctx()
        for code in codes:
            self.create(code, False, None, side)
        return side

    def join(self, side: Ctx, replace: bool) -> None:
        """libraryJoin: add the side set's libraries; an existing one of the same name is
        an error, or replaced with `replace`; a function name taken by another library is
        an error. All or nothing."""
        ctx = self.ctx
        replaced = []
        try:
            for name in side.libraries:
                old = ctx.libraries.get(name)
                if old is not None:
                    if not replace:
                        raise ReplyError("ERR Library %s already exists" % _text(name))
                    ctx.unlink(old)
                    replaced.append(old)
            for key, fn in side.functions.items():
                if key in ctx.functions:
                    raise ReplyError("ERR Function %s already exists" % _text(fn.name))
        except ReplyError:
            for old in replaced:
                ctx.link(old)
            raise
        for lib in side.libraries.values():
            ctx.link(lib)
        self._changed()

    def swap(self, side: Ctx) -> None:
        """FUNCTION RESTORE ... FLUSH: the side set becomes the libraries."""
        self.ctx = side
        self._changed()

    def replace_all(self, codes) -> str | None:
        """A loaded snapshot's libraries replace ours (emptyData + rdbFunctionLoad); the
        error text (ours untouched) if one fails."""
        try:
            side = self.load_side(codes)
        except ReplyError as err:
            return err.message[4:] if err.message.startswith("ERR ") else err.message
        self.swap(side)
        return None

    def merge_all(self, codes, replace: bool) -> str | None:
        """A snapshot's libraries loaded over ours (DEBUG RELOAD NOFLUSH): one of the same
        name fails the load, or replaces ours with `replace` (MERGE). The error text if
        one fails (the ones before it stay, as rdbLoad leaves them)."""
        try:
            for code in codes:
                self.create(code, replace)
        except ReplyError as err:
            return err.message[4:] if err.message.startswith("ERR ") else err.message
        return None

    def _changed(self) -> None:
        self.node.keyspace.functions = tuple(lib.code for lib in self.ctx.libraries.values())


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")
