"""A command's way through the node: lookup, arity, auth, MULTI queueing, call, stats.

`execute(client, argv)` is what the connection calls for every parsed request; it returns
the reply value (or a `Block` / `Await` telling the connection to wait). Nothing here
does I/O.
"""
from __future__ import annotations

import time
import traceback

from cluster.execution import blocking
from cluster.execution import inflight
from cluster.persistence import loading
from cluster.execution import pause
from cluster.replication import primary as repl_primary
from cluster.replication.replica import refuse_for as replica_refusal
from cluster.resp.outcomes import Await
from cluster.resp.reply import QUEUED, ReplyError
from cluster.execution.routing import refuse, route
from cluster.execution.table import TABLE, Command

_perf_ns = time.perf_counter_ns
MULTI_CONTROL = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))
BUSY = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
        "NOSAVE.")
# What a RESP2 client in subscribed mode may run (processCommand's pubsub context).
PUBSUB_ALLOWED = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                            "psubscribe", "punsubscribe", "quit", "reset"))

# Raw command name (any case seen so far) -> Command: skips decode+lower on the hot path.
_BY_RAW: dict[bytes, Command] = {}


def _resolve(argv: list[bytes]) -> Command | None:
    raw = argv[0]
    cmd = _BY_RAW.get(raw)
    if cmd is None:
        try:
            cmd = TABLE.get(raw.decode("utf-8", "surrogateescape").lower())
        except Exception:
            return None
        if cmd is None:
            return None
        if len(_BY_RAW) < 4096:
            _BY_RAW[raw] = cmd
    return cmd


def _c_string(raw: bytes) -> bytes:
    """What C's %s prints of an argument: up to its first NUL."""
    nul = raw.find(b"\0")
    return raw if nul == -1 else raw[:nul]


def unknown_command_error(argv: list[bytes]) -> str:
    # Redis counts the 128 in bytes and prints the bytes as they are; surrogateescape
    # keeps them through the str message to the encoder.
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'%s' " % _c_string(arg)[:128 - len(args)]
    return (b"ERR unknown command '%s', with args beginning with: %s" % (
        _c_string(argv[0])[:128], args)).decode("utf-8", "surrogateescape")


def execute(client, argv: list[bytes]):
    """Run one request for `client` and return its reply value."""
    cmd = _BY_RAW.get(argv[0])
    if cmd is None:
        cmd = _resolve(argv)
        if cmd is None:
            return reject(client, None, unknown_command_error(argv))
    argc = len(argv)
    if cmd.subcommands:
        if argc >= 2:
            sub = cmd.subcommands.get(argv[1].decode("utf-8", "replace").lower())
            if sub is None:
                return reject(client, None,
                              "ERR unknown subcommand '%s'. Try %s HELP." % (
                                  argv[1].decode("utf-8", "replace")[:128], cmd.name.upper()))
            cmd = sub
    arity = cmd.arity
    if (arity > 0 and argc != arity) or argc < -arity:
        return reject(client, cmd, f"ERR wrong number of arguments for '{cmd.name}' command")
    if not client.authenticated and not cmd.no_auth:
        return reject(client, cmd, "NOAUTH Authentication required.")
    node = client.node
    if node.cluster is not None and not client.is_master_link:
        refused = route(client, cmd, argv)      # MOVED / ASK / CROSSSLOT / ... (routing.py)
        if refused is not None:
            return refuse(client, cmd, refused)
    if node.repl_link is not None and not client.is_master_link:
        refused = replica_refusal(client, cmd)         # READONLY / MASTERDOWN
        if refused is not None:
            return reject(client, cmd, refused)
    if (node.config.values["min-replicas-to-write"] and not client.is_master_link
            and (cmd.is_write or (cmd.name == "exec" and client.in_multi and any(
                c.is_write for c, _ in client.multi_queue)))
            and repl_primary.too_few_good_replicas(node)):
        return reject(client, cmd, "NOREPLICAS Not enough good replicas to write.")
    if pause.ACTIVE:
        postponed = pause.postpone(client, cmd, argv)     # CLIENT PAUSE / manual failover
        if postponed is not None:
            return postponed
    if client.flags_extra == "pubsub" and client.resp == 2 and cmd.name not in PUBSUB_ALLOWED:
        return reject(client, cmd, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
                      "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
                      % cmd.name)
    if getattr(node, "loading", None) is not None:
        refused = loading.refusal(client, cmd)       # -LOADING (cluster.persistence.loading)
        if refused is not None:
            return reject(client, cmd, refused)
    if node.script_busy is not None and "allow_busy" not in cmd.flags:
        return reject(client, cmd, BUSY)         # a script runs past busy-reply-threshold
    if client.in_multi and cmd.name not in MULTI_CONTROL:
        if cmd.no_multi:
            return reject(client, cmd, "ERR Command not allowed inside a transaction")
        client.multi_queue.append((cmd, argv))
        return QUEUED
    if inflight.ACTIVE:
        held_by = inflight.blocker(client, cmd, argv)     # a key of a MIGRATE in flight
        if held_by is not None:
            return Await(inflight.wait_then_execute(client, argv, held_by))
    reply = call(client, cmd, argv)
    if blocking.READY:
        blocking.serve_ready()              # clients blocked on keys this command created
    return reply


