"""Keys given a TTL on a writable replica, expired by the replica itself (expireSlaveKeys).
Pure: a keyspace in replica mode, an injected clock and random source."""
from __future__ import annotations

import random

from cluster.keyspace.databases import REPLICA, Keyspace
from cluster.replication.replica_expire import ReplicaKeysWithExpire, expire_if_due


def _replica(now=1_000):
    ks = Keyspace(databases=16)
    ks.set_time(now)
    ks.replica = REPLICA
    return ks


def _tracker():
    return ReplicaKeysWithExpire(random.Random(7), clock=lambda: 0.0)


def _put(ks, db, key, when=None):
    ks[db].store(key, b"v")
    if when is not None:
        ks[db].set_expire(key, when)


def test_a_replica_keeps_its_primarys_due_keys_but_expires_its_own():
    ks, keys = _replica(), _tracker()
    _put(ks, 0, b"from-primary", 500)         # came with the primary's stream: not ours
    _put(ks, 0, b"mine", 900)
    keys.remember(ks[0], b"mine")
    assert ks[0].peek(b"mine") is None        # reads as gone, stays until expired
    assert b"mine" in ks[0].data
    assert keys.expire(ks) == 1
    assert b"mine" not in ks[0].data and ks.expired == 1
    assert b"from-primary" in ks[0].data      # waits for the primary's DEL
    assert len(keys) == 0
    assert ks.replica == REPLICA              # the mode is back


def test_keys_not_due_are_kept_and_the_round_stops_after_more_than_three():
    ks, keys = _replica(), _tracker()
    for i in range(10):
        _put(ks, 0, b"k%d" % i, 5_000)
        keys.remember(ks[0], b"k%d" % i)
    assert keys.expire(ks) == 0
    assert len(keys) == 10 and len(ks[0]) == 10
    ks.set_time(6_000)
    total = 0
    while len(keys):
        total += keys.expire(ks)
    assert total == 10 and len(ks[0]) == 0 and ks.expired == 10


def test_a_key_is_checked_in_every_database_of_its_bitmap():
    ks, keys = _replica(), _tracker()
    _put(ks, 0, b"k", 900)
    _put(ks, 3, b"k", 5_000)
    keys.remember(ks[0], b"k")
    keys.remember(ks[3], b"k")
    assert keys.dbs[b"k"] == 0b1001
    assert keys.expire(ks) == 1
    assert b"k" not in ks[0].data and b"k" in ks[3].data
    assert keys.dbs[b"k"] == 0b1000           # only the database still waiting
    ks[3].persist(b"k")                        # no TTL any more: forgotten
    keys.expire(ks)
    assert len(keys) == 0 and b"k" in ks[3].data


def test_databases_above_63_and_forget_all():
    ks, keys = Keyspace(databases=70), _tracker()
    keys.remember(ks[64], b"k")
    assert len(keys) == 0
    keys.remember(ks[1], b"a")
    keys.remember(ks[1], b"b")
    keys.forget_all()
    assert len(keys) == 0 and keys.dbs == {} and keys.expire(ks) == 0


def test_expire_if_due():
    ks = _replica()
    _put(ks, 0, b"later", 2_000)
    _put(ks, 0, b"plain")
    assert not expire_if_due(ks, ks[0], b"later")
    assert not expire_if_due(ks, ks[0], b"plain")
    ks.set_time(2_000)
    assert expire_if_due(ks, ks[0], b"later")
    assert ks.expired == 1 and ks.replica == REPLICA
