"""Slot routing (cluster.execution.routing) through dispatch on an in-process 3-primary cluster state.

Myself (A) owns 0-5460, B 5461-10922, C 10923-16383, as redis-cli would split them. The
records are built by hand; no bus and no sockets. Key choice: tag `hello` -> slot 866 (A),
`k0` -> 8579 (B), `a` -> 15495 (C).
"""
from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from cluster.commands import registry  # noqa: F401
from cluster.execution import routing
from cluster.bus.cluster_node import attach
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, OK, QUEUED, ReplyError, Status
from cluster.execution.table import TABLE
from gossip.records import Flag, NodeRecord
from slots import keyslot

B_ID = "b" * 40
C_ID = "c" * 40
MINE, B_SLOT, C_SLOT = keyslot(b"hello"), keyslot(b"k0"), keyslot(b"a")
MOVED_B = f"MOVED {B_SLOT} 10.0.0.2:7200"
MOVED_C = f"MOVED {C_SLOT} 10.0.0.3:7300"


class Cluster:
    def __init__(self, *args: str):
        config = Config()
        config.load_args(["--cluster-enabled", "yes", "--port", "7100", "--databases", "1",
                          *args])
        self.node = Node(config, clock=lambda: 1_700_000_000.0)
        self.cl = attach(self.node)
        st = self.state = self.cl.state
        st.myself.ip = "127.0.0.1"
        self.b = self._peer(B_ID, "10.0.0.2", 7200)
        self.c = self._peer(C_ID, "10.0.0.3", 7300)
        # The slot map as ADDSLOTSRANGE would leave it (bitmaps left empty: routing reads
        # only slot_owner).
        st.slot_owner[:] = [st.myself.id] * 5461 + [B_ID] * 5462 + [C_ID] * 5461
        st.state_ok = True
        self.client = self.new_client()

    def _peer(self, node_id, ip, port):
        rec = NodeRecord(id=node_id, ip=ip, port=port, cport=port + 10000, flags=Flag.MASTER,
                         hostname=f"host-{port}")
        self.state.nodes[node_id] = rec
        return rec

    def new_client(self):
        return self.node.new_client("127.0.0.1:5000", "127.0.0.1:7100")

    @property
    def db(self):
        return self.node.keyspace[0]

    def run(self, *words, client=None):
        argv = [w if isinstance(w, bytes) else str(w).encode() for w in words]
        return execute(client or self.client, argv)

    def err(self, *words, client=None) -> str:
        reply = self.run(*words, client=client)
        assert isinstance(reply, ReplyError), reply
        return reply.message


@pytest.fixture
def cl():
    return Cluster()


# -- stable slots ---------------------------------------------------------------------------

def test_own_slot_is_served_and_others_are_moved(cl):
    assert cl.run("SET", "hello", "v") is OK
    assert cl.run("GET", "hello") == b"v"
    assert cl.err("GET", "k0") == MOVED_B
    assert cl.err("SET", "a", "1") == MOVED_C
    assert cl.err("SET", "{k0}anything", "1") == MOVED_B      # hash tag decides
    assert b"k0" not in cl.db.data and b"a" not in cl.db.data


def test_keyless_commands_are_served_anywhere(cl):
    cl.state.state_ok = False
    cl.state.del_slot(MINE)
    assert cl.run("PING") == Status(b"PONG")
    assert cl.run("DBSIZE") == 0
    assert cl.run("CLUSTER", "KEYSLOT", "k0") == B_SLOT
    assert cl.run("CLUSTER", "COUNTKEYSINSLOT", B_SLOT) == 0
    assert cl.run("ECHO", "a") == b"a"


def test_crossslot_and_same_slot_multi_key(cl):
    cross = "CROSSSLOT Keys in request don't hash to the same slot"
    assert cl.err("MSET", "hello", "1", "bar", "2") == cross      # both mine, two slots
    assert cl.err("MGET", "hello", "k0") == cross
    assert cl.err("DEL", "k0", "a") == cross                     # neither mine: still CROSSSLOT
    assert cl.run("MSET", "{hello}1", "x", "{hello}2", "y") is OK
    assert cl.run("MGET", "{hello}1", "{hello}2", "hello") == [b"x", b"y", None]
    assert cl.err("MGET", "{k0}1", "{k0}2") == MOVED_B           # one slot, another node


def test_unassigned_slot(cl):
    cl.state.del_slot(B_SLOT)
    assert cl.err("GET", "k0") == "CLUSTERDOWN Hash slot not served"
    # The first key decides: an unbound first slot wins over a later other slot...
    assert cl.err("MGET", "k0", "hello") == "CLUSTERDOWN Hash slot not served"
    # ... while a later unbound key in another slot is a CROSSSLOT.
    assert cl.err("MGET", "hello", "k0") == \
        "CROSSSLOT Keys in request don't hash to the same slot"


