"""RDB persistence: SAVE, BGSAVE, the `save` schedule, the shutdown save, loading a dump.

No fork: a BGSAVE takes a `cluster.keyspace.snapshot` view (point-in-time, copy-on-write per
value) when the command runs, and a trio task (`run`) writes it chunk by chunk with
`cluster.encoding.rdb.rdb_chunks` while the node keeps serving; big writes and the fsync go to a
worker thread. Files are written as Redis does: `temp-<pid>.rdb` in the working directory
(`dir`: the process chdir's there), fsync, rename over `dbfilename`, fsync of the
directory. SAVE writes the same bytes synchronously (it blocks, as Redis's SAVE).

The aux fields follow Redis 7.0's rdbPopulateSaveInfo: a primary with a backlog or a
replica that knows its primary's history stores repl-stream-db / repl-id / repl-offset;
loading them on a node that will be a replica restores node.repl.replid / master_repl_offset,
so its ReplicaLink asks for a partial resync (replicationCacheMasterUsingMyself); a
primary rebases on them (replid2 / second_repl_offset, a backlog from there holding the
DELs of keys that expired while it was down), so its replicas continue partially.

`rdbcompression yes` (the default) LZF-compresses strings of more than 20 bytes as Redis
does (`cluster.base.lzf`: the C liblzf of `python-lzf`, same bytes as redis-server's);
`rdbchecksum no` writes a zero checksum and skips the check on load, as Redis.

The save state (the running BgSave, the runner's jobs, rdb_saves, last_save_s, ...) is
node.persist (cluster.persistence.state); INFO persistence and LASTSAVE read it there.
"""
from __future__ import annotations

import os
import time

import trio

from cluster.encoding.rdb import RdbError, default_aux, read_rdb, rdb_chunks
from cluster.keyspace.snapshot import take
from cluster.replication import primary as repl_primary
from cluster.replication.propagate import encode_command

BGSAVE_RETRY_DELAY = 5          # CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE
WRITE_BATCH = 1 << 20           # bytes handed to the worker thread at once


class LoadError(Exception):
    """The dump cannot be loaded: `lines` are the log lines (Redis's words); exit 1."""

    def __init__(self, *lines: str):
        super().__init__(lines[-1])
        self.lines = lines


# -- what goes into the file ----------------------------------------------------------
def save_aux(node) -> dict[bytes, bytes]:
    """The aux fields, with the replication info when rdbPopulateSaveInfo gives one."""
    repl = node.repl
    link = repl.link
    primary = repl.primary
    if link is None and primary is not None and primary.backlog is not None:
        db = node.propagator.repl_db
        return default_aux(node, repl.replid, repl.master_repl_offset, db or 0)
    if link is not None and link.replid != "?":
        client = link.client
        db = client.db.id if client is not None else repl.stream_db
        return default_aux(node, link.replid, link.offset, db)
    return default_aux(node)


def dump_chunks(node, view, aux):
    """The RDB bytes of `view`, chunk by chunk (zero checksum with rdbchecksum no)."""
    checksum = node.config["rdbchecksum"]
    prev = None
    for chunk in rdb_chunks(view, aux, node.config["list-max-listpack-size"], None,
                            compress=node.config["rdbcompression"]):
        if prev is not None:
            yield prev
        prev = chunk
    if not checksum:                     # the last chunk ends with EOF + the CRC-64
        prev = prev[:-8] + b"\0" * 8
    yield prev


def temp_name() -> str:
    """The temp file a save writes before renaming it (a shutdown removes it)."""
    return f"temp-{os.getpid()}.rdb"


