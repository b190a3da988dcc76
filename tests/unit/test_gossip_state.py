"""The bus state machine driven by hand: construction, MEET/handshake, gossip discovery,
FORGET, RESET, epochs, UPDATE, collisions, slots commands, publish (see
test_gossip_failure.py for PFAIL/FAIL and cluster state)."""
from __future__ import annotations

import random

import pytest

from gossip.effects import Connect, Deliver, Disconnect, Log, SaveConfig, Send
from gossip.messages import MsgType
from gossip.records import Flag, NodeRecord, SlotBitmap
from gossip.state import ClusterConfig, ClusterError, ClusterState
from tests.unit.gossip_pump import IP, T0, Pump


def fresh(**kw) -> ClusterState:
    return ClusterState(ClusterConfig(port=30001, cport=40001, **kw), random.Random(7), T0)


def sends(effects, kind=None):
    return [e for e in effects if isinstance(e, Send) and (kind is None or e.message.type is kind)]


def three_masters(**kw) -> Pump:
    p = Pump(3, **kw)
    p.meet_all()
    for i, (a, b) in enumerate([(0, 5460), (5461, 10922), (10923, 16383)]):
        p.call(i, "add_slots", list(range(a, b + 1)))
    p.run_until(lambda: all(s.state_ok for s in p.states))
    return p


# -- construction -----------------------------------------------------------------------
def test_fresh_node_is_a_lone_master_with_unknown_ip():
    st = fresh()
    me = st.myself
    assert me.flags == Flag.MYSELF | Flag.MASTER
    assert len(me.id) == 40 and int(me.id, 16) >= 0
    assert len(me.shard_id) == 40 and me.shard_id != me.id
    assert (me.ip, me.port, me.cport) == ("", 30001, 40001)
    assert st.nodes == {me.id: me}
    assert st.current_epoch == 0 and me.config_epoch == 0 and not st.state_ok
    assert st.slot_owner == [None] * 16384


def test_construction_honours_announce_and_given_id():
    st = fresh(announce_ip="10.0.0.5", announce_port=6000, announce_bus_port=16001,
               replica_no_failover=True)
    assert (st.myself.ip, st.myself.port, st.myself.cport) == ("10.0.0.5", 6000, 16001)
    assert st.myself.flags & Flag.NOFAILOVER
    st2 = ClusterState(ClusterConfig(port=1, cport=2), random.Random(1), T0, "ab" * 20)
    assert st2.myself.id == "ab" * 20 and list(st2.nodes) == ["ab" * 20]


def test_same_seed_same_ids():
    assert fresh().myself.id == fresh().myself.id


def test_from_saved_restores_records_epochs_and_slots():
    me, other, replica = "a" * 40, "b" * 40, "c" * 40
    mine = NodeRecord(id=me, ip="127.0.0.1", port=30001, cport=40001,
                      flags=Flag.MYSELF | Flag.MASTER, config_epoch=3, shard_id="d" * 40)
    mine.slots.add(0)
    mine.slots.add(1)
    theirs = NodeRecord(id=other, ip="127.0.0.1", port=30002, cport=40002,
                        flags=Flag.MASTER | Flag.PFAIL, config_epoch=5, pong_received=123)
    theirs.slots.add(2)
    rep = NodeRecord(id=replica, ip="127.0.0.1", port=30003, cport=40003, flags=Flag.SLAVE,
                     primary_id=other, config_epoch=5, ping_sent=9)
    orphan = NodeRecord(id="e" * 40, flags=Flag.SLAVE, primary_id="f" * 40)
    st = ClusterState.from_saved(ClusterConfig(port=30001, cport=40001), random.Random(1),
                                 T0, me, [mine, theirs, rep, orphan], current_epoch=4,
                                 last_vote_epoch=2)
    assert st.myself.id == me
    assert st.myself.flags & ~Flag.MIGRATE_TO == Flag.MYSELF | Flag.MASTER
    assert st.myself.ip == "127.0.0.1" and st.myself.shard_id == "d" * 40
    assert st.current_epoch == 5 and st.last_vote_epoch == 2       # max of saved epochs
    assert st.slot_owner[0] == me and st.slot_owner[2] == other and st.slot_owner[3] is None
    assert st.nodes[other].flags & ~Flag.MIGRATE_TO == Flag.MASTER | Flag.PFAIL
    assert st.nodes[other].pong_received == T0 and st.nodes[other].ping_sent == 0
    assert st.nodes[replica].config_epoch == 0 and st.nodes[replica].ping_sent == T0
    assert st.nodes["f" * 40].flags == Flag(0)        # placeholder for an unknown primary
    assert all(n.link is None for n in st.nodes.values())
    with pytest.raises(ValueError):
        ClusterState.from_saved(ClusterConfig(port=1, cport=2), random.Random(1), T0,
                                "9" * 40, [theirs], 0, 0)