def test_cluster_down(cl):
    cl.db.store(b"hello", b"v")
    cl.state.state_ok = False
    assert cl.err("GET", "hello") == "CLUSTERDOWN The cluster is down"
    assert cl.err("SET", "hello", "w") == "CLUSTERDOWN The cluster is down"
    assert cl.run("CONFIG", "SET", "cluster-allow-reads-when-down", "yes") is OK
    assert cl.run("CONFIG", "GET", "cluster-allow-reads-when-down") == \
        {b"cluster-allow-reads-when-down": b"yes"}
    assert cl.run("GET", "hello") == b"v"
    assert cl.err("SET", "hello", "w") == \
        "CLUSTERDOWN The cluster is down and only accepts read commands"
    assert cl.err("GET", "k0") == MOVED_B          # reads still go to the slot's owner
    cl.state.state_ok = True
    assert cl.run("SET", "hello", "w") is OK


def test_redirect_endpoint_follows_preferred_endpoint_type():
    cl = Cluster("--cluster-preferred-endpoint-type", "hostname")
    assert cl.err("GET", "k0") == f"MOVED {B_SLOT} host-7200:7200"
    cl.b.hostname = ""
    assert cl.err("GET", "k0") == f"MOVED {B_SLOT} ?:7200"
    cl.node.config.set("cluster-preferred-endpoint-type", "unknown-endpoint")
    assert cl.err("GET", "k0") == f"MOVED {B_SLOT} :7200"


def test_master_link_and_standalone_are_not_routed(cl):
    link = cl.new_client()
    link.is_master_link = True
    assert cl.run("SET", "k0", "from-primary", client=link) is OK
    assert cl.db.data[b"k0"] == b"from-primary"
    node = Node(Config())
    c = node.new_client()
    for key in (b"hello", b"k0", b"a"):
        assert execute(c, [b"SET", key, b"1"]) is OK
    assert execute(c, [b"MSET", b"hello", b"1", b"a", b"2"]) is OK


def test_routing_errors_are_rejected_calls_in_errorstats(cl):
    stats = cl.node.stats
    cl.err("GET", "k0")
    cl.err("GET", "a")
    cl.err("MGET", "hello", "k0")
    assert stats.errors["MOVED"] == 2 and stats.errors["CROSSSLOT"] == 1
    assert stats.command("get").rejected == 2 and stats.command("get").calls == 0
    assert stats.command("mget").rejected == 1


def test_watch_is_routed(cl):
    assert cl.err("WATCH", "k0") == MOVED_B
    assert cl.run("WATCH", "hello") is OK


# -- migrating: ASK / TRYAGAIN -----------------------------------------------------------------

def test_migrating_slot_serves_present_keys_and_asks_for_missing(cl):
    cl.state.migrating[MINE] = B_ID
    cl.db.store(b"{hello}here", b"1")
    ask = f"ASK {MINE} 10.0.0.2:7200"
    assert cl.run("GET", "{hello}here") == b"1"
    assert cl.run("SET", "{hello}here", "2") is OK           # writes too
    assert cl.err("GET", "{hello}gone") == ask
    assert cl.err("SET", "{hello}gone", "1") == ask
    assert cl.err("MGET", "{hello}gone", "{hello}gone2") == ask     # none here: ASK
    assert cl.err("MGET", "{hello}here", "{hello}gone") == \
        "TRYAGAIN Multiple keys request during rehashing of slot"
    assert cl.run("MGET", "{hello}here", "{hello}here") == [b"2", b"2"]
    assert cl.node.stats.errors["ASK"] == 3 and cl.node.stats.errors["TRYAGAIN"] == 1


def test_expired_key_counts_as_missing_and_is_left_alone(cl):
    cl.state.migrating[MINE] = B_ID
    db, ks = cl.db, cl.node.keyspace
    db.store(b"{hello}old", b"1")
    db.set_expire(b"{hello}old", ks.now_ms - 1)
    hits, misses, expired = ks.hits, ks.misses, ks.expired
    assert cl.err("GET", "{hello}old") == f"ASK {MINE} 10.0.0.2:7200"
    assert b"{hello}old" in db.data                  # NOEXPIRE: not deleted
    assert (ks.hits, ks.misses, ks.expired) == (hits, misses, expired)   # NOSTATS
    db.store(b"{hello}live", b"1")
    db.lru[b"{hello}live"] = 0
    assert cl.err("MGET", "{hello}live", "{hello}old") == \
        "TRYAGAIN Multiple keys request during rehashing of slot"
    assert db.lru[b"{hello}live"] == 0               # NOTOUCH


