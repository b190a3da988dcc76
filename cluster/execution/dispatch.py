"""A command's way through the node: lookup and arity, the gates, the call, its accounting.

`execute(client, argv)` is what the connection calls for every parsed request; it returns
the reply value (or a `Block` / `Await` telling the connection to wait). Nothing here
does I/O, and nothing here knows the subsystems that may refuse a command: the node hands
over its ordered gates (`node.gates.active`, cluster.execution.gates), run in Redis's
processCommand order between the arity check and the call:

    lookup, arity -> auth, routing, min-replicas, replica, Pub/Sub context, loading,
    busy script, pause, MULTI queueing, MIGRATE in flight -> call -> serve blocked clients

`call` runs the handler and accounts for it: stats, latency histogram and events, slow log,
and the one propagation of a write that changed the dataset (the request, or the commands
of a `Rewritten` reply).
"""
from __future__ import annotations

import time
import traceback

from cluster.base.cstring import c_string
from cluster.execution import blocking, monitor, tracking
from cluster.execution.monitor import MONITORING
from cluster.execution.tracking import TRACKING
from cluster.execution.refusal import reject
from cluster.execution.table import (UNKNOWN, UNKNOWN_SUBCOMMAND, Command, lookup,
                                     resolve)
from cluster.resp.outcomes import Block, Rewritten
from cluster.resp.reply import ReplyError

_perf_ns = time.perf_counter_ns


def unknown_command_error(argv: list[bytes]) -> str:
    # Redis counts the 128 in bytes and prints the bytes as they are; surrogateescape
    # keeps them through the str message to the encoder.
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % c_string(arg)[:128 - len(args)]
    return (b"ERR unknown command '%s', with args beginning with: %s" % (
        c_string(argv[0])[:128], args)).decode("utf-8", "surrogateescape")


def execute(client, argv: list[bytes]):
    """Run one request for `client` and return its reply value."""
    cmd = resolve(argv)
    if cmd.__class__ is int:
        return reject_unresolved(client, argv, cmd)
    node = client.node
    node.current_client = client            # server.current_client (killing it waits)
    for gate in node.gates.active:
        refused = gate(client, cmd, argv)
        if refused is not None:
            if refused.__class__ is str:
                if node.monitors and cmd.name == "exec":
                    monitor.feed(client, argv)  # execCommandAbort: monitors see EXEC
                return reject(client, cmd, refused)
            return refused
    reply = call(client, cmd, argv)
    if blocking.READY and node.script_busy is None:
        blocking.serve_ready(node)  # clients blocked on keys this command created (a busy
                                    # script's waiters are served when the script ends)
    if TRACKING:                    # invalidations waiting for this reply, CLIENT CACHING
        return tracking.after_command(client, cmd, reply)
    return reply


def reject_unresolved(client, argv: list[bytes], why: int) -> ReplyError:
    """The errors of lookupCommand and the arity check, worded as Redis 7.0.15."""
    if why == UNKNOWN:
        return reject(client, None, unknown_command_error(argv))
    cmd = lookup(argv)
    if why == UNKNOWN_SUBCOMMAND:
        return reject(client, None, "ERR unknown subcommand '%s'. Try %s HELP." % (
            argv[1].decode("utf-8", "replace")[:128], cmd.name.upper()))
    return reject(client, cmd, f"ERR wrong number of arguments for '{cmd.name}' command")


def call(client, cmd: Command, argv: list[bytes]):
    """Run the handler, then account for it: stats, slow log, propagation."""
    node = client.node
    ks = node.keyspace
    dirty = ks.dirty
    is_write = cmd.is_write
    rewrite = None
    client.last_cmd = cmd.name              # c->lastcmd: CLIENT LIST's cmd= while it runs
    if MONITORING:                          # any MONITOR client (cluster.execution.monitor)
        monitor.before_call(client, cmd, argv)
    if TRACKING:                            # call()s running: invalidations of the caller
        node.tracking.running.append((client, cmd, argv))     # wait for its reply
    start = _perf_ns()
    try:
        reply = cmd.handler(client, argv)
        if reply.__class__ is Rewritten:       # propagate these commands instead
            rewrite = reply.commands
            reply = reply.reply
    except ReplyError as err:
        reply = err
    except Exception:
        node.log.warning("Error running command '%s': %s" % (
            cmd.name, traceback.format_exc().replace("\n", " | ")))
        reply = ReplyError(f"ERR internal error while running '{cmd.name}'")
    duration = (_perf_ns() - start) // 1000
    if ks.reprice:                          # collections changed: their memory estimate
        ks.settle()
    if MONITORING:
        monitor.after_call(client, cmd, argv, reply)
    if TRACKING:                            # keys read by a tracking client (rules 1, 2)
        tracking.after_call(client, cmd, argv)
    name = cmd.name
    stats = node.stats
    cs = stats.commands.get(name)
    if cs is None:
        cs = stats.command(name)
    cs.calls += 1
    cs.usec += duration
    stats.commands_processed += 1
    if node.latency_tracking:               # latency-tracking: the command's histogram
        hist = cs.hist
        hist[duration] = hist.get(duration, 0) + 1
    if duration >= node.latency_event_us:   # latency-monitor-threshold (cluster.execution.latency)
        node.latency.add_sample(b"fast-command" if "fast" in cmd.flags else b"command",
                                duration // 1000)
    if reply.__class__ is ReplyError:
        cs.failed += 1
        if not reply.counted:
            stats.count_error(reply.message)
    if is_write and ks.dirty != dirty:
        if rewrite is None:
            node.propagator.feed(client.db.id, argv)
        else:
            node.propagator.feed_all(client.db.id, rewrite)
        client.woff = node.repl.master_repl_offset     # WAIT waits for this client's last write
    if client.asking and name != "asking" and not client.in_multi:
        client.asking = False
    if reply.__class__ is Block:            # the slow log hears of it as it unblocks
        if reply.ready is not None and "skip_slowlog" not in cmd.flags:
            reply.ready.logged = (monitor.redacted(cmd, argv, reply), start)
    elif duration >= node.slowlog_threshold >= 0 and "skip_slowlog" not in cmd.flags:
        node.slowlog.add(monitor.redacted(cmd, argv, reply), duration,  # AUTH's password..
                         ks.now_ms // 1000, client.addr, client.name,
                         node.config["slowlog-max-len"])
    return reply
