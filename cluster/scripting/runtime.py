"""The Lua runtime of a node (Redis 7.0.15's script_lua.c + eval.c, re-done over lupa).

One Lua 5.1 interpreter per node (`engine(node)`), made on first use. The sandbox is
Redis's (built in Lua by cluster.scripting.lua_sandbox, whose docstring says how):
no os/io/debug/print/dofile/loadfile/require/setfenv/getfenv/newproxy/module, no binary
chunks, no attribute access to Python objects; globals, the library tables and the
metatables a script can see are read-only ("Attempt to modify a readonly table"),
reading an unknown global fails ("Script attempted to access nonexistent global
variable"), pcall turns an error table into its `err` string, math.random is Redis's
lrand48, never seeded unless a script calls math.randomseed (so it starts from lrand48's
default state, as in 7.0). bit, cmsgpack (cluster.scripting.lua_libs), struct (cluster.scripting.lua_struct)
and cjson.decode are Python callbacks, cjson.encode is Lua (cluster.scripting.lua_cjson): lupa's
Lua has none of them. A `#!lua` shebang line (cluster.scripting.lua_shebang) gives a script flags.

Design for long scripts (busy-reply-threshold / SCRIPT KILL): a script runs in the
node's one script thread (lupa releases the GIL while Lua runs). The EVAL handler waits
for it synchronously up to the threshold, so a normal script is atomic and needs no
change anywhere. Past the threshold the handler marks the node busy (`node.script_busy`)
and returns an Await that waits for the thread: the trio loop serves other clients
again, and dispatch answers them -BUSY unless the command is flagged allow_busy (SCRIPT
KILL, SHUTDOWN ...). Active expiry pauses while busy. A Lua count hook (every 100000
instructions) asks the run whether it was killed. Inside MULTI/EXEC (or on the
replication link) the wait is unbounded: no BUSY phase there.

Writes made by a script propagate as the commands themselves, wrapped in MULTI/EXEC when
more than one (the propagator's transaction buffer), never as EVAL.
"""
from __future__ import annotations

import hashlib
import math
import queue
import threading
import time
from concurrent.futures import Future, TimeoutError as FutureTimeout

from lupa import lua51
from slots import keyslot

from cluster.execution.client import Client
from cluster.execution.dispatch import call
from cluster.acl.check import check_command
from cluster.acl.gate import log_denial, script_denial
from cluster.execution.table import WRONG_ARITY, lookup, resolve
from cluster.keyspace.evict import OOM
from cluster.replication.primary import NOREPLICAS_ERR, too_few_good_replicas
from cluster.resp.outcomes import Await, Block
from cluster.resp.reply import (FALSE, NULL_ARRAY, TRUE, Attribute, BigNumber, Boolean,
                                Double, Replies, RespSet, SetReply,
                                Status, ReplyError, Verbatim, Push, format_double)
from cluster.scripting import lua_cjson, lua_libs, lua_sandbox, lua_shebang, lua_struct

HOOK_INSTRUCTIONS = 100000
REPLY_MAX_DEPTH = 1000          # nesting of a script's reply (Redis: ~7995, its Lua stack)
INT64_MIN = -(1 << 63)
KILLED = "ERR Script killed by user with SCRIPT KILL..."

_PRELUDE = lua_sandbox.PRELUDE


def _no_attribute(obj, name, value=None):
    raise AttributeError("attribute access is not allowed")


class ScriptCallError(Exception):
    """A redis.call failure (or a kill) raised through Lua as a Python exception."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _errmsg(exc):
    """(message, is a library error) of a Python exception raised through Lua."""
    if isinstance(exc, ScriptCallError):
        return _msg_bytes(exc.message), False
    if isinstance(exc, lua_struct.LuaLibError):
        msg = exc.args[0]
        return (_msg_bytes(msg) if isinstance(msg, str) else msg), True
    return str(exc).encode("utf-8", "surrogateescape"), False


# luaL_where(L, 1) seen from a Python callback (level 2 is the callback, 3 its caller),
# and the name the callback was called by (luaL_argerror's '?' when unknown).
_WHERE = """
local getinfo = debug.getinfo
return function()
  local i, n = getinfo(3, 'Sl'), getinfo(2, 'n')
  local where = ''
  if i and i.currentline > 0 then where = i.short_src .. ':' .. i.currentline .. ': ' end
  return where, n and n.name or '?'
