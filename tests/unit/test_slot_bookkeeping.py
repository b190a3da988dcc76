"""The bus state's slot bookkeeping (issue 18): `slots_by_owner`, the cached `slot_runs()`
and each bitmap's cached `runs()` stay equal to a full walk of the 16384 slots after any
sequence of ownership changes, and CLUSTER INFO / SLOTS / SHARDS / NODES built from them
are the replies the full walks give."""
from __future__ import annotations

import collections
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cluster.commands import cluster_views as views
from gossip import nodes_conf
from gossip.records import Flag, NodeRecord, SlotBitmap
from gossip.state import ClusterConfig, ClusterState
from slots import CLUSTER_SLOTS

A, B, C, D, R = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)


def make_state() -> ClusterState:
    state = ClusterState(ClusterConfig(port=7000, cport=17000), random.Random(7), 1000, A)
    state.myself.ip = "127.0.0.1"
    for node_id, port, flags, primary in ((B, 7001, Flag.MASTER, None),
                                          (C, 7002, Flag.MASTER | Flag.PFAIL, None),
                                          (D, 7003, Flag.MASTER | Flag.FAIL, None),
                                          (R, 7004, Flag.SLAVE, B)):
        state.add_node(NodeRecord(id=node_id, ip="127.0.0.1", port=port, cport=port + 10000,
                                  flags=flags, primary_id=primary, repl_offset=3))
    return state


# -- the full walks the cached views must equal ----------------------------------------------

def info_by_walk(state) -> tuple[int, int, int, int]:
    assigned = ok = pfail = fail = 0
    for owner in state.slot_owner:
        if owner is None:
            continue
        assigned += 1
        rec = state.nodes.get(owner)
        flags = rec.flags if rec is not None else Flag(0)
        if flags & Flag.FAIL:
            fail += 1
        elif flags & Flag.PFAIL:
            pfail += 1
        else:
            ok += 1
    return assigned, ok, pfail, fail


def runs_of(slots) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for slot in sorted(slots):
        if out and out[-1][1] == slot - 1:
            out[-1] = (out[-1][0], slot)
        else:
            out.append((slot, slot))
    return out


class Walked:
    """The state, but with slot_runs() by a walk of slot_owner (the pre-cache replies)."""

    def __init__(self, state):
        self._state = state
        self._runs = [run for run in views.slot_runs(state.slot_owner) if run[2] in state.nodes]

    def __getattr__(self, name):
        return getattr(self._state, name)

    def slot_runs(self):
        return self._runs


def check(state) -> None:
    owners = state.slot_owner
    assert state.slots_by_owner == collections.Counter(o for o in owners if o is not None)
    walked = Walked(state)
    assert state.slot_runs() == walked.slot_runs()
    by_owner: dict = collections.defaultdict(list)
    for slot, owner in enumerate(owners):
        by_owner[owner].append(slot)
    for node in state.nodes.values():
        assert list(node.slots.runs()) == runs_of(by_owner.get(node.id, []))
    text = views.info_text(state).decode()
    fields = dict(line.split(":", 1) for line in text.split("\r\n") if line)
    assert tuple(int(fields[f"cluster_slots_{k}"]) for k in
                 ("assigned", "ok", "pfail", "fail")) == info_by_walk(state)
    assert views.slots_reply(state, my_offset=9) == views.slots_reply(walked, my_offset=9)
    assert views.shards_reply(state, my_offset=9) == views.shards_reply(walked, my_offset=9)
    records = list(state.nodes.values())
    fresh = [NodeRecord(id=r.id, ip=r.ip, port=r.port, cport=r.cport, flags=r.flags,
                        primary_id=r.primary_id, slots=SlotBitmap(bytes(r.slots)))
             for r in records]                          # bitmaps with nothing cached
    assert nodes_conf.format_nodes(records, A, 0) == nodes_conf.format_nodes(fresh, A, 0)


# -- random ownership changes ---------------------------------------------------------------

_OWNERS = st.sampled_from([A, B, C, D])
_START = st.one_of(st.integers(0, CLUSTER_SLOTS - 1),
                   st.sampled_from([0, 7, 8, 15, 16, 5460, 5461, 16375, 16376, 16383]))
_OPS = st.lists(st.tuples(st.sampled_from(["add", "del", "move", "view", "fail"]),
                          _START, st.integers(1, 700), _OWNERS), max_size=25)


def apply(state, op, start, length, owner_id) -> None:
    slots = range(start, min(start + length, CLUSTER_SLOTS))
    owner = state.nodes[owner_id]
    if op == "add":                       # ADDSLOTS (only free slots)
        for slot in slots:
            state.add_slot(owner, slot)
    elif op == "del":                     # DELSLOTS / clusterDelSlot
        for slot in slots:
            state.del_slot(slot)
    elif op == "move":                    # SETSLOT NODE / UPDATE / failover hand-over
        for slot in slots:
            state.del_slot(slot)
            state.add_slot(owner, slot)
    elif op == "view":                    # a poll between changes fills the caches
        views.info_text(state)
        views.slots_reply(state)
        nodes_conf.format_nodes(list(state.nodes.values()), A, 0)
    else:                                 # an owner's health flips (INFO reads it live)
        owner.flags ^= Flag.PFAIL


@settings(max_examples=100, deadline=None)
@given(_OPS)
def test_bookkeeping_equals_a_full_walk(ops):
    state = make_state()
    check(state)
    for op in ops:
        apply(state, *op)
        check(state)


@settings(max_examples=60, deadline=None)
@given(_OPS, st.sampled_from([B, C, D]))
def test_forgetting_an_owner_drops_its_slots(ops, gone):
    state = make_state()
    for op in ops:
        apply(state, *op)
    state.slot_runs()                                   # cached before the node goes
    state.del_node(state.nodes[gone])
    check(state)
    assert gone not in state.slots_by_owner


@settings(max_examples=200, deadline=None)
@given(st.sets(st.one_of(st.integers(0, CLUSTER_SLOTS - 1), st.integers(0, 40),
                         st.integers(CLUSTER_SLOTS - 40, CLUSTER_SLOTS - 1)), max_size=300),
       st.sets(st.integers(0, CLUSTER_SLOTS - 1), max_size=50))
def test_bitmap_runs_cache_follows_add_and_discard(added, removed):
    bitmap = SlotBitmap()
    for slot in added:
        bitmap.add(slot)
    assert list(bitmap.runs()) == runs_of(added)
    for slot in removed:
        bitmap.discard(slot)
    assert list(bitmap.runs()) == runs_of(added - removed)
    assert list(SlotBitmap(bytes(bitmap)).runs()) == runs_of(added - removed)
    bitmap.clear()
    assert bitmap.runs() == ()


def test_full_and_empty_bitmaps():
    bitmap = SlotBitmap(b"\xff" * (CLUSTER_SLOTS // 8))
    assert bitmap.runs() == ((0, CLUSTER_SLOTS - 1),)
    assert SlotBitmap().runs() == ()


def test_three_primaries_with_all_slots():
    state = make_state()
    for slot in range(CLUSTER_SLOTS):
        state.add_slot(state.nodes[A if slot < 5461 else B if slot < 10923 else C], slot)
    assert state.slots_by_owner == {A: 5461, B: 5462, C: 5461}
    assert state.slot_runs() == [(0, 5460, A), (5461, 10922, B), (10923, 16383, C)]
    assert "cluster_slots_pfail:5461" in views.info_text(state).decode()
    check(state)
