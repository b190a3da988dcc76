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
aof-use-rdb-preamble yes, else `.base.aof` of commands) from a trio task, chunk by chunk;
then the manifest is swapped atomically and the old base / incr files are deleted.

Start-up: `load(node)` (called by cluster.persistence.loading when appendonly is yes) loads base +
incr files in manifest order (cluster.persistence.aof_load), then opens the last incr file for
appending, creating the base / incr / manifest when missing.
"""
from __future__ import annotations

import os
import threading
import time

from cluster.persistence import aof_load
from cluster.keyspace import snapshot
from cluster.persistence.aof_manifest import Manifest
from cluster.encoding.dump import dump
from cluster.replication.propagate import encode_command
from cluster.persistence.aof_load import AofLoadError, drive, load_files  # noqa: F401 (re-exported)
from cluster.encoding.rdb import default_aux, rdb_chunks

ITEMS_PER_CMD = 64          # AOF_REWRITE_ITEMS_PER_CMD


def _dir(node) -> str:
    return node.config["appenddirname"]      # relative to `dir` (the working directory)


# -- loading --------------------------------------------------------------------------
def load(node) -> bool:
    """appendonly yes at start: load the AOF named by the manifest into the (empty)
    keyspace, then open the incr file for appending (creating the base / incr / manifest
    when missing, as Redis). True when an AOF was loaded, False when there was none;
    AofLoadError (Redis's words) when it is corrupt."""
    return drive(load_steps(node))


def load_steps(node):
    """`load` as a generator that yields every few thousand keys or commands: cluster.persistence.loading
    drives it and clients get -LOADING in between. Its return value is load's."""
    install(node)
    loaded = yield from aof_load.load_steps(node)
    if getattr(node, "aof", None) is None:
        Aof(node).open_on_start()
    return loaded


# -- the live file --------------------------------------------------------------------
class Aof:
    def __init__(self, node):
        self.node = node
        self.dir = _dir(node)
        self.manifest = Manifest(node.config["appendfilename"])
        self.buf = bytearray()
        self.fd = -1
        self.incr_name = ""
        self.waiting_rewrite = False     # turned on at runtime: no manifest until the base
        self.offline = False             # appendonly no: BGREWRITEAOF writes a base only
        self.current_size = 0
        self.base_size = 0
        self.unsynced = False
        self.pending_fsync = 0
        self.delayed_fsync = 0
        self.last_write_ok = True
        self.rewrite = None              # the Rewrite in progress
        self.rewrite_scheduled = False
        if getattr(node, "aof_stats", None) is None:     # node-wide, across on / off
            node.aof_stats = {"rewrites": 0, "failures": 0, "status": "ok", "sec": -1}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stat(key):
        return property(lambda self: self.node.aof_stats[key],
                        lambda self, v: self.node.aof_stats.__setitem__(key, v))
    rewrites = _stat("rewrites")
    failures = _stat("failures")
    last_rewrite_status = _stat("status")
    last_rewrite_sec = _stat("sec")
    del _stat

    # -- sink / flushing ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.buf += data

    def flush(self) -> None:
        buf = self.buf
        if not buf or self.fd < 0:
            return
        self.buf = bytearray()
        view = memoryview(buf)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as err:
            self.buf = bytearray(view) + self.buf
            if self.last_write_ok:
                self.node.log.warning(f"Error writing to the AOF file: {err.strerror}")
            self.last_write_ok = False
            return
        self.last_write_ok = True
        self.current_size += len(buf)
        if self.node.config["appendfsync"] == "always":
            os.fsync(self.fd)
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
        old, self.fd, self.incr_name = self.fd, fd, name
        if old >= 0:
            os.fsync(old)
            os.close(old)
        self.node.propagator._db = None       # the new file starts with a SELECT
        link = self.node.repl_link
        if link is not None and getattr(link, "client", None) is not None:
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
        node.aof = self
        self._thread = threading.Thread(target=self._fsync_loop, name="aof-fsync",
                                        daemon=True)
        self._thread.start()

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
        if getattr(self.node, "aof", None) is self:
            self.node.aof = None

    # -- rewriting ---------------------------------------------------------------------
    def start_rewrite(self) -> None:
        """Begin a rewrite (the caller checked none runs)."""
        from cluster.persistence.aof_rewrite import Rewrite
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
        self.rewrites += 1
        self.failures = 0
        self.last_rewrite_status = "ok"
        if self.offline and getattr(node, "aof_offline", None) is self:
            node.aof_offline = None
        node.log.notice("Background AOF rewrite finished successfully")

    def rewrite_failed(self, why: str) -> None:
        if self.offline and getattr(self.node, "aof_offline", None) is self:
            self.node.aof_offline = None
        self.failures += 1
        self.last_rewrite_status = "err"
        self.node.log.warning(f"Background AOF rewrite failed: {why}")

    def cron(self) -> None:
        self.flush()
        node = self.node
        if self.rewrite is not None:
            return
        if self.rewrite_scheduled or self.waiting_rewrite:
            if not getattr(node, "bgsave_in_progress", False):
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


def base_chunks(node, view, rdb: bool):
    """The new base file's bytes, chunk by chunk: an RDB (aof-base 1) or commands."""
    if rdb:
        aux = default_aux(node)
        aux[b"aof-base"] = b"1"
        try:
            fill = int(node.config["list-max-listpack-size"])
        except (KeyError, ValueError, TypeError):
            fill = -2
        yield from rdb_chunks(view, aux, fill, compress=node.config["rdbcompression"])
        return
    yield from command_chunks(view)


def command_chunks(view, chunk_size: int = 64 * 1024):
    out: list[bytes] = []
    size = 0
    for db_id, data, expires in view:
        if not data:
            continue
        out.append(encode_command([b"SELECT", b"%d" % db_id]))
        for key, value in data.items():
            if value.__class__ is bytes:
                out.append(encode_command([b"SET", key, value]))
            elif value.__class__.__name__ == "deque":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    out.append(encode_command([b"RPUSH", key, *items[i:i + ITEMS_PER_CMD]]))
            else:
                out.append(encode_command([b"RESTORE", key, b"0", dump(value)]))
            when = expires.get(key)
            if when is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % when]))
            size += 1
            if size >= 512:
                yield b"".join(out)
                out, size = [], 0
    if out:
        yield b"".join(out)