def test_from_saved_node_reconnects_and_rejoins():
    p = three_masters()
    old = p.states[0]
    records = list(old.nodes.values())
    reborn = ClusterState.from_saved(old.config, random.Random(99), p.now, old.myself.id,
                                     records, old.current_epoch, old.last_vote_epoch)
    p.kill(0)
    p.run(500)
    p.states[0] = reborn
    p.dead.discard(0)
    effects = reborn.tick(p.now)
    assert {e.cport for e in effects if isinstance(e, Connect)} == {40002, 40003}
    p.apply(0, effects)
    p.run_until(lambda: reborn.state_ok)
    assert reborn.slot_owner == old.slot_owner


# -- MEET and the handshake -----------------------------------------------------------
def test_meet_adds_handshake_node_and_connects():
    st = fresh()
    effects = st.meet("127.0.0.1", 30002, 40002, T0)
    hs = [n for n in st.nodes.values() if n is not st.myself]
    assert len(hs) == 1 and hs[0].flags == Flag.HANDSHAKE | Flag.MEET
    assert effects == [Connect(hs[0].link, "127.0.0.1", 40002)]
    assert st.meet("127.0.0.1", 30002, 40002, T0) == []          # already in progress
    assert len(st.nodes) == 2
    up = st.on_link_up(hs[0].link, T0 + 1)
    assert [e.message.type for e in sends(up)] == [MsgType.MEET]
    assert not hs[0].flags & Flag.MEET


@pytest.mark.parametrize("ip,port,cport", [("nohost", 1, 2), ("1.2.3.4", 0, 10000),
                                           ("1.2.3.4", 70000, 1), ("::1", 5, 0)])
def test_meet_rejects_bad_address(ip, port, cport):
    st = fresh()
    with pytest.raises(ClusterError) as err:
        st.meet(ip, port, cport, T0)
    assert err.value.message == f"ERR Invalid node address specified: {ip}:{port}"
    assert len(st.nodes) == 1


def test_meet_handshake_renames_and_learns_ip():
    p = Pump(2)
    a, b = p.states
    p.call(0, "meet", IP, 30002, 40002)
    assert b.myself.ip == IP and "IP address for this node updated to 127.0.0.1" in p.log_texts(1)
    assert b.myself.id in a.nodes and not a.nodes[b.myself.id].flags & Flag.HANDSHAKE
    assert a.nodes[b.myself.id].flags == Flag.MASTER
    assert [n.flags for n in b.nodes.values() if n is not b.myself] == [Flag.HANDSHAKE]
    p.run_until(p.converged)
    assert a.myself.id in b.nodes and a.myself.ip == IP
    assert b.nodes[a.myself.id].pong_received > T0 and a.nodes[b.myself.id].ping_sent == 0
    assert a.nodes[b.myself.id].link_up and b.nodes[a.myself.id].link_up
    assert any(isinstance(s, SaveConfig) for s in p.saves[1])


