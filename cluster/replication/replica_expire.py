"""Keys given a TTL on a writable replica, and their expiry (Redis 7.0.15 expire.c:
slaveKeysWithExpire, rememberSlaveKeyWithExpire, expireSlaveKeys).

Rules:
- A replica does not expire keys itself: it waits for its primary's DEL (the keyspace's
  REPLICA mode). A key a client writes with a TTL on a writable replica
  (replica-read-only no) is unknown to the primary, so no DEL will ever come: the
  replica remembers such keys, by name, with a bitmap of the databases (0 to 63) the TTL
  was set in, and expires them itself.
- Only a TTL set by one of the replica's own clients counts (setExpire with a client that
  is not the master's); the primary's stream and a snapshot load do not.
- The replica's cron (databasesCron, where a primary runs its active expiry) picks
  remembered keys at random: in each database of its bitmap, a key whose TTL is due is
  deleted as a primary's active expiry would (expired_keys, the "expired" event, WATCH,
  tracking); a key still waiting keeps its bit; a key left with no bit (deleted,
  persisted, expired) is forgotten. The round stops after more than 3 keys that are not
  due yet, when nothing is left, or every 64 keys once it has run over 1 ms.
- FLUSHALL, a full resync and SWAPDB forget every key (flushSlaveKeysWithExpireList):
  a key of the same name coming later from the primary must not be expired here.
- INFO stats reports how many keys are remembered: slave_expires_tracked_keys.

Sans I/O: the clock is injected; randomness comes from the node's `random.Random`.
"""
from __future__ import annotations

import random
import time
from typing import Callable

MAX_DB_BITS = 64              # a uint64_t bitmap: keys in databases above 63 are not kept


class ReplicaKeysWithExpire:
    """Key name -> bitmap of database ids, with O(1) random picks (a list of the names
    and each name's index in it)."""

    __slots__ = ("dbs", "_names", "_where", "rng", "clock")

    def __init__(self, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.dbs: dict[bytes, int] = {}
        self._names: list[bytes] = []
        self._where: dict[bytes, int] = {}
        self.rng = rng or random.Random()
        self.clock = clock

    def __len__(self) -> int:
        return len(self._names)

    def remember(self, db, key: bytes) -> None:
        """A client of this writable replica gave `key` a TTL in `db`."""
        if db.id >= MAX_DB_BITS:
            return
        if key not in self._where:
            self._where[key] = len(self._names)
            self._names.append(key)
            self.dbs[key] = 0
        self.dbs[key] |= 1 << db.id

    def forget_all(self) -> None:
        self.dbs.clear()
        self._names.clear()
        self._where.clear()

    def _forget(self, key: bytes) -> None:
        i = self._where.pop(key)
        last = self._names.pop()
        if last != key:
            self._names[i] = last
            self._where[last] = i
        del self.dbs[key]

    def expire(self, keyspace) -> int:
        """One round of expireSlaveKeys over `keyspace`; returns how many keys expired."""
        if not self._names:
            return 0
        start = self.clock()
        cycles = not_due = expired = 0
        dbs = keyspace.dbs
        while True:
            key = self._names[self.rng.randrange(len(self._names))]
            bits, kept, dbid = self.dbs[key], 0, 0
            while bits and dbid < len(dbs):
                if bits & 1:
                    db = dbs[dbid]
                    if key in db.expires:
                        if expire_if_due(keyspace, db, key):
                            expired += 1
                        else:
                            not_due += 1
                            kept |= 1 << dbid
                dbid += 1
                bits >>= 1
            if kept:
                self.dbs[key] = kept
            else:
                self._forget(key)
            cycles += 1
            if not_due > 3:
                break
            if cycles % 64 == 0 and self.clock() - start > 0.001:
                break
            if not self._names:
                break
        return expired


def expire_if_due(keyspace, db, key: bytes) -> bool:
    """Delete `key` from `db` if its TTL is due, as a primary's expiry does (the replica
    mode set aside for the lookup); True if it went."""
    when = db.expires.get(key)
    if when is None or when > keyspace.now_ms:
        return False
    mode, keyspace.replica = keyspace.replica, 0
    try:
        db.peek(key)                    # the lazy expiry: DEL, stats, events, WATCH
    finally:
        keyspace.replica = mode
    return key not in db.expires
