"""CLUSTER FAILOVER [FORCE|TAKEOVER], the MFSTART / paused-offset handshake and replica
migration, on ClusterStates built by hand (gossip/manual.py, gossip/migration.py)."""
from __future__ import annotations

import random

import attrs
import pytest

from gossip import codec, migration, slotconf
from gossip.effects import Log, PauseWrites, SaveConfig, Send, UnpauseWrites
from gossip.manual import MF_TIMEOUT_MS
from gossip.messages import MFLAG_PAUSED, Header, Message, MsgType
from gossip.records import Flag, NodeRecord
from gossip.state import ClusterConfig, ClusterError, ClusterState

T0 = 1_700_000_000_000
ME, P1, P2, P3 = "a" * 40, "b" * 40, "c" * 40, "d" * 40
R2, R3, R4 = "e" * 40, "f" * 40, "1" * 40       # R4 sorts before ME
OFFSET = [0]                                      # myself's replication offset


def build(me_primary: str | None = P1, primary_link: bool = True, **config) -> ClusterState:
    """Myself (ME) plus primaries P1 (slots 0-99, epoch 1), P2 (100-199, 2), P3 (200-16383,
    3), every one with a connected outbound link; myself replicates `me_primary`."""
    st = ClusterState(ClusterConfig(port=30001, cport=40001, **config), random.Random(3),
                      T0, ME)
    st.myself.ip = "127.0.0.1"
    ranges = {P1: range(0, 100), P2: range(100, 200), P3: range(200, 16384)}
    for link, (node_id, slots) in enumerate(ranges.items(), start=1):
        node = NodeRecord(id=node_id, ip="127.0.0.1", port=30001 + link,
                          cport=40001 + link, flags=Flag.MASTER, config_epoch=link,
                          pong_received=T0, data_received=T0, created=T0)
        st.add_node(node)
        if primary_link or node_id != me_primary:
            node.link, node.link_up = link, True
            st.outbound[link] = node
        for slot in slots:
            st.add_slot(node, slot)
    st.current_epoch = 3
    if me_primary is not None:
        for slot in list(st.myself.slots):
            st.del_slot(slot)
        slotconf.set_my_primary(st, st.nodes[me_primary])
        st._out.clear()         # (its FollowPrimary, queued outside any input: not tested)
    st.offset_provider = lambda: OFFSET[0]
    OFFSET[0] = 0
    return st


def texts(effects) -> list[str]:
    return [e.text for e in effects if isinstance(e, Log)]


def sends(effects, kind: MsgType) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.message.type is kind]


def message(st: ClusterState, kind: MsgType, sender: str, mflags: int = 0,
            offset: int = 0, primary_id: str | None = None) -> Message:
    """A message from `sender` as it would describe itself."""
    node = st.nodes[sender]
    hdr = Header(sender=sender, current_epoch=st.current_epoch,
                    config_epoch=node.config_epoch,
                    flags=int(Flag.SLAVE if primary_id else Flag.MASTER),
                    primary_id=primary_id, slots=bytes(node.slots), repl_offset=offset,
                    myip=node.ip, port=node.port, cport=node.cport, state_ok=True,
                    mflags=mflags)
    return Message(kind, hdr)


# -- the command's errors -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["default", "force", "takeover"])
def test_a_primary_refuses(mode):
    st = build(me_primary=None)
    with pytest.raises(ClusterError) as err:
        st.failover(mode, T0)
    assert err.value.message == "ERR You should send CLUSTER FAILOVER to a replica"
    assert st.mf is None


@pytest.mark.parametrize("mode", ["default", "force", "takeover"])
def test_a_replica_with_an_unknown_primary_refuses(mode):
    st = build()
    st.myself.primary_id = "9" * 40
    with pytest.raises(ClusterError) as err:
        st.failover(mode, T0)
    assert err.value.message == "ERR I'm a replica but my master is unknown to me"
    assert st.mf is None


@pytest.mark.parametrize("failing", [Flag.PFAIL, Flag.FAIL, None])
def test_default_mode_needs_a_reachable_primary_force_does_not(failing):
    st = build(primary_link=failing is not None)
    if failing is not None:
        st.nodes[P1].flags |= failing
    with pytest.raises(ClusterError) as err:
        st.failover("default", T0)
    assert err.value.message == ("ERR Master is down or failed, please use CLUSTER "
                                 "FAILOVER FORCE")
    assert st.mf is None
    effects = st.failover("force", T0)
    assert "Forced failover user request accepted." in texts(effects)
    assert st.mf.can_start and st.mf.force


def test_unknown_mode_is_a_syntax_error():
    st = build()
    with pytest.raises(ClusterError) as err:
        st.failover("bogus", T0)
    assert err.value.message == "ERR syntax error"


