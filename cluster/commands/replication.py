"""REPLICAOF / SLAVEOF host port | NO ONE (the replica side of replication)."""
from __future__ import annotations

from cluster.replication import replica as repl_replica
from cluster.base.numbers import string2ll
from cluster.resp.reply import OK, ReplyError, Status
from cluster.execution.table import command

_ALREADY = Status(b"OK Already connected to specified master")


def _replicaof(client, argv):
    node = client.node
    if node.cluster is not None:
        raise ReplyError("ERR REPLICAOF not allowed in cluster mode.")
    if node.failover.active:            # cluster.replication.failover, rule 6
        raise ReplyError("ERR REPLICAOF not allowed while failing over.")
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if node.repl.link is not None:
            repl_replica.unset_master(node)
            node.log.notice(f"MASTER MODE enabled (user request from "
                            f"'id={client.id} addr={client.addr}')")
        return OK
    if client.is_replica:
        raise ReplyError("ERR Command is not valid when client is a replica.")
    port = string2ll(argv[2])
    if port is None or not 0 <= port <= 65535:
        raise ReplyError("ERR Invalid master port")
    host = argv[1].decode("utf-8", "surrogateescape")
    link = node.repl.link
    if link is not None and link.host.lower() == host.lower() and link.port == port:
        node.log.notice("REPLICAOF would result into synchronization with the master we "
                        "are already connected with. No operation performed.")
        return _ALREADY
    repl_replica.set_master(node, host, port)
    node.log.notice(f"REPLICAOF {host}:{port} enabled (user request from "
                    f"'id={client.id} addr={client.addr}')")
    return OK


@command("replicaof", 3, "admin noscript stale no_async_loading", group="server",
         summary="Make the server a replica of another instance, or promote it as master.",
         since="5.0.0", complexity="O(1)")
def replicaof(client, argv):
    return _replicaof(client, argv)


@command("slaveof", 3, "admin noscript stale no_async_loading", group="server",
         summary="Make the server a replica of another instance, or promote it as master.",
         since="1.0.0", complexity="O(1)",
         doc_flags="deprecated")
def slaveof(client, argv):
    return _replicaof(client, argv)


@command("role", 1, "noscript loading stale fast", group="server",
         acl="@admin @dangerous",
         summary="Return the role of the instance in the context of replication",
         since="2.8.12", complexity="O(1)")
def role(client, argv):
    node = client.node
    link = node.repl.link
    if link is not None:
        return link.role_reply()
    # The primary shape; the primary side (when present) lists its online replicas as
    # [ip, port, acked offset].
    primary = node.repl.primary
    return [b"master", node.repl.master_repl_offset,
            primary.role_replicas() if primary is not None else []]