end
"""


def _lib(where, fn):
    """A library callback whose LuaLibError carries the caller's position, as luaL_error."""
    def call(*args):
        try:
            return fn(*args)
        except lua_struct.LuaLibError as exc:
            pos, name = where()
            if exc.arg is not None:
                msg = _msg_bytes("bad argument #%d to '%s' (%s)" % (
                    exc.arg[0], _text(name), exc.arg[1]))
            else:
                msg = exc.args[0]
                if isinstance(msg, str):
                    msg = _msg_bytes(msg)
            raise lua_struct.LuaLibError(pos + msg) from None
    return call


class ScriptRun:
    """One script execution: who runs it, since when, whether it wrote or was killed."""

    def __init__(self, client, sha: str, readonly: bool):
        self.client = client
        self.sha = sha
        self.readonly = readonly
        self.killed = False
        self.abandoned = False      # SHUTDOWN NOSAVE stopped it: its writes go nowhere
        self.wrote = False
        self.resp = 2
        self.repl = 3
        self.db = client.db
        self.one_slot = False
        self.slot: int | None = None
        self.is_eval = True            # False for FCALL: FUNCTION KILL, not SCRIPT KILL, ends it
        self.argv: list | None = None  # the caller's command (FUNCTION STATS)
        self.allow_oom = False         # flags declare allow-oom (scriptVerifyOOM)
        self.write_dirty = False       # a write command was called (SCRIPT_WRITE_DIRTY)
        # Error replies of the commands it called, counted in errorstats when they
        # happened: the script's own error reply carrying one is not counted again.
        self.counted_errors: list[str] = []
        self.started = time.monotonic()


    def abandon(self) -> None:
        """Stop the script at its next instruction check, even if it wrote (SHUTDOWN
        NOSAVE; Redis exits with the script still running)."""
        self.abandoned = True
        self.killed = True


