"""The keyspace: numbered databases of typed values, expiry, WATCH hooks, a per-slot index.

Pure data structure: no I/O, and time comes from `Keyspace.now_ms`, which the server
updates (tests set it directly).

Values: a string is `bytes`; other types are the classes registered in `TYPE_NAMES`.
Expiry is lazy (on lookup) and active (`active_expire_cycle`). Active expiry takes keys in
deadline order from a heap instead of Redis's random sampling, so an unread key goes away
as soon as it is due rather than eventually (a deliberate improvement, see README).
"""
from __future__ import annotations

import heapq
import random
from collections import deque
from typing import Callable, Iterable

from slots import CLUSTER_SLOTS, keyslot

from cluster.keyspace.snapshot import copy_on_write
from cluster.keyspace.stream import Stream

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

# Python class of a stored value -> Redis type name. Data-type modules add theirs.
TYPE_NAMES: dict[type, str] = {bytes: "string", deque: "list"}


# Keyspace.replica: how a replica treats a due key (Redis 7.0 expireIfNeeded). REPLICA: it
# reads as absent but stays until the primary's DEL; MASTER_CLIENT (while the primary's
# stream runs): the key is still there, as it was on the primary when it sent the command.
REPLICA = 1
MASTER_CLIENT = 2


def type_name(value) -> str:
    return TYPE_NAMES.get(value.__class__, "none")


