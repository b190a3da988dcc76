"""BGREWRITEAOF (cluster.persistence.aof does the work)."""
from __future__ import annotations

from cluster.persistence import aof as persist_aof
from cluster.resp.reply import ReplyError, Status
from cluster.execution.table import command


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server",
         since="1.0.0", summary="Asynchronously rewrite the append-only file to disk",
         complexity="O(1)")
def bgrewriteaof(client, argv):
    result = persist_aof.bgrewriteaof(client.node)
    if result == "busy":
        raise ReplyError("ERR Background append only file rewriting already in progress")
    if result == "scheduled":
        return Status(b"Background append only file rewriting scheduled")
    return Status(b"Background append only file rewriting started")
