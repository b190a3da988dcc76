"""CLUSTER REPLICATE: the state machine side (gossip/admin.replicate) driven with the
in-process pump, and the command through dispatch on an in-memory cluster node."""
from __future__ import annotations

import pytest

from cluster.commands import registry  # noqa: F401
from cluster.execution.dispatch import execute
from cluster.resp.reply import OK
from gossip import nodes_conf
from gossip.effects import SaveConfig
from gossip.records import Flag
from gossip.state import ClusterError, ClusterState
from tests.unit.gossip_pump import Pump
from tests.unit.test_cluster_commands import PEER, add_peer, err, make, run

RANGES = [(0, 5460), (5461, 10922), (10923, 16383)]


def six_nodes() -> Pump:
    """Three slot owners (epochs 1..3) and three empty primaries, all met."""
    p = Pump(6)
    for i, st in enumerate(p.states):
        p.call(i, "set_config_epoch", i + 1)
    p.meet_all()
    for i, (a, b) in enumerate(RANGES):
        p.call(i, "add_slots", list(range(a, b + 1)))
    p.run_until(lambda: all(s.state_ok for s in p.states))
    return p


def replicate(p: Pump, replica: int, primary: int):
    return p.call(replica, "replicate", p.states[primary].myself.id, 0)


def topology_agrees(p: Pump) -> bool:
    """Every node sees 3..5 as replicas of 0..2 and 0..2 as primaries with their slots."""
    ids = [st.myself.id for st in p.states]
    for st in p.states:
        for i in range(3):
            rec = st.nodes.get(ids[i])
            if rec is None or not rec.is_primary or len(rec.slots) != 5461 + (i > 0) - (i == 2):
                return False
        for i in range(3, 6):
            rec = st.nodes.get(ids[i])
            if rec is None or not rec.is_replica or rec.primary_id != ids[i - 3]:
                return False
    return True


def test_replicate_makes_myself_a_replica_and_saves():
    p = six_nodes()
    st, primary = p.states[3], p.states[0]
    effects = replicate(p, 3, 0)
    me = st.myself
    assert me.flags == Flag.MYSELF | Flag.SLAVE
    assert me.primary_id == primary.myself.id
    assert me.shard_id == primary.myself.shard_id
    assert len(me.slots) == 0
    assert any(isinstance(e, SaveConfig) for e in effects)
    assert st.nodes[primary.myself.id].flags & Flag.MIGRATE_TO
    assert [r.id for r in st.replicas_of(primary.myself.id)] == [me.id]


def test_replica_header_advertises_primary_slots_and_epoch():
    p = six_nodes()
    replicate(p, 4, 1)
    hdr = p.states[4].header()
    primary = p.states[4].nodes[p.states[1].myself.id]
    assert hdr.primary_id == primary.id and hdr.flags & Flag.SLAVE
    assert hdr.slots == bytes(primary.slots) and hdr.config_epoch == primary.config_epoch == 2


def test_every_node_learns_the_replicas_from_heartbeats():
    p = six_nodes()
    for r in range(3, 6):
        replicate(p, r, r - 3)
    p.run_until(lambda: topology_agrees(p), max_ms=30_000)
    for st in p.states:
        for i in range(3):
            pid = p.states[i].myself.id
            assert [n.id for n in st.replicas_of(pid)] == [p.states[i + 3].myself.id]
        assert st.state_ok and st.size == 3
        # a replica's CLUSTER NODES line: slave <primary id>, the primary's epoch, no slots
        text = nodes_conf.format_nodes(list(st.nodes.values()), st.myself.id, p.now,
                                       st.migrating, st.importing)
        slaves = [line.split() for line in text.splitlines() if "slave" in line.split()[2]]
        assert len(slaves) == 3
        for parts in slaves:
            rep = next(i for i in range(3, 6) if p.states[i].myself.id == parts[0])
            assert parts[3] == p.states[rep - 3].myself.id
            assert parts[6] == str(rep - 2) and len(parts) == 8


def test_replica_can_switch_primary():
    p = six_nodes()
    replicate(p, 3, 0)
    replicate(p, 3, 1)
    me = p.states[3].myself
    assert me.primary_id == p.states[1].myself.id and me.is_replica
    assert me.shard_id == p.states[1].myself.shard_id
    p.run_until(lambda: p.states[0].nodes[me.id].primary_id == p.states[1].myself.id)
    assert p.states[0].replicas_of(p.states[0].myself.id) == []


