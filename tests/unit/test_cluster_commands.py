"""CLUSTER commands through dispatch on an in-memory cluster node (no sockets, no file)."""
from __future__ import annotations

import collections

from cluster.commands import registry  # noqa: F401
from cluster.bus.cluster_node import attach, bus_port, cluster_config
from cluster.commands import cluster_views as views
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import OK, ReplyError, Status, Verbatim
from gossip.effects import Connect
from gossip.messages import MsgType
from gossip.records import Flag, NodeRecord
from slots import keyslot

PEER = "b" * 40
REPLICA = "c" * 40


def make(*args):
    config = Config()
    config.load_args(["--cluster-enabled", "yes", "--port", "7100", "--databases", "1", *args])
    node = Node(config, clock=lambda: 1_700_000_000.0)
    cl = attach(node)
    return node, cl, node.new_client("127.0.0.1:5000", "127.0.0.1:7100")


def run(c, *words):
    return execute(c, [w if isinstance(w, bytes) else str(w).encode() for w in words])


def err(reply) -> str:
    assert isinstance(reply, ReplyError), reply
    return reply.message


def add_peer(cl, node_id=PEER, port=7200, flags=Flag.MASTER, primary=None):
    rec = NodeRecord(id=node_id, ip="10.0.0.2", port=port, cport=port + 10000, flags=flags,
                     primary_id=primary)
    cl.state.nodes[node_id] = rec
    return rec


def test_directives_make_the_state_config():
    node, cl, _ = make("--cluster-node-timeout", "1234", "--cluster-port", "9999",
                       "--cluster-announce-ip", "10.1.1.1")
    cfg = cluster_config(node.config)
    assert (cfg.port, cfg.cport, cfg.node_timeout, cfg.announce_ip) == \
        (7100, 9999, 1234, "10.1.1.1")
    assert cl.state.myself.ip == "10.1.1.1" and cl.state.myself.cport == 9999
    config = Config()
    config.load_args(["--port", "7000"])
    assert bus_port(config) == 17000
    node.config.set("cluster-node-timeout", "5000")     # CONFIG SET reaches the state
    assert cl.state.config.node_timeout == 5000


def test_standalone_node_has_no_cluster():
    node = Node(Config())
    assert node.cluster is None
    c = node.new_client()
    assert err(run(c, "CLUSTER", "INFO")) == "ERR This instance has cluster support disabled"
    assert err(run(c, "READONLY")) == "ERR This instance has cluster support disabled"


def test_keys_in_slots():
    node, cl, c = make()
    for key in (b"{a}1", b"{a}2", b"{b}1"):    # stored directly: no slot is served here
        node.keyspace[0].store(key, b"v")
    slot = keyslot(b"a")
    assert run(c, "CLUSTER", "COUNTKEYSINSLOT", slot) == 2
    assert sorted(run(c, "CLUSTER", "GETKEYSINSLOT", slot, 10)) == [b"{a}1", b"{a}2"]
    assert len(run(c, "CLUSTER", "GETKEYSINSLOT", slot, 1)) == 1
    assert run(c, "CLUSTER", "GETKEYSINSLOT", slot, 0) == []
    assert run(c, "CLUSTER", "KEYSLOT", "{a}xyz") == slot
    assert err(run(c, "CLUSTER", "FLUSHSLOTS")) == \
        "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."
    assert err(run(c, "CLUSTER", "RESET")) == \
        "ERR CLUSTER RESET can't be called with master nodes containing keys"


def test_meet_normalizes_the_address_and_asks_for_a_connection():
    node, cl, c = make()
    assert run(c, "CLUSTER", "MEET", "0:0::1", 7000) is OK
    [hs] = [n for n in cl.state.nodes.values() if n.flags & Flag.HANDSHAKE]
    assert (hs.ip, hs.port, hs.cport) == ("::1", 7000, 17000)
    assert any(isinstance(e, Connect) and e.cport == 17000 for e in cl._pending)
    assert run(c, "CLUSTER", "MEET", "127.0.0.1", 7001, 9001) is OK
    assert any(isinstance(e, Connect) and e.cport == 9001 for e in cl._pending)
    assert err(run(c, "CLUSTER", "MEET", "localhost", 7000)) == \
        "ERR Invalid node address specified: localhost:7000"


def test_slots_commands_and_epochs():
    node, cl, c = make()
    assert run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 99, 200, 200) is OK
    assert err(run(c, "CLUSTER", "ADDSLOTS", 5)) == "ERR Slot 5 is already busy"
    assert len(cl.state.myself.slots) == 101
    assert run(c, "CLUSTER", "DELSLOTS", 200) is OK
    assert run(c, "CLUSTER", "SET-CONFIG-EPOCH", 3) is OK
    assert run(c, "CLUSTER", "BUMPEPOCH") == Status(b"STILL 3")
    add_peer(cl).config_epoch = 9                        # mine is no longer the max
    assert run(c, "CLUSTER", "BUMPEPOCH") == Status(b"BUMPED 4")   # currentEpoch + 1
    assert err(run(c, "CLUSTER", "SET-CONFIG-EPOCH", 1)).startswith(
        "ERR The user can assign a config epoch only")
    assert run(c, "CLUSTER", "FORGET", PEER) is OK
    assert PEER not in cl.state.nodes and PEER in cl.state.blacklist
    assert run(c, "CLUSTER", "FLUSHSLOTS") is OK and len(cl.state.myself.slots) == 0
    old = cl.state.myself.id
    assert run(c, "CLUSTER", "RESET", "HARD") is OK
    assert cl.state.myself.id != old and run(c, "CLUSTER", "MYID") == \
        cl.state.myself.id.encode()