def reject(client, cmd: Command | None, message: str) -> ReplyError:
    """A command refused before running (counts as rejected; aborts an open MULTI)."""
    node = client.node
    if client.in_multi:
        client.multi_error = True
    if cmd is not None and cmd.name == "exec":
        # A refused EXEC discards the transaction and says why (execCommandAbort).
        client.reset_multi()
        client.unwatch_all()
        message = "EXECABORT Transaction discarded because of: " + (
            message[4:] if message.startswith("ERR ") else message)
    node.stats.count_error(message)
    if cmd is not None:
        node.stats.command(cmd.name).rejected += 1
    if client.asking and not client.in_multi and (cmd is None or cmd.name != "asking"):
        client.asking = False       # resetClient: ASKING lasts one command, rejected too
    return ReplyError(message)


def call(client, cmd: Command, argv: list[bytes]):
    """Run the handler, then account for it: stats, slow log, propagation."""
    node = client.node
    ks = node.keyspace
    dirty = ks.dirty
    is_write = cmd.is_write
    if is_write:
        client.propagate_as = None
    start = _perf_ns()
    try:
        reply = cmd.handler(client, argv)
    except ReplyError as err:
        reply = err
    except Exception:
        node.log.warning("Error running command '%s': %s" % (
            cmd.name, traceback.format_exc().replace("\n", " | ")))
        reply = ReplyError(f"ERR internal error while running '{cmd.name}'")
    duration = (_perf_ns() - start) // 1000
    name = cmd.name
    stats = node.stats
    cs = stats.commands.get(name)
    if cs is None:
        cs = stats.command(name)
    cs.calls += 1
    cs.usec += duration
    stats.commands_processed += 1
    if reply.__class__ is ReplyError:
        cs.failed += 1
        stats.count_error(reply.message)
    if is_write and ks.dirty != dirty:
        rewrite = client.propagate_as
        if rewrite is None:
            node.propagator.feed(client.db.id, argv)
        else:
            node.propagator.feed_all(client.db.id, rewrite)
        client.woff = node.master_repl_offset     # WAIT waits for this client's last write
    client.last_cmd = name
    if client.asking and name != "asking" and not client.in_multi:
        client.asking = False
    if duration >= node.slowlog_threshold >= 0 and "skip_slowlog" not in cmd.flags:
        node.slowlog.add(argv, duration, ks.now_ms // 1000, client.addr, client.name,
                         node.config["slowlog-max-len"])
    return reply
