"""Role changes as effects: every input that changes myself's role (replica -> primary,
primary -> replica, another primary) returns BecamePrimary / FollowPrimary at that point;
nothing when the role stays; role_effect() gives the role at start-up; the transport hands
them to the node's data side (gossip/state.py CONTRACT, gossip/slotconf.py)."""
from __future__ import annotations

import random

import pytest

from gossip import migration, slotconf
from gossip.effects import (BecamePrimary, DeleteSlotKeys, FollowPrimary, Log, SaveConfig,
                            Send)
from gossip.messages import Header, Message, MsgType
from gossip.records import Flag, NodeRecord, SlotBitmap
from gossip.state import ClusterConfig, ClusterError, ClusterState
from gossip.transport import BusTransport
from tests.unit.test_gossip_manual import build as three_primaries

T0 = 1_700_000_000_000
ME, P1, P2, P3 = "a" * 40, "b" * 40, "c" * 40, "d" * 40
R2, R3, R4 = "e" * 40, "f" * 40, "1" * 40
ROLES = (BecamePrimary, FollowPrimary)


def roles(effects) -> list:
    return [e for e in effects if isinstance(e, ROLES)]


def build(me_primary: str | None = P1, node_timeout: int = 1000, **config) -> ClusterState:
    """test_gossip_manual's topology (myself ME plus primaries P1, P2, P3 with links);
    myself replicates `me_primary` through CLUSTER REPLICATE (None: myself is a primary
    without slots). No effect is left pending."""
    st = three_primaries(None, node_timeout=node_timeout, **config)
    if me_primary is not None:
        assert roles(st.replicate(me_primary, 0, T0)) == [FollowPrimary(me_primary)]
    return st


def bitmap(slots) -> bytes:
    bits = SlotBitmap()
    for slot in slots:
        bits.add(slot)
    return bytes(bits)


def message(st: ClusterState, kind: MsgType, sender: str, **hdr) -> Message:
    """A message from `sender` describing itself as `st` knows it (fields overridable)."""
    node = st.nodes[sender]
    fields = dict(sender=sender, current_epoch=st.current_epoch,
                  config_epoch=node.config_epoch,
                  flags=int(Flag.SLAVE if node.is_replica else Flag.MASTER),
                  primary_id=node.primary_id if node.is_replica else None,
                  slots=bytes(node.slots), repl_offset=0, myip=node.ip, port=node.port,
                  cport=node.cport, state_ok=True)
    fields.update(hdr)
    return Message(kind, Header(**fields))


def my_slots_primary() -> ClusterState:
    """Myself (ME) is the primary of slots 0-99 (epoch 4, taken from P1, now empty), with
    a replica R2."""
    st = build(me_primary=None)
    for slot in list(st.nodes[P1].slots):
        st.del_slot(slot)
        st.add_slot(st.myself, slot)
    st.myself.config_epoch = st.current_epoch = 4
    st.add_node(NodeRecord(id=R2, ip="127.0.0.1", port=30010, cport=40010,
                           flags=Flag.SLAVE, primary_id=ME, created=T0))
    return st


# -- start-up -----------------------------------------------------------------------------
def test_role_effect_at_start_up():
    st = build(me_primary=None)
    assert st.role_effect() == BecamePrimary()
    st = build(me_primary=P1)
    assert st.role_effect() == FollowPrimary(P1)
    records = [NodeRecord(id=ME, flags=Flag.MYSELF | Flag.SLAVE, primary_id=P1),
               NodeRecord(id=P1, flags=Flag.MASTER, slots=st.nodes[P1].slots)]
    saved = ClusterState.from_saved(ClusterConfig(port=30001, cport=40001), random.Random(1), T0, ME,
                                    records, 3, 0)
    assert saved.role_effect() == FollowPrimary(P1)
    records[0] = NodeRecord(id=ME, flags=Flag.MYSELF | Flag.SLAVE)     # primary unknown
    saved = ClusterState.from_saved(ClusterConfig(port=30001, cport=40001), random.Random(1), T0, ME,
                                    records, 3, 0)
    assert saved.role_effect() is None
    # loading announces nothing by itself: the node asks role_effect()
    assert roles(saved.tick(T0 + 100)) == []


