"""The start-up load and the -LOADING state.

`start_up(node, then)` is the task the server edge starts once its listeners are up:
it loads the dataset - the AOF when `appendonly yes` (cluster.persistence.aof, which
starts empty when there are no AOF files), else the RDB (`dbfilename`) - while clients get
`-LOADING Redis is loading the dataset in memory` for every command without the
`loading` flag (`loading_gate`; the dump is parsed in a worker thread, then its keys are
put in place in batches of persist_rdb.LOAD_BATCH with the loop answering -LOADING in
between; the AOF is replayed in steps the same way); then it runs the RDB runner (BGSAVE
jobs, the save schedule) and `then` (the replication link, which must see the
replid/offset the dump restored). A file that cannot be loaded is fatal, as in Redis: the
reason is logged in Redis's words and the process exits with status 1 - never with half
a file loaded.

node.persist.loading is the Progress while loading, None otherwise.
"""
from __future__ import annotations

import os
import sys
import time

import trio

from cluster.persistence import aof as persist_aof
from cluster.persistence import rdb_file as persist_rdb
from cluster.persistence.rdb_file import LoadError

LOADING = "LOADING Redis is loading the dataset in memory"


class Progress:
    """What INFO persistence shows while loading (loading_* fields)."""

    def __init__(self, total_bytes: int):
        self.start_s = int(time.time())
        self.start = time.monotonic()
        self.total_bytes = total_bytes
        self.loaded_bytes = 0
        self.rdb_used_mem = 0

    def fields(self) -> list[tuple[str, object]]:
        total = self.total_bytes
        perc = self.loaded_bytes * 100 / total if total else 0.0
        elapsed = time.monotonic() - self.start
        eta = 1
        if self.loaded_bytes and elapsed:
            eta = int((total - self.loaded_bytes) / (self.loaded_bytes / elapsed))
        return [("loading_start_time", self.start_s),
                ("loading_total_bytes", total),
                ("loading_rdb_used_mem", self.rdb_used_mem),
                ("loading_loaded_bytes", self.loaded_bytes),
                ("loading_loaded_perc", f"{perc:.2f}"),
                ("loading_eta_seconds", eta)]


def loading_gate(client, cmd, argv) -> str | None:
    """Redis's processCommand rule: while the dataset is being loaded (server.loading), a
    command without the `loading` flag is refused with -LOADING; commands flagged
    `loading` (INFO, CONFIG, SHUTDOWN, ...) run. Internal clients (fd -1: the AOF
    replay's fake client, unit tests) are never refused. None: the command may run."""
    if client.node.persist.loading is None or "loading" in cmd.flags:
        return None
    if client.fd == -1:
        return None
    return LOADING


def begin(node, total_bytes: int) -> Progress:
    node.persist.loading = progress = Progress(total_bytes)
    node.keyspace.loading = True
    node.gates.turn("loading", True)    # -LOADING from now on
    return progress


def end(node) -> None:
    node.persist.loading = None
    node.keyspace.loading = False
    node.gates.turn("loading", False)


async def load_at_start(node) -> None:
    """AOF first if enabled, else the RDB; LoadError when the file is bad."""
    if node.config["appendonly"]:
        begin(node, 0)
        try:
            steps = persist_aof.load_steps(node)
            while True:         # keys / commands in steps: -LOADING meanwhile
                try:
                    next(steps)
                except StopIteration:
                    break
                await trio.sleep(0)
                node.set_time()
        finally:
            end(node)
        return
    path = node.config["dbfilename"]
    try:
        size = os.path.getsize(path)
    except OSError:
        return                          # no dump: start empty
    start = time.monotonic()
    progress = begin(node, size)
    try:
        snap, size = await trio.to_thread.run_sync(
            persist_rdb.parse_file, path, node.config["rdbchecksum"])
        progress.loaded_bytes = size
        node.set_time()
        persist_rdb.log_aux(node, snap.aux)
        steps = persist_rdb.apply_steps(node, snap)
        while True:             # keys in place batch by batch: -LOADING meanwhile
            try:
                next(steps)
            except StopIteration as done:
                loaded, expired = done.value
                break
            await trio.sleep(0)
            node.set_time()
    finally:
        end(node)
    node.log.notice(f"Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.")
    node.log.notice(f"DB loaded from disk: {time.monotonic() - start:.3f} seconds")


def fatal(node, err: LoadError) -> None:
    for line in err.lines:
        node.log.warning(line)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)                         # as Redis's exit(1): nothing else runs


async def start_up(node, then=None) -> None:
    begin(node, 0)          # -LOADING (and no shutdown save) from the very start
    try:
        await load_at_start(node)
        persist_rdb.verify_cluster_data(node)
        end(node)
    except LoadError as err:
        fatal(node, err)
    except OSError as err:
        fatal(node, LoadError(f"Fatal error loading the DB: {err.strerror}. Exiting."))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(persist_rdb.run, node)
        if then is not None:
            nursery.start_soon(then, node)
