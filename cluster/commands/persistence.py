"""SAVE and BGSAVE [SCHEDULE] (cluster.persistence.rdb_file does the work; LASTSAVE is in server.py)."""
from __future__ import annotations

from cluster.persistence import rdb_file as persist_rdb
from cluster.resp.reply import OK, ReplyError, Status
from cluster.execution.table import command

_IN_PROGRESS = "ERR Background save already in progress"
_OTHER_CHILD = ("ERR Another child process is active (AOF?): can't BGSAVE right now. "
                "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")


@command("save", 1, "admin noscript no_async_loading no_multi", group="server",
         since="1.0.0", summary="Synchronously save the dataset to disk",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client, argv):
    node = client.node
    if getattr(node, "bgsave_in_progress", None) is not None:
        raise ReplyError(_IN_PROGRESS)
    if not persist_rdb.save(node):
        raise ReplyError("ERR")
    return OK


@command("bgsave", -1, "admin noscript no_async_loading", group="server", since="1.0.0",
         summary="Asynchronously save the dataset to disk", complexity="O(1)")
def bgsave(client, argv):
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise ReplyError("ERR syntax error")
    node = client.node
    if getattr(node, "bgsave_in_progress", None) is not None:
        raise ReplyError(_IN_PROGRESS)
    in_exec = getattr(client, "in_exec", False)
    if getattr(node, "aof_rewrite_in_progress", None) or in_exec:
        if schedule or in_exec:
            persist_rdb._state(node).scheduled = True
            return Status(b"Background saving scheduled")
        raise ReplyError(_OTHER_CHILD)
    persist_rdb.start_bgsave(node)
    return Status(b"Background saving started")