def test_migrate_is_served_on_an_open_slot(cl):
    fake = attrs.evolve(TABLE["get"], name="migrate")   # same key position as MIGRATE k
    cl.state.migrating[MINE] = B_ID
    assert routing.route(cl.client, fake, [b"MIGRATE", b"{hello}gone"]) is None
    assert routing.route(cl.client, TABLE["get"], [b"GET", b"{hello}gone"]).startswith("ASK")
    cl.state.importing[B_SLOT] = B_ID
    assert routing.route(cl.client, fake, [b"MIGRATE", b"k0"]) is None
    del cl.state.migrating[MINE], cl.state.importing[B_SLOT]
    assert routing.route(cl.client, fake, [b"MIGRATE", b"k0"]) == MOVED_B


# -- importing: ASKING ----------------------------------------------------------------------

def test_importing_slot_needs_asking(cl):
    cl.state.importing[B_SLOT] = B_ID
    assert cl.err("SET", "k0", "1") == MOVED_B              # no ASKING: back to the owner
    assert cl.run("ASKING") is OK
    assert cl.run("SET", "k0", "1") is OK
    assert cl.err("GET", "k0") == MOVED_B                   # one-shot
    assert cl.run("ASKING") is OK
    assert cl.run("ASKING") is OK                           # ASKING keeps it
    assert cl.run("GET", "k0") == b"1"
    assert cl.client.asking is False


def test_asking_is_cleared_by_a_rejected_command(cl):
    cl.state.importing[B_SLOT] = B_ID
    for rejected in (("NOSUCHCOMMAND",), ("GET",), ("GET", "a")):
        assert cl.run("ASKING") is OK
        assert isinstance(cl.run(*rejected), ReplyError)
        assert cl.client.asking is False
        assert cl.err("GET", "k0") == MOVED_B


def test_asking_multi_key_on_importing_slot(cl):
    cl.state.importing[B_SLOT] = B_ID
    cl.db.store(b"{k0}1", b"x")
    cl.run("ASKING")
    assert cl.err("MGET", "{k0}1", "{k0}2") == \
        "TRYAGAIN Multiple keys request during rehashing of slot"
    cl.run("ASKING")
    assert cl.run("MSET", "{k0}2", "a", "{k0}2", "b") is OK   # one distinct key: served
    cl.run("ASKING")
    assert cl.run("MGET", "{k0}1", "{k0}2") == [b"x", b"b"]   # all present: served


def test_command_flagged_asking_needs_no_asking(cl):
    cl.state.importing[B_SLOT] = B_ID
    restore_asking = attrs.evolve(TABLE["set"], name="restore-asking",
                                  flags=TABLE["set"].flags + ("asking",))
    assert routing.route(cl.client, restore_asking, [b"X", b"k0", b"v"]) is None
    assert routing.route(cl.client, TABLE["set"], [b"SET", b"k0", b"v"]) == MOVED_B
    assert "asking" in TABLE.get("restore-asking", restore_asking).flags


def test_asking_command(cl):
    assert cl.err("ASKING", "x") == "ERR wrong number of arguments for 'asking' command"
    c = Node(Config()).new_client()
    reply = execute(c, [b"ASKING"])
    assert reply.message == "ERR This instance has cluster support disabled"
    info = TABLE["asking"]
    assert (info.arity, info.flags, info.acl_categories) == (1, ("fast",), ("fast", "connection"))


# -- MULTI / EXEC ---------------------------------------------------------------------------

def test_queued_command_redirect_aborts_the_transaction(cl):
    assert cl.run("MULTI") is OK
    assert cl.run("SET", "hello", "1") == QUEUED
    assert cl.err("SET", "k0", "1") == MOVED_B
    assert cl.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    assert b"hello" not in cl.db.data
    assert cl.node.stats.errors["MOVED"] == 1


def test_exec_rechecks_all_queued_keys(cl):
    assert cl.run("MULTI") is OK
    assert cl.run("SET", "{hello}1", "1") == QUEUED
    assert cl.run("SET", "bar", "2") == QUEUED               # mine too, another slot
    assert cl.err("EXEC") == "CROSSSLOT Keys in request don't hash to the same slot"
    assert not cl.client.in_multi and cl.client.multi_queue == []
    assert cl.db.data == {}
    assert cl.node.stats.command("exec").rejected == 1


def test_exec_redirect_discards_the_transaction_and_watches(cl):
    watcher = cl.client
    assert cl.run("WATCH", "hello") is OK
    assert cl.run("MULTI") is OK
    assert cl.run("SET", "hello", "1") == QUEUED
    # The slot moves to B while the transaction is open.
    cl.state.del_slot(MINE)
    cl.state.add_slot(cl.b, MINE)
    assert cl.err("EXEC") == f"MOVED {MINE} 10.0.0.2:7200"    # plain redirect, no EXECABORT
    assert not watcher.in_multi and watcher.watched == []
    assert cl.err("EXEC") == "ERR EXEC without MULTI"
    assert cl.node.stats.errors["MOVED"] == 1