@pytest.mark.parametrize("case, expected", [
    ("unknown", "ERR Unknown node " + "1" * 40),
    ("myself", "ERR Can't replicate myself"),
    ("replica", "ERR I can only replicate a master, not a replica."),
    ("has slots", "ERR To set a master the node must be empty and without assigned slots."),
    ("has keys", "ERR To set a master the node must be empty and without assigned slots."),
])
def test_replicate_errors_change_nothing(case, expected):
    p = six_nodes()
    replicate(p, 4, 1)
    p.run_until(lambda: p.states[3].nodes[p.states[4].myself.id].is_replica)
    st = p.states[0] if case == "has slots" else p.states[3]
    target, keys = {
        "unknown": ("1" * 40, 0), "myself": (st.myself.id, 0),
        "replica": (p.states[4].myself.id, 0), "has slots": (p.states[1].myself.id, 0),
        "has keys": (p.states[1].myself.id, 3),
    }[case]
    before = (st.myself.flags, st.myself.primary_id, st.myself.shard_id)
    with pytest.raises(ClusterError) as exc:
        st.replicate(target, keys, p.now)
    assert exc.value.message == expected
    assert (st.myself.flags, st.myself.primary_id, st.myself.shard_id) == before


def test_replica_with_keys_may_switch_primary():
    """Only a primary must be empty: a replica (its data is its primary's) may move."""
    p = six_nodes()
    replicate(p, 3, 0)
    p.call(3, "replicate", p.states[2].myself.id, 10)
    assert p.states[3].myself.primary_id == p.states[2].myself.id


def test_replica_survives_a_reload_from_nodes_conf():
    p = six_nodes()
    replicate(p, 5, 2)
    st = p.states[5]
    text = nodes_conf.format_config(list(st.nodes.values()), st.myself.id, st.current_epoch,
                                    st.last_vote_epoch, st.migrating, st.importing)
    saved = nodes_conf.parse_config(text)
    again = ClusterState.from_saved(st.config, st.rng, p.now, saved.myself_id, saved.records,
                                    saved.current_epoch, saved.last_vote_epoch)
    assert again.myself.is_replica and again.myself.primary_id == p.states[2].myself.id
    assert again.myself.shard_id == p.states[2].myself.shard_id


# -- through dispatch ------------------------------------------------------------------------
def test_command_replicate_and_its_errors():
    node, cl, c = make()
    me = cl.state.myself.id
    assert err(run(c, "CLUSTER", "REPLICATE", "nope")) == "ERR Unknown node nope"
    assert err(run(c, "CLUSTER", "REPLICATE", me)) == "ERR Can't replicate myself"
    assert err(run(c, "CLUSTER", "REPLICATE")) == \
        "ERR wrong number of arguments for 'cluster|replicate' command"
    add_peer(cl, "c" * 40, port=7300, flags=Flag.SLAVE, primary=PEER)
    add_peer(cl)
    assert err(run(c, "CLUSTER", "REPLICATE", "c" * 40)) == \
        "ERR I can only replicate a master, not a replica."
    run(c, "CLUSTER", "ADDSLOTS", "100")
    assert err(run(c, "CLUSTER", "REPLICATE", PEER)) == \
        "ERR To set a master the node must be empty and without assigned slots."
    run(c, "CLUSTER", "DELSLOTS", "100")
    node.keyspace[0].store(b"k", b"v")
    assert len(node.keyspace[0]) == 1
    assert err(run(c, "CLUSTER", "REPLICATE", PEER)) == \
        "ERR To set a master the node must be empty and without assigned slots."
    run(c, "FLUSHALL")
    assert run(c, "CLUSTER", "REPLICATE", PEER) == OK
    line = next(l for l in cl.nodes_text().splitlines() if "myself" in l).split()
    assert line[2] == "myself,slave" and line[3] == PEER
    for sub in ("REPLICAS", "SLAVES"):
        lines = [r.decode().split() for r in run(c, "CLUSTER", sub, PEER)]
        assert sorted(parts[0] for parts in lines) == sorted(["c" * 40, me])
        assert all(parts[3] == PEER and "slave" in parts[2] for parts in lines)