def test_meet_from_stranger_uses_announced_ip_over_peer():
    a, b = fresh(announce_ip="10.1.1.1"), ClusterState(
        ClusterConfig(port=30002, cport=40002), random.Random(8), T0)
    out = a.meet("10.2.2.2", 30002, 40002, T0)
    link = out[0].link
    meet = sends(a.on_link_up(link, T0))[0].message
    assert meet.header.myip == "10.1.1.1"
    reply = b.on_message(meet, -1, T0, local_ip="10.2.2.2", peer_ip="192.168.0.9")
    hs = [n for n in b.nodes.values() if n is not b.myself][0]
    assert (hs.ip, hs.port, hs.cport, hs.flags) == ("10.1.1.1", 30001, 40001, Flag.HANDSHAKE)
    assert [(e.link, e.message.type) for e in sends(reply)] == [(-1, MsgType.PONG)]
    assert b.stats_received[MsgType.MEET] == 1 and b.stats_sent[MsgType.PONG] == 1


def test_handshake_times_out():
    st = fresh(node_timeout=500)
    st.meet("127.0.0.1", 30002, 40002, T0)
    st.tick(T0 + 1000)
    assert len(st.nodes) == 2
    effects = st.tick(T0 + 1100)                 # max(node_timeout, 1000) passed
    assert len(st.nodes) == 1 and any(isinstance(e, Disconnect) for e in effects)


def test_meet_of_known_node_at_new_address_drops_handshake_and_updates_address():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    # B is also reachable as 127.0.0.1 with another cport alias: meet it there.
    known = a.nodes[b.myself.id]
    known.cport = 1          # pretend we had a stale bus port for it
    p.call(0, "meet", IP, 30002, 40002)
    assert len(a.nodes) == 2
    assert a.nodes[b.myself.id].cport == 40002
    assert any("updating the address if needed" in t for t in p.log_texts(0))


def test_pong_from_wrong_id_marks_noaddr():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    node = a.nodes[b.myself.id]
    link = node.link
    c = fresh()
    pong = sends(c.on_message(sends(a.on_link_up(link, p.now), MsgType.PING)[0].message,
                              -1, p.now))[0].message
    a.on_message(pong, link, p.now)
    assert node.flags & Flag.NOADDR and node.ip == "" and node.link is None


# -- gossip discovery, FORGET ------------------------------------------------------------
def test_gossip_discovery_joins_nodes_met_through_one():
    p = Pump(5)
    p.meet_all()
    for st in p.states:
        assert len(st.nodes) == 5
        assert all(n.flags & (Flag.MASTER | Flag.MYSELF) for n in st.nodes.values())
    p.run(2000)
    for st in p.states:
        assert all(n.link_up for n in st.nodes.values() if n is not st.myself)


def test_gossip_carries_pfail_nodes_and_at_least_three_others():
    p = Pump(6)
    p.meet_all()
    st = p.states[0]
    victim = st.nodes[p.states[5].myself.id]
    victim.flags |= Flag.PFAIL
    node = st.nodes[p.states[1].myself.id]
    ping = sends(st.on_link_up(node.link, p.now), MsgType.PING)[0].message
    ids = [g.id for g in ping.gossip]
    assert victim.id in ids and len(ids) == 4 and st.myself.id not in ids
    assert all(g.pong_received % 1000 == 0 for g in ping.gossip)


def test_forget_errors():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    with pytest.raises(ClusterError) as err:
        a.forget(a.myself.id, p.now)
    assert err.value.message == "ERR I tried hard but I can't forget myself..."
    with pytest.raises(ClusterError) as err:
        a.forget("0" * 40, p.now)
    assert err.value.message == "ERR Unknown node " + "0" * 40
    a.myself.flags = Flag.MYSELF | Flag.SLAVE
    a.myself.primary_id = b.myself.id
    with pytest.raises(ClusterError) as err:
        a.forget(b.myself.id, p.now)
    assert err.value.message == "ERR Can't forget my master!"