def test_exec_with_keyless_queue_and_without_multi(cl):
    cl.state.state_ok = False
    assert cl.err("EXEC") == "ERR EXEC without MULTI"
    assert cl.run("MULTI") is OK
    assert cl.run("PING") == QUEUED
    assert cl.run("EXEC") == [Status(b"PONG")]


def test_exec_on_a_down_cluster(cl):
    cl.run("MULTI")
    cl.run("SET", "hello", "1")
    cl.state.state_ok = False
    assert cl.err("EXEC") == "CLUSTERDOWN The cluster is down"
    assert b"hello" not in cl.db.data


def test_asking_survives_multi_until_exec(cl):
    cl.state.importing[B_SLOT] = B_ID
    assert cl.run("ASKING") is OK
    assert cl.run("MULTI") is OK
    assert cl.run("SET", "{k0}1", "a") == QUEUED
    assert cl.run("GET", "{k0}1") == QUEUED
    assert cl.run("EXEC") == [OK, b"a"]
    assert cl.client.asking is False
    assert cl.err("GET", "{k0}1") == MOVED_B


def test_asking_inside_multi_is_queued_and_does_not_help_at_queue_time(cl):
    cl.state.importing[B_SLOT] = B_ID
    assert cl.run("MULTI") is OK
    assert cl.run("ASKING") == QUEUED
    assert cl.err("GET", "k0") == MOVED_B
    assert cl.err("EXEC") == "EXECABORT Transaction discarded because of previous errors."


def test_dirty_watch_still_wins_after_routing(cl):
    other = cl.new_client()
    cl.run("WATCH", "hello")
    cl.run("MULTI")
    cl.run("SET", "hello", "1")
    cl.run("SET", "hello", "2", client=other)
    assert cl.run("EXEC") is NULL_ARRAY


# -- READONLY on a replica -------------------------------------------------------------------

def make_replica_of_b(cl):
    me = cl.state.myself
    cl.state.slot_owner[0:5461] = [None] * 5461
    me.flags = Flag.MYSELF | Flag.SLAVE
    me.primary_id = B_ID


def test_readonly_replica_serves_reads_of_its_primary(cl):
    make_replica_of_b(cl)
    cl.db.store(b"k0", b"replicated")
    assert cl.err("GET", "k0") == MOVED_B                  # not READONLY: MOVED
    assert cl.run("READONLY") is OK
    assert cl.run("GET", "k0") == b"replicated"
    assert cl.err("SET", "k0", "x") == MOVED_B             # writes still go to the primary
    assert cl.err("GET", "a") == MOVED_C                   # another primary's slot
    assert cl.run("MULTI") is OK
    assert cl.run("GET", "k0") == QUEUED
    assert cl.run("EXEC") == [b"replicated"]
    assert cl.run("READWRITE") is OK
    assert cl.err("GET", "k0") == MOVED_B


def test_readonly_exec_with_a_queued_write_is_moved(cl):
    make_replica_of_b(cl)
    c = cl.client
    c.readonly = True
    c.in_multi = True
    c.multi_queue = [(TABLE["get"], [b"GET", b"k0"]), (TABLE["set"], [b"SET", b"k0", b"1"])]
    assert routing.route(c, TABLE["exec"], [b"EXEC"]) == MOVED_B
    c.multi_queue = [(TABLE["get"], [b"GET", b"k0"])]
    assert routing.route(c, TABLE["exec"], [b"EXEC"]) is None


# -- the slot computation inside routing ----------------------------------------------------

_BRACES = st.lists(st.sampled_from([b"{", b"}", b"a", b"b"]), max_size=7).map(b"".join)
_SHAPES = st.sampled_from([b"{a}", b"{a}x", b"x{a}", b"x{a}y", b"{a", b"a}", b"{}", b"{}{a}",
                           b"{{a}}", b"{a}}", b"a", b"{b}a", b""])
_ALL_MINE = Cluster()
_ALL_MINE.state.slot_owner[:] = [_ALL_MINE.state.myself.id] * 16384


@settings(max_examples=300, deadline=None)
@given(st.lists(_BRACES | _SHAPES, min_size=1, max_size=5))
def test_crossslot_exactly_when_keyslots_differ(keys):
    """Routing's inlined keyslot and its same-tag shortcut agree with slots.keyslot."""
    got = routing.route(_ALL_MINE.client, TABLE["mget"], [b"MGET", *keys])
    same_slot = len({keyslot(k) for k in keys}) == 1
    assert got == (None if same_slot else routing.CROSSSLOT)
