"""FCALL, FCALL_RO and FUNCTION LOAD|DELETE|FLUSH|LIST|DUMP|RESTORE|STATS|KILL|HELP
(Redis 7.0's functions.c; the Lua side is cluster.scripting.functions).

FUNCTION LOAD, DELETE, FLUSH and RESTORE are write commands that mark the dataset dirty,
so they propagate as themselves to the replicas and the AOF, as Redis's server.dirty++
does; a function's writes propagate as the commands it ran (cluster.commands.scripting's
run_script, as EVAL's). Libraries are per node, as in Redis: a cluster gets them on every
node through `redis-cli --cluster call` (FUNCTION LOAD's request_policy:all_shards tip).

FUNCTION DUMP's payload is Redis's: FUNCTION2 records (opcode 0xF5, the library code as
an RDB string) then the RDB version (2 bytes LE) and the CRC-64 of everything before.
"""
from __future__ import annotations

import time

from cluster.base.crc64 import crc64
from cluster.base.glob import stringmatch
from cluster.commands.help import help_reply
from cluster.commands.scripting import UNKILLABLE, eval_keys, run_script
from cluster.encoding.dump import RDB_VERSION, Corrupt, Reader, set_compression, verify
from cluster.encoding.rdb import OP_FUNCTION, OP_FUNCTION2, function_record, read_old_function
from cluster.execution.gates import BUSY
from cluster.execution.table import command, container, subcommand
from cluster.replication.replica import MASTERDOWN_ERR, READONLY_ERR
from cluster.resp.reply import OK, ReplyError, SetReply, Status
from cluster.scripting import lua_shebang
from cluster.scripting.functions import ENGINE, FLAGS, LOAD_TIMEOUT_S

G = "scripting"
_ALL_SHARDS = "request_policy:all_shards response_policy:all_succeeded"


def _specs(flags: list, notes: str):
    return ({"notes": notes, "flags": flags,
             "begin_search": {"type": "index", "spec": {"index": 2}},
             "find_keys": {"type": "keynum",
                           "spec": {"keynumidx": 0, "firstkey": 1, "keystep": 1}}},)


# -- FCALL -------------------------------------------------------------------------------
def _fcall(client, argv, ro: bool):
    node = client.node
    fn = node.functions.find(argv[1])
    if fn is None:
        raise ReplyError("ERR Function not found")
    flags = fn.flags
    _command_flag_checks(client, flags)
    try:
        numkeys = _strict_int(argv[2])
    except ValueError:
        raise ReplyError("ERR Bad number of keys provided") from None
    if numkeys > len(argv) - 3:
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise ReplyError("ERR Number of keys can't be negative")
    _prepare_checks(client, flags, ro)
    readonly = ro or "no-writes" in flags
    eng = node.functions.lua()
    eng.prepare(fn)
    return run_script(client, eng, fn.name.decode("utf-8", "surrogateescape"),
                      argv[3:3 + numkeys], argv[3 + numkeys:], readonly, function_argv=argv)


def _command_flag_checks(client, flags) -> None:
    """processCommand with the function's flags as the command's (fcallGetCommandFlags,
    scriptFlagsToCmdFlags): a function that may write is a write command to a read-only
    replica, and only an allow-stale one is served by a stale replica."""
    link = client.node.repl.link
    if link is None or client.is_master_link:
        return
    cfg = client.node.config
    if "no-writes" not in flags and cfg["replica-read-only"]:
        raise ReplyError(READONLY_ERR)
    if not link.link_up and not cfg["replica-serve-stale-data"] and "allow-stale" not in flags:
        raise ReplyError(MASTERDOWN_ERR)


def _prepare_checks(client, flags, ro: bool) -> None:
    """scriptPrepareForRun's checks of a function's flags."""
    node = client.node
    if "no-cluster" in flags and node.cluster is not None:
        raise ReplyError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
    link = node.repl.link
    if link is not None and not client.is_master_link and not link.link_up \
            and not node.config["replica-serve-stale-data"] and "allow-stale" not in flags:
        raise ReplyError("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is "
                         "set to 'no' and 'allow-stale' flag is not set on the script.")
    if "no-writes" in flags:
        return
    if link is not None and not client.is_master_link and node.config["replica-read-only"]:
        raise ReplyError("READONLY Can not run script with write flag on readonly replica")
    if ro:
        raise ReplyError("ERR Can not execute a script with write flag using *_ro command.")
    lua_shebang.check_oom(flags, node)


