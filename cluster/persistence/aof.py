"""The append-only file (7.0 multi-part layout, see cluster.persistence.aof_manifest).

`Aof` is a sink of the propagation point (cluster.replication.propagate): it gets the very bytes the
replicas get, SELECT included, into `buf`. `flush()` writes the buffer to the current incr
file; the connection (cluster.server.edge) calls it before sending the replies of a batch, so
with appendfsync always a write is on disk before its reply leaves; everysec fsyncs in a
background thread once a second; no leaves it to the kernel. Cron also flushes (writes
with no reply: expiry, the replication stream on a replica).

A rewrite (BGREWRITEAOF, auto-aof-rewrite-*, CONFIG SET appendonly yes) opens a NEW incr
file first (written to the manifest at once, so a crash meanwhile loses nothing), takes a
`cluster.keyspace.snapshot` view and writes it as the next base (`.base.rdb` with
aof-use-rdb-preamble yes, else `.base.aof` of commands: cluster.persistence.aof_base) from
a trio task, chunk by chunk (cluster.persistence.aof_rewrite); then the manifest is swapped
atomically and the old base / incr files are deleted.

Start-up: `load_steps(node)` (driven by cluster.persistence.loading when appendonly is yes)
loads base + incr files in manifest order (cluster.persistence.aof_load), then opens the
last incr file for appending, creating the base / incr / manifest when missing.

The node's AOF state (the live / offline Aof, the rewrite counters) is node.persist
(cluster.persistence.state).
"""
from __future__ import annotations

import os
import threading
import time

from cluster.keyspace import snapshot
from cluster.replication.propagate import encode_command
from cluster.persistence import aof_load
from cluster.persistence.aof_base import base_chunks
from cluster.persistence.aof_manifest import Manifest
from cluster.persistence.aof_rewrite import Rewrite


def _dir(node) -> str:
    return node.config["appenddirname"]      # relative to `dir` (the working directory)


# -- loading --------------------------------------------------------------------------
def load(node) -> bool:
    """appendonly yes at start: load the AOF named by the manifest into the (empty)
    keyspace, then open the incr file for appending (creating the base / incr / manifest
    when missing, as Redis). True when an AOF was loaded, False when there was none;
    aof_load.AofLoadError (Redis's words) when it is corrupt."""
    return aof_load.drive(load_steps(node))


def load_steps(node):
    """`load` as a generator that yields every few thousand keys or commands:
    cluster.persistence.loading drives it and clients get -LOADING in between. Its return
    value is load's."""
    loaded = yield from aof_load.load_steps(node)
    if node.persist.aof is None:
        Aof(node).open_on_start()
    return loaded


def debug_loadaof(node) -> str | None:
    """DEBUG LOADAOF: flush the live file, empty the dataset (function libraries
    included, emptyData), load the AOF back; the error text when it cannot be read."""
    if node.persist.aof is not None:
        node.persist.aof.flush()
    for db in node.keyspace.dbs:
        db.flush()
    node.functions.flush()
    try:
        aof_load.drive(aof_load.load_steps(node))
    except aof_load.AofLoadError as err:
        return f"ERR {err}"
    return None