# -- replica side -------------------------------------------------------------------------
def test_default_mode_sends_mfstart_to_my_primary_only():
    st = build()
    effects = st.failover("default", T0)
    assert texts(effects) == ["Manual failover user request accepted."]
    mfstart = sends(effects, MsgType.MFSTART)
    assert [s.link for s in mfstart] == [st.nodes[P1].link]
    assert mfstart[0].message.header.sender == ME
    mf = st.mf
    assert (mf.end, mf.can_start, mf.force, mf.takeover, mf.primary_offset, mf.paused,
            mf.replica_id) == (T0 + MF_TIMEOUT_MS, False, False, False, -1, False, None)


def test_replica_no_failover_does_not_block_a_manual_failover():
    st = build(replica_no_failover=True)
    st.failover("force", T0)
    assert st.mf.can_start


def test_paused_offset_then_catch_up_lets_the_failover_start():
    st = build()
    st.failover("default", T0)
    OFFSET[0] = 90
    # an unpaused message from my primary, or a paused one from another node: ignored
    st.on_message(message(st, MsgType.PING, P1, offset=95), 1, T0 + 1)
    st.on_message(message(st, MsgType.PING, P2, MFLAG_PAUSED, offset=7), 2, T0 + 1)
    assert st.mf.primary_offset == -1
    effects = st.on_message(message(st, MsgType.PING, P1, MFLAG_PAUSED, offset=100), 1,
                            T0 + 2)
    assert ("Received replication offset for paused master manual failover: 100"
            in texts(effects))
    assert st.mf.primary_offset == 100 and not st.mf.can_start
    # a later paused message does not change the recorded offset
    st.on_message(message(st, MsgType.PONG, P1, MFLAG_PAUSED, offset=150), 1, T0 + 3)
    assert st.mf.primary_offset == 100
    effects = st.tick(T0 + 100)
    assert not st.mf.can_start
    OFFSET[0] = 100
    effects = st.tick(T0 + 200)
    assert ("All master replication stream processed, manual failover can start."
            in texts(effects))
    assert st.mf.can_start


def test_the_replica_gives_up_after_the_timeout():
    st = build()
    st.failover("default", T0)
    effects = st.tick(T0 + MF_TIMEOUT_MS)
    assert st.mf is not None
    effects = st.tick(T0 + MF_TIMEOUT_MS + 1)
    assert "Manual failover timed out." in texts(effects)
    assert st.mf is None
    assert not [e for e in effects if isinstance(e, UnpauseWrites)]
    assert st.myself.is_replica and st.myself.primary_id == P1


def test_takeover_becomes_primary_without_any_vote():
    st = build(primary_link=True)
    st.nodes[P1].flags |= Flag.FAIL
    effects = st.failover("takeover", T0)
    me = st.myself
    assert "Taking over the master (user request)." in texts(effects)
    assert me.is_primary and me.primary_id is None
    assert sorted(me.slots) == list(range(100)) and len(st.nodes[P1].slots) == 0
    assert me.config_epoch == 4 == st.current_epoch          # > every other epoch
    assert SaveConfig(fsync=True) in effects
    assert not sends(effects, MsgType.AUTH_REQUEST)
    pongs = sends(effects, MsgType.PONG)
    assert {s.link for s in pongs} == {1, 2, 3}
    assert all(p.message.header.primary_id is None and p.message.header.config_epoch == 4
               for p in pongs)
    assert st.mf is None


# -- primary side -------------------------------------------------------------------------
def primary_with_replica() -> ClusterState:
    """Myself (ME) is the primary owning slots 0-99 (P1 lost them), with replica R2."""
    st = build(me_primary=None)
    for slot in list(st.nodes[P1].slots):
        st.del_slot(slot)
        st.add_slot(st.myself, slot)
    st.myself.config_epoch = 1
    replica = NodeRecord(id=R2, ip="127.0.0.1", port=30010, cport=40010, flags=Flag.SLAVE,
                         primary_id=ME, created=T0)
    st.add_node(replica)
    OFFSET[0] = 12345
    return st


def test_mfstart_from_my_replica_pauses_writes_and_pings_it_with_my_offset():
    st = primary_with_replica()
    effects = st.on_message(message(st, MsgType.MFSTART, R2, primary_id=ME), -5, T0)
    pause = [e for e in effects if isinstance(e, PauseWrites)]
    assert pause == [PauseWrites(T0 + 2 * MF_TIMEOUT_MS)]
    pings = sends(effects, MsgType.PING)
    assert [p.link for p in pings] == [-5]
    assert effects.index(pause[0]) < effects.index(pings[0])
    hdr = pings[0].message.header
    assert hdr.mflags & MFLAG_PAUSED and hdr.repl_offset == 12345
    assert f"Manual failover requested by replica {R2}." in texts(effects)
    assert st.mf.replica_id == R2 and st.mf.paused and st.mf.end == T0 + MF_TIMEOUT_MS
    # every header carries the flag while paused; it goes after the timeout
    assert st.header().mflags & MFLAG_PAUSED
    effects = st.tick(T0 + MF_TIMEOUT_MS + 1)
    assert "Manual failover timed out." in texts(effects)
    assert UnpauseWrites() in effects and st.mf is None
    assert st.header().mflags == 0