def _strict_int(b: bytes) -> int:
    """getLongLongFromObject: a whole decimal, no spaces, no '+', within 64 bits."""
    if not b or len(b) > 20 or b != b.strip() or b.startswith(b"+") or (
            len(b) > 1 and (b.startswith(b"0") or b.startswith(b"-0"))):
        raise ValueError(b)
    n = int(b)
    if not -(1 << 63) <= n < (1 << 63):
        raise ValueError(b)
    return n


@command("fcall", -3, "noscript stale skip_monitor no_mandatory_keys", acl="@scripting",
         group=G, getkeys=eval_keys, key_specs=_specs(
             ["RW", "ACCESS", "UPDATE"],
             "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
         summary="Invoke a function", since="7.0.0",
         complexity="Depends on the function that is executed.")
def fcall(client, argv):
    return _fcall(client, argv, False)


@command("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys",
         acl="@scripting", group=G, getkeys=eval_keys, key_specs=_specs(
             ["RO", "ACCESS"],
             "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
         summary="Invoke a read-only function", since="7.0.0",
         complexity="Depends on the function that is executed.")
def fcall_ro(client, argv):
    return _fcall(client, argv, True)


# -- FUNCTION ----------------------------------------------------------------------------
container("function", -2, group=G, summary="A container for function commands",
          since="7.0.0", complexity="Depends on subcommand.")


def _syntax(argv) -> ReplyError:
    """addReplySubcommandSyntaxError."""
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. Try "
                      "FUNCTION HELP." % argv[1].decode("utf-8", "replace")[:128])


@subcommand("function", "load", -3, "noscript write denyoom", acl="@scripting",
            since="7.0.0", tips=_ALL_SHARDS,
            summary="Create a function with the given arguments (name, code, description)",
            complexity="O(1) (considering compilation time is redundant)")
def function_load(client, argv):
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise ReplyError("ERR Unknown option given: %s" % arg.decode("utf-8", "surrogateescape"))
    node = client.node
    # mustObeyClient: our primary's link and the AOF (client id 0) load without a timeout
    obey = client.is_master_link or client.id == 0
    name = node.functions.create(argv[pos], replace, None if obey else LOAD_TIMEOUT_S)
    node.keyspace.dirty += 1
    return name


@subcommand("function", "delete", 3, "noscript write", acl="@scripting", since="7.0.0",
            tips=_ALL_SHARDS, summary="Delete a function by name", complexity="O(1)")
def function_delete(client, argv):
    client.node.functions.delete(argv[2])
    client.node.keyspace.dirty += 1
    return OK


@subcommand("function", "flush", -2, "noscript write", acl="@scripting", since="7.0.0",
            tips=_ALL_SHARDS, summary="Deleting all functions",
            complexity="O(N) where N is the number of functions deleted")
def function_flush(client, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise ReplyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    client.node.functions.flush()
    client.node.keyspace.dirty += 1
    return OK


@subcommand("function", "list", -2, "noscript", acl="@scripting", since="7.0.0",
            tips="nondeterministic_output_order",
            summary="List information about all the functions",
            complexity="O(N) where N is the number of functions")
def function_list(client, argv):
    with_code = False
    pattern = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
            i += 1
            continue
        if pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise ReplyError("ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 2
            continue
        raise ReplyError("ERR Unknown argument %s" % arg.decode("utf-8", "surrogateescape"))
    out = []
    for lib in client.node.functions.ctx.libraries.values():
        if pattern is not None and not stringmatch(pattern, lib.name, nocase=True):
            continue
        entry = {b"library_name": lib.name, b"engine": ENGINE, b"functions": [
            {b"name": fn.name, b"description": fn.desc,
             b"flags": SetReply(Status(f.encode()) for f in FLAGS if f in fn.flags)}
            for fn in lib.functions.values()]}
        if with_code:
            entry[b"library_code"] = lib.code
        out.append(entry)
    return out


@subcommand("function", "dump", 2, "noscript", acl="@scripting", since="7.0.0",
            summary="Dump all functions into a serialized binary payload",
            complexity="O(N) where N is the number of functions")
def function_dump(client, argv):
    set_compression(client.node.config["rdbcompression"])
    body = b"".join(function_record(lib.code)
                    for lib in client.node.functions.ctx.libraries.values())
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


@subcommand("function", "restore", -3, "noscript write denyoom", acl="@scripting",
            since="7.0.0", tips=_ALL_SHARDS,
            summary="Restore all the functions on the given payload",
            complexity="O(N) where N is the number of functions on the payload")
def function_restore(client, argv):
    if len(argv) > 4:
        raise _syntax(argv)
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"append", b"replace", b"flush"):
            raise ReplyError("ERR Wrong restore policy given, value should be either FLUSH, "
                             "APPEND or REPLACE.")
    data = argv[2]
    if not verify(data):
        raise ReplyError("ERR DUMP payload version or checksum are wrong")
    libs = client.node.functions
    side = libs.load_side(_payload_codes(data))
    if policy == b"flush":
        libs.swap(side)
    else:
        libs.join(side, policy == b"replace")
    client.node.keyspace.dirty += 1
    return OK


def _payload_codes(data: bytes):
    """The library codes of a verified FUNCTION DUMP payload, one by one (the caller
    loads each before the next is read, as functionRestoreCommand)."""
    r = Reader(data)
    while len(data) - r.pos > 10:
        op = r.byte()
        if op not in (OP_FUNCTION, OP_FUNCTION2):
            raise ReplyError("ERR given type is not a function")
        try:
            yield read_old_function(r) if op == OP_FUNCTION else r.string()
        except Corrupt:
            raise ReplyError("ERR Failed loading library payload") from None


@subcommand("function", "stats", 2, "noscript allow_busy", acl="@scripting", since="7.0.0",
            tips="nondeterministic_output request_policy:all_shards response_policy:special",
            summary="Return information about the function currently running (name, "
                    "description, duration)", complexity="O(1)")
def function_stats(client, argv):
    node = client.node
    run = node.script_busy
    if run is not None and run.is_eval:
        raise ReplyError(BUSY)
    running = None
    if run is not None:
        running = {b"name": run.sha.encode("utf-8", "surrogateescape"),
                   b"command": list(run.argv or ()),
                   b"duration_ms": int((time.monotonic() - run.started) * 1000)}
    ctx = node.functions.ctx
    return {b"running_script": running,
            b"engines": {ENGINE: {b"libraries_count": len(ctx.libraries),
                                  b"functions_count": ctx.function_count()}}}


@subcommand("function", "kill", 2, "noscript allow_busy", acl="@scripting", since="7.0.0",
            tips="request_policy:all_shards response_policy:one_succeeded",
            summary="Kill the function currently in execution.", complexity="O(1)")
def function_kill(client, argv):
    run = client.node.script_busy
    if run is None:
        raise ReplyError("NOTBUSY No scripts in execution right now.")
    if run.client.is_master_link:
        raise ReplyError("UNKILLABLE The busy script was sent by a master instance in the "
                         "context of replication and cannot be killed.")
    if run.wrote:
        raise ReplyError(UNKILLABLE)
    if run.is_eval:                      # an EVAL script: SCRIPT KILL ends it
        raise ReplyError(BUSY)
    run.killed = True
    return OK


_HELP = [
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME "
    "argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored "
    "using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a "
    "restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
    "abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
    "replace the old",
    "      libraries with the new libraries (notice that even on this option there is a "
    "chance of failure",
    "      in case of functions name collision with another library).",
]


@subcommand("function", "help", 2, "loading stale", acl="@scripting", since="7.0.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def function_help(client, argv):
    return help_reply("FUNCTION", _HELP)