def test_forget_blacklists_for_ttl():
    p = Pump(3, blacklist_ttl=5000)
    p.meet_all()
    a, gone = p.states[0], p.states[2].myself.id
    effects = p.call(0, "forget", gone)
    assert gone not in a.nodes and any(isinstance(e, Disconnect) for e in effects)
    assert SaveConfig(fsync=False) in effects
    p.run(3000)                                    # node 1 keeps gossiping about it
    assert gone not in a.nodes
    p.run(3000)
    assert gone in a.nodes                         # blacklist expired: learned again


# -- RESET ----------------------------------------------------------------------------
def test_reset_soft_and_hard():
    p = three_masters()
    st = p.states[0]
    old_id, old_shard = st.myself.id, st.myself.shard_id
    st.myself.flags = Flag.MYSELF | Flag.SLAVE
    st.myself.primary_id = p.states[1].myself.id
    st.blacklist["f" * 40] = p.now + 60000
    effects = st.reset(False, p.now)
    assert list(st.nodes) == [old_id] and st.myself.flags == Flag.MYSELF | Flag.MASTER
    assert st.myself.primary_id is None and st.slot_owner == [None] * 16384
    assert not st.blacklist and SaveConfig(fsync=True) in effects
    assert sum(isinstance(e, Disconnect) for e in effects) == 2
    assert st.current_epoch > 0
    st.reset(True, p.now)
    assert st.myself.id != old_id and st.myself.shard_id != old_shard
    assert list(st.nodes) == [st.myself.id]
    assert st.current_epoch == st.last_vote_epoch == st.myself.config_epoch == 0


# -- epochs ------------------------------------------------------------------------------
def test_set_config_epoch_rules():
    st = fresh()
    with pytest.raises(ClusterError) as err:
        st.set_config_epoch(-1, T0)
    assert err.value.message == "ERR Invalid config epoch specified: -1"
    effects = st.set_config_epoch(5, T0)
    assert st.myself.config_epoch == 5 and st.current_epoch == 5
    assert effects[-1] == SaveConfig(fsync=False)
    with pytest.raises(ClusterError) as err:
        st.set_config_epoch(6, T0)
    assert err.value.message == "ERR Node config epoch is already non-zero"
    other = fresh()
    other.meet("127.0.0.1", 1, 2, T0)
    with pytest.raises(ClusterError) as err:
        other.set_config_epoch(1, T0)
    assert err.value.message == ("ERR The user can assign a config epoch only when the "
                                 "node does not know any other node.")


def test_bump_epoch():
    st = fresh()
    bumped, effects = st.bump_epoch(T0)
    assert bumped and st.myself.config_epoch == 1 == st.current_epoch
    assert SaveConfig(fsync=True) in effects
    bumped, effects = st.bump_epoch(T0)
    assert not bumped and effects == [] and st.myself.config_epoch == 1


def test_current_epoch_follows_known_senders():
    p = Pump(2)
    p.meet_all()
    p.states[1].current_epoch = 9
    p.run(1500)
    assert p.states[0].current_epoch == 9


def test_config_epoch_collision_ends_with_distinct_epochs():
    p = Pump(5, seed=3)
    p.meet_all()
    p.run_until(lambda: len({s.myself.config_epoch for s in p.states}) == 5, 30_000)
    smallest = min(range(5), key=lambda i: p.states[i].myself.id)
    largest = max(range(5), key=lambda i: p.states[i].myself.id)
    assert p.states[largest].myself.config_epoch == 0
    assert p.states[smallest].myself.config_epoch > 0
    assert any(t.startswith("WARNING: configEpoch collision with node ")
               for t in p.log_texts(smallest))
    assert SaveConfig(fsync=True) in p.saves[smallest]