# -- turning it on / off, start-up -------------------------------------------------------
def install(node) -> None:
    """Follow CONFIG SET appendonly / appendfsync (called once per node)."""
    if getattr(node, "_aof_installed", False):
        return
    node._aof_installed = True
    if not hasattr(node, "aof"):
        node.aof = None

    def changed(name, value):
        if name == "appendonly":
            if value and node.aof is None:
                enable(node)
            elif not value and node.aof is not None:
                node.aof.close()
    node.config.listeners.append(changed)


def enable(node) -> None:
    """CONFIG SET appendonly yes: write a base by rewriting first, as Redis."""
    aof = Aof(node)
    os.makedirs(aof.dir, exist_ok=True)
    aof.manifest = Manifest.read(aof.dir, aof.manifest.filename) or aof.manifest
    aof.waiting_rewrite = True
    aof.attach()
    if getattr(node, "bgsave_in_progress", False):
        aof.rewrite_scheduled = True
    else:
        aof.start_rewrite()


def rewriter(node):
    """The Aof a rewrite runs on now (live or offline), or None."""
    for aof in (getattr(node, "aof", None), getattr(node, "aof_offline", None)):
        if aof is not None and aof.rewrite is not None:
            return aof
    return None


def bgrewriteaof(node) -> str:
    """BGREWRITEAOF: 'started', 'scheduled' or 'busy'."""
    if rewriter(node) is not None:
        return "busy"
    aof = getattr(node, "aof", None)
    if aof is None:
        aof = Aof(node)
        aof.offline = True
        os.makedirs(aof.dir, exist_ok=True)
        aof.manifest = Manifest.read(aof.dir, aof.manifest.filename) or aof.manifest
        if getattr(node, "bgsave_in_progress", False):
            return "scheduled"       # (offline: retried by the next BGREWRITEAOF only)
        node.aof_offline = aof
        aof.start_rewrite()
        return "started"
    if getattr(node, "bgsave_in_progress", False):
        aof.rewrite_scheduled = True
        return "scheduled"
    aof.start_rewrite()
    return "started"


def info_fields(node) -> dict[str, object]:
    """INFO persistence's aof_* values (the tail ones only while appendonly is on)."""
    aof = getattr(node, "aof", None)
    busy = rewriter(node)
    st = getattr(node, "aof_stats", None) or {"rewrites": 0, "failures": 0,
                                               "status": "ok", "sec": -1}
    out: dict[str, object] = {
        "aof_rewrite_in_progress": int(busy is not None),
        "aof_rewrite_scheduled": int(bool(aof and aof.rewrite_scheduled)),
        "aof_last_rewrite_time_sec": st["sec"],
        "aof_current_rewrite_time_sec": (int(time.monotonic() - busy.rewrite.started)
                                         if busy else -1),
        "aof_last_bgrewrite_status": st["status"],
        "aof_rewrites": st["rewrites"],
        "aof_rewrites_consecutive_failures": st["failures"],
        "aof_last_write_status": "ok" if (aof is None or aof.last_write_ok) else "err",
    }
    return out


def restart(node) -> None:
    """The dataset was replaced (a replica's full sync): a new base from it, as Redis's
    restartAOFAfterSYNC; a rewrite of the old data in progress is dropped."""
    aof = getattr(node, "aof", None)
    if aof is None:
        return
    if aof.rewrite is not None:
        aof.rewrite.abort()
        aof.rewrite = None
        node.aof_rewrite_in_progress = False
    aof.start_rewrite()
