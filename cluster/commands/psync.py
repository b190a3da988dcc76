"""PSYNC / SYNC / REPLCONF: the commands a replica sends its primary (primary side).

PSYNC and SYNC answer through the hand-over: the handler attaches the replica
(cluster.replication.primary) with `+CONTINUE` + the backlog tail queued, or with a full sync to
send (`+FULLRESYNC`, then the RDB of a `cluster.keyspace.snapshot` view taken here, at the offset
it announces), and sets `client.handover`; the connection (cluster.server.edge) then gives the
socket to `repl_primary.serve_replica` instead of sending a reply.
"""
from __future__ import annotations

import trio

from cluster.replication import failover as repl_failover
from cluster.replication import primary as repl_primary
from cluster.replication.state import ZERO_ID
from cluster.keyspace import snapshot
from cluster.commands.args import NOT_INT, parse_int
from cluster.encoding.rdb import default_aux
from cluster.resp.reply import NO_REPLY, OK, ReplyError
from cluster.execution.table import command

_FLAGS = "admin noscript no_async_loading no_multi"


def _start(client, replid: str, want: int | None):
    node = client.node
    if client.is_replica:
        return None          # already a replica: ignored, as Redis does
    _refuse_during_failover(node)
    primary = repl_primary.get(node)
    conf = client.repl_conf or {}
    capa = conf.get("capa", set())
    partial = primary.try_partial(replid, want) if want is not None else None
    if partial is not None:
        link = primary.attach(client, capa)
        link.state = "online"
        header = (b"+CONTINUE %s\r\n" % primary.replid.encode() if "psync2" in capa
                  else b"+CONTINUE\r\n")
        link.pending = [header, partial]
        link.pending_bytes = len(header) + len(partial)
        node.stats.sync_partial_ok += 1
        node.log.notice(f"Partial resynchronization request from {client.addr} accepted. "
                        f"Sending {len(partial)} bytes of backlog starting from offset "
                        f"{want}.")
    else:
        if want is not None and replid != "?":
            node.stats.sync_partial_err += 1
        repl = node.repl
        if (primary.backlog is None and not primary.replicas and repl.link is None
                and repl.replid2 == ZERO_ID):
            # a new history: the first replica of a primary (syncCommand)
            repl.new_replid()
            repl.replid2, repl.second_repl_offset = ZERO_ID, -1
        primary.create_backlog()
        node.propagator.reselect()        # the stream after the snapshot starts with SELECT
        try:
            fill = int(node.config["list-max-listpack-size"])
        except (KeyError, ValueError, TypeError):
            fill = -2
        aux = default_aux(node, primary.replid, primary.offset)
        view = snapshot.take(node.keyspace)
        link = primary.attach(client, capa)
        header = (b"+FULLRESYNC %s %d\r\n" % (primary.replid.encode(), primary.offset)
                  if want is not None else b"")
        eof = "eof" in capa
        link.full_sync = repl_primary.FullSync(header, view, aux, fill, eof)
        if eof:
            link.first_ack = trio.Event()
        node.stats.sync_full += 1
        node.log.notice(f"Replica {client.addr} asks for synchronization; full resync "
                        f"of {view.keys()} keys at offset {primary.offset}")
    client.replica_link = link
    client.handover = repl_primary.serve_replica
    return None


@command("psync", -3, _FLAGS, acl="@admin", group="server", since="2.8.0",
         summary="Internal command used for replication")
def psync(client, argv):
    if client.is_replica:
        return None          # already a replica: ignored, as Redis does
    if len(argv) > 3 and argv[3].lower() == b"failover":
        repl_failover.promote_on_request(client, argv)    # FAILOVER's target, or an error
    _refuse_during_failover(client.node)
    want = parse_int(argv[2], NOT_INT)
    return _start(client, argv[1].decode("utf-8", "replace"), want)


def _refuse_during_failover(node) -> None:
    why = repl_failover.sync_refusal(node)
    if why is not None:
        raise ReplyError(why)


@command("sync", 1, _FLAGS, acl="@admin", group="server", since="1.0.0",
         summary="Internal command used for replication")
def sync(client, argv):
    return _start(client, "?", None)


@command("replconf", -1, "admin noscript loading stale allow_busy", acl="@admin",
         group="server", since="3.0.0", complexity="O(1)", doc_flags="syscmd",
         summary="An internal command for configuring the replication stream")
def replconf(client, argv):
    if len(argv) % 2 == 0:
        raise ReplyError("ERR syntax error")
    conf = client.repl_conf
    if conf is None:
        conf = client.repl_conf = {"capa": set()}
    for j in range(1, len(argv), 2):
        opt = argv[j].lower()
        val = argv[j + 1]
        if opt == b"listening-port":
            conf["port"] = parse_int(val, NOT_INT)
        elif opt == b"ip-address":
            conf["ip"] = val.decode("utf-8", "replace")
        elif opt == b"capa":
            conf["capa"].add(val.decode("utf-8", "replace").lower())
        elif opt == b"ack":
            if client.is_replica:
                repl_primary.get(client.node).ack(client, parse_int(val, NOT_INT))
            return NO_REPLY      # never answered (a non-replica too, as Redis)
        elif opt == b"getack":
            return NO_REPLY      # answered by the replica link (cluster.replication.replica)
        elif opt in (b"rdb-only", b"rdb-filter-only"):
            pass
        else:
            raise ReplyError("ERR Unrecognized REPLCONF option: %s"
                             % argv[j].decode("utf-8", "replace"))
    return OK