def test_higher_config_epoch_wins_a_slot_and_stale_owner_gets_update():
    p = three_masters()
    a, b, c = p.states
    assert a.slot_owner[100] == a.myself.id
    # c claims slot 100 with a higher epoch than a (as a failover/import would)
    c.myself.config_epoch = max(s.myself.config_epoch for s in p.states) + 10
    c.slot_owner[100] = None
    a_rec = c.nodes[a.myself.id]
    a_rec.slots.discard(100)
    c.add_slot(c.myself, 100)
    p.run(1500)
    for st in p.states:
        assert st.slot_owner[100] == c.myself.id
    assert 100 not in a.myself.slots and 101 in a.myself.slots


def test_update_message_rebinds_slots():
    p = three_masters(wire=True)
    a, b, c = p.states
    # b has a stale view: it thinks it owns slot 0 with an old epoch.
    b.slot_owner[0] = None
    b.nodes[a.myself.id].slots.discard(0)
    b.add_slot(b.myself, 0)
    b.myself.config_epoch = 0
    a.myself.config_epoch = 50
    p.run(1500)
    assert b.slot_owner[0] == a.myself.id and 0 not in b.myself.slots
    assert a.stats_sent[MsgType.UPDATE] + c.stats_sent[MsgType.UPDATE] >= 1
    assert b.stats_received[MsgType.UPDATE] >= 1


def test_primary_losing_all_slots_becomes_replica_of_new_owner():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    p.call(0, "add_slots", [1, 2])
    p.run(1000)
    assert b.slot_owner[1] == a.myself.id
    p.call(1, "bump_epoch")
    p.call(1, "bump_epoch")
    b.slot_owner[1] = b.slot_owner[2] = None
    b.nodes[a.myself.id].slots.clear()
    b.add_slot(b.myself, 1)
    b.add_slot(b.myself, 2)
    p.run(1500)
    assert a.slot_owner[1] == b.myself.id and len(a.myself.slots) == 0
    assert a.myself.flags == Flag.MYSELF | Flag.SLAVE and a.myself.primary_id == b.myself.id
    assert b.nodes[a.myself.id].flags & Flag.SLAVE
    assert b.replicas_of(b.myself.id) == [b.nodes[a.myself.id]]


# -- slots commands -----------------------------------------------------------------------
def test_add_and_del_slots_errors_are_all_or_nothing():
    st = fresh()
    st.add_slots([1, 2, 3], T0)
    assert list(st.myself.slots) == [1, 2, 3] and st.slot_owner[2] == st.myself.id
    for slots, text in [([4, 2], "ERR Slot 2 is already busy"),
                        ([5, 6, 5], "ERR Slot 5 specified multiple times"),
                        ([16384], "ERR Invalid or out of range slot")]:
        with pytest.raises(ClusterError) as err:
            st.add_slots(slots, T0)
        assert err.value.message == text
    assert list(st.myself.slots) == [1, 2, 3]
    with pytest.raises(ClusterError) as err:
        st.del_slots([1, 7], T0)
    assert err.value.message == "ERR Slot 7 is already unassigned"
    with pytest.raises(ClusterError) as err:
        st.del_slots([1, 1], T0)
    assert err.value.message == "ERR Slot 1 specified multiple times"
    effects = st.del_slots([1], T0)
    assert list(st.myself.slots) == [2, 3] and effects[-1] == SaveConfig(fsync=False)
    st.importing[2] = "b" * 40
    st.flush_slots(T0)
    assert len(st.myself.slots) == 0 and st.slot_owner == [None] * 16384


def test_add_slots_clears_importing():
    st = fresh()
    st.importing[9] = "b" * 40
    st.add_slots([9], T0)
    assert st.importing == {}


def test_replicas_of_and_count_failure_reports_errors():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    with pytest.raises(ClusterError) as err:
        a.replicas_of("1" * 40)
    assert err.value.message == "ERR Unknown node " + "1" * 40
    a.nodes[b.myself.id].flags = Flag.SLAVE
    with pytest.raises(ClusterError) as err:
        a.replicas_of(b.myself.id)
    assert err.value.message == "ERR The specified node is not a master"
    with pytest.raises(ClusterError) as err:
        a.count_failure_reports("1" * 40, p.now)
    assert err.value.message == "ERR Unknown node " + "1" * 40
    assert a.count_failure_reports(b.myself.id, p.now) == 0


