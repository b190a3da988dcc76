"""Server commands: INFO, CONFIG, TIME, LASTSAVE, SLOWLOG, SHUTDOWN, WAIT.

CLIENT lives in `server_client`, DEBUG and MEMORY in `server_debug` (`cluster.commands.registry`
imports them right after this module).
"""
from __future__ import annotations

from cluster.commands.args import NOT_INT, SYNTAX, parse_int, string2ll
from cluster.commands.checks import allow_protected
from cluster.commands.help import help_reply
from cluster.config.live import ConfigError, ConfigSetError
from cluster.persistence import shutdown as shutdown_flags
from cluster.resp.outcomes import Block
from cluster.commands.info_sections import info_text
from cluster.replication import primary as repl_primary
from cluster.replication.wait_block import WaitBlock
from cluster.resp.reply import OK, ReplyError, Verbatim
from cluster.execution.gates import BUSY, BUSY_FUNCTION
from cluster.execution.table import command, container, subcommand


# -- INFO -------------------------------------------------------------------------------
@command("info", -1, "loading stale", acl="@dangerous", group="server", since="1.0.0",
         summary="Get information and statistics about the server",
         tips="nondeterministic_output request_policy:all_shards response_policy:special")
def info(client, argv):
    return Verbatim(info_text(client.node, argv[1:]))


# -- CONFIG -----------------------------------------------------------------------------
container("config", -2, group="server", since="2.0.0",
          summary="A container for server configuration commands")

_CONFIG_HELP = [
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
]


@subcommand("config", "get", -3, "admin noscript loading stale", since="2.0.0",
            summary="Get the values of configuration parameters")
def config_get(client, argv):
    patterns = [a.decode("utf-8", "surrogateescape") for a in argv[2:]]
    found = client.node.config.get_many(patterns)
    return {k.encode("utf-8", "surrogateescape"): v.encode("utf-8", "surrogateescape")
            for k, v in found.items()}


@subcommand("config", "set", -4, "admin noscript loading stale", since="2.0.0",
            summary="Set configuration parameters to the given values",
            tips="request_policy:all_nodes response_policy:all_succeeded")
def config_set(client, argv):
    if len(argv) % 2:
        raise ReplyError(SYNTAX)
    config = client.node.config
    pairs = [(argv[i].decode("utf-8", "surrogateescape"),
              argv[i + 1].decode("utf-8", "surrogateescape")) for i in range(2, len(argv), 2)]
    try:
        config.set_many(pairs, allow_protected(client, config["enable-protected-configs"]),
                        client.node.persist.loading is not None)
    except ConfigSetError as err:
        raise ReplyError(err.message) from None
    return OK


@subcommand("config", "resetstat", 2, "admin noscript loading stale", since="2.0.0",
            summary="Reset the server's statistics")
def config_resetstat(client, argv):
    node = client.node
    node.stats.reset()
    ks = node.keyspace
    ks.hits = ks.misses = ks.expired = 0
    return OK


@subcommand("config", "rewrite", 2, "admin noscript loading stale", since="2.8.0",
            summary="Overwrite the configuration file with the in-memory configuration")
def config_rewrite(client, argv):
    node = client.node
    if not node.config.file:
        raise ReplyError("ERR The server is running without a config file")
    try:
        node.config.rewrite()
    except (OSError, ConfigError) as err:
        reason = err.strerror if isinstance(err, OSError) else str(err)
        node.log.warning(f"CONFIG REWRITE failed: {reason}")
        raise ReplyError(f"ERR Rewriting config file: {reason}") from None
    node.log.notice("CONFIG REWRITE executed with success.")
    return OK


@subcommand("config", "help", 2, "loading stale", since="5.0.0",
            summary="Show helpful text about the different subcommands")
def config_help(client, argv):
    return help_reply("CONFIG", _CONFIG_HELP)


# -- TIME, LASTSAVE ---------------------------------------------------------------------
@command("time", 1, "loading stale fast", group="server", since="2.6.0",
         summary="Return the current server time", tips="nondeterministic_output")
