"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD|EXISTS|FLUSH|KILL|DEBUG|HELP.

The Lua side lives in cluster.scripting.runtime (see its docstring for the threading design).
"""
from __future__ import annotations

import trio

from cluster.scripting import lua_shebang
from cluster.scripting import runtime as scripting
from cluster.commands.args import parse_int
from cluster.execution import blocking
from cluster.resp.outcomes import Await
from cluster.resp.reply import OK, ReplyError, Status
from cluster.execution.gates import BUSY_FUNCTION
from cluster.execution.table import command, container, subcommand

G = "scripting"
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the "
              "dataset. You can either wait the script termination or kill the server in a "
              "hard way using the SHUTDOWN NOSAVE command.")
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."


def eval_keys(argv: list[bytes]) -> list[int]:
    """Key positions of EVAL-like commands: numkeys keys after argv[2]."""
    try:
        numkeys = int(argv[2])
    except (ValueError, IndexError):
        return []
    if numkeys < 0 or numkeys > len(argv) - 3:
        return []
    return list(range(3, 3 + numkeys))


def _specs(flags: list, notes: str | None):
    spec = {"flags": flags,
            "begin_search": {"type": "index", "spec": {"index": 2}},
            "find_keys": {"type": "keynum",
                          "spec": {"keynumidx": 0, "firstkey": 1, "keystep": 1}}}
    if notes:
        spec["notes"] = notes
    return (spec,)


_RW = _specs(["RW", "ACCESS", "UPDATE"], None)
_RO = _specs(["RO", "ACCESS"], None)


def _eval(client, argv, by_sha: bool, readonly: bool):
    node = client.node
    numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise ReplyError("ERR Number of keys can't be negative")
    eng = scripting.engine(node)
    if by_sha:
        sha = argv[1].decode("latin-1").lower()
        if sha not in eng.scripts:
            raise ReplyError(NOSCRIPT)
    else:
        sha = eng.load(argv[1])
    flags = eng.flags.get(sha)
    lua_shebang.check(flags, node, client, readonly)
    if flags is not None and "no-writes" in flags:
        readonly = True
    return run_script(client, eng, sha, argv[3:3 + numkeys], argv[3 + numkeys:], readonly)


def run_script(client, eng, sha: str, keys: list, args: list, readonly: bool,
               function_argv: list | None = None):
    """Run script `sha` of engine `eng` (a function of cluster.scripting.functions when
    `function_argv`, the FCALL, is given): its writes propagate as one transaction; past
    busy-reply-threshold the node turns busy and the reply comes by an Await."""
    node = client.node
    prop = node.propagator
    own_txn = not prop.in_transaction
    if own_txn:
        prop.begin_transaction()
    try:
        run, future = eng.start(client, sha, keys, args, readonly)
    except BaseException:
        if own_txn:
            prop.end_transaction()
        raise
    if function_argv is not None:
        run.is_eval = False
        run.argv = function_argv
    nested = client.in_multi or client.is_master_link
    threshold = node.config["busy-reply-threshold"]
    done, reply = eng.wait(future, None if nested else threshold / 1000)
    if done:
        return _finish(client, eng, run, own_txn, reply)
    eng.mark_busy(run)               # other clients get -BUSY from now on

    async def wait_script():
        # run_sync is not cancellable: _finish always runs once the script ended.
        result = await trio.to_thread.run_sync(future.result)
        reply = _finish(client, eng, run, own_txn, result)
        if blocking.READY:
            blocking.serve_ready(client.node)  # keys the script filled: its waiters, after the script
        return reply
    return Await(wait_script)


def _finish(client, eng, run, own_txn, reply):
    node = client.node
    eng.finish(run)
    if own_txn and run.abandoned:
        node.propagator.drop_since(0)      # SHUTDOWN NOSAVE: the writes go nowhere
    if own_txn:
        node.propagator.end_transaction()
    if run.wrote:
        client.woff = node.repl.master_repl_offset
    if reply.__class__ is ReplyError and run.counted_errors and any(
            reply.message.startswith(m) for m in run.counted_errors):
        reply.counted = True       # ERR_REPLY_FLAG_NO_STATS_UPDATE: failed, not recounted
    return reply


@command("eval", -3, "noscript stale skip_monitor no_mandatory_keys", acl="@scripting",
         group=G, getkeys=eval_keys, key_specs=_specs(
             ["RW", "ACCESS", "UPDATE"],
             "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
         summary="Execute a Lua script server side", since="2.6.0",
         complexity="Depends on the script that is executed.")
def eval_(client, argv):
    return _eval(client, argv, False, False)


@command("evalsha", -3, "noscript stale skip_monitor no_mandatory_keys", acl="@scripting",
         group=G, getkeys=eval_keys, key_specs=_RW,
         summary="Execute a Lua script server side", since="2.6.0",
         complexity="Depends on the script that is executed.")
def evalsha(client, argv):
    return _eval(client, argv, True, False)


@command("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys",
         acl="@scripting", group=G, getkeys=eval_keys, key_specs=_specs(
             ["RO", "ACCESS"],
             "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
         summary="Execute a read-only Lua script server side", since="7.0.0",
         complexity="Depends on the script that is executed.")
def eval_ro(client, argv):
    return _eval(client, argv, False, True)


@command("evalsha_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys",
         acl="@scripting", group=G, getkeys=eval_keys, key_specs=_RO,
         summary="Execute a read-only Lua script server side", since="7.0.0",
         complexity="Depends on the script that is executed.")
def evalsha_ro(client, argv):
    return _eval(client, argv, True, True)


container("script", -2, group=G, summary="A container for Lua scripts management commands",
          since="2.6.0", complexity="Depends on subcommand.")

_HELP = [
    b"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    b"DEBUG (YES|SYNC|NO)",
    b"    Set the debug mode for subsequent scripts executed.",
    b"EXISTS <sha1> [<sha1> ...]",
    b"    Return information about the existence of the scripts in the script cache.",
    b"FLUSH [ASYNC|SYNC]",
    b"    Flush the Lua scripts cache. Very dangerous on replicas.",
    b"    When called without the optional mode argument, the behavior is determined by the",
    b"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    b"    * ASYNC: Asynchronously flush the scripts cache.",
    b"    * SYNC: Synchronously flush the scripts cache.",
    b"KILL",
    b"    Kill the currently executing Lua script.",
    b"LOAD <script>",
    b"    Load a script into the scripts cache without executing it.",
    b"HELP",
    b"    Prints this help.",
]


@subcommand("script", "help", 2, "loading stale", acl="@scripting", since="5.0.0",
            summary="Show helpful text about the different subcommands", complexity="O(1)")
def script_help(client, argv):
    return [Status(line) for line in _HELP]


@subcommand("script", "load", 3, "noscript stale", acl="@scripting", since="2.6.0",
            tips="request_policy:all_nodes response_policy:all_succeeded",
            summary="Load the specified Lua script into the script cache.",
            complexity="O(N) with N being the length in bytes of the script body.")
def script_load(client, argv):
    return scripting.engine(client.node).load(argv[2]).encode()


@subcommand("script", "exists", -3, "noscript", acl="@scripting", since="2.6.0",
            tips="request_policy:all_shards response_policy:agg_logical_and",
            summary="Check existence of scripts in the script cache.",
            complexity="O(N) with N being the number of scripts to check (so checking a "
                       "single script is an O(1) operation).")
def script_exists(client, argv):
    scripts = scripting.engine(client.node).scripts
    return [1 if sha.decode("latin-1").lower() in scripts else 0 for sha in argv[2:]]


@subcommand("script", "flush", -2, "noscript", acl="@scripting", since="2.6.0",
            tips="request_policy:all_nodes response_policy:all_succeeded",
            summary="Remove all the scripts from the script cache.",
            complexity="O(N) with N being the number of scripts in cache")
def script_flush(client, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    scripting.engine(client.node).flush()
    return OK


@subcommand("script", "kill", 2, "noscript allow_busy", acl="@scripting", since="2.6.0",
            tips="request_policy:all_shards response_policy:one_succeeded",
            summary="Kill the script currently in execution.", complexity="O(1)")
def script_kill(client, argv):
    run = client.node.script_busy
    if run is None:
        raise ReplyError("NOTBUSY No scripts in execution right now.")
    if run.wrote:
        raise ReplyError(UNKILLABLE)
    if not run.is_eval:                  # a function: FUNCTION KILL ends it
        raise ReplyError(BUSY_FUNCTION)
    run.killed = True
    return OK


@subcommand("script", "debug", 3, "noscript", acl="@scripting", since="3.2.0",
            summary="Set the debug mode for executed scripts.", complexity="O(1)")
def script_debug(client, argv):
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise ReplyError("ERR The Lua debugger (SCRIPT DEBUG YES|SYNC) is not supported")
    raise ReplyError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
