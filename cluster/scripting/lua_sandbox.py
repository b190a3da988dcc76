"""The scripts' sandbox: Redis 7.0.15's read-only Lua world, built in Lua over lupa's
unpatched Lua 5.1.5 (cluster.scripting.runtime runs PRELUDE once per engine).

Redis patches its Lua core (a `readonly` flag on tables, checked by every raw write and
by lua_setmetatable) and protects the globals, every library table and the string
metatable with it. We cannot patch lupa's C code, so:

* every protected table a script can reach is an empty *proxy* whose metatable reads
  through to the real table (`__index`) and refuses writes (`__newindex`); a proxy has no
  raw keys, so the functions that write raw (rawset, table.insert, setmetatable) are the
  only ways around `__newindex`, and the script gets wrappers of them that refuse
  proxies with Redis's "Attempt to modify a readonly table" (raised without a position,
  as Redis raises it from inside the C function);
* getmetatable answers what Redis answers: nil for a library table or any userdata, a
  read-only view of {__index=<the error function>} for _G, a read-only view of
  {__index=string} for strings. The real string metatable (shared with lupa) is never
  reachable, so a script cannot change what ("x"):upper() runs in the next script;
* rawget/next/pairs/ipairs see through proxies, so `pairs(string)` lists the library;
* load/loadstring never hand a binary chunk (a first byte "\\27") to Lua: the text is
  compiled with a leading space instead, which gives Redis's exact syntax error
  ("unexpected symbol near 'char(27)'") -- Redis removed the undump path;
* `load` passes the parser a chunk name string the wrapper holds in a local for the whole
  parse, so a collection run by the script's reader function cannot free it
  (CVE-2025-49844: the name TString was not anchored while the reader ran);
* unpack refuses ranges past LUAI_MAXCSTACK before the C code sees them
  (CVE-2025-46817: the int overflow of `e - i + 1` in luaB_unpack).

Nothing a script does is visible to the next one: KEYS/ARGV are replaced per run, and
everything else is behind proxies (math.randomseed aside, as Redis documents).

Errors from wrappers name the function the way luaL_argerror does ("bad argument #1 to
'unpack' (table expected, got nil)") and are raised at the script's position (level 2
relative to the wrapper); a wrapper called through pcall reports '?' as Lua does.
"""
from __future__ import annotations