def test_mfstart_from_a_node_that_is_not_my_replica_is_ignored():
    st = primary_with_replica()
    effects = st.on_message(message(st, MsgType.MFSTART, P2), 2, T0)
    assert st.mf is None and not [e for e in effects if isinstance(e, PauseWrites)]
    st.nodes[R2].primary_id = P2
    effects = st.on_message(message(st, MsgType.MFSTART, R2, primary_id=P2), -5, T0)
    assert st.mf is None and not [e for e in effects if isinstance(e, PauseWrites)]


def test_a_paused_primary_that_became_a_replica_unpauses():
    st = primary_with_replica()
    st.on_message(message(st, MsgType.MFSTART, R2, primary_id=ME), -5, T0)
    # R2 won: it claims my slots with a greater epoch, I follow it
    replica = st.nodes[R2]
    replica.flags = Flag.MASTER
    replica.primary_id = None
    replica.config_epoch = 9
    slots = bytearray(2048)
    for slot in range(100):
        slots[slot >> 3] |= 1 << (slot & 7)
    hdr = attrs.evolve(message(st, MsgType.PONG, R2).header, slots=bytes(slots),
                       config_epoch=9, current_epoch=9)
    effects = st.on_message(Message(MsgType.PONG, hdr), -5, T0 + 10)
    assert st.myself.is_replica and st.myself.primary_id == R2
    assert UnpauseWrites() in effects and st.mf is None


def test_mfstart_and_paused_flag_survive_the_codec():
    st = primary_with_replica()
    msg = message(st, MsgType.MFSTART, R2, MFLAG_PAUSED, offset=77, primary_id=ME)
    decoded = codec.FrameDecoder().feed(codec.encode(msg))
    assert decoded == [msg]


# -- replica migration --------------------------------------------------------------------
def migration_state(**config) -> ClusterState:
    """ME and R2 replicate P1; P2 is orphaned (slots, MIGRATE_TO, no replica); P3 has R3."""
    st = build(**config)
    for node_id, primary in ((R2, P1), (R3, P3)):
        st.add_node(NodeRecord(id=node_id, ip="127.0.0.1", port=30020, cport=40020,
                               flags=Flag.SLAVE, primary_id=primary, created=T0))
    st.nodes[P2].flags |= Flag.MIGRATE_TO
    st.state_ok = True
    return st


def run_migration(st: ClusterState, now: int):
    return st._run(now, migration.cron, st)


def test_the_smallest_replica_of_the_richest_primary_migrates_after_5_s():
    st = migration_state()
    assert run_migration(st, T0) == [] and st.nodes[P2].orphaned_time == T0
    run_migration(st, T0 + 5000)
    assert st.myself.primary_id == P1
    effects = run_migration(st, T0 + 5001)
    assert f"Migrating to orphaned master {P2}" in texts(effects)
    assert st.myself.primary_id == P2 and st.myself.is_replica
    assert SaveConfig(fsync=True) in effects
    assert {s.link for s in sends(effects, MsgType.PONG)} == {1, 2, 3}


@pytest.mark.parametrize("change", ["not_allowed", "barrier", "not_smallest", "state_fail",
                                    "sibling_failing", "no_migrate_to", "orphan_failing",
                                    "interrupted"])
def test_no_migration_unless_every_condition_holds(change):
    st = migration_state(**({"allow_replica_migration": False}
                            if change == "not_allowed" else {}))
    if change == "barrier":
        st.config.migration_barrier = 2
    elif change == "not_smallest":
        st.add_node(NodeRecord(id=R4, flags=Flag.SLAVE, primary_id=P1, created=T0))
    elif change == "state_fail":
        st.state_ok = False
    elif change == "sibling_failing":
        st.nodes[R2].flags |= Flag.PFAIL
    elif change == "no_migrate_to":
        st.nodes[P2].flags &= ~Flag.MIGRATE_TO
    run_migration(st, T0)
    if change == "orphan_failing":
        st.nodes[P2].flags |= Flag.PFAIL
    if change == "interrupted":             # P2 had a working replica for a moment
        st.add_node(NodeRecord(id=R4, flags=Flag.SLAVE, primary_id=P2, created=T0))
        run_migration(st, T0 + 3000)
        st.del_node(st.nodes[R4])
    effects = run_migration(st, T0 + 6000)
    assert st.myself.primary_id == P1
    assert not [t for t in texts(effects) if t.startswith("Migrating")]


def test_replica_no_failover_does_not_block_migration():
    st = migration_state(replica_no_failover=True)
    run_migration(st, T0)
    run_migration(st, T0 + 5001)
    assert st.myself.primary_id == P2
