"""CLUSTER SETSLOT and losing slots: the state rules, Redis 7.0.15's errors, the views,
nodes.conf, the bus telling the others, and keys dropped for slots taken over."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.bus.cluster_node import attach
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError
from gossip import nodes_conf, slotconf
from gossip.effects import DeleteSlotKeys, Send
from gossip.messages import MsgType
from gossip.records import Flag, NodeRecord, SlotBitmap
from slots import keyslot
from tests.unit.gossip_pump import Pump

PEER = "b" * 40
REPLICA = "c" * 40
SLOT = keyslot(b"k")


def make():
    config = Config()
    config.load_args(["--cluster-enabled", "yes", "--port", "7100", "--databases", "1"])
    node = Node(config, clock=lambda: 1_700_000_000.0)
    cl = attach(node)
    client = node.new_client("127.0.0.1:5000", "127.0.0.1:7100")
    peer = NodeRecord(id=PEER, ip="10.0.0.2", port=7200, cport=17200, flags=Flag.MASTER,
                      config_epoch=1)
    replica = NodeRecord(id=REPLICA, ip="10.0.0.3", port=7300, cport=17300,
                         flags=Flag.SLAVE, primary_id=PEER)
    cl.state.nodes[PEER] = peer
    cl.state.nodes[REPLICA] = replica
    return node, cl, client


def run(c, *words):
    return execute(c, [w if isinstance(w, bytes) else str(w).encode() for w in words])


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


@pytest.fixture
def setup():
    node, cl, c = make()
    assert run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 999) is OK
    return node, cl, c


def test_argument_errors(setup):
    node, cl, c = setup
    assert err(run(c, "CLUSTER", "SETSLOT", 1)) == \
        "ERR wrong number of arguments for 'cluster|setslot' command"
    for bad in ("abc", "-1", "16384", ""):
        assert err(run(c, "CLUSTER", "SETSLOT", bad, "STABLE")) == \
            "ERR Invalid or out of range slot"
    wrong = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
    for words in (("foo",), ("STABLE", "x"), ("importing",), ("NODE",),
                  ("MIGRATING", PEER, "x"), ("node", PEER, PEER)):
        assert err(run(c, "CLUSTER", "SETSLOT", 5, *words)) == wrong
    assert err(run(c, "CLUSTER", "SETSLOT", 99999, "foo")) == \
        "ERR Invalid or out of range slot"                 # the slot is checked first


def test_migrating_and_importing_errors(setup):
    node, cl, c = setup
    assert err(run(c, "CLUSTER", "SETSLOT", 2000, "MIGRATING", PEER)) == \
        "ERR I'm not the owner of hash slot 2000"
    assert err(run(c, "CLUSTER", "SETSLOT", 5, "MIGRATING", "nobody")) == \
        "ERR I don't know about node nobody"
    assert err(run(c, "CLUSTER", "SETSLOT", 5, "MIGRATING", REPLICA)) == \
        "ERR Target node is not a master"
    assert err(run(c, "CLUSTER", "SETSLOT", 5, "IMPORTING", PEER)) == \
        "ERR I'm already the owner of hash slot 5"
    assert err(run(c, "CLUSTER", "SETSLOT", 2000, "IMPORTING", "nobody")) == \
        "ERR I don't know about node nobody"
    assert err(run(c, "CLUSTER", "SETSLOT", 2000, "IMPORTING", REPLICA)) == \
        "ERR Target node is not a master"
    assert err(run(c, "CLUSTER", "SETSLOT", 5, "NODE", "nobody")) == "ERR Unknown node nobody"
    assert err(run(c, "CLUSTER", "SETSLOT", 5, "NODE", REPLICA)) == \
        "ERR Target node is not a master"
    assert not cl.state.migrating and not cl.state.importing


def test_replicas_refuse_setslot_before_anything_else():
    node, cl, c = make()
    slotconf.set_my_primary(cl.state, cl.state.nodes[PEER])
    assert cl.state.myself.is_replica
    assert err(run(c, "CLUSTER", "SETSLOT", "junk", "STABLE")) == \
        "ERR Please use SETSLOT only with masters."


def test_open_slots_show_in_nodes_and_nodes_conf_and_stable_closes_them(setup):
    node, cl, c = setup
    me = cl.state.myself.id
    assert run(c, "CLUSTER", "SETSLOT", 5, "MIGRATING", PEER) is OK
    assert run(c, "CLUSTER", "SETSLOT", 2000, "IMPORTING", PEER) is OK
    assert run(c, "CLUSTER", "SETSLOT", 3, "migrating", me) is OK      # Redis 7.0 allows it
    assert cl.state.migrating == {5: PEER, 3: me} and cl.state.importing == {2000: PEER}
    myself_line = next(line for line in cl.nodes_text().splitlines() if "myself" in line)
    assert myself_line.endswith(f" 0-999 [3->-{me}] [5->-{PEER}] [2000-<-{PEER}]")
    saved = nodes_conf.parse_config(cl.config_text())
    assert saved.migrating == {5: PEER, 3: me} and saved.importing == {2000: PEER}
    assert run(c, "CLUSTER", "SETSLOT", 5, "STABLE") is OK
    assert run(c, "CLUSTER", "SETSLOT", 2000, "stable") is OK
    assert run(c, "CLUSTER", "SETSLOT", 7, "STABLE") is OK               # nothing open: OK
    assert cl.state.migrating == {3: me} and cl.state.importing == {}
    assert "[5->-" not in cl.nodes_text() and "[2000-<-" not in cl.nodes_text()


def test_node_refuses_to_give_away_a_slot_with_keys(setup):
    node, cl, c = setup
    assert run(c, "CLUSTER", "ADDSLOTS", SLOT) is OK
    node.keyspace[0].store(b"k", b"v")
    assert run(c, "CLUSTER", "SETSLOT", SLOT, "MIGRATING", PEER) is OK
    assert err(run(c, "CLUSTER", "SETSLOT", SLOT, "NODE", PEER)) == \
        f"ERR Can't assign hashslot {SLOT} to a different node while I still hold keys " \
        "for this hash slot."
    assert cl.state.slot_owner[SLOT] == cl.state.myself.id
    assert cl.state.migrating == {SLOT: PEER}
    # Assigning it to myself is allowed and keeps it migrating (I still hold keys).
    assert run(c, "CLUSTER", "SETSLOT", SLOT, "NODE", cl.state.myself.id) is OK
    assert cl.state.migrating == {SLOT: PEER}


def test_node_hands_over_an_empty_slot_and_closes_migrating(setup):
    node, cl, c = setup
    epoch = cl.state.myself.config_epoch
    assert run(c, "CLUSTER", "SETSLOT", 5, "MIGRATING", PEER) is OK
    assert run(c, "CLUSTER", "SETSLOT", 5, "NODE", PEER) is OK
    assert cl.state.slot_owner[5] == PEER and 5 in cl.state.nodes[PEER].slots
    assert 5 not in cl.state.myself.slots and cl.state.migrating == {}
    assert cl.state.myself.config_epoch == epoch                  # no bump when giving
    # A slot owned by somebody else can be re-pointed too (no key check then).
    assert run(c, "CLUSTER", "SETSLOT", 5, "NODE", cl.state.myself.id) is OK
    assert cl.state.slot_owner[5] == cl.state.myself.id


def test_node_after_import_bumps_the_epoch_and_broadcasts_a_pong():
    node, cl, c = make()
    st = cl.state
    peer = st.nodes[PEER]
    peer.link, peer.link_up = 7, True
    st.current_epoch = 4
    st.myself.config_epoch = 2
    st.add_slot(peer, 3000)
    assert run(c, "CLUSTER", "SETSLOT", 3000, "IMPORTING", PEER) is OK
    cl._pending.clear()
    assert run(c, "CLUSTER", "SETSLOT", 3000, "NODE", st.myself.id) is OK
    assert st.slot_owner[3000] == st.myself.id and st.importing == {}
    assert st.myself.config_epoch == 5 and st.current_epoch == 5
    pongs = [e for e in cl._pending if isinstance(e, Send) and e.message.type is MsgType.PONG]
    assert [p.link for p in pongs] == [7]
    assert pongs[0].message.header.config_epoch == 5
    assert SlotBitmap(pongs[0].message.header.slots).count == 1


def test_node_without_import_does_not_bump():
    node, cl, c = make()
    st = cl.state
    st.add_slot(st.nodes[PEER], 3000)
    st.myself.config_epoch = st.current_epoch = 2
    assert run(c, "CLUSTER", "SETSLOT", 3000, "NODE", st.myself.id) is OK
    assert st.myself.config_epoch == 2 and st.slot_owner[3000] == st.myself.id


def test_giving_away_my_last_slot_makes_me_a_replica_of_the_new_owner():
    node, cl, c = make()
    assert run(c, "CLUSTER", "ADDSLOTS", 10) is OK
    assert run(c, "CLUSTER", "SETSLOT", 10, "NODE", PEER) is OK
    me = cl.state.myself
    assert me.is_replica and me.primary_id == PEER


# -- losing slots to a newer config: the keys go ------------------------------------------
def _claim(st, sender, epoch: int, slots) -> list:
    bitmap = SlotBitmap()
    for slot in slots:
        bitmap.add(slot)
    return st._run(st.now, slotconf.update_slots_config_with, st, sender, epoch,
                   bytes(bitmap))


def test_slots_lost_to_a_newer_config_drop_their_keys():
    node, cl, c = make()
    st = cl.state
    db = node.keyspace[0]
    run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    keys = [b"{a}1", b"{a}2", b"{b}1", b"other"]
    for key in keys:
        db.store(key, b"v")
    lost = {keyslot(b"a"), keyslot(b"b")}
    effects = _claim(st, st.nodes[PEER], 5, sorted(lost) + [keyslot(b"x")])
    [drop] = [e for e in effects if isinstance(e, DeleteSlotKeys)]
    assert set(drop.slots) == lost | {keyslot(b"x")}
    dirty = node.keyspace.dirty
    cl.submit(effects)
    assert sorted(db.data) == [b"other"]
    assert all(st.slot_owner[s] == PEER for s in lost)
    assert node.keyspace.dirty > dirty
    assert st.myself.is_primary


def test_importing_slots_and_older_claims_keep_their_keys():
    node, cl, c = make()
    st = cl.state
    db = node.keyspace[0]
    run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 16383)
    st.myself.config_epoch = 3
    db.store(b"k", b"v")
    effects = _claim(st, st.nodes[PEER], 2, [SLOT])          # older epoch: ignored
    assert not [e for e in effects if isinstance(e, DeleteSlotKeys)]
    st.del_slot(SLOT)
    st.add_slot(st.nodes[REPLICA], SLOT)
    st.importing[SLOT] = PEER
    effects = _claim(st, st.nodes[PEER], 9, [SLOT])          # importing: left alone
    assert not [e for e in effects if isinstance(e, DeleteSlotKeys)]
    assert db.data == {b"k": b"v"}


def test_losing_every_slot_turns_me_into_a_replica_and_keeps_keys():
    """Redis deletes nothing then: the new primary's full sync replaces the data."""
    node, cl, c = make()
    st = cl.state
    run(c, "CLUSTER", "ADDSLOTS", SLOT)
    node.keyspace[0].store(b"k", b"v")
    effects = _claim(st, st.nodes[PEER], 5, [SLOT])
    assert not [e for e in effects if isinstance(e, DeleteSlotKeys)]
    assert st.myself.is_replica and st.myself.primary_id == PEER


