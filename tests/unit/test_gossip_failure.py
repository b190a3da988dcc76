"""Failure detection and cluster state, driven by hand: PFAIL, failure reports, FAIL on a
majority, FAIL clearing, link resets, cluster_state ok/fail with Redis's delays."""
from __future__ import annotations

import random

from gossip.effects import Disconnect, Send
from gossip.messages import GossipEntry, Message, MsgType
from gossip.records import Flag
from gossip.state import ClusterConfig, ClusterState
from tests.unit.gossip_pump import T0, Pump

RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


def cluster(n: int = 4, masters: int = 3, **kw) -> Pump:
    """n nodes, the first `masters` owning the slots (others: slotless masters)."""
    p = Pump(n, **kw)
    p.meet_all()
    for i in range(masters):
        a, b = RANGES[i] if masters == 3 else (i * 16384 // masters,
                                               (i + 1) * 16384 // masters - 1)
        p.call(i, "add_slots", list(range(a, b + 1)))
    p.run_until(lambda: all(s.state_ok for s in p.states))
    return p


def flags_of(p: Pump, observer: int, node: int) -> Flag:
    return p.states[observer].nodes[p.states[node].myself.id].flags


def test_killed_primary_goes_pfail_then_fail_everywhere():
    p = cluster(node_timeout=1000)
    victim = p.states[0].myself.id
    p.kill(0)
    start = p.now
    p.run_until(lambda: flags_of(p, 1, 0) & (Flag.PFAIL | Flag.FAIL))
    assert p.now - start > 1000                  # not before node_timeout
    p.run_until(lambda: all(flags_of(p, i, 0) & Flag.FAIL for i in (1, 2, 3)))
    assert p.now - start < 1000 + 2000
    assert all(not flags_of(p, i, 0) & Flag.PFAIL for i in (1, 2, 3))
    marked = [i for i in (1, 2, 3)
              if f"Marking node {victim} as failing (quorum reached)." in p.log_texts(i)]
    assert marked
    told = [i for i in (1, 2, 3) if any(t.startswith("FAIL message received from")
                                        and t.endswith(victim) for t in p.log_texts(i))]
    assert told and set(marked) | set(told) == {1, 2, 3}
    assert sum(s.stats_sent[MsgType.FAIL] for s in p.states[1:]) >= 2
    for i in (1, 2, 3):
        st = p.states[i]
        assert st.nodes[victim].fail_time > start
        p.run_until(lambda: not st.state_ok, 500)


def test_no_fail_without_a_majority_of_primaries():
    p = cluster(node_timeout=1000)
    p.kill(0)
    p.kill(1)
    p.run(4000)
    for victim in (0, 1):
        assert flags_of(p, 2, victim) & Flag.PFAIL and not flags_of(p, 2, victim) & Flag.FAIL
        assert flags_of(p, 3, victim) & Flag.PFAIL and not flags_of(p, 3, victim) & Flag.FAIL
    assert not p.states[2].state_ok and not p.states[3].state_ok


def test_failure_reports_come_only_from_voting_primaries_and_expire():
    p = cluster(n=5, masters=3, node_timeout=1000)
    st = p.states[0]
    target = st.nodes[p.states[4].myself.id]
    slotless = st.nodes[p.states[3].myself.id]
    voter = st.nodes[p.states[1].myself.id]

    def gossip_from(sender_index: int, flags: Flag) -> Message:
        sender = p.states[sender_index]
        entry = GossipEntry(id=target.id, ping_sent=0, pong_received=0, ip=target.ip,
                            port=target.port, cport=target.cport, flags=int(flags))
        return Message(MsgType.PING, sender.header(), gossip=(entry,))

    st.on_message(gossip_from(3, Flag.MASTER | Flag.PFAIL), -100, p.now)
    assert target.fail_reports == {}
    assert slotless.id not in target.fail_reports
    effects = st.on_message(gossip_from(1, Flag.MASTER | Flag.PFAIL), -101, p.now)
    assert list(target.fail_reports) == [voter.id]
    assert st.count_failure_reports(target.id, p.now) == 1
    texts = [e.text for e in effects if hasattr(e, "text")]
    assert f"Node {voter.id} reported node {target.id} as not reachable." in texts
    st.on_message(gossip_from(1, Flag.MASTER), -101, p.now + 10)
    assert target.fail_reports == {}
    st.on_message(gossip_from(1, Flag.MASTER | Flag.FAIL), -101, p.now + 20)
    assert st.count_failure_reports(target.id, p.now + 20 + 2000) == 1
    assert st.count_failure_reports(target.id, p.now + 20 + 2001) == 0


def test_fail_needs_local_pfail():
    p = cluster(n=4, node_timeout=1000)
    st = p.states[3]                                 # slotless observer
    target = st.nodes[p.states[0].myself.id]
    for i in (1, 2):
        target.fail_reports[p.states[i].myself.id] = p.now
    entry = GossipEntry(id=target.id, ping_sent=0, pong_received=0, ip=target.ip,
                        port=target.port, cport=target.cport, flags=int(Flag.MASTER | Flag.PFAIL))
    st.on_message(Message(MsgType.PING, p.states[1].header(), gossip=(entry,)), -50, p.now)
    assert not target.flags & Flag.FAIL              # reports, but no local PFAIL
    target.flags |= Flag.PFAIL
    effects = st.on_message(Message(MsgType.PING, p.states[2].header(), gossip=(entry,)),
                            -51, p.now)
    assert target.flags & Flag.FAIL and not target.flags & Flag.PFAIL
    fails = [e for e in effects if isinstance(e, Send) and e.message.type is MsgType.FAIL]
    assert {e.message.node_id for e in fails} == {target.id} and len(fails) == 3


def test_single_primary_cluster_fails_nodes_straight_away():
    p = Pump(2, node_timeout=1000)
    p.meet_all()
    p.call(0, "add_slots", list(range(16384)))
    p.run_until(lambda: p.states[0].state_ok)
    p.kill(1)
    p.run_until(lambda: flags_of(p, 0, 1) & (Flag.PFAIL | Flag.FAIL))
    assert flags_of(p, 0, 1) & Flag.FAIL


def test_pfail_is_cleared_by_a_pong():
    p = cluster(node_timeout=1000)
    p.partition([0], [3])
    p.run_until(lambda: flags_of(p, 3, 0) & Flag.PFAIL)
    assert not flags_of(p, 3, 0) & Flag.FAIL        # the primaries still see node 0
    p.heal()
    p.run_until(lambda: not flags_of(p, 3, 0) & Flag.PFAIL, 3000)


def test_fail_of_slotless_node_clears_at_once_of_primary_only_after_undo_time():
    p = cluster(n=5, masters=3, node_timeout=1000)
    p.kill(4)
    p.kill(0)
    p.run_until(lambda: flags_of(p, 1, 4) & Flag.FAIL and flags_of(p, 1, 0) & Flag.FAIL)
    failed_at = p.states[1].nodes[p.states[0].myself.id].fail_time
    p.dead -= {0, 4}
    p.run_until(lambda: not flags_of(p, 1, 4) & Flag.FAIL, 3000)
    assert any(t.endswith("master without slots is reachable again.") for t in p.log_texts(1))
    assert flags_of(p, 1, 0) & Flag.FAIL or p.now - failed_at > 2000
    p.run_until(lambda: not flags_of(p, 1, 0) & Flag.FAIL, 5000)
    assert p.now - failed_at > 2000
    assert any("nobody is serving its slots after some time" in t for t in p.log_texts(1))
    p.run_until(lambda: all(s.state_ok for s in p.states), 10_000)


def test_fail_message_from_unknown_sender_is_ignored():
    p = cluster(node_timeout=1000)
    st = p.states[1]
    stranger = ClusterState(ClusterConfig(port=1, cport=2), random.Random(5), T0)
    msg = Message(MsgType.FAIL, stranger.header(), node_id=p.states[0].myself.id)
    st.on_message(msg, -77, p.now)
    assert not flags_of(p, 1, 0) & Flag.FAIL
    assert p.states[1].stats_received[MsgType.FAIL] == 1


def test_link_reset_when_ping_pending_and_no_data():
    p = Pump(2, node_timeout=1000)
    p.meet_all()
    a = p.states[0]
    node = a.nodes[p.states[1].myself.id]
    p.kill(1)
    p.dead.discard(1)              # alive again but we pretend the link is silent
    p.run(200)
    now = p.now + 5000
    node.link, node.link_up, node.link_created = 77, True, now - 3000
    a.outbound[77] = node
    node.ping_sent, node.data_received = now - 600, now - 600
    effects = a.tick(now)
    assert Disconnect(77) in effects and node.link != 77


def test_state_ok_needs_coverage_and_the_writable_delay():
    p = Pump(2, node_timeout=1000)
    p.meet_all()
    a, b = p.states
    assert not a.state_ok
    p.call(0, "add_slots", list(range(16383)))
    p.run(3000)
    assert not a.state_ok and not b.state_ok          # slot 16383 unassigned
    p.call(1, "add_slots", [16383])
    p.run_until(lambda: a.state_ok and b.state_ok, 2000)
    assert "Cluster state changed: ok" in p.log_texts(0)
    p.call(1, "del_slots", [16383])
    assert not b.state_ok and "Cluster state changed: fail" in p.log_texts(1)


def test_writable_delay_keeps_a_new_primary_down_for_two_seconds():
    st = ClusterState(ClusterConfig(port=1, cport=2), random.Random(1), T0)
    st.add_slots(list(range(16384)), T0)
    assert not st.state_ok
    st.tick(T0 + 1900)
    assert not st.state_ok
    st.tick(T0 + 2000)
    assert st.state_ok and st.size == 1


def test_no_full_coverage_needed_when_disabled():
    st = ClusterState(ClusterConfig(port=1, cport=2, require_full_coverage=False),
                      random.Random(1), T0)
    st.add_slots([1], T0)
    st.tick(T0 + 2100)
    assert st.state_ok


def test_minority_partition_fails_majority_stays_ok_then_rejoin_delay():
    p = cluster(n=5, masters=3, node_timeout=1000, require_full_coverage=False)
    p.partition([0, 3], [1, 2, 4])
    p.run_until(lambda: not p.states[0].state_ok, 5000)
    p.run(2000)
    assert all(flags_of(p, i, 0) & Flag.FAIL for i in (1, 2, 4))
    assert all(p.states[i].state_ok for i in (1, 2, 4))      # 2 of 3 primaries: majority
    assert not p.states[0].state_ok and not p.states[3].state_ok
    assert "Cluster state changed: fail" in p.log_texts(0)
    p.heal()
    start = p.now
    p.run_until(lambda: p.states[3].state_ok, 10_000)       # a slotless master: no delay
    p.run_until(lambda: p.states[0].state_ok, 10_000)
    # node 0 is a primary coming back from the minority: waits clamp(1000, 500, 5000)
    assert p.now - start >= 900
    assert p.states[0].among_minority_time >= start - 100


def test_full_coverage_lost_when_a_slot_owner_fails():
    p = cluster(n=4, masters=3, node_timeout=1000)
    p.kill(0)
    p.run_until(lambda: all(flags_of(p, i, 0) & Flag.FAIL for i in (1, 2, 3)))
    p.run(200)
    assert not any(p.states[i].state_ok for i in (1, 2, 3))


def test_majority_stays_ok_when_a_slotless_minority_splits_off():
    p = cluster(n=5, masters=3, node_timeout=1000)
    p.partition([3, 4], [0, 1, 2])
    p.run(4000)
    assert all(p.states[i].state_ok for i in (0, 1, 2))
    assert not p.states[3].state_ok and not p.states[4].state_ok