# -- CLUSTER commands ---------------------------------------------------------------------
def test_cluster_replicate_emits_follow_primary_once_per_change():
    st = build(me_primary=None)
    effects = st.replicate(P1, 0, T0)
    assert roles(effects) == [FollowPrimary(P1)]
    assert st.myself.is_replica and st.myself.primary_id == P1
    assert roles(st.replicate(P1, 0, T0 + 1)) == []              # the same primary
    assert roles(st.replicate(P2, 0, T0 + 2)) == [FollowPrimary(P2)]


def test_a_refused_command_emits_nothing():
    st = build(me_primary=None)
    with pytest.raises(ClusterError):
        st.replicate("9" * 40, 0, T0)
    with pytest.raises(ClusterError):
        st.replicate(P1, 5, T0)                                   # keys: not empty
    assert roles(st.tick(T0 + 100)) == [] and st.myself.is_primary


def test_cluster_reset_of_a_replica_emits_became_primary():
    st = build()
    assert roles(st.reset(False, T0 + 1)) == [BecamePrimary()]
    assert st.myself.is_primary
    assert roles(st.reset(True, T0 + 2)) == []                   # already a primary


def test_setslot_node_giving_away_my_last_slot_emits_follow_primary():
    st = my_slots_primary()
    for slot in range(1, 100):
        st.del_slot(slot)
        st.add_slot(st.nodes[P2], slot)
    effects = st.set_slot(0, "node", P2, 0, T0 + 1)
    assert roles(effects) == [FollowPrimary(P2)]
    assert st.myself.is_replica and st.myself.primary_id == P2


def test_takeover_emits_became_primary():
    st = build()
    effects = st.failover("takeover", T0 + 1)
    assert roles(effects) == [BecamePrimary()] and st.myself.is_primary


# -- the election -------------------------------------------------------------------------
def test_a_won_election_emits_became_primary():
    st = build()
    st.nodes[P1].flags |= Flag.FAIL
    st.nodes[P1].fail_time = T0
    now, requests = T0, []
    while not requests:
        now += 100
        assert now < T0 + 5000, "no election started"
        effects = st.tick(now)
        assert roles(effects) == []
        requests = [e for e in effects if isinstance(e, Send)
                    and e.message.type is MsgType.AUTH_REQUEST]
    epoch = st.election.auth_epoch
    first = st.on_message(message(st, MsgType.AUTH_ACK, P2, current_epoch=epoch), 2, now)
    assert roles(first) == [] and st.myself.is_replica
    won = st.on_message(message(st, MsgType.AUTH_ACK, P3, current_epoch=epoch), 3, now)
    assert "Failover election won: I'm the new master." in [
        e.text for e in won if isinstance(e, Log)]
    assert roles(won) == [BecamePrimary()]
    assert st.myself.is_primary and sorted(st.myself.slots) == list(range(100))
    # announced before the PONGs that tell the others, and before the save
    kinds = [type(e) for e in won]
    assert kinds.index(BecamePrimary) < kinds.index(SaveConfig)
    assert roles(st.tick(now + 100)) == []


# -- UPDATE and heartbeats ----------------------------------------------------------------
def test_an_update_that_takes_my_last_slots_demotes_me_with_follow_primary():
    st = my_slots_primary()
    st.nodes[R2].config_epoch = 0
    update = Message(MsgType.UPDATE, message(st, MsgType.PING, P2).header, node_id=R2,
                     config_epoch=9, slots=bitmap(range(100)))
    st.current_epoch = 9
    effects = st.on_message(update, 2, T0 + 1)
    assert roles(effects) == [FollowPrimary(R2)]
    assert st.myself.is_replica and st.myself.primary_id == R2
    assert not [e for e in effects if isinstance(e, DeleteSlotKeys)]   # I follow R2