class Database:
    """One numbered database."""

    __slots__ = ("id", "ks", "data", "expires", "lru", "watched", "slot_keys", "_heap",
                 "scan_index", "avg_ttl", "blocking")

    def __init__(self, db_id: int, ks: "Keyspace"):
        self.id = db_id
        self.ks = ks
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}       # key -> absolute unix ms
        self.lru: dict[bytes, int] = {}           # key -> last access (LRU clock, s)
        self.watched: dict[bytes, set] = {}       # key -> clients WATCHing it
        self.slot_keys: list[set] | None = (
            [set() for _ in range(CLUSTER_SLOTS)] if ks.slot_index else None)
        self._heap: list[tuple[int, bytes]] = []  # (when, key), lazily cleaned
        self.scan_index = None    # cluster.keyspace.scanindex.ScanIndex once SCAN ran on this db
        self.avg_ttl = 0
        self.blocking = None      # cluster.execution.blocking: key -> clients blocked on it (BLPOP...)

    def __len__(self) -> int:
        return len(self.data)

    # -- lookups ------------------------------------------------------------------
    def _expired(self, key: bytes) -> bool:
        when = self.expires.get(key)
        if when is not None and when <= self.ks.now_ms and not self.ks.loading:
            mode = self.ks.replica
            if mode:                  # a replica: see Keyspace.replica
                return mode == REPLICA
            hold = self.ks.hold_expired
            if hold is not None and hold():
                return True           # writes paused: expired, but no DEL (cluster.execution.pause)
            self._expire_key(key)
            return True
        return False

    def lookup_read(self, key: bytes, touch: bool = True):
        """Value for a reading command (counts hits/misses, updates LRU); None if absent."""
        if self.expires and key in self.expires and self._expired(key):
            self.ks.misses += 1
            if self.ks.on_miss is not None:
                self.ks.on_miss(self, key)
            return None
        value = self.data.get(key)
        if value is None:
            self.ks.misses += 1
            if self.ks.on_miss is not None:
                self.ks.on_miss(self, key)
        else:
            self.ks.hits += 1
            if touch:
                self.lru[key] = self.ks.lru_clock
        return value

    def lookup_write(self, key: bytes):
        """Value for a writing command (expires it if due); None if absent."""
        if self.expires and key in self.expires and self._expired(key):
            return None
        value = self.data.get(key)
        if value is not None:
            self.lru[key] = self.ks.lru_clock
            if self.ks.views:          # a snapshot is being written: copy on write
                value = copy_on_write(self, key, value)
        return value

    def peek(self, key: bytes):
        """Value without side effects other than lazy expiry (EXISTS, TYPE checks)."""
        if self.expires and key in self.expires and self._expired(key):
            return None
        return self.data.get(key)

    def contains(self, key: bytes) -> bool:
        return self.peek(key) is not None

    # -- writes -------------------------------------------------------------------
    def store(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Create or overwrite `key`; its TTL is dropped unless keep_ttl."""
        data = self.data
        if self.blocking and key in self.blocking and (
                key not in data or data[key].__class__ is Stream):
            self.blocking.signal(self, key)         # a key clients wait on was created
            #                                         (or a stream replaced: XREADGROUP)
        if self.ks.on_new is not None and key not in data:
            self.ks.on_new(self, key)               # keyspace event "new" (cluster.keyspace.notify)
        if (self.slot_keys is not None or self.scan_index is not None) and key not in data:
            if self.slot_keys is not None:
                self.slot_keys[keyslot(key)].add(key)
            if self.scan_index is not None:
                self.scan_index.add(key)
        data[key] = value
        self.lru[key] = self.ks.lru_clock
        if not keep_ttl and key in self.expires:
            del self.expires[key]
        self.modified(key)

    def delete(self, key: bytes) -> bool:
        value = self.data.pop(key, None)
        if value is None:
            return False
        if value.__class__ is Stream and self.blocking and key in self.blocking:
            self.blocking.signal(self, key)         # XREADGROUP waiters fail (dbGenericDelete)
        self._forget(key)
        self.modified(key)
        return True

    def _forget(self, key: bytes) -> None:
        self.expires.pop(key, None)
        self.lru.pop(key, None)
        if self.slot_keys is not None:
            self.slot_keys[keyslot(key)].discard(key)
        if self.scan_index is not None:
            self.scan_index.discard(key)

    def modified(self, key: bytes) -> None:
        """A key changed: break WATCHes on it and count the change (`dirty`).

        `store` and `delete` call this; a handler that changes a value in place, or calls
        `set_expire`/`persist`, calls it itself.
        """
        self.ks.dirty += 1
        if self.watched:
            self.signal_watchers(key)

    def signal_watchers(self, key: bytes) -> None:
        clients = self.watched.get(key)
        if clients:
            for client in clients:
                client.dirty_cas = True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        heapq.heappush(self._heap, (when_ms, key))
        if len(self._heap) > 64 and len(self._heap) > 3 * len(self.expires):
            self._heap = [(w, k) for k, w in self.expires.items()]
            heapq.heapify(self._heap)

    def get_expire(self, key: bytes) -> int | None:
        return self.expires.get(key)

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def _expire_key(self, key: bytes) -> None:
        """Delete an expired key and tell the world (stats, WATCH, propagation as DEL)."""
        # Not a change the command made: no `dirty` bump (so a no-op write after a lazy
        # expiry is not propagated), but WATCHers see it and replicas get a DEL.
        value = self.data.pop(key, None)
        self._forget(key)
        if value.__class__ is Stream and self.blocking and key in self.blocking:
            self.blocking.signal(self, key)
        if self.watched:
            self.signal_watchers(key)
        self.ks.expired += 1
        self.ks.on_expired(self, key)

    def flush(self) -> int:
        n = len(self.data)
        if self.blocking:                   # scanDatabaseForDeletedStreams
            for key in list(self.blocking):
                if self.data.get(key).__class__ is Stream:
                    self.blocking.signal(self, key)
        for key in list(self.watched):
            if key in self.data:
                for client in self.watched[key]:
                    client.dirty_cas = True
        self.data = {}
        self.expires = {}
        self.lru = {}
        self._heap = []
        if self.slot_keys is not None:
            self.slot_keys = [set() for _ in range(CLUSTER_SLOTS)]
        self.scan_index = None
        self.ks.dirty += n
        return n

    def load(self, entries) -> None:
        """Fill this (empty) database from a snapshot: (key, value, expire_ms | None)
        triples, without store()'s per-key bookkeeping (nobody WATCHes an empty database
        being loaded, and a load is not a change: `dirty` stays, as in Redis). May be
        called again with more (new) keys: a load in batches; each call indexes its own."""
        if not isinstance(entries, list):
            entries = list(entries)
        data, expires = self.data, self.expires
        timed = []
        for key, value, when in entries:
            data[key] = value
            if when is not None:
                expires[key] = when
                timed.append((when, key))
        keys = [entry[0] for entry in entries]
        self.lru.update(dict.fromkeys(keys, self.ks.lru_clock))
        if self.slot_keys is not None:
            slot_keys = self.slot_keys
            for key in keys:
                slot_keys[keyslot(key)].add(key)
        if timed:
            if self._heap:
                for item in timed:
                    heapq.heappush(self._heap, item)
            else:
                heapq.heapify(timed)
                self._heap = timed

    # -- iteration ----------------------------------------------------------------
    def random_key(self, rng: random.Random) -> bytes | None:
        """A random live key (expired ones met on the way are expired)."""
        for _ in range(100):
            if not self.data:
                return None
            key = next(iter(self.data)) if len(self.data) == 1 else \
                list(self.data)[rng.randrange(len(self.data))]
            if not self._expired(key):
                return key
        return next(iter(self.data), None)

    def keys_in_slot(self, slot: int) -> set:
        if self.slot_keys is None:
            return {k for k in self.data if keyslot(k) == slot}
        return self.slot_keys[slot]

    def active_expire(self, now_ms: int, budget: int) -> int:
        """Expire up to `budget` due keys in deadline order; returns how many were expired."""
        heap = self._heap
        done = 0
        while heap and done < budget:
            when, key = heap[0]
            if when > now_ms:
                break
            heapq.heappop(heap)
            if self.expires.get(key) == when:
                self._expire_key(key)
                done += 1
        return done


class Keyspace:
    """All databases of a node plus the counters INFO reports."""

    def __init__(self, databases: int = 16, slot_index: bool = False,
                 on_expired: Callable[[Database, bytes], None] | None = None):
        self.slot_index = slot_index
        self.now_ms = 0
        self.lru_clock = 0
        self.loading = False
        self.replica = 0           # 0 (a primary: expire due keys), REPLICA, MASTER_CLIENT
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.dirty = 0
        self.hold_expired = None    # set by cluster.execution.pause while writes may be paused
        self.views: list = []      # active cluster.keyspace.snapshot views (copy-on-write while set)
        # The function libraries' codes (a tuple, replaced on change, never changed in
        # place): kept by cluster.scripting.functions, snapshotted with the data (RDB,
        # full sync, AOF base); FLUSHALL leaves them.
        self.functions: tuple[bytes, ...] = ()
        self.on_new = None         # (db, key) when a key is created / a read misses:
        self.on_miss = None        # set by cluster.keyspace.notify while "n" / "m" events are on
        self.on_expired = on_expired or (lambda db, key: None)
        self.dbs = [Database(i, self) for i in range(databases)]

    def __getitem__(self, index: int) -> Database:
        return self.dbs[index]

    def __len__(self) -> int:
        return len(self.dbs)

    def set_time(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.lru_clock = now_ms // 1000

    def swap(self, a: int, b: int) -> None:
        """SWAPDB: exchange the contents; WATCHers of keys in either db are invalidated."""
        da, db = self.dbs[a], self.dbs[b]
        for one, other in ((da, db), (db, da)):
            for key, clients in one.watched.items():
                if key in one.data or key in other.data:
                    for client in clients:
                        client.dirty_cas = True
        for one, other in ((da, db), (db, da)):      # scanDatabaseForDeletedStreams
            if one.blocking:
                for key in list(one.blocking):
                    if one.data.get(key).__class__ is Stream and \
                            other.data.get(key).__class__ is not Stream:
                        one.blocking.signal(one, key)
        for attr in ("data", "expires", "lru", "slot_keys", "_heap", "scan_index"):
            x, y = getattr(da, attr), getattr(db, attr)
            setattr(da, attr, y)
            setattr(db, attr, x)
        for one in (da, db):                         # scanDatabaseForReadyKeys
            if one.blocking:
                for key in list(one.blocking):
                    if key in one.data:
                        one.blocking.signal(one, key)

    def active_expire_cycle(self, now_ms: int, budget: int = 200) -> int:
        if self.replica or self.loading:    # a replica waits for its primary's DELs
            return 0
        return sum(db.active_expire(now_ms, budget) for db in self.dbs if db.expires)

    def total_keys(self) -> int:
        return sum(len(db) for db in self.dbs)

    def iter_nonempty(self) -> Iterable[Database]:
        return (db for db in self.dbs if db.data)
