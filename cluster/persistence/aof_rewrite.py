"""One AOF rewrite: a `cluster.keyspace.snapshot` view written as the next base file
(cluster.persistence.aof_base), chunk by chunk from a trio system task (the node keeps
serving), or in one go outside trio (tests).

The temp file is `temp-rewriteaof-bg-<pid>-<n>.aof` in `dir`; it is fsynced, then handed to
`Aof.rewrite_done`, which renames it into the AOF directory and swaps the manifest.
"""
from __future__ import annotations

import itertools
import os
import time

import trio

from cluster.keyspace import snapshot
from cluster.persistence.aof_base import base_chunks

_SEQ = itertools.count(1)      # distinct temp names when an aborted rewrite still runs


class Rewrite:
    """`aof` (a cluster.persistence.aof.Aof) gets `rewrite_done` / `rewrite_failed` at the
    end; `new_incr` is the incr file opened for it (None: an offline, base-only rewrite)."""

    def __init__(self, aof, new_incr: tuple[str, int] | None):
        self.aof = aof
        self.new_incr = new_incr
        self.view = snapshot.take(aof.node.keyspace)
        self.tmp = f"temp-rewriteaof-bg-{os.getpid()}-{next(_SEQ)}.aof"
        self.aborted = False
        self.started = time.monotonic()
        self.rdb = bool(aof.node.config["aof-use-rdb-preamble"])

    def start(self) -> None:
        self.aof.node.persist.aof_rewrite_in_progress = True
        self.aof.node.log.notice(
            f"Background append only file rewriting started by pid {os.getpid()}")
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            self.run_sync()
            return
        trio.lowlevel.spawn_system_task(self.run_async)

    def abort(self) -> None:
        self.aborted = True

    def _chunks(self):
        return base_chunks(self.aof.node, self.view, self.rdb)

    def run_sync(self) -> None:
        try:
            with open(self.tmp, "wb") as f:
                for chunk in self._chunks():
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except Exception as err:     # noqa: BLE001 - any failure fails the rewrite
            self._fail(err)
            return
        self._done()

    async def run_async(self) -> None:
        try:
            with open(self.tmp, "wb") as f:
                for chunk in self._chunks():
                    if self.aborted:
                        raise RuntimeError("aborted")
                    f.write(chunk)
                    await trio.sleep(0)
                f.flush()
                await trio.to_thread.run_sync(os.fsync, f.fileno())
        except BaseException as err:    # noqa: BLE001 - cancelled at exit, disk errors
            self._fail(err)
            if not isinstance(err, Exception):
                raise
            return
        self._done()

    def _fail(self, err) -> None:
        self.view.release()
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
        aof = self.aof
        if aof.rewrite is self:
            aof.rewrite = None
            aof.node.persist.aof_rewrite_in_progress = False
        if not self.aborted:
            aof.rewrite_failed(str(err) or err.__class__.__name__)

    def _done(self) -> None:
        self.view.release()
        aof = self.aof
        if aof.rewrite is self:
            aof.rewrite = None
            aof.node.persist.aof_rewrite_in_progress = False
        if self.aborted:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            return
        aof.node.log.notice("Background AOF rewrite terminated with success")
        aof.node.persist.aof_last_rewrite_time_sec = int(time.monotonic() - self.started)
        aof.rewrite_done(self.tmp, self.new_incr)
