"""Which key goes when memory is short: Redis's approximated LRU, LFU and TTL, and random.

Rules, as Redis 7.0 (src/evict.c), each in a function below:
- LRU: a key's last access is the LRU clock in seconds (Database.lru); its idle time is
  the clock minus that. OBJECT IDLETIME reads it.
- LFU: under an LFU policy the same slot holds `minutes << 8 | counter`: the time of the
  last decrement in minutes (16 bits, wrapping) and a logarithmic counter (8 bits) that
  starts at LFU_INIT_VAL, grows with probability 1 / ((counter - 5) * lfu-log-factor + 1)
  on each access, and loses one per lfu-decay-time minutes without access. OBJECT FREQ
  reads the decayed counter.
- Sampling: each pick samples maxmemory-samples keys per database (the whole keyspace for
  allkeys-*, the keys with a TTL for volatile-*) into a pool of the 16 best candidates kept
  across picks, and takes the best one that still exists: the most idle (LRU), the least
  frequent (LFU), the nearest expiry (TTL). The random policies take a random key,
  visiting the databases in turn.
- Random access to a Python dict costs O(n), so keys are sampled from a snapshot list of
  the dict's keys, rebuilt when the dict has grown or shrunk by a quarter, or when half of
  a sample's keys no longer exist: O(1) amortised per pick. Keys added since the last
  snapshot are not sampled until the next (they are the most recently used anyway).

Nothing here deletes anything: the node's eviction driver (cluster.execution.eviction)
deletes, propagates and counts.
"""
from __future__ import annotations

from bisect import insort

OOM = "OOM command not allowed when used memory > 'maxmemory'."
LFU_INIT_VAL = 5
EVPOOL_SIZE = 16
_TTL_TOP = (1 << 64) - 1

NOEVICTION = "noeviction"
POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
            "allkeys-lru", "allkeys-lfu", "allkeys-random", NOEVICTION)