# -- headers, publish, stats, bad frames -----------------------------------------------------
def test_header_of_a_replica_carries_its_primarys_slots_and_epoch():
    p = three_masters()
    a, b = p.states[0], p.states[1]
    a.flush_slots(p.now)
    a.myself.flags = Flag.MYSELF | Flag.SLAVE
    a.myself.primary_id = b.myself.id
    hdr = a.header()
    assert hdr.flags == int(Flag.SLAVE) and hdr.primary_id == b.myself.id
    assert hdr.slots == bytes(a.nodes[b.myself.id].slots)
    assert hdr.config_epoch == a.nodes[b.myself.id].config_epoch
    assert hdr.sender == a.myself.id and hdr.current_epoch == a.current_epoch
    assert hdr.shard_id == a.myself.shard_id and hdr.state_ok == a.state_ok
    p.run(1500)
    assert b.nodes[a.myself.id].flags == Flag.SLAVE
    assert b.nodes[a.myself.id].primary_id == b.myself.id


def test_publish_reaches_every_node_and_shard_publish_only_my_shard():
    p = Pump(3)
    p.meet_all()
    p.apply(0, p.states[0].publish(b"ch", b"hello", False))
    assert p.delivered[1] == [Deliver(b"ch", b"hello", False)]
    assert p.delivered[2] == [Deliver(b"ch", b"hello", False)]
    a = p.states[0]
    a.nodes[p.states[2].myself.id].shard_id = a.myself.shard_id
    effects = a.publish(b"sch", b"x", True)
    p.apply(0, effects)
    assert len(sends(effects, MsgType.PUBLISHSHARD)) == 1
    assert p.delivered[2][-1] == Deliver(b"sch", b"x", True) and len(p.delivered[1]) == 1
    assert a.stats_sent[MsgType.PUBLISH] == 2 and a.stats_sent[MsgType.PUBLISHSHARD] == 1


def test_stats_count_every_message_and_bad_frames_are_counted():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    assert a.stats_sent[MsgType.MEET] == 1 and b.stats_received[MsgType.MEET] == 1
    assert sum(a.stats_sent.values()) == sum(b.stats_received.values())
    effects = a.on_bad_frame(-3, "frame too large", p.now)
    assert a.bad_frames == 1
    assert effects == [Log("warning", "Dropping a bad cluster bus frame from link -3: "
                                      "frame too large")]


def test_message_on_unknown_link_or_from_myself_is_ignored():
    p = Pump(2)
    p.meet_all()
    a, b = p.states
    ping = sends(a.on_link_up(a.nodes[b.myself.id].link, p.now), MsgType.PING)[0].message
    assert b.on_message(ping, 999, p.now) == []
    assert a.on_message(ping, -7, p.now) == []


def test_slot_bitmap_in_header_matches_slots():
    st = fresh()
    st.add_slots([0, 16383], T0)
    assert SlotBitmap(st.header().slots).count == 2


def test_every_message_survives_the_codec():
    p = Pump(4, wire=True, announce_hostname="")
    p.meet_all()
    for i, (a, b) in enumerate([(0, 8191), (8192, 16383)]):
        p.call(i, "add_slots", list(range(a, b + 1)))
    p.run_until(lambda: all(s.state_ok for s in p.states))
    p.apply(0, p.states[0].publish(b"c", b"m", False))
    p.kill(3)
    p.run_until(lambda: p.states[0].nodes[p.states[3].myself.id].flags & Flag.FAIL)
    sent = {t for s in p.states for t, n in s.stats_sent.items() if n}
    assert {MsgType.MEET, MsgType.PING, MsgType.PONG, MsgType.FAIL, MsgType.PUBLISH} <= sent