def test_info_text_counts_slots_and_messages():
    node, cl, c = make()
    peer = add_peer(cl)
    run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 9)
    for slot in range(10, 15):
        cl.state.add_slot(peer, slot)
    peer.flags |= Flag.PFAIL
    cl.state.stats_sent.update({MsgType.PONG: 2, MsgType.PING: 3})
    cl.state.stats_received[MsgType.MEET] = 1
    reply = run(c, "CLUSTER", "INFO")
    assert isinstance(reply, Verbatim)
    lines = reply.decode().split("\r\n")
    assert lines[-1] == ""
    assert lines[1:5] == ["cluster_slots_assigned:15", "cluster_slots_ok:10",
                          "cluster_slots_pfail:5", "cluster_slots_fail:0"]
    assert lines[9:16] == ["cluster_stats_messages_ping_sent:3",
                           "cluster_stats_messages_pong_sent:2",
                           "cluster_stats_messages_sent:5",
                           "cluster_stats_messages_meet_received:1",
                           "cluster_stats_messages_received:1",
                           "total_cluster_links_buffer_limit_exceeded:0", ""]


def test_slots_runs_endpoints_and_replicas():
    node, cl, c = make()
    peer = add_peer(cl)
    replica = add_peer(cl, REPLICA, 7300, Flag.SLAVE, PEER)
    run(c, "CLUSTER", "ADDSLOTSRANGE", 0, 9, 11, 11)
    cl.state.add_slot(peer, 10)
    me = cl.state.myself.id.encode()
    assert [(s[0], s[1], s[2][2]) for s in run(c, "CLUSTER", "SLOTS")] == \
        [(0, 9, me), (10, 10, PEER.encode()), (11, 11, me)]
    assert len(run(c, "CLUSTER", "SLOTS")[1]) == 3        # replica offset 0: not listed
    replica.repl_offset = 100
    entry = run(c, "CLUSTER", "SLOTS")[1]
    assert entry[3] == [b"10.0.0.2", 7300, REPLICA.encode(), {}]
    replica.flags |= Flag.FAIL
    assert len(run(c, "CLUSTER", "SLOTS")[1]) == 3
    peer.hostname = "peer.example"
    node.config.set("cluster-preferred-endpoint-type", "hostname")
    assert run(c, "CLUSTER", "SLOTS")[1][2] == [b"peer.example", 7200, PEER.encode(),
                                               {b"ip": b"10.0.0.2"}]
    node.config.set("cluster-preferred-endpoint-type", "unknown-endpoint")
    assert run(c, "CLUSTER", "SLOTS")[1][2] == [None, 7200, PEER.encode(),
                                               {b"ip": b"10.0.0.2",
                                                b"hostname": b"peer.example"}]
    assert run(c, "CLUSTER", "REPLICAS", PEER) == [cl.node_line(replica).encode()]
    assert err(run(c, "CLUSTER", "SLAVES", REPLICA)) == "ERR The specified node is not a master"


def test_shards_group_a_primary_with_its_replicas():
    node, cl, c = make()
    peer = add_peer(cl)
    add_peer(cl, REPLICA, 7300, Flag.SLAVE, PEER)
    cl.state.add_slot(peer, 5)
    shards = run(c, "CLUSTER", "SHARDS")
    assert len(shards) == 2
    [theirs] = [s for s in shards if s[b"nodes"][0][b"id"] == PEER.encode()]
    assert theirs[b"slots"] == [5, 5]
    assert [n[b"role"] for n in theirs[b"nodes"]] == [b"master", b"replica"]
    assert theirs[b"nodes"][1][b"health"] == b"loading"
    [mine] = [s for s in shards if s is not theirs]
    assert mine[b"slots"] == [] and mine[b"nodes"][0][b"health"] == b"online"


def test_links_reply_from_the_transport_table():
    node, cl, c = make()
    peer = add_peer(cl)
    peer.link = 4

    class Links:
        def inbound_of(self, node_id):
            return -7 if node_id == PEER else None

        def describe(self, link):
            return {4: (111, "r", 0, 0), -7: (222, "rw", 50, 50)}.get(link)

    assert views.links_reply(cl.state, Links()) == [
        {b"direction": b"to", b"node": PEER.encode(), b"create-time": 111, b"events": b"r",
         b"send-buffer-allocated": 0, b"send-buffer-used": 0},
        {b"direction": b"from", b"node": PEER.encode(), b"create-time": 222,
         b"events": b"rw", b"send-buffer-allocated": 50, b"send-buffer-used": 50}]
    assert run(c, "CLUSTER", "LINKS") == []              # no transport running


def test_slot_runs():
    owner = [None] * 16384
    owner[0:3] = ["a"] * 3
    owner[3] = "b"
    owner[16383] = "a"
    assert views.slot_runs(owner) == [(0, 2, "a"), (3, 3, "b"), (16383, 16383, "a")]
    assert views.slot_runs([None] * 16384) == []
    counter = collections.Counter()
    assert "cluster_stats_messages_sent:0" in views.info_text(
        type("S", (), {"slot_owner": [None] * 16384, "slots_by_owner": {}, "nodes": {},
                       "state_ok": False,
                       "size": 0, "current_epoch": 0, "stats_sent": counter,
                       "stats_received": counter,
                       "myself": NodeRecord(id="a" * 40, flags=Flag.MYSELF)})()).decode()


def test_readonly_readwrite_set_the_connection_flag():
    node, cl, c = make()
    assert run(c, "READONLY") is OK and c.readonly
    assert run(c, "READWRITE") is OK and not c.readonly
