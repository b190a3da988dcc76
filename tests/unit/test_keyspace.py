"""Keyspace: lazy and active expiry, WATCH hooks, the per-slot index, SWAPDB."""
from hypothesis import given, settings, strategies as st

from cluster.keyspace.databases import Keyspace
from slots import keyslot


class FakeClient:
    def __init__(self):
        self.dirty_cas = False


def make(slot_index=False):
    expired = []
    ks = Keyspace(4, slot_index=slot_index, on_expired=lambda db, k: expired.append((db.id, k)))
    ks.set_time(1_000_000)
    return ks, expired


def test_lazy_expiry_on_lookup_counts_and_reports():
    ks, expired = make()
    db = ks[0]
    db.store(b"k", b"v")
    db.set_expire(b"k", 1_000_500)
    assert db.lookup_read(b"k") == b"v"
    ks.set_time(1_000_500)
    assert db.lookup_read(b"k") is None
    assert b"k" not in db.data and b"k" not in db.expires
    assert expired == [(0, b"k")]
    assert ks.expired == 1 and ks.hits == 1 and ks.misses == 1


def test_active_expiry_removes_due_keys_in_deadline_order_only():
    ks, expired = make()
    db = ks[1]
    for i in range(10):
        db.store(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_000 + 100 * (10 - i))
    db.store(b"forever", b"v")
    assert ks.active_expire_cycle(1_000_000 + 500) == 5
    assert [k for _, k in expired] == [b"k9", b"k8", b"k7", b"k6", b"k5"]
    assert sorted(db.data) == [b"forever", b"k0", b"k1", b"k2", b"k3", b"k4"]


def test_changed_or_removed_ttl_is_not_expired_by_stale_heap_entry():
    ks, expired = make()
    db = ks[0]
    db.store(b"a", b"1")
    db.set_expire(b"a", 1_000_100)
    db.set_expire(b"a", 1_009_000)      # extended
    db.store(b"b", b"1")
    db.set_expire(b"b", 1_000_100)
    db.persist(b"b")                    # made persistent
    db.store(b"c", b"1")
    db.set_expire(b"c", 1_000_100)
    db.store(b"c", b"2")                # overwritten: TTL dropped
    assert ks.active_expire_cycle(1_001_000) == 0
    assert expired == [] and len(db) == 3


def test_active_expiry_budget_is_respected():
    ks, _ = make()
    db = ks[0]
    for i in range(50):
        db.store(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_000)
    assert db.active_expire(1_000_001, budget=20) == 20
    assert len(db) == 30


def test_modifications_break_watches_and_count_dirty():
    ks, _ = make()
    db = ks[0]
    c = FakeClient()
    db.watched[b"w"] = {c}
    before = ks.dirty
    db.store(b"other", b"1")
    assert not c.dirty_cas
    db.store(b"w", b"1")
    assert c.dirty_cas
    assert ks.dirty == before + 2


def test_flush_breaks_only_watches_of_existing_keys():
    ks, _ = make()
    db = ks[0]
    present, absent = FakeClient(), FakeClient()
    db.store(b"p", b"1")
    db.watched[b"p"] = {present}
    db.watched[b"q"] = {absent}
    assert db.flush() == 1
    assert present.dirty_cas and not absent.dirty_cas


def test_swap_exchanges_contents_and_breaks_watches():
    ks, _ = make()
    ks[0].store(b"a", b"0")
    ks[1].store(b"b", b"1")
    c = FakeClient()
    ks[0].watched[b"b"] = {c}
    ks.swap(0, 1)
    assert ks[0].peek(b"b") == b"1" and ks[1].peek(b"a") == b"0"
    assert c.dirty_cas


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(["set", "del", "expire"]),
                          st.binary(min_size=0, max_size=6)), max_size=60))
def test_slot_index_matches_the_data(ops):
    ks, _ = make(slot_index=True)
    db = ks[0]
    for op, key in ops:
        if op == "set":
            db.store(key, b"v")
        elif op == "del":
            db.delete(key)
        elif key in db.data:
            db.set_expire(key, 999_000)     # already due
            db.lookup_read(key)
    for slot in {keyslot(k) for k in db.data} | {0}:
        assert db.keys_in_slot(slot) == {k for k in db.data if keyslot(k) == slot}
    assert sum(len(s) for s in db.slot_keys) == len(db)