def _fsync_dir(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _finish(f, temp: str, final: str) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()
    os.replace(temp, final)
    _fsync_dir(final)


def _open_temp(node, temp: str):
    try:
        return open(temp, "wb")
    except OSError as err:
        node.log.warning(f"Failed opening the temp RDB file {temp} (in server root dir "
                         f"{os.getcwd()}) for saving: {err.strerror}")
        raise


def _saved(node, dirty_before: int, started_s: int) -> None:
    st = node.persist
    st.dirty_at_last_save = dirty_before
    st.last_save_s = started_s if started_s else node.now_ms // 1000
    st.last_bgsave_status = "ok"


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- SAVE -------------------------------------------------------------------------------
def save(node, filename: str | None = None) -> bool:
    """Synchronous save (SAVE, shutdown, DEBUG RELOAD): True on success."""
    final = filename or node.config["dbfilename"]
    temp = temp_name()
    dirty_before = node.keyspace.dirty
    node.persist.rdb_saves += 1
    try:
        f = _open_temp(node, temp)
    except OSError:
        return False
    with take(node.keyspace) as view:
        try:
            with f:
                for chunk in dump_chunks(node, view, save_aux(node)):
                    f.write(chunk)
                _finish(f, temp, final)
        except (OSError, RdbError) as err:
            node.log.warning(f"Write error saving DB on disk: {err}")
            _unlink(temp)
            return False
    node.log.notice("DB saved on disk")
    _saved(node, dirty_before, int(time.time()))
    return True


# -- BGSAVE -----------------------------------------------------------------------------
class BgSave:
    """One background save: the view is taken at creation (the command's point in time)."""

    def __init__(self, node, filename: str | None = None):
        self.node = node
        self.filename = filename or node.config["dbfilename"]
        self.view = take(node.keyspace)
        self.aux = save_aux(node)
        self.dirty_before = node.keyspace.dirty
        self.started_ms = node.now_ms
        self.keys_total = self.view.keys()
        node.persist.rdb_saves += 1

    async def run(self) -> None:
        node = self.node
        temp = temp_name()
        ok = False
        f = None
        try:
            f = _open_temp(node, temp)
            pending: list[bytes] = []
            size = 0
            for chunk in dump_chunks(node, self.view, self.aux):
                pending.append(chunk)
                size += len(chunk)
                if size >= WRITE_BATCH:
                    data = b"".join(pending)
                    pending, size = [], 0
                    await trio.to_thread.run_sync(f.write, data)
                else:
                    await trio.lowlevel.checkpoint()
            if pending:
                await trio.to_thread.run_sync(f.write, b"".join(pending))
            await trio.to_thread.run_sync(_finish, f, temp, self.filename)
            ok = True
        except (OSError, RdbError) as err:
            node.log.warning(f"Write error saving DB on disk: {err}")
        finally:
            self.view.release()
            if f is not None and not f.closed:
                f.close()
            if not ok:
                _unlink(temp)
            st = node.persist
            if st.bgsave_in_progress is self:
                st.bgsave_in_progress = None
            node.set_time()
            st.rdb_last_bgsave_time_sec = (node.now_ms - self.started_ms) // 1000
        if ok:
            node.log.notice("DB saved on disk")
            node.log.notice("Background saving terminated with success")
            _saved(node, self.dirty_before, self.started_ms // 1000)
        else:
            node.log.warning("Background saving error")
            st.last_bgsave_status = "err"
            st.last_bgsave_try_s = node.now_ms // 1000

    def abort(self) -> None:
        self.view.release()


def start_bgsave(node, filename: str | None = None) -> BgSave:
    """Take the view now and hand the job to the runner task (`run`)."""
    job = BgSave(node, filename)
    st = node.persist
    st.bgsave_in_progress = job
    st.last_bgsave_try_s = node.now_ms // 1000
    node.log.notice(f"Background saving started by pid {os.getpid()}")
    st.bgsave_jobs.append(job)
    st.bgsave_wake.set()
    return job


def schedule_bgsave(node) -> None:
    """BGSAVE SCHEDULE while an AOF rewrite runs: as Redis's rdb_bgsave_scheduled, the
    runner's cron starts the BGSAVE once no child is active."""
    node.persist.bgsave_scheduled = True


# -- the runner: schedule, scheduled BGSAVE, jobs -------------------------------------------
def save_points(node) -> list[tuple[int, int]]:
    words = node.config["save"].split()
    return [(int(words[i]), int(words[i + 1])) for i in range(0, len(words) - 1, 2)]


def child_active(node) -> bool:
    """Redis's hasActiveChildProcess: a BGSAVE or an AOF rewrite runs (one at a time)."""
    st = node.persist
    return st.bgsave_in_progress is not None or st.aof_rewrite_in_progress


def due_save_point(node, now_s: int) -> tuple[int, int] | None:
    """The first `save <seconds> <changes>` point that asks for a BGSAVE now (after a
    failed BGSAVE, not before BGSAVE_RETRY_DELAY seconds)."""
    st = node.persist
    changes = node.keyspace.dirty - st.dirty_at_last_save
    retry_ok = (st.last_bgsave_status == "ok"
                or now_s - st.last_bgsave_try_s > BGSAVE_RETRY_DELAY)
    for seconds, needed in save_points(node):
        if changes >= needed and now_s - st.last_save_s > seconds and retry_ok:
            return seconds, changes
    return None


def cron(node) -> None:
    """serverCron's part: the scheduled BGSAVE, then the save points."""
    st = node.persist
    if child_active(node) or st.loading is not None:
        return
    if st.bgsave_scheduled:
        st.bgsave_scheduled = False
        start_bgsave(node)
        return
    point = due_save_point(node, node.now_ms // 1000)
    if point is not None:
        seconds, changes = point
        node.log.notice(f"{changes} changes in {seconds} seconds. Saving...")
        start_bgsave(node)


async def run(node) -> None:
    """The runner task (started by cluster.persistence.loading once the dataset is loaded)."""
    st = node.persist
    async with trio.open_nursery() as nursery:
        while True:
            with trio.move_on_after(1 / max(1, node.config["hz"])):
                await st.bgsave_wake.wait()
            st.bgsave_wake = trio.Event()
            node.set_time()
            cron(node)
            while st.bgsave_jobs:
                nursery.start_soon(st.bgsave_jobs.pop(0).run)


def on_shutdown(node) -> bool:
    """The final save (SHUTDOWN [SAVE|NOSAVE], SIGTERM): as configured when not told."""
    st = node.persist
    job = st.bgsave_in_progress
    if job is not None:
        node.log.warning("There is a child saving an .rdb. Killing it!")
        job.abort()
        _unlink(temp_name())
        st.bgsave_in_progress = None
    wanted = st.shutdown_save
    if st.loading is not None:
        wanted = False          # as Redis: a shutdown while loading never saves
    elif wanted is None:
        wanted = bool(save_points(node))
    if not wanted:
        return True
    node.log.notice("Saving the final RDB snapshot before exiting.")
    if save(node):
        return True
    if st.shutdown_force:          # SHUTDOWN FORCE / "force" flag
        node.log.warning("Error trying to save the DB. Exit anyway.")
        return True
    node.log.warning("Error trying to save the DB, can't exit.")
    return False


# -- loading ----------------------------------------------------------------------------
def parse_file(path: str, check_crc: bool):
    """Read and parse a whole dump (in a worker thread); LoadError in Redis's words."""
    with open(path, "rb") as f:
        buf = f.read()
    try:
        return read_rdb(buf, check_crc), len(buf)
    except RdbError as err:
        text = str(err)
        if text.startswith("Wrong signature"):
            raise LoadError(text, "Fatal error loading the DB: Invalid argument. Exiting.")
        if text.startswith("Wrong RDB checksum"):
            raise LoadError("Wrong RDB checksum. Aborting now.",
                            f"Internal error in RDB reading offset 0 -> RDB CRC error "
                            f"({path})")
        if "EOF" in text or "Corrupt" in text:
            raise LoadError("Short read or OOM loading DB. Unrecoverable error, aborting "
                            "now.", f"Internal error in RDB reading: {text}")
        raise LoadError(text, "Fatal error loading the DB: Invalid argument. Exiting.")


def will_be_replica(node) -> bool:
    if node.cluster is not None:
        return bool(node.cluster.state.myself.is_replica)
    return bool(node.config["replicaof"]) or node.repl.link is not None


LOAD_BATCH = 20_000     # keys put in place between two looks at the clients (-LOADING)


def apply_steps(node, snap, repl: bool = True, flush: bool = True, merge: bool = False):
    """`apply` as a generator that yields after every LOAD_BATCH entries, so the start-up
    load (cluster.persistence.loading) answers -LOADING in between instead of stalling the clients;
    its return value (StopIteration.value) is (keys loaded, keys expired).
    DEBUG RELOAD NOFLUSH keeps the dataset (`flush` False): a key or library already
    there fails the load, unless MERGE (`merge`: RDBFLAGS_ALLOW_DUP) replaces it."""
    ks = node.keyspace
    n = len(ks.dbs)
    entries = snap.entries
    if entries and max(entry[0] for entry in entries) >= n:
        raise LoadError(f"FATAL: Data file was created with a Redis server configured "
                        f"to handle more than {n} databases. Exiting")
    master = not will_be_replica(node)
    now = node.now_ms
    expired = 0
    gone: list[tuple[int, bytes]] = []
    # emptyData drops the function libraries too: the dump's replace them (all or none)
    if flush:
        failed = node.functions.replace_all(snap.functions)
    else:
        failed = node.functions.merge_all(snap.functions, merge)
    if failed is not None:
        raise LoadError(f"Failed loading library, {failed}")
    if flush:
        for db in ks.dbs:
            db.flush()
    else:
        for db_id, key, _, _ in entries:
            if key in ks.dbs[db_id].data:
                if not merge:
                    raise LoadError(f"RDB has duplicated key '{key.decode('utf-8', 'replace')}' "
                                    f"in DB {db_id}")
                ks.dbs[db_id].delete(key)
    dbs = ks.dbs
    for start in range(0, len(entries), LOAD_BATCH):
        per_db: dict[int, list] = {}
        for db_id, key, value, when in entries[start:start + LOAD_BATCH]:
            if master and when is not None and when < now:
                expired += 1
                gone.append((db_id, key))
                continue
            batch = per_db.get(db_id)
            if batch is None:
                batch = per_db[db_id] = []
            batch.append((key, value, when))
        for db_id, batch in per_db.items():
            dbs[db_id].load(batch)
        yield
    loaded = len(entries) - expired
    node.persist.rdb_last_load_keys_loaded = loaded
    node.persist.rdb_last_load_keys_expired = expired
    if repl:
        _restore_replication(node, snap.aux, gone)
    return loaded, expired


def apply(node, snap, repl: bool = True, flush: bool = True,
          merge: bool = False) -> tuple[int, int]:
    """Put a parsed dump into the (empty) keyspace; (keys loaded, keys expired).
    `repl`: use the dump's replication info (the start-up load; not DEBUG RELOAD)."""
    steps = apply_steps(node, snap, repl, flush, merge)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def _restore_replication(node, aux: dict[bytes, bytes],
                         gone: list[tuple[int, bytes]] = ()) -> None:
    """loadDataFromDisk's use of the dump's repl-id / repl-offset / repl-stream-db.

    A future replica takes them as its own history (it PSYNCs from there). A primary
    keeps its new replid but rebases on the saved history as Redis 7.0 does: replid2 =
    the saved id, second_repl_offset = offset + 1, a backlog that starts at offset + 1
    and holds the DELs (SELECT + DEL, UNLINK with lazyfree-lazy-expire) of the keys that
    expired while it was down - so its replicas continue with a partial resync."""
    replid = aux.get(b"repl-id")
    try:
        offset = int(aux.get(b"repl-offset", b"-1"))
        stream_db = int(aux.get(b"repl-stream-db", b"-1"))
    except ValueError:
        return
    if replid is None or offset == -1 or stream_db == -1:
        return
    repl = node.repl
    if will_be_replica(node):
        repl.replid = replid.decode("ascii", "replace")
        repl.master_repl_offset = offset
        repl.stream_db = stream_db
        return
    primary = repl_primary.get(node)
    primary.create_backlog()
    verb = b"UNLINK" if node.config["lazyfree-lazy-expire"] else b"DEL"
    db = None
    for db_id, key in gone:
        if db_id != db:
            db = db_id
            primary.feed(encode_command([b"SELECT", b"%d" % db_id]))
        primary.feed(encode_command([verb, key]))
    repl.replid2 = replid.decode("ascii", "replace")
    repl.second_repl_offset = offset + 1
    repl.master_repl_offset += offset
    primary.backlog_off = repl.master_repl_offset - len(primary.backlog) + 1


def log_aux(node, aux: dict[bytes, bytes]) -> None:
    ver = aux.get(b"redis-ver")
    if ver is not None:
        node.log.notice(f"Loading RDB produced by version {ver.decode('ascii', 'replace')}")
    try:
        ctime = int(aux.get(b"ctime", b""))
        node.log.notice(f"RDB age {max(0, node.now_ms // 1000 - ctime)} seconds")
    except ValueError:
        pass
    try:
        used = int(aux.get(b"used-mem", b""))
        node.log.notice(f"RDB memory usage when created {used / 1024 / 1024:.2f} Mb")
    except ValueError:
        pass


def load_file(node, path: str | None = None, repl: bool = True, flush: bool = True,
              merge: bool = False) -> bool:
    """Synchronous load of `path` (DEBUG RELOAD, tests): False when there is no file."""
    path = path or node.config["dbfilename"]
    if not os.path.exists(path):
        return False
    snap, _ = parse_file(path, node.config["rdbchecksum"])
    log_aux(node, snap.aux)
    loaded, expired = apply(node, snap, repl, flush, merge)
    node.log.notice(f"Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.")
    return True


def debug_reload(node, save_first: bool = True, flush: bool = True,
                 merge: bool = False) -> str | None:
    """DEBUG RELOAD [NOSAVE] [NOFLUSH] [MERGE]: save, empty, load the file back; the
    error reply's text when a step fails."""
    if save_first and not save(node):
        return "ERR"
    try:
        load_file(node, repl=False, flush=flush, merge=merge)
    except LoadError as err:
        for line in err.lines:
            node.log.warning(line)
        return "ERR Error trying to load the RDB dump"
    return None


def info_fields(node) -> dict[str, object]:
    """INFO persistence values that depend on a running BGSAVE."""
    job = node.persist.bgsave_in_progress
    if job is None:
        return {"current_save_keys_total": 0, "rdb_current_bgsave_time_sec": -1}
    return {"current_save_keys_total": job.keys_total,
            "rdb_current_bgsave_time_sec": (node.now_ms - job.started_ms) // 1000}


def verify_cluster_data(node) -> None:
    """verifyClusterConfigWithData: a primary's keys in slots it does not serve claim the
    slot when nobody owns it, else put it in importing state from its owner."""
    cluster = node.cluster
    if cluster is None:
        return
    st = cluster.state
    if st.myself.is_replica:
        return                  # a replica follows its primary's stream
    if any(db.data for db in node.keyspace.dbs[1:]):
        raise LoadError("You can't have keys in a DB different than DB 0 when in Cluster "
                        "mode. Exiting.")
    slot_keys = node.keyspace.dbs[0].slot_keys or ()
    claim: list[int] = []
    importing = False
    for slot, keys in enumerate(slot_keys):
        if not keys:
            continue
        owner = st.slot_owner[slot]
        if owner == st.myself.id or slot in st.importing:
            continue
        if owner is None:
            node.log.warning(f"I have keys for unassigned slot {slot}. Taking responsibility "
                             f"for it.")
            claim.append(slot)
        else:
            node.log.warning(f"I have keys for slot {slot}, but the slot is assigned to "
                             f"another node. Setting it to importing state.")
            st.importing[slot] = owner
            importing = True
    if claim:
        cluster.submit(st.add_slots(claim, node.now_ms))
    elif importing:
        cluster.save_config(True)
