"""FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]: a coordinated failover of
a standalone primary to one of its replicas (the state machine: cluster.replication.failover).

The rules, in Redis 7.0's order (failoverCommand):

1. Never in cluster mode (CLUSTER FAILOVER is the way there).
2. `FAILOVER ABORT`, alone: abort the failover on, or "No failover in progress.".
3. The arguments: TIMEOUT (once; an integer > 0), TO host port (once; the port an integer,
   never range-checked), FORCE (once); anything else, ABORT among others included, is a
   syntax error. Parsing stops at the first error.
4. Then the refusals: a failover already on; we are a replica; no replica attached;
   FORCE without both TIMEOUT and TO; a TO address no attached replica announced; a TO
   replica not online.
5. Accepted: the writes are paused and the failover waits for a replica (+OK at once).
"""
from __future__ import annotations

from typing import NamedTuple

from cluster.base.numbers import string2ll
from cluster.commands.args import NOT_INT, SYNTAX
from cluster.replication import failover as repl_failover
from cluster.resp.reply import OK, ReplyError
from cluster.execution.table import TABLE, command

IN_CLUSTER = "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead."
NOTHING_TO_ABORT = "ERR No failover in progress."
BAD_TIMEOUT = "ERR FAILOVER timeout must be greater than 0"
ALREADY = "ERR FAILOVER already in progress."
ON_A_REPLICA = "ERR FAILOVER is not valid when server is a replica."
NO_REPLICAS = "ERR FAILOVER requires connected replicas."
FORCE_NEEDS = ("ERR FAILOVER with force option requires both a timeout and target HOST "
               "and IP.")
NOT_A_REPLICA = "ERR FAILOVER target HOST and PORT is not a replica."
NOT_ONLINE = "ERR FAILOVER target replica is not online."


class Request(NamedTuple):
    host: str | None        # TO host (None: any replica)
    port: int
    timeout_ms: int         # 0: wait for ever
    force: bool


def parse(argv: list[bytes]) -> Request:
    """Rule 3 (ABORT alone is the caller's): the request, or the first ReplyError."""
    timeout_ms, port, host, force = 0, 0, None, False
    j, argc = 1, len(argv)
    while j < argc:
        word = argv[j].lower()
        if word == b"timeout" and j + 1 < argc and timeout_ms == 0:
            value = string2ll(argv[j + 1])
            if value is None:
                raise ReplyError(NOT_INT)
            if value <= 0:
                raise ReplyError(BAD_TIMEOUT)
            timeout_ms = value
            j += 2
        elif word == b"to" and j + 2 < argc and host is None:
            value = string2ll(argv[j + 2])
            if value is None:
                raise ReplyError(NOT_INT)
            host, port = argv[j + 1].decode("utf-8", "surrogateescape"), value
            j += 3
        elif word == b"force" and not force:
            force = True
            j += 1
        else:
            raise ReplyError(SYNTAX)
    return Request(host, port, timeout_ms, force)


def refusal(node, req: Request) -> str | None:
    """Rule 4: why the request cannot start now, or None."""
    if node.failover.active:
        return ALREADY
    if node.repl.link is not None:
        return ON_A_REPLICA
    primary = node.repl.primary
    if primary is None or not primary.replicas:
        return NO_REPLICAS
    if req.force and not (req.timeout_ms and req.host is not None):
        return FORCE_NEEDS
    if req.host is not None:
        target = repl_failover.find_replica(node, req.host, req.port)
        if target is None:
            return NOT_A_REPLICA
        if target.state != "online":
            return NOT_ONLINE
    return None


@command("failover", -1, "admin noscript stale", group="server",
         summary="Start a coordinated failover between this server and one of its replicas.",
         since="6.2.0", complexity="O(1)")
def failover(client, argv):
    node = client.node
    if node.cluster is not None:
        raise ReplyError(IN_CLUSTER)
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if not node.failover.active:
            raise ReplyError(NOTHING_TO_ABORT)
        repl_failover.abort(node, "Failover manually aborted")
        return OK
    req = parse(argv)
    why = refusal(node, req)
    if why is not None:
        raise ReplyError(why)
    repl_failover.start(node, req.host, req.port, req.timeout_ms, req.force)
    return OK


TABLE["failover"].arguments = (
    {"name": "target", "type": "block", "token": "TO", "flags": ("optional",), "arguments": (
        {"name": "host", "type": "string"},
        {"name": "port", "type": "integer"},
        {"name": "force", "type": "pure-token", "token": "FORCE", "flags": ("optional",)},
    )},
    {"name": "abort", "type": "pure-token", "token": "ABORT", "flags": ("optional",)},
    {"name": "milliseconds", "type": "integer", "token": "TIMEOUT", "flags": ("optional",)},
)