class _Recorder(Pump):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dropped = [[] for _ in self.states]

    def apply(self, i, effects):
        self.dropped[i].extend(e for e in effects if isinstance(e, DeleteSlotKeys))
        super().apply(i, effects)


def test_the_bus_spreads_a_slot_handed_over_by_hand():
    pump = _Recorder(3)
    a, b, c = pump.states
    pump.call(0, "add_slots", list(range(0, 100)))
    pump.call(1, "add_slots", list(range(100, 200)))
    for i, epoch in enumerate((1, 2, 3)):
        pump.call(i, "set_config_epoch", epoch)
    pump.meet_all()
    pump.run_until(lambda: all(st.slot_owner[150] == b.myself.id for st in pump.states))
    # Slot 50 goes from A to B the way redis-cli does it.
    pump.call(1, "set_slot", 50, "importing", a.myself.id, 0)
    pump.call(0, "set_slot", 50, "migrating", b.myself.id, 0)
    pump.call(1, "set_slot", 50, "node", b.myself.id, 0)
    assert b.myself.config_epoch == 4 and b.slot_owner[50] == b.myself.id
    pump.run_until(lambda: all(st.slot_owner[50] == b.myself.id for st in pump.states))
    # A still had it (migrating): it learned it lost it, the slot closes, the keys go.
    assert [d.slots for d in pump.dropped[0]] == [(50,)]
    assert not pump.dropped[1] and not pump.dropped[2]
    pump.call(0, "set_slot", 50, "node", b.myself.id, 0)
    assert a.migrating == {} and b.importing == {}
