"""Pub/Sub in a cluster: PUBLISH reaches every node over the bus, SPUBLISH the shard's nodes
(primary and replica), SSUBSCRIBE is routed like a key, a lost slot unsubscribes."""
from __future__ import annotations

import pytest
import redis

from tests.cluster_support import admin, cluster_of, node_ids
from tests.support import wait_until

SLOT_OF_A = 15495          # CLUSTER KEYSLOT a: owned by node 1 (8192-16383)


@pytest.fixture(scope="module")
def trio_nodes(tmp_path_factory):
    """Two primaries (0-8191, 8192-16383) and a replica of node 1."""
    with cluster_of(tmp_path_factory.mktemp("pubsub"), primaries=2, extra=1) as nodes:
        ids = node_ids(nodes)
        with admin(nodes[2]) as c:
            c.execute_command("CLUSTER", "REPLICATE", ids[1])

        def replica_known():
            with admin(nodes[2]) as c:
                if c.execute_command("ROLE")[0] != "slave":
                    return False
            with admin(nodes[1]) as c:          # the shard as node 1's bus sees it
                return len(c.execute_command("CLUSTER", "REPLICAS", ids[1])) == 1
        wait_until(replica_known, 30, interval=0.1, message="node 2 to replicate node 1")
        yield nodes, ids


def _client(node, protocol=2):
    return redis.Redis(port=node.port, protocol=protocol, socket_timeout=10)


def _message(ps, kind):
    found = []

    def got():
        msg = ps.get_message(timeout=0.05)
        if msg is not None and msg["type"] == kind:
            found.append(msg)
        return found
    wait_until(got, 10, message=f"a {kind}")
    return found[0]


@pytest.mark.parametrize("protocol", [2, 3])
def test_publish_reaches_subscribers_on_other_nodes(trio_nodes, protocol):
    nodes, _ = trio_nodes
    subs = []
    for node in nodes[1:]:
        c = _client(node, protocol)
        ps = c.pubsub()
        ps.subscribe("everywhere")
        _message(ps, "subscribe")
        subs.append((c, ps))
    with _client(nodes[0]) as pub:
        assert pub.publish("everywhere", "hi") == 0        # no local subscriber
    for c, ps in subs:
        msg = _message(ps, "message")
        assert (msg["channel"], msg["data"]) == (b"everywhere", b"hi")
        ps.close()
        c.close()


def test_ssubscribe_is_routed_like_a_key(trio_nodes):
    nodes, _ = trio_nodes
    with _client(nodes[0]) as c:
        assert c.execute_command("CLUSTER", "KEYSLOT", "a") == SLOT_OF_A
        with pytest.raises(redis.exceptions.MovedError, match="^15495 127.0.0.1:"):
            c.execute_command("SPUBLISH", "a", "x")
        with pytest.raises(redis.ResponseError, match="don't hash to the same slot"):
            c.execute_command("SSUBSCRIBE", "a", "b")


def test_spublish_reaches_the_shard_replica(trio_nodes):
    nodes, _ = trio_nodes
    with _client(nodes[2]) as rc, _client(nodes[1]) as pc:
        rc.execute_command("READONLY")
        ps = rc.pubsub()
        ps.ssubscribe("a")
        _message(ps, "ssubscribe")
        assert pc.spublish("a", "shard-msg") == 0
        msg = _message(ps, "smessage")
        assert (msg["channel"], msg["data"]) == (b"a", b"shard-msg")
        ps.close()


def test_losing_the_slot_sunsubscribes(trio_nodes):
    nodes, ids = trio_nodes
    with _client(nodes[1]) as c:
        ps = c.pubsub()
        ps.ssubscribe("{a}lose")
        _message(ps, "ssubscribe")
        slot = c.execute_command("CLUSTER", "KEYSLOT", "{a}lose")
        assert c.pubsub_shardnumsub("{a}lose") == [(b"{a}lose", 1)]
        c.execute_command("CLUSTER", "DELSLOTS", slot)
        msg = _message(ps, "sunsubscribe")
        assert (msg["channel"], msg["data"]) == (b"{a}lose", 0)
        assert c.pubsub_shardchannels() == []
        c.execute_command("CLUSTER", "ADDSLOTS", slot)
        ps.close()