def time_(client, argv):
    now_ms = client.node.now_ms
    return [b"%d" % (now_ms // 1000), b"%d" % (now_ms % 1000 * 1000)]


@command("lastsave", 1, "loading stale fast", acl="@admin @dangerous", group="server",
         since="1.0.0", summary="Get the UNIX time stamp of the last successful save to disk",
         tips="nondeterministic_output")
def lastsave(client, argv):
    return client.node.persist.last_save_s


# -- SLOWLOG ----------------------------------------------------------------------------
container("slowlog", -2, group="server", since="2.2.12",
          summary="A container for slow log commands")

_SLOWLOG_HELP = [
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
]


@subcommand("slowlog", "get", -2, "admin loading stale", since="2.2.12",
            summary="Get the slow log's entries",
            tips="request_policy:all_nodes nondeterministic_output")
def slowlog_get(client, argv):
    count = 10
    if len(argv) == 3:
        count = string2ll(argv[2])
        if count is None or count < -1:
            raise ReplyError("ERR count should be greater than or equal to -1")
        if count == -1:
            count = len(client.node.slowlog.entries)
    elif len(argv) > 3:
        raise ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                         "Try SLOWLOG HELP." % argv[1].decode("utf-8", "replace")[:128])
    out = []
    for entry in list(client.node.slowlog.entries)[:count]:
        ident, when, duration, args, addr, name = entry
        out.append([ident, when, duration, list(args), addr, name])
    return out


@subcommand("slowlog", "len", 2, "admin loading stale", since="2.2.12",
            summary="Get the slow log's length",
            tips="request_policy:all_nodes response_policy:agg_sum nondeterministic_output")
def slowlog_len(client, argv):
    return len(client.node.slowlog.entries)


@subcommand("slowlog", "reset", 2, "admin loading stale", since="2.2.12",
            summary="Clear all entries from the slow log",
            tips="request_policy:all_nodes response_policy:all_succeeded")
def slowlog_reset(client, argv):
    client.node.slowlog.entries.clear()
    return OK


@subcommand("slowlog", "help", 2, "loading stale", since="6.2.0",
            summary="Show helpful text about the different subcommands")
def slowlog_help(client, argv):
    return help_reply("SLOWLOG", _SLOWLOG_HELP)


# -- SHUTDOWN, WAIT ---------------------------------------------------------------------
@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         since="1.0.0", summary="Synchronously save the dataset to disk and then shut down "
                                "the server")
def shutdown(client, argv):
    flags = set()
    abort = False
    for raw in argv[1:]:
        word = raw.lower()
        if word in (b"nosave", b"save", b"now", b"force"):
            flags.add(word)
        elif word == b"abort":
            abort = True
        else:
            raise ReplyError(SYNTAX)
    if (abort and flags) or {b"save", b"nosave"} <= flags:
        raise ReplyError(SYNTAX)
    if abort:
        raise ReplyError("ERR No shutdown in progress.")
    node = client.node
    busy = node.script_busy
    if busy is not None:
        # A script past busy-reply-threshold: only SHUTDOWN NOSAVE, which abandons it
        # (its writes are neither saved nor propagated: the process ends without them).
        if b"nosave" not in flags:
            raise ReplyError(BUSY if busy.is_eval else BUSY_FUNCTION)
        busy.abandon()
    # Read by the persistence layer when it stops: True save, False don't, None: as configured.
    shutdown_flags.set_flags(node, flags)     # save / nosave / now / force
    node.request_shutdown()
    return Block(None, None)   # no reply: the connection closes when the server stops


@command("wait", 3, "noscript", acl="@connection", group="generic", since="3.0.0",
         summary="Wait for the synchronous replication of all the write commands sent in the "
                 "context of the current connection",
         tips="request_policy:all_shards response_policy:agg_min")
def wait(client, argv):
    numreplicas = parse_int(argv[1], NOT_INT)
    timeout = string2ll(argv[2])
    if timeout is None:
        raise ReplyError("ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise ReplyError("ERR timeout is negative")
    node = client.node
    if node.repl.link is not None:
        raise ReplyError("ERR WAIT cannot be used with replica instances. Please also note "
                         "that since Redis 4.0 if a replica is configured to be writable "
                         "(which is not the default) writes to replicas are just local and "
                         "are not propagated.")
    if node.repl.primary is not None:
        return repl_primary.wait(client, numreplicas, timeout)
    acked = 0   # no replica has ever attached: nobody acks
    if acked >= numreplicas or client.in_multi:
        return acked
    return Block(timeout or None, acked, WaitBlock(client, lambda: acked, numreplicas))