class Engine:
    def __init__(self, node):
        self.node = node
        # attribute_handlers: a script must never reach Python attributes through the
        # callables it holds (redis.call.__self__.node, an error's __traceback__ ...)
        self.lua = lua51.LuaRuntime(encoding=None, register_eval=False,
                                    register_builtins=False, unpack_returned_tuples=True,
                                    attribute_handlers=(_no_attribute, _no_attribute))
        self.scripts: dict[str, object] = {}          # sha1 hex -> compiled Lua function
        self.bodies: dict[str, bytes] = {}
        self.rand = lua_libs.Rand48()
        self.flags: dict[str, frozenset | None] = {}   # sha -> shebang flags (None: none)
        self.run: ScriptRun | None = None
        self.client = Client(node, 0)                 # the fake client scripts call with
        self.client.scripting = True
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        lua = self.lua
        null = lua.execute("local p = newproxy(true) "
                           "getmetatable(p).__tostring = function() return 'userdata: (nil)' end "
                           "return p")
        where = lua.execute(_WHERE)
        self.cjson_settings = settings = lua_cjson.Settings()   # lasts as the Lua state
        cjson = lua.table_from({
            b"null": null,
            b"decode": _lib(where, lambda *a: lua_cjson.decode(lua, null, *a,
                                                               settings=settings)),
            **{name: _lib(where, fn) for name, fn in settings.functions().items()}})
        py = lua.table_from({
            b"call": self._call, b"pcall": self._pcall, b"call_many": self._call_many,
            b"errmsg": _errmsg,
            b"log": self._log, b"setresp": self._setresp,
            b"set_repl": self._set_repl, b"acl_check_cmd": self._acl_check_cmd,
            b"sha1hex": lambda s: sha1hex(s).encode(),
            b"rand": _lib(where, self._random), b"srand": _lib(where, self._randomseed),
            b"version": node.redis_version.encode(),
            b"version_num": _version_num(node.redis_version),
            b"hook_every": HOOK_INSTRUCTIONS, b"killed": KILLED.encode(),
            b"bit": lua.table_from({k.encode(): v for k, v in lua_libs.BIT.items()}),
            b"cjson": cjson,
            b"struct": lua.table_from({
                b"pack": _lib(where, lua_struct.pack), b"unpack": _lib(where, lua_struct.unpack),
                b"size": _lib(where, lua_struct.size)}),
            b"cmsgpack": lua.table_from({
                b"pack": _lib(where, lua_libs.msgpack_pack),
                b"unpack": _lib(where, lambda *a: lua_libs.msgpack_unpack(lua, *a)),
                b"unpack_one": _lib(where, lambda *a: lua_libs.msgpack_unpack_one(lua, *a)),
                b"unpack_limit": _lib(where,
                                      lambda *a: lua_libs.msgpack_unpack_limit(lua, *a))}),
        })
        self._rawget = lua.eval("rawget")
        self._compile, self._run, pairs, _, self.sandbox = lua.execute(_PRELUDE, py,
                                                                     self._hook_check)
        # cjson.encode walks tables with the sandbox's pairs (library proxies included)
        cjson[b"encode"] = _lib(where, lua_cjson.encoder(lua, null, pairs, settings))

    # --- script cache -----------------------------------------------------------------

    def load(self, body: bytes) -> str:
        """Compile and cache `body`; its sha. ReplyError on a compile error."""
        sha = sha1hex(body)
        if sha not in self.scripts:
            flags, source = lua_shebang.parse(body)
            fn, err = self._compile(source)
            if fn is None:
                raise ReplyError("ERR Error compiling script (new function): %s" % (
                    _text(err),))
            self.scripts[sha] = fn
            self.bodies[sha] = body
            self.flags[sha] = flags
        return sha

    def flush(self) -> None:
        self.scripts.clear()
        self.bodies.clear()
        self.flags.clear()

    # --- running ----------------------------------------------------------------------

    def start(self, client, sha: str, keys: list, args: list, readonly: bool):
        """Submit the script to the script thread; (run, future)."""
        run = ScriptRun(client, sha, readonly)
        flags = self.flags.get(sha)
        run.allow_oom = flags is not None and "allow-oom" in flags
        # shebang scripts must keep to one slot unless allow-cross-slot-keys (cluster mode)
        run.one_slot = flags is not None and "allow-cross-slot-keys" not in flags
        if run.one_slot and keys and self.node.cluster is not None:
            run.slot = keyslot(keys[0])
        self.run = run
        fn = self.scripts[sha]
        lua = self.lua
        keys_t = lua.table_from(keys)
        args_t = lua.table_from(args)
        future: Future = Future()
        if self._thread is None:
            # A daemon thread: a script that never ends must not hold up process exit.
            self._thread = threading.Thread(target=self._worker, name="lua", daemon=True)
            self._thread.start()
        self._jobs.put((future, run, fn, keys_t, args_t))
        return run, future

    def _worker(self) -> None:
        while True:
            future, run, fn, keys_t, args_t = self._jobs.get()
            try:
                future.set_result(self._execute(run, fn, keys_t, args_t))
            except BaseException as exc:      # noqa: BLE001 (handed to the waiter)
                future.set_exception(exc)

    def _execute(self, run, fn, keys_t, args_t):
        ok, value = self._run(fn, keys_t, args_t)
        if ok:
            return lua_to_reply(value, run.client.resp == 3, run.resp, 0, self._rawget)
        return ReplyError(_error_text(value, run.sha))

    def mark_busy(self, run) -> None:
        """`run` went past busy-reply-threshold: other clients get -BUSY (the busy gate)."""
        self.node.script_busy = run
        self.node.gates.turn("busy", True)

    def finish(self, run) -> None:
        if self.run is run:
            self.run = None
        if self.node.script_busy is run:
            self.node.script_busy = None
            self.node.gates.turn("busy", False)

    def _random(self, *args):
        """math.random over redisLrand48 (lmathlib's math_random)."""
        r = self.rand.random()
        if not args:
            return r
        if len(args) > 2:
            raise lua_struct.LuaLibError("wrong number of arguments")
        low, up = 1, _check_int(1, args[-1] if len(args) == 1 else args[0])
        if len(args) == 2:
            low, up = up, _check_int(2, args[1])
        if low > up:
            raise lua_struct.LuaLibError("", (len(args), "interval is empty"))
        return math.floor(r * (up - low + 1)) + low

    def _randomseed(self, *args):
        self.rand.seed(_check_int(1, args[0] if args else None))

    def _hook_check(self) -> bool:
        run = self.run
        return run is not None and run.killed

    # --- the redis lib ----------------------------------------------------------------

    def _call(self, *args):
        """redis.call: a failure raises (ScriptCallError, a Lua error to the script)."""
        run = self.run
        try:
            reply = self._dispatch(run, args)
        except ReplyError as err:
            raise ScriptCallError(err.message) from None
        if reply.__class__ is ReplyError:
            raise ScriptCallError(reply.message)
        return reply_to_lua(self.lua, reply, run.resp == 3)

    def _call_many(self, protected, args, count):
        """redis.call / redis.pcall with thousands of arguments, handed over as a table."""
        argv = [args[i] for i in range(1, int(count) + 1)]
        return self._pcall(*argv) if protected else self._call(*argv)

    def _pcall(self, *args):
        """redis.pcall: a failure is returned as an error table."""
        run = self.run
        try:
            reply = self._dispatch(run, args)
        except ReplyError as err:
            reply = err
        return reply_to_lua(self.lua, reply, run.resp == 3)

    @staticmethod
    def _argv(args) -> list[bytes]:
        """luaArgsToRedisArgv: a redis lib call's arguments as a command's argv."""
        if not args:
            raise ReplyError("ERR Please specify at least one argument for this redis lib call")
        argv = []
        for a in args:
            if isinstance(a, bytes):
                argv.append(a)
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                argv.append(_arg_number(a))
            else:
                raise ReplyError("ERR Lua redis lib command arguments must be strings or integers")
        return argv

    def _dispatch(self, run, args):
        argv = self._argv(args)
        cmd = resolve(argv)
        try:
            self._verify(run, cmd, argv)
        except ReplyError as err:          # scriptCall's error path: counted here, once
            stats = self.node.stats
            stats.count_error(err.message)
            if cmd.__class__ is not int:
                stats.command(cmd.name).rejected += 1
            run.counted_errors.append(err.message)
            raise
        node = self.node
        client = self.client
        client.db = run.db
        client.resp = run.resp
        prop = node.propagator
        mark = prop.mark()
        dirty = node.keyspace.dirty
        reply = call(client, cmd, argv)
        run.db = client.db
        if node.keyspace.dirty != dirty and cmd.is_write:
            run.wrote = True
            if run.repl != 3 and mark is not None:     # redis.set_repl: AOF / replicas
                prop.retarget_since(mark, run.repl)    # only, or nowhere (REPL_NONE)
        if reply.__class__ is Block:
            reply = reply.reply
        elif reply.__class__ is Await:
            raise ReplyError("ERR This Redis command is not allowed from script")
        elif reply.__class__ is ReplyError:
            run.counted_errors.append(reply.message)   # call() counted it
        return reply

    def _verify(self, run, cmd, argv) -> None:
        """scriptCall's checks before the command runs (a ReplyError refuses it)."""
        if cmd.__class__ is int:
            if cmd == WRONG_ARITY:
                raise ReplyError("ERR Wrong number of args calling Redis command from script")
            raise ReplyError("ERR Unknown Redis command called from script")
        if "noscript" in cmd.flags and not self.node.script_disable_deny_script:
            raise ReplyError("ERR This Redis command is not allowed from script")
        link = self.node.repl.link          # scriptVerifyAllowStale
        if link is not None and not link.link_up and "stale" not in cmd.flags \
                and not self.node.config["replica-serve-stale-data"]:
            raise ReplyError("ERR Can not execute the command on a stale replica")
        user = run.client.user             # the script runs as its caller's user
        if user is not None:
            denied = check_command(user, cmd, argv)
            if denied is not None:
                self.client.user = user
                log_denial(self.client, denied, "lua", caller=run.client)
                raise ReplyError("ERR The user executing the script " + script_denial(denied))
        node = self.node
        if cmd.is_write:                   # scriptVerifyWriteCommandAllow
            if run.readonly:
                raise ReplyError("ERR Write commands are not allowed from read-only scripts.")
            if not run.write_dirty and not run.client.is_master_link:
                if node.repl.link is not None and node.config["replica-read-only"]:
                    raise ReplyError("READONLY You can't write against a read only replica.")
                if node.config["min-replicas-to-write"] and too_few_good_replicas(node):
                    raise ReplyError(NOREPLICAS_ERR)
        if cmd.denyoom and node.pre_command_oom and not run.allow_oom and not run.write_dirty \
                and node.config["maxmemory"] and not run.client.is_master_link:
            raise ReplyError(OOM)          # scriptVerifyOOM: only before the first write
        if cmd.is_write:
            run.write_dirty = True         # SCRIPT_WRITE_DIRTY: no refusal after this
        if node.cluster is not None and not run.client.is_master_link:
            _check_local_keys(node, cmd, argv, run)

    def _acl_check_cmd(self, *args):
        """redis.acl_check_cmd(command, args...): may the script's user run it?"""
        try:
            argv = self._argv(args)
        except ReplyError as err:
            raise ScriptCallError(err.message) from None
        cmd = lookup(argv)
        if cmd is None:
            raise ScriptCallError("ERR Invalid command passed to redis.acl_check_cmd()")
        user = self.run.client.user
        return user is None or check_command(user, cmd, argv) is None

    def _log(self, level=None, *msgs):
        if level is None or not msgs:
            raise ScriptCallError("ERR redis.log() requires two arguments or more.")
        if not isinstance(level, (int, float)) or not 0 <= level <= 3 or level != int(level):
            raise ScriptCallError("ERR Invalid debug level.")
        text = " ".join(m.decode("utf-8", "replace") if isinstance(m, bytes) else
                        _lua_number_text(m).decode() for m in msgs
                        if isinstance(m, (bytes, int, float)))
        self.node.log.at(("debug", "verbose", "notice", "warning")[int(level)], text)
        return None

    def _setresp(self, v=None):
        if v not in (2, 3):
            raise ScriptCallError("ERR RESP version must be 2 or 3.")
        self.run.resp = int(v)

    def _set_repl(self, v=None):
        if not isinstance(v, (int, float)) or v != int(v) or not 0 <= v <= 3:
            raise ScriptCallError("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                  "REPL_ALL or REPL_NONE.")
        self.run.repl = int(v)

    # --- threading --------------------------------------------------------------------

    def wait(self, future, timeout):
        """(True, reply) once the script ended within `timeout` seconds, else (False, None)."""
        try:
            return True, future.result(timeout=timeout)
        except FutureTimeout:
            return False, None


def engine(node) -> Engine:
    eng = node.lua_engine
    if eng is None:
        eng = node.lua_engine = Engine(node)
    return eng


def sha1hex(data) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha1(data).hexdigest()


def _check_int(n: int, v) -> int:
    """luaL_checkint: a number (or numeric string) cast to a C int."""
    x = lua_struct.check_number("random", n, v)
    if x != x or abs(x) >= 2 ** 63:
        return -(1 << 31)
    return ((int(x) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _version_num(version: str) -> int:
    parts = [int(p) for p in version.split(".")[:3]]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] << 16 | parts[1] << 8 | parts[2]


def _text(v) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return str(v)


def _msg_bytes(message: str) -> bytes:
    return message.encode("utf-8", "surrogateescape")


def _arg_number(n) -> bytes:
    """A number passed to redis.call, as luaArgsToRedisArgv prints it (C's %.17g, which
    also shows a NaN's sign: Lua's 0/0 is -nan on x86-64)."""
    if n != n:
        return b"-nan" if math.copysign(1.0, n) < 0 else b"nan"
    return b"%.17g" % n


def _lua_number_text(n) -> bytes:
    if isinstance(n, int) and abs(n) < 10 ** 14:
        return b"%d" % n
    return (b"%.14g" % float(n))


def _check_local_keys(node, cmd, argv, run) -> None:
    try:
        positions = cmd.key_positions(argv)
    except Exception:
        return
    state = node.cluster.state
    me = state.myself.id
    for pos in positions:
        if state.slot_owner[keyslot(argv[pos])] != me:
            raise ReplyError("ERR Script attempted to access a non local key in a cluster node")
    if run.one_slot and positions:
        slot = keyslot(argv[positions[0]])
        if run.slot is None:
            run.slot = slot
        elif run.slot != slot:
            raise ReplyError("ERR Script attempted to access keys that do not hash to the "
                             "same slot")


def _error_text(err, sha: str) -> str:
    if _is_table(err):
        msg = err[b"err"]
        source, line = err[b"source"], err[b"line"]
        msg = _text(msg) if isinstance(msg, bytes) else ""
        if source is not None and line is not None:
            src = _text(source)
            return "%s script: %s, on %s:%s." % (msg, sha, src, _int_text(line))
        return "%s script: %s" % (msg, sha)
    return "ERR %s script: %s" % (_text(err), sha)


def _int_text(v) -> str:
    return "%d" % v if isinstance(v, (int, float)) else _text(v)


def _is_table(v) -> bool:
    return type(v).__name__ == "_LuaTable"


def _to_int(n) -> int:
    if isinstance(n, int):
        return n
    if math.isnan(n) or math.isinf(n) or not -9.3e18 < n < 9.3e18:
        return INT64_MIN
    v = int(n)
    return v if -(1 << 63) <= v < (1 << 63) else INT64_MIN


# --- conversions ------------------------------------------------------------------------

def lua_to_reply(v, resp3: bool, script_resp: int = 2, depth: int = 0, raw=None):
    """A Lua value the script returned -> a reply value (luaReplyToRedisReply). Fields are
    read raw (`raw`: the runtime's rawget), as Redis does: a protected table such as _G
    converts as an empty array, its __index never runs."""
    if v is None:
        return None
    cls = v.__class__
    if cls is bytes:
        return v
    if cls is bool:
        if script_resp == 3:
            return TRUE if v else FALSE
        return 1 if v else None
    if cls is int or cls is float:
        return _to_int(v)
    if not _is_table(v):
        return None
    get = raw or _index
    if depth >= REPLY_MAX_DEPTH:
        # Redis: lua_checkstack fails ~7995 tables deep (CVE-2021-32626's guard); we stop
        # earlier, where Python's own stack would: a self-referencing table is finite too
        return ReplyError("ERR reached lua stack limit")
    err = get(v, b"err")
    if isinstance(err, bytes):
        return ReplyError(err.decode("utf-8", "surrogateescape"))
    ok = get(v, b"ok")
    if isinstance(ok, bytes):
        return Status(ok)
    dbl = get(v, b"double")
    if isinstance(dbl, (int, float)) and not isinstance(dbl, bool):
        return float(dbl)
    verbatim = get(v, b"verbatim_string")
    if _is_table(verbatim):             # {format='txt', string=...} (RESP3 scripts)
        text = get(verbatim, b"string")
        if isinstance(text, bytes) and get(verbatim, b"format") == b"txt":
            return Verbatim(text)
    big = get(v, b"big_number")
    if isinstance(big, bytes):
        return BigNumber(big.replace(b"\r", b" ").replace(b"\n", b" "))   # sdsmapchars
    m = get(v, b"map")
    if _is_table(m):
        out = {}
        for k, val in m.items():
            out[_hashable(lua_to_reply(k, resp3, script_resp, depth + 1, raw))] = \
                lua_to_reply(val, resp3, script_resp, depth + 1, raw)
        return out
    s = get(v, b"set")
    if _is_table(s):
        return SetReply(lua_to_reply(k, resp3, script_resp, depth + 1, raw) for k in s.keys())
    out = []
    i = 1
    while True:
        item = get(v, i)
        if item is None:
            break
        out.append(lua_to_reply(item, resp3, script_resp, depth + 1, raw))
        i += 1
    return out


def _index(t, k):
    return t[k]


def _hashable(v):
    if isinstance(v, list):
        return tuple(v)
    return v


def reply_to_lua(lua, value, resp3: bool):
    """A command's reply value -> the Lua value redis.call returns (redisProtocolToLuaType)."""
    cls = value.__class__
    if cls is Double:                   # GEOPOS/GEOSEARCH coordinates: Redis strtod()s the text
        return lua.table_from({b"double": float(value)}) if resp3 else bytes(value)
    if cls is bytes or cls is Verbatim:
        if cls is Verbatim and resp3:
            return lua.table_from({b"verbatim_string": lua.table_from(
                {b"format": b"txt", b"string": bytes(value)})})
        return bytes(value)
    if cls is Status:
        return lua.table_from({b"ok": bytes(value)})
    if cls is int:
        return value
    if cls is BigNumber:                # RESP3 `(`: a table; RESP2 sent it as a bulk string
        return lua.table_from({b"big_number": bytes(value)}) if resp3 else bytes(value)
    if cls is Boolean:                  # RESP3 `#t`: a boolean; RESP2 sent `:1` / `:0`
        return value.value if resp3 else int(value.value)
    if cls is Replies:                  # an attribute before the reply: Lua sees the reply
        rest = [x for x in value if x.__class__ is not Attribute]
        return reply_to_lua(lua, rest[0], resp3) if len(rest) == 1 else \
            lua.table_from([reply_to_lua(lua, x, resp3) for x in rest])
    if cls is bool:
        return value if resp3 else int(value)
    if value is None or value is NULL_ARRAY:
        return None if resp3 else False
    if cls is float:
        if resp3:
            return lua.table_from({b"double": value})
        return format_double(value)
    if cls is dict:
        if resp3:
            t = lua.table()
            for k, v in value.items():
                t[reply_to_lua(lua, k, resp3)] = reply_to_lua(lua, v, resp3)
            return lua.table_from({b"map": t})
        flat = []
        for k, v in value.items():
            flat.append(reply_to_lua(lua, k, resp3))
            flat.append(reply_to_lua(lua, v, resp3))
        return lua.table_from(flat)
    if cls is RespSet or cls is SetReply:
        if resp3:
            t = lua.table()
            for k in value:
                t[reply_to_lua(lua, k, resp3)] = True
            return lua.table_from({b"set": t})
        return lua.table_from([reply_to_lua(lua, x, resp3) for x in value])
    if isinstance(value, ReplyError):
        return lua.table_from({b"err": _msg_bytes(value.message)})
    if isinstance(value, (list, tuple, Push)):
        return lua.table_from([reply_to_lua(lua, x, resp3) for x in value])
    if cls is str:
        return value.encode()
    return None