def test_a_heartbeat_of_my_promoted_replica_demotes_me_with_follow_primary():
    st = my_slots_primary()
    replica = st.nodes[R2]
    replica.flags, replica.primary_id = Flag.MASTER, None
    ping = message(st, MsgType.PING, R2, config_epoch=9, current_epoch=9,
                   slots=bitmap(range(100)))
    effects = st.on_message(ping, -5, T0 + 1)
    assert roles(effects) == [FollowPrimary(R2)]


def test_my_primary_failed_over_by_a_sibling_emits_follow_primary_of_the_winner():
    st = build()
    st.add_node(NodeRecord(id=R2, ip="127.0.0.1", port=30010, cport=40010,
                           flags=Flag.SLAVE, primary_id=P1, created=T0))
    pong = message(st, MsgType.PING, R2, flags=int(Flag.MASTER), primary_id=None,
                   config_epoch=9, current_epoch=9, slots=bitmap(range(100)))
    effects = st.on_message(pong, -5, T0 + 1)
    assert roles(effects) == [FollowPrimary(R2)]
    assert st.myself.primary_id == R2


def test_an_update_about_myself_as_a_replica_emits_became_primary():
    st = build()
    update = Message(MsgType.UPDATE, message(st, MsgType.PING, P2).header, node_id=ME,
                     config_epoch=9, slots=bitmap(range(100)))
    effects = st.on_message(update, 2, T0 + 1)
    assert roles(effects) == [BecamePrimary()] and st.myself.is_primary


# -- replica migration --------------------------------------------------------------------
def test_replica_migration_emits_follow_primary():
    st = build()
    for node_id, primary in ((R2, P1), (R3, P3)):
        st.add_node(NodeRecord(id=node_id, ip="127.0.0.1", port=30020, cport=40020,
                               flags=Flag.SLAVE, primary_id=primary, created=T0))
    st.nodes[P2].flags |= Flag.MIGRATE_TO
    st.state_ok = True
    assert roles(st._run(T0, migration.cron, st)) == []
    effects = st._run(T0 + 5001, migration.cron, st)
    assert roles(effects) == [FollowPrimary(P2)]
    assert st.myself.primary_id == P2


# -- nothing changed ----------------------------------------------------------------------
def test_no_role_effect_when_nothing_changes():
    st = build()
    seen = []
    for step in range(1, 30):
        now = T0 + step * 100
        seen += st.tick(now)
        for link, sender in enumerate((P1, P2, P3), start=1):
            seen += st.on_message(message(st, MsgType.PONG, sender), link, now)
            seen += st.on_message(message(st, MsgType.PING, sender), -link, now)
    seen += st.replicate(P1, 0, T0 + 4000)
    assert roles(seen) == [] and st.myself.primary_id == P1
    primary = build(me_primary=None)
    assert roles(primary.tick(T0 + 100) + primary.flush_slots(T0 + 200)) == []


def test_set_node_as_master_of_another_node_announces_nothing():
    st = build()
    other = NodeRecord(id=R2, flags=Flag.SLAVE, primary_id=P2, created=T0)
    st.add_node(other)
    slotconf.set_node_as_master(st, other)
    assert roles(st._before_sleep()) == []


# -- the transport ------------------------------------------------------------------------
def test_the_transport_hands_role_effects_to_deliver_in_order():
    st = build(me_primary=None)
    got, logs = [], []
    transport = BusTransport(st, bind=[], cport=0, save_config=lambda fsync: None,
                             log=lambda level, text: logs.append((level, text)),
                             deliver=got.append)
    batch = [FollowPrimary(P1), Log("notice", "x"), BecamePrimary()]
    transport._perform(batch)
    assert got == [FollowPrimary(P1), BecamePrimary()]
    assert ("notice", "x") in logs


def test_a_failing_deliver_is_logged_not_fatal():
    st = build(me_primary=None)
    logs = []

    def deliver(effect):
        raise AttributeError("no such thing")

    transport = BusTransport(st, bind=[], cport=0, save_config=lambda fsync: None,
                             log=lambda level, text: logs.append((level, text)),
                             deliver=deliver)
    transport._perform([BecamePrimary(), Log("notice", "after")])
    assert logs and logs[0][0] == "warning" and "BecamePrimary" in logs[0][1]
    assert ("notice", "after") in logs              # the rest of the batch still runs