PRELUDE = r"""
local py, hook_check = ...
local dbg = debug
local error, type, rawget, rawset, setmetatable, getmetatable, tostring, select, unpack,
      next, pairs, ipairs, loadstring, load, setfenv, tonumber =
      error, type, rawget, rawset, setmetatable, getmetatable, tostring, select, unpack,
      next, pairs, ipairs, loadstring, load, setfenv, tonumber
local byte, sub, find, floor, concat, tinsert = string.byte, string.sub, string.find,
      math.floor, table.concat, table.insert
local real_pcall = pcall
local sethook, getinfo = dbg.sethook, dbg.getinfo
local READONLY = 'Attempt to modify a readonly table'
local LUAI_MAXCSTACK = 8000

local function raise(t)
  -- an error table from the redis lib: where the script called it
  local i = getinfo(3, 'Sl')
  if i then rawset(t, 'source', i.source); rawset(t, 'line', i.currentline) end
  error(t, 0)
end

-- luaL_argerror / luaL_typerror as seen from a wrapper (level 1 here is argerror, 2 the
-- wrapper, 3 the wrapper's caller: the position luaL_error would give).
local function argerror(narg, msg, up)
  up = up or 0
  local ar = getinfo(2 + up, 'n')
  local name = ar and ar.name or '?'
  error("bad argument #" .. narg .. " to '" .. name .. "' (" .. msg .. ")", 3 + up)
end
local function typename(n, ...)
  if select('#', ...) < n then return 'no value' end
  return type((select(n, ...)))
end

-- protected proxies ---------------------------------------------------------------
local backing = setmetatable({}, {__mode='k'})   -- proxy -> the table it reads through to
local hidden = setmetatable({}, {__mode='k'})    -- proxy -> what getmetatable answers
local function readonly() error(READONLY, 2) end
local function protect(real, meta_answer)
  local proxy = setmetatable({}, {__index=real, __newindex=readonly, __metatable=false})
  backing[proxy] = real
  hidden[proxy] = meta_answer or false
  return proxy
end

local redis = {}
-- Python callables are C functions to Lua: the caller's frame (line) survives a tail
-- call, and a failing redis.call raises a ScriptCallError the handler turns into a table.
redis.call = py.call
redis.pcall = py.pcall
redis.error_reply = function(...)
  -- luaRedisErrorReplyCommand + luaPushErrorBuff: "-CODE msg" (a '-' added when missing)
  -- gives "CODE msg"; with no space the code is ERR; CR/LF trimmed off the message
  local msg = ...
  if select('#', ...) ~= 1 or type(msg) ~= 'string' then
    return {err='ERR wrong number or type of arguments'}
  end
  if msg:sub(1, 1) ~= '-' then msg = '-' .. msg end
  local space = msg:find(' ', 1, true)
  local code, text
  if space then
    code, text = msg:sub(2, space - 1), msg:sub(space + 1)
  else
    code, text = 'ERR', msg:sub(2)
  end
  text = (text:gsub('^[\r\n]+', ''))
  text = (text:gsub('[\r\n]+$', ''))
  return {err=code .. ' ' .. text}
end
redis.status_reply = function(msg)
  if type(msg) ~= 'string' then return {err='ERR wrong number or type of arguments'} end
  return {ok=msg}
end
redis.sha1hex = function(s)
  if type(s) ~= 'string' and type(s) ~= 'number' then
    raise({err='ERR wrong number of arguments'})
  end
  return py.sha1hex(tostring(s))
end
redis.log, redis.setresp, redis.set_repl = py.log, py.setresp, py.set_repl
redis.acl_check_cmd = py.acl_check_cmd
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL =
  0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = py.version, py.version_num

local mathlib = {}
for k, v in pairs(math) do mathlib[k] = v end
mathlib.random, mathlib.randomseed = py.rand, py.srand

local spcall = function(...)
  local function fix(ok, ...)
    if ok then return true, ... end
    local e = ...
    if type(e) == 'userdata' then return false, (py.errmsg(e)) end
    if type(e) == 'table' then
      local m = rawget(e, 'err')
      if type(m) == 'string' then return false, m end
    end
    return false, e
  end
  return fix(real_pcall(...))
end

-- The scripts' globals: `genv` holds them; scripts run in `env`, an empty proxy of it.
local genv = {}
for _, name in ipairs({'assert', 'error', 'rawequal', 'select', 'tonumber', 'tostring',
                       'type', 'xpcall', 'gcinfo', 'collectgarbage', '_VERSION'}) do
  genv[name] = _G[name]
end
genv.pcall = spcall

local prelude = getinfo(1, 'S').source
-- The xpcall error handler: the error as a table, with the script's line. `skip`: one
-- more chunk whose frames are not the script's (the Functions engine's own).
local function make_handler(skip)
  return function(err)
    local level, i = 2, nil
    repeat
      i = getinfo(level, 'Sl')
      level = level + 1
    until i == nil or (i.what ~= 'C' and i.what ~= 'tail' and i.source ~= prelude
                       and i.source ~= skip)
    if type(err) == 'userdata' then
      local msg, lib = py.errmsg(err)
      err = {err=lib and 'ERR ' .. msg or msg}
    elseif type(err) ~= 'table' then
      err = {err='ERR ' .. tostring(err)}
    end
    if i and rawget(err, 'line') == nil then
      rawset(err, 'source', i.source)
      rawset(err, 'line', i.currentline)
    end
    return err
  end
end
local handler = make_handler(nil)

-- lua_cjson (its settings are cluster.scripting.lua_cjson.Settings)
local cj = py.cjson
cj._NAME, cj._VERSION = 'cjson', '2.1.0'

local function toint(n)
  -- luaL_checkint: (int)(lua_Integer)d, as x86-64 truncates and wraps
  if n ~= n or n >= 2^63 or n < -2^63 then return -2^31 end
  n = n >= 0 and floor(n) or -floor(-n)
  n = n % 2^32
  if n >= 2^31 then n = n - 2^32 end
  return n
end
local function checkint(narg, ...)
  local v = (select(narg, ...))
  local n = tonumber(v)
  if n == nil or (type(v) ~= 'number' and type(v) ~= 'string') then
    argerror(narg, 'number expected, got ' .. typename(narg, ...), 1)
  end
  return toint(n)
end
-- table: insert refuses proxies (its raw writes would land in the shared proxy)
local tablelib = {}
for k, v in pairs(table) do tablelib[k] = v end
tablelib.insert = function(...)
  local t, n = ..., select('#', ...)
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  if n ~= 2 and n ~= 3 then error("wrong number of arguments to 'insert'", 2) end
  local pos = n == 3 and checkint(2, ...) or nil
  if backing[t] then error(READONLY, 0) end
  if n == 2 then tinsert(t, (select(2, ...))) else tinsert(t, pos, (select(3, ...))) end
end

local env = protect(genv)
local libs = {redis=redis, bit=py.bit, cjson=cj, cmsgpack=py.cmsgpack, struct=py.struct,
              string=string, table=tablelib, math=mathlib, coroutine=coroutine}
for name, real in pairs(libs) do genv[name] = protect(real) end
genv._G = env
local string_view = protect({__index=genv.string})
local function nonexistent(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
setmetatable(genv, {__index=nonexistent})
hidden[env] = protect({__index=nonexistent})
genv.__redis__err__handler = handler

-- the raw-access builtins, aware of proxies --------------------------------------
genv.rawset = function(...)
  local t = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  if select('#', ...) < 2 then argerror(2, 'value expected') end
  if select('#', ...) < 3 then argerror(3, 'value expected') end
  if backing[t] then error(READONLY, 0) end
  return rawset(...)
end
genv.rawget = function(...)
  local t, k = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  if select('#', ...) < 2 then argerror(2, 'value expected') end
  local real = backing[t]
  if real then return rawget(real, k) end
  return rawget(t, k)
end
genv.setmetatable = function(...)
  local t, mt = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  if mt ~= nil and type(mt) ~= 'table' then argerror(2, 'nil or table expected') end
  if backing[t] then error(READONLY, 0) end
  local raw_mt = dbg.getmetatable(t)
  if raw_mt ~= nil and rawget(raw_mt, '__metatable') ~= nil then
    error('cannot change a protected metatable', 2)
  end
  return (setmetatable(t, mt))
end
genv.getmetatable = function(...)
  if select('#', ...) == 0 then argerror(1, 'value expected') end
  local o = ...
  local t = type(o)
  if t == 'table' then
    local h = hidden[o]
    if h ~= nil then return h or nil end
  elseif t == 'string' then
    return string_view
  elseif t == 'userdata' then
    return nil
  end
  return (getmetatable(o))
end
local snext = function(...)
  local t, k = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  local real = backing[t]
  if real then return next(real, k) end
  return next(t, k)
end
genv.next = snext
genv.pairs = function(...)
  local t = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  return snext, t, nil
end
local function inext(t, i)
  i = i + 1
  local v = rawget(backing[t] or t, i)
  if v ~= nil then return i, v end
end
genv.ipairs = function(...)
  local t = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  return inext, t, 0
end

-- unpack: luaB_unpack with its int arithmetic done safely (CVE-2025-46817) ---------
genv.unpack = function(...)
  local t, i, e = ...
  local nargs = select('#', ...)
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. typename(1, ...)) end
  if i == nil then i = 1 else i = checkint(2, ...) end
  if e == nil then e = #t else e = checkint(3, ...) end
  if i > e then return end
  -- luaB_unpack: lua_checkstack(L, n) fails past LUAI_MAXCSTACK slots, the arguments
  -- included; the same arity below makes the C call's frame the size the script's was
  if nargs + (e - i + 1) > LUAI_MAXCSTACK then error('too many results to unpack', 2) end
  if nargs == 1 then return unpack(t) elseif nargs == 2 then return unpack(t, i) end
  return unpack(t, i, e)
end

-- load / loadstring: text only ----------------------------------------------------
local function chunkname_of(s)
  -- the chunk name a C caller would pass: the text up to its first NUL, held here
  local z = find(s, '\0', 1, true)
  if z then return sub(s, 1, z - 1) end
  return s
end
local function compile_text(s, name)
  -- a binary chunk is compiled as text (Redis has no undump): the leading space keeps
  -- line 1 and gives "unexpected symbol near 'char(27)'"
  if byte(s, 1) == 27 then s = ' ' .. s end
  local f, e = loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
genv.loadstring = function(...)
  local s, name = ...
  local ts = type(s)
  if ts ~= 'string' and ts ~= 'number' then
    argerror(1, 'string expected, got ' .. typename(1, ...))
  end
  s = tostring(s)
  if name == nil then
    name = chunkname_of(s)
  elseif type(name) == 'string' or type(name) == 'number' then
    name = chunkname_of(tostring(name))
  else
    argerror(2, 'string expected, got ' .. typename(2, ...))
  end
  return compile_text(s, name)
end
genv.load = function(...)
  local reader, name = ...
  if type(reader) ~= 'function' then
    argerror(1, 'function expected, got ' .. typename(1, ...))
  end
  if name == nil then
    name = '=(load)'
  elseif type(name) == 'string' or type(name) == 'number' then
    name = chunkname_of(tostring(name))
  else
    argerror(2, 'string expected, got ' .. typename(2, ...))
  end
  -- `name` (a local: anchored) is the very string the parser interns as the chunk name,
  -- so a collection run by the reader cannot free it (CVE-2025-49844). The first piece
  -- of a binary chunk gets a leading space: parsed as text, as Redis parses it.
  local ci = getinfo(2, 'Sl')
  local pos = (ci and ci.currentline > 0) and (ci.short_src .. ':' .. ci.currentline .. ': ')
              or ''
  local first = true
  local f, e = load(function()
    local piece = reader()
    local tp = type(piece)
    if tp ~= 'nil' and tp ~= 'string' and tp ~= 'number' then
      error(pos .. 'reader function must return a string', 0)
    end
    if first and piece ~= nil then
      piece = tostring(piece)
      if piece ~= '' then
        first = false
        if byte(piece, 1) == 27 then piece = ' ' .. piece end
      end
    end
    return piece
  end, name)
  if f then setfenv(f, env) end
  return f, e
end

local function killed_line_hook()
  -- raise only in the script's own code: never inside the error handler or the prelude
  local i = getinfo(2, 'S')
  if i and i.source ~= prelude then error({err=py.killed}) end
end
local function kill_hook()
  if hook_check() then sethook(killed_line_hook, 'l') end
end

local function compile(body)
  return compile_text(body, '@user_script')
end

local function run(f, keys, argv)
  rawset(genv, 'KEYS', keys)
  rawset(genv, 'ARGV', argv)
  sethook(kill_hook, '', py.hook_every)
  local ok, v = xpcall(f, handler)
  sethook()
  return ok, v
end
-- what the Functions engine (cluster.scripting.functions) builds its library world from
local internals = {genv=genv, backing=backing, readonly=readonly, prelude=prelude,
                   errmsg=py.errmsg, make_handler=make_handler}
return compile, run, genv.pairs, snext, internals
"""