# -- the live file --------------------------------------------------------------------
class Aof:
    def __init__(self, node):
        self.node = node
        self.dir = _dir(node)            # appenddirname, fixed while this Aof lives
        self.manifest = Manifest(node.config["appendfilename"])   # the files, in load order
        self.buf = bytearray()           # fed, not yet written (server.aof_buf)
        self.fd = -1                     # the open incr file, -1 before / after
        self.waiting_rewrite = False     # turned on at runtime: no manifest until the base
        self.offline = False             # appendonly no: BGREWRITEAOF writes a base only
        self.current_size = 0            # INFO aof_current_size: every file, bytes
        self.base_size = 0               # INFO aof_base_size: auto-rewrite's growth origin
        self.unsynced = False            # written since the last fsync (everysec's thread)
        self.pending_fsync = 0           # INFO aof_pending_bio_fsync: 1 while it fsyncs
        self.delayed_fsync = 0           # INFO aof_delayed_fsync: never delayed here
        self.last_write_ok = True        # INFO aof_last_write_status; logs a failure once
        self.rewrite = None              # the Rewrite in progress
        self.rewrite_scheduled = False   # a rewrite waits for the BGSAVE to end (cron)
        self._stop = threading.Event()   # set by close: the fsync thread ends

    # -- sink / flushing ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.buf += data

    def flush(self) -> None:
        buf = self.buf
        if not buf or self.fd < 0:
            return
        self.buf = bytearray()
        view = memoryview(buf)
        latency = self.node.latency         # the aof-write* events (LATENCY)
        start = time.perf_counter_ns() if latency.threshold_ms else 0
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as err:
            self.buf = bytearray(view) + self.buf
            if self.last_write_ok:
                self.node.log.warning(f"Error writing to the AOF file: {err.strerror}")
            self.last_write_ok = False
            return
        if start:
            ms = (time.perf_counter_ns() - start) // 1_000_000
            latency.add_if_needed(b"aof-write-pending-fsync" if self.pending_fsync else
                                  b"aof-write-active-child" if self.rewrite is not None
                                  else b"aof-write-alone", ms)
            latency.add_if_needed(b"aof-write", ms)
        self.last_write_ok = True
        self.current_size += len(buf)
        if self.node.config["appendfsync"] == "always":
            start = time.perf_counter_ns()
            os.fsync(self.fd)
            latency.add_if_needed(b"aof-fsync-always",
                                  (time.perf_counter_ns() - start) // 1_000_000)
        else:
            self.unsynced = True

    def _fsync_loop(self) -> None:
        """everysec: one background fsync a second when something was written."""
        while not self._stop.wait(1.0):
            if self.unsynced and self.node.config["appendfsync"] == "everysec":
                fd = self.fd
                self.unsynced = False
                self.pending_fsync = 1
                try:
                    if fd >= 0:
                        os.fsync(fd)
                except OSError:
                    pass
                self.pending_fsync = 0

    # -- files -----------------------------------------------------------------------
    def _open_incr(self, name: str) -> None:
        fd = os.open(os.path.join(self.dir, name),
                     os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        old, self.fd = self.fd, fd
        if old >= 0:
            os.fsync(old)
            os.close(old)
        self.node.propagator.reselect()       # the new file starts with a SELECT
        link = self.node.repl.link
        if link is not None and link.client is not None:
            # a replica appends its primary's stream verbatim: select its current db here
            self.buf += encode_command([b"SELECT", b"%d" % link.client.db.id])

    def _sizes(self) -> None:
        total = 0
        for name in self.manifest.files():
            try:
                total += os.path.getsize(os.path.join(self.dir, name))
            except OSError:
                pass
        self.current_size = total
        base = self.manifest.base
        try:
            self.base_size = os.path.getsize(os.path.join(self.dir, base[0])) if base else 0
        except OSError:
            self.base_size = 0

    def attach(self) -> None:
        node = self.node
        if self.feed not in node.propagator.sinks:
            node.propagator.sinks.append(self.feed)
        node.persist.aof = self
        threading.Thread(target=self._fsync_loop, name="aof-fsync", daemon=True).start()

    def open_on_start(self) -> None:
        """appendonly yes at start: open the last incr file, creating what is missing."""
        os.makedirs(self.dir, exist_ok=True)
        log = self.node.log
        m = Manifest.read(self.dir, self.manifest.filename) or self.manifest
        self.manifest = m
        if m.base is None and not m.incrs:
            name, seq = m.next_base(self.node.config["aof-use-rdb-preamble"])
            tmp = os.path.join(self.dir, f"temp-rewriteaof-{os.getpid()}.aof")
            with snapshot.take(self.node.keyspace) as view:
                with open(tmp, "wb") as f:
                    for chunk in base_chunks(self.node, view, name.endswith(".rdb")):
                        f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.dir, name))
            m.base = (name, seq)
            log.notice(f"Creating AOF base file {name} on server start")
        if not m.incrs:
            name, seq = m.next_incr()
            m.incrs.append((name, seq))
            log.notice(f"Creating AOF incr file {name} on server start")
        else:
            log.notice(f"Opening AOF incr file {m.incrs[-1][0]} on server start")
        self._open_incr(m.incrs[-1][0])
        m.write(self.dir)
        self._sizes()
        self.attach()

    def close(self, shutdown: bool = False) -> None:
        """Flush and fsync (shutdown, appendonly no); stop the rewrite and the thread."""
        self.flush()
        if shutdown:
            self.node.log.notice("Calling fsync() on the AOF file.")
        if self.rewrite is not None:
            self.rewrite.abort()
        self._stop.set()
        if self.fd >= 0:
            try:
                os.fsync(self.fd)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = -1
        sinks = self.node.propagator.sinks
        if self.feed in sinks:
            sinks.remove(self.feed)
        if self.node.persist.aof is self:
            self.node.persist.aof = None

    # -- rewriting ---------------------------------------------------------------------
    def start_rewrite(self) -> None:
        """Begin a rewrite (the caller checked none runs)."""
        node = self.node
        self.rewrite_scheduled = False
        self.flush()
        os.makedirs(self.dir, exist_ok=True)
        m = self.manifest
        if self.offline:                   # BGREWRITEAOF with appendonly no: a base only
            self.rewrite = Rewrite(self, None)
            self.rewrite.start()
            return
        name, seq = m.next_incr()
        if not self.waiting_rewrite:       # (turned on at runtime: manifest at the end)
            m.incrs.append((name, seq))
            m.write(self.dir)
        self._open_incr(name)
        node.log.notice(f"Creating AOF incr file {name} on background rewrite")
        self.rewrite = Rewrite(self, (name, seq))
        self.rewrite.start()

    def rewrite_done(self, tmp: str, new_incr: tuple[str, int]) -> None:
        node = self.node
        m = self.manifest.copy()
        base_name, seq = m.next_base(node.config["aof-use-rdb-preamble"])
        os.replace(tmp, os.path.join(self.dir, base_name))
        node.log.notice(f"Successfully renamed the temporary AOF base file "
                        f"{os.path.basename(tmp)} into {base_name}")
        keep = new_incr[1] if new_incr else 1 << 62
        old = ([m.base[0]] if m.base else []) + [n for n, s in m.incrs if s < keep]
        m.base = (base_name, seq)
        m.incrs = [i for i in m.incrs if i[1] >= keep] or ([new_incr] if new_incr else [])
        m.history = [n for n in old if n != base_name]
        m.write(self.dir)
        for name in m.history:
            node.log.notice(f"Removing the history file {name} in the background")
            try:
                os.unlink(os.path.join(self.dir, name))
            except OSError:
                pass
        m.history = []
        m.write(self.dir)
        self.manifest = m
        self.waiting_rewrite = False
        self._sizes()
        self.current_size += len(self.buf)
        st = node.persist
        st.aof_rewrites += 1
        st.aof_rewrite_failures = 0
        st.aof_last_rewrite_status = "ok"
        if self.offline and st.aof_offline is self:
            st.aof_offline = None
        node.log.notice("Background AOF rewrite finished successfully")

    def rewrite_failed(self, why: str) -> None:
        st = self.node.persist
        if self.offline and st.aof_offline is self:
            st.aof_offline = None
        st.aof_rewrite_failures += 1
        st.aof_last_rewrite_status = "err"
        self.node.log.warning(f"Background AOF rewrite failed: {why}")

    def cron(self) -> None:
        self.flush()
        node = self.node
        if self.rewrite is not None:
            return
        if self.rewrite_scheduled or self.waiting_rewrite:
            if node.persist.bgsave_in_progress is None:
                self.start_rewrite()
            return
        pct = node.config["auto-aof-rewrite-percentage"]
        if pct and self.current_size > node.config["auto-aof-rewrite-min-size"]:
            base = self.base_size or 1
            growth = (self.current_size * 100 // base) - 100
            if growth >= pct:
                node.log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
                self.start_rewrite()

    def info(self) -> list[tuple[str, object]]:
        return [("aof_current_size", self.current_size + len(self.buf)),
                ("aof_base_size", self.base_size),
                ("aof_pending_rewrite", int(self.rewrite_scheduled)),
                ("aof_buffer_length", len(self.buf)),
                ("aof_pending_bio_fsync", self.pending_fsync),
                ("aof_delayed_fsync", self.delayed_fsync)]


# -- turning it on / off, start-up -------------------------------------------------------
def set_appendonly(node, on: bool) -> None:
    """CONFIG SET appendonly yes|no (node.py's config listener): yes starts the AOF with a
    rewrite (Redis's startAppendOnly), no flushes, fsyncs and closes it (stopAppendOnly);
    setting the current value does nothing. appendfsync is read live by the Aof."""
    aof = node.persist.aof
    if on and aof is None:
        enable(node)
    elif not on and aof is not None:
        aof.close()


def enable(node) -> None:
    """CONFIG SET appendonly yes: write a base by rewriting first, as Redis."""
    aof = Aof(node)
    os.makedirs(aof.dir, exist_ok=True)
    aof.manifest = Manifest.read(aof.dir, aof.manifest.filename) or aof.manifest
    aof.waiting_rewrite = True
    aof.attach()
    if node.persist.bgsave_in_progress is not None:
        aof.rewrite_scheduled = True
    else:
        aof.start_rewrite()


def rewriter(node):
    """The Aof a rewrite runs on now (live or offline), or None."""
    for aof in (node.persist.aof, node.persist.aof_offline):
        if aof is not None and aof.rewrite is not None:
            return aof
    return None


def bgrewriteaof(node) -> str:
    """BGREWRITEAOF: 'started', 'scheduled' or 'busy'."""
    if rewriter(node) is not None:
        return "busy"
    st = node.persist
    aof = st.aof
    if aof is None:
        aof = Aof(node)
        aof.offline = True
        os.makedirs(aof.dir, exist_ok=True)
        aof.manifest = Manifest.read(aof.dir, aof.manifest.filename) or aof.manifest
        if st.bgsave_in_progress is not None:
            return "scheduled"       # (offline: retried by the next BGREWRITEAOF only)
        st.aof_offline = aof
        aof.start_rewrite()
        return "started"
    if st.bgsave_in_progress is not None:
        aof.rewrite_scheduled = True
        return "scheduled"
    aof.start_rewrite()
    return "started"


def info_fields(node) -> dict[str, object]:
    """INFO persistence's aof_* values shown whether appendonly is on or not (Aof.info
    adds the tail ones while it is on)."""
    st = node.persist
    aof = st.aof
    busy = rewriter(node)
    return {
        "aof_rewrite_in_progress": int(busy is not None),
        "aof_rewrite_scheduled": int(bool(aof and aof.rewrite_scheduled)),
        "aof_last_rewrite_time_sec": st.aof_last_rewrite_time_sec,
        "aof_current_rewrite_time_sec": (int(time.monotonic() - busy.rewrite.started)
                                         if busy else -1),
        "aof_last_bgrewrite_status": st.aof_last_rewrite_status,
        "aof_rewrites": st.aof_rewrites,
        "aof_rewrites_consecutive_failures": st.aof_rewrite_failures,
        "aof_last_write_status": "ok" if (aof is None or aof.last_write_ok) else "err",
    }


def restart(node) -> None:
    """The dataset was replaced (a replica's full sync): a new base from it, as Redis's
    restartAOFAfterSYNC; a rewrite of the old data in progress is dropped."""
    aof = node.persist.aof
    if aof is None:
        return
    if aof.rewrite is not None:
        aof.rewrite.abort()
        aof.rewrite = None
        node.persist.aof_rewrite_in_progress = False
    aof.start_rewrite()
