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

from cluster.keyspace import evict
from cluster.keyspace.memory import key_cost, overhead
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
                 "scan_index", "avg_ttl", "blocking", "used", "sizes")

    def __init__(self, db_id: int, ks: "Keyspace"):
        self.id = db_id
        self.ks = ks
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}       # key -> absolute unix ms
        # key -> last access: the LRU clock (s), or under an LFU policy the LFU word
        # (minutes << 8 | log counter, cluster.keyspace.evict), as Redis's robj.lru
        self.lru: dict[bytes, int] = {}
        self.watched: dict[bytes, set] = {}       # key -> clients WATCHing it
        self.slot_keys: list[set] | None = (
            [set() for _ in range(CLUSTER_SLOTS)] if ks.slot_index else None)
        self._heap: list[tuple[int, bytes]] = []  # (when, key), lazily cleaned
        self.scan_index = None    # cluster.keyspace.scanindex.ScanIndex once SCAN ran on this db
        self.avg_ttl = 0
        self.blocking = None      # cluster.execution.blocking: key -> clients blocked on it (BLPOP...)
        # Memory accounting (cluster.keyspace.memory): the estimated bytes of the keys and
        # values, kept as they change; a non-string value's last estimate by key.
        self.used = 0
        self.sizes: dict[bytes, int] = {}

    def __len__(self) -> int:
        return len(self.data)

    def memory(self) -> int:
        """Estimated bytes of this database's keys, values and their bookkeeping."""
        return self.used + overhead(self) if self.data else 0

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
            ks = self.ks
            ks.hits += 1
            if touch:
                self.lru[key] = evict.lfu_touch(ks, self.lru.get(key)) if ks.lfu \
                    else ks.lru_clock
        return value

    def lookup_write(self, key: bytes):
        """Value for a writing command (expires it if due); None if absent."""
        if self.expires and key in self.expires and self._expired(key):
            return None
        value = self.data.get(key)
        if value is not None:
            ks = self.ks
            self.lru[key] = evict.lfu_touch(ks, self.lru.get(key)) if ks.lfu else ks.lru_clock
            if ks.views:          # a snapshot is being written: copy on write
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
        ks = self.ks
        old = data.get(key)
        if self.blocking and key in self.blocking and (
                old is None or old.__class__ is Stream):
            self.blocking.signal(self, key)         # a key clients wait on was created
            #                                         (or a stream replaced: XREADGROUP)
        if old is None:
            if ks.on_new is not None:
                ks.on_new(self, key)                # keyspace event "new" (cluster.keyspace.notify)
            if self.slot_keys is not None:
                self.slot_keys[keyslot(key)].add(key)
            if self.scan_index is not None:
                self.scan_index.add(key)
        else:                                       # the old value's cost goes
            self.used -= self._unprice(key, old)
        data[key] = value
        if value.__class__ is bytes:                # key_cost, inlined on this hot path
            self.used += ((len(key) + 40) & ~7) + ((len(value) + 40) & ~7)
        if not ks.lfu:
            self.lru[key] = ks.lru_clock
        elif old is None:                           # an overwrite keeps the LFU counter
            self.lru[key] = evict.lfu_new(ks)
        if not keep_ttl and key in self.expires:
            del self.expires[key]
        self.modified(key)

    def delete(self, key: bytes) -> bool:
        value = self.data.pop(key, None)
        if value is None:
            return False
        if value.__class__ is Stream and self.blocking and key in self.blocking:
            self.blocking.signal(self, key)         # XREADGROUP waiters fail (dbGenericDelete)
        self._forget(key, value)
        self.modified(key)
        return True

    def _unprice(self, key: bytes, value) -> int:
        """What `key` holding `value` was counted for, forgotten (cluster.keyspace.memory:
        a string from its length, a collection from its last price)."""
        return key_cost(key, value) if value.__class__ is bytes else self.sizes.pop(key, 0)

    def _forget(self, key: bytes, value) -> None:
        self.used -= self._unprice(key, value)
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
        ks = self.ks
        ks.dirty += 1
        value = self.data.get(key)
        if value is not None and value.__class__ is not bytes:
            ks.reprice.append((self, key))  # priced once the command is done (settle)
        if self.watched:
            self.signal_watchers(key)
        if ks.on_modified is not None:
            ks.on_modified(self, key)       # client-side caching invalidation (tracking)

    def signal_watchers(self, key: bytes) -> None:
        clients = self.watched.get(key)
        if clients:
            for client in clients:
                client.dirty_cas = True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        if self.ks.replica == REPLICA and self.ks.on_replica_ttl is not None:
            self.ks.on_replica_ttl(self, key)
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
        self._forget(key, value)
        if value.__class__ is Stream and self.blocking and key in self.blocking:
            self.blocking.signal(self, key)
        if self.watched:
            self.signal_watchers(key)
        if self.ks.on_modified is not None:
            self.ks.on_modified(self, key)
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
        if self.ks.on_flush is not None:
            self.ks.on_flush(self)          # tracking: invalidate everything (FLUSHDB/ALL)
        self.data = {}
        self.expires = {}
        self.lru = {}
        self.used = 0
        self.sizes = {}
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
        data, expires, sizes = self.data, self.expires, self.sizes
        timed = []
        used = 0
        for key, value, when in entries:
            old = data.get(key)
            if old is not None:
                used -= self._unprice(key, old)
            data[key] = value
            cost = key_cost(key, value)
            used += cost
            if value.__class__ is not bytes:
                sizes[key] = cost
            if when is not None:
                expires[key] = when
                timed.append((when, key))
        self.used += used
        keys = [entry[0] for entry in entries]
        ks = self.ks
        self.lru.update(dict.fromkeys(keys, evict.lfu_new(ks) if ks.lfu else ks.lru_clock))
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
        # LFU (cluster.keyspace.evict): on while maxmemory-policy is an LFU one; its
        # settings, and the random numbers its counter's increments draw.
        self.lfu = False
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self.random = random.random
        self.loading = False
        self.replica = 0           # 0 (a primary: expire due keys), REPLICA, MASTER_CLIENT
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self.dirty = 0
        # (db, key) of collections changed by the running command: handlers call
        # `modified` before they change a value in place, so the new price is taken
        # after the command (`settle`, from dispatch.call and memory readings).
        self.reprice: list = []
        self.hold_expired = None    # set by cluster.execution.pause while writes may be paused
        self.views: list = []      # active cluster.keyspace.snapshot views (copy-on-write while set)
        # The function libraries' codes (a tuple, replaced on change, never changed in
        # place): kept by cluster.scripting.functions, snapshotted with the data (RDB,
        # full sync, AOF base); FLUSHALL leaves them.
        self.functions: tuple[bytes, ...] = ()
        self.on_new = None         # (db, key) when a key is created / a read misses:
        self.on_miss = None        # set by cluster.keyspace.notify while "n" / "m" events are on
        self.on_expired = on_expired or (lambda db, key: None)
        # (db, key) after any change to a key (a write, a lazy or active expiry, an
        # eviction), and (db) before a database is emptied: set by
        # cluster.execution.tracking while any client tracks keys; None otherwise.
        self.on_modified = None
        self.on_flush = None
        # (db, key): a client set a TTL on a writable replica; the replica expires such
        # keys itself (cluster.replication.replica_expire). Set by the node.
        self.on_replica_ttl = None
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
        for attr in ("data", "expires", "lru", "slot_keys", "_heap", "scan_index", "used",
                     "sizes"):
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

    def settle(self) -> None:
        """Price again the collections the last command changed."""
        pending, self.reprice = self.reprice, []
        for db, key in pending:
            value = db.data.get(key)
            if value is not None and value.__class__ is not bytes:
                cost = key_cost(key, value)
                db.used += cost - db.sizes.get(key, 0)
                db.sizes[key] = cost

    def memory(self) -> int:
        """used_memory_dataset's part from the keys (cluster.keyspace.memory)."""
        if self.reprice:
            self.settle()
        total = 0
        for db in self.dbs:
            if db.data:
                total += db.used + overhead(db)
        return total

    def total_keys(self) -> int:
        return sum(len(db) for db in self.dbs)

    def iter_nonempty(self) -> Iterable[Database]:
        return (db for db in self.dbs if db.data)