# -- LFU -------------------------------------------------------------------------------
def lfu_minutes(now_ms: int) -> int:
    """LFUGetTimeInMinutes: the minutes clock, 16 bits."""
    return (now_ms // 60000) & 65535


def lfu_elapsed(ldt: int, now_min: int) -> int:
    """Minutes since `ldt`, once around the 16-bit clock at most."""
    return now_min - ldt if now_min >= ldt else 65535 - ldt + now_min


def lfu_decayed(word: int | None, now_ms: int, decay_time: int) -> int:
    """LFUDecrAndReturn: the counter of `word`, less one per decay period elapsed."""
    if word is None:
        return LFU_INIT_VAL
    counter = word & 255
    if decay_time:
        periods = lfu_elapsed((word >> 8) & 65535, lfu_minutes(now_ms)) // decay_time
        if periods:
            counter = 0 if periods > counter else counter - periods
    return counter


def lfu_increment(counter: int, log_factor: int, r: float) -> int:
    """LFULogIncr: one more access, counted with a probability that falls as it grows."""
    if counter == 255:
        return 255
    base = max(0, counter - LFU_INIT_VAL)
    return counter + 1 if r < 1.0 / (base * log_factor + 1) else counter


def lfu_new(ks) -> int:
    """The LFU word of a new key."""
    return (lfu_minutes(ks.now_ms) << 8) | LFU_INIT_VAL


def lfu_touch(ks, word: int | None) -> int:
    """updateLFU: decay, then count this access."""
    counter = lfu_decayed(word, ks.now_ms, ks.lfu_decay_time)
    counter = lfu_increment(counter, ks.lfu_log_factor, ks.random())
    return (lfu_minutes(ks.now_ms) << 8) | counter


def idle_seconds(db, key: bytes) -> int:
    """OBJECT IDLETIME under an LRU (or no) policy."""
    clock = db.ks.lru_clock
    return max(0, clock - db.lru.get(key, clock))


# -- sampling --------------------------------------------------------------------------
class _Snapshot:
    __slots__ = ("source", "keys", "size")

    def __init__(self, source: dict):
        self.source = source
        self.keys = list(source)
        self.size = len(source)


class Evictor:
    """The eviction pool and sampling state of one keyspace (server.db's evictionPool)."""

    def __init__(self, keyspace, rng):
        self.ks = keyspace
        self.rng = rng
        # (score, db id, key), ascending: the best candidate last (EVPOOL_SIZE at most),
        # and the (db id, key) pairs in it
        self.pool: list[tuple[int, int, bytes]] = []
        self._members: set[tuple[int, bytes]] = set()
        self.next_db = 0               # the random policies visit the databases in turn
        self._snapshots: dict[tuple[int, bool], _Snapshot] = {}

    def reset(self) -> None:
        """Forget the pool and the snapshots (the policy changed, a flush)."""
        self.pool = []
        self._members = set()
        self._snapshots = {}

    def sample(self, db, volatile: bool, count: int) -> list[bytes]:
        """Up to `count` random keys of `db` (with a TTL when `volatile`) that exist."""
        source = db.expires if volatile else db.data
        size = len(source)
        if not size:
            return []
        if size <= count:
            return list(source)
        tag = (db.id, volatile)
        snap = self._snapshots.get(tag)
        if snap is None or snap.source is not source or not snap.keys or \
                abs(size - snap.size) > snap.size // 4 + 16:
            snap = self._snapshots[tag] = _Snapshot(source)
        picked = self._draw(snap, source, count)
        if len(picked) < count:            # the snapshot went stale: rebuild, draw again
            snap = self._snapshots[tag] = _Snapshot(source)
            picked = self._draw(snap, source, count)
        return picked

    def _draw(self, snap: _Snapshot, source: dict, count: int) -> list[bytes]:
        keys = snap.keys
        random = self.rng.random
        n = len(keys)
        picked = []
        for _ in range(count * 3):
            key = keys[int(random() * n)]
            if key in source:
                picked.append(key)
                if len(picked) == count:
                    break
        return picked

    # -- policies ----------------------------------------------------------------------
    def pick(self, policy: str, samples: int) -> tuple[object, bytes] | None:
        """The (db, key) to evict next under `policy`, or None when nothing can go."""
        volatile = policy.startswith("volatile-")
        if policy.endswith("-random"):
            return self._pick_random(volatile)
        kind = policy.split("-", 1)[1]          # lru / lfu / ttl
        dbs = self.ks.dbs
        while True:
            total = 0
            for db in dbs:
                source = db.expires if volatile else db.data
                if source:
                    total += len(source)
                    self._populate(db, volatile, kind, samples)
            if not total:
                return None
            while self.pool:
                _score, db_id, key = self.pool.pop()
                self._members.discard((db_id, key))
                db = dbs[db_id]
                if key in (db.expires if volatile else db.data):
                    return db, key

    def _pick_random(self, volatile: bool):
        dbs = self.ks.dbs
        for _ in range(len(dbs)):
            self.next_db = (self.next_db + 1) % len(dbs)
            db = dbs[self.next_db]
            keys = self.sample(db, volatile, 1)
            if keys:
                return db, keys[0]
        return None

    def _populate(self, db, volatile: bool, kind: str, samples: int) -> None:
        """evictionPoolPopulate: score `samples` sampled keys into the pool."""
        keys = self.sample(db, volatile, samples)
        if not keys:
            return
        ks = self.ks
        if kind == "lru":
            clock, lru = ks.lru_clock, db.lru
            scored = [(max(0, clock - lru.get(k, clock)) * 1000, k) for k in keys]
        elif kind == "lfu":
            now, decay, lru = ks.now_ms, ks.lfu_decay_time, db.lru
            scored = [(255 - lfu_decayed(lru.get(k), now, decay), k) for k in keys]
        else:                                   # ttl: the sooner it expires, the better
            expires = db.expires
            scored = [(_TTL_TOP - expires.get(k, 0), k) for k in keys]
        pool, members, db_id = self.pool, self._members, db.id
        for score, key in scored:
            if len(pool) >= EVPOOL_SIZE and score < pool[0][0]:
                continue                        # worse than every candidate of a full pool
            tag = (db_id, key)
            if tag in members:                  # already a candidate: rescored
                for i, entry in enumerate(pool):
                    if entry[1] == db_id and entry[2] == key:
                        del pool[i]
                        break
            else:
                members.add(tag)
            insort(pool, (score, db_id, key))
            if len(pool) > EVPOOL_SIZE:
                _score, gone_db, gone_key = pool.pop(0)
                members.discard((gone_db, gone_key))
