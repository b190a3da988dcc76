"""SAVE and BGSAVE [SCHEDULE] (cluster.persistence.rdb_file does the work; LASTSAVE is in
server.py)."""
from __future__ import annotations

from cluster.persistence import rdb_file as persist_rdb
from cluster.resp.reply import OK, ReplyError, Status
from cluster.execution.table import command

_IN_PROGRESS = "ERR Background save already in progress"
_OTHER_CHILD = ("ERR Another child process is active (AOF?): can't BGSAVE right now. "
                "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")


def flushall_save(node) -> None:
    """FLUSHALL's persistence step (flushAllDataAndResetRDB), run after the flush: with
    save points configured, the emptied dataset is saved at once, so the dump on disk
    cannot bring the flushed keys back, and rdb_changes_since_last_save starts again
    from 0. Redis kills a running BGSAVE child first; a BGSAVE here cannot be stopped
    midway, so while one runs the save is left to it and the save points."""
    if persist_rdb.save_points(node) and node.persist.bgsave_in_progress is None:
        persist_rdb.save(node)


@command("save", 1, "admin noscript no_async_loading no_multi", group="server",
         since="1.0.0", summary="Synchronously save the dataset to disk",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client, argv):
    node = client.node
    if node.persist.bgsave_in_progress is not None:
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
    if node.persist.bgsave_in_progress is not None:
        raise ReplyError(_IN_PROGRESS)
    if node.persist.aof_rewrite_in_progress:
        # Inside EXEC (the client is still in MULTI while its queue runs) a BGSAVE is
        # scheduled too, as Redis does for server.in_exec.
        if schedule or client.in_multi:
            persist_rdb.schedule_bgsave(node)
            return Status(b"Background saving scheduled")
        raise ReplyError(_OTHER_CHILD)
    persist_rdb.start_bgsave(node)
    return Status(b"Background saving started")
