"""cluster.execution.blocking without sockets: queues, first-blocked-first-served, wake-up after
EXEC, retyped keys, CLIENT UNBLOCK, timeouts, propagation, the cluster redirect rule."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.execution import blocking
from cluster.execution.dispatch import execute
from cluster.resp.outcomes import Block
from cluster.node import Node
from cluster.resp.reply import NULL_ARRAY, ReplyError


@pytest.fixture
def node():
    return Node()


def run(client, *args):
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def fed(node) -> list[bytes]:
    out = []
    node.propagator.sinks.append(out.append)
    return out


def test_first_blocked_is_served_first(node):
    a, b, c, pusher = (node.new_client() for _ in range(4))
    blocks = [run(x, "BLPOP", "k", 0) for x in (a, b, c)]
    assert all(isinstance(blk, Block) for blk in blocks)
    assert [w.client for w in node.keyspace[0].blocking[b"k"]] == [a, b, c]
    assert run(pusher, "RPUSH", "k", "1", "2") == 2
    assert blocks[0].ready.reply == [b"k", b"1"]
    assert blocks[1].ready.reply == [b"k", b"2"]
    assert not blocks[2].ready.done
    assert node.keyspace[0].peek(b"k") is None
    run(pusher, "LPUSH", "k", "3")
    assert blocks[2].ready.reply == [b"k", b"3"]
    assert not node.keyspace[0].blocking


def test_multi_key_wait_unregisters_everywhere(node):
    a, pusher = node.new_client(), node.new_client()
    blk = run(a, "BRPOP", "x", "y", 0)
    run(pusher, "RPUSH", "y", "v")
    assert blk.ready.reply == [b"y", b"v"]
    assert not node.keyspace[0].blocking


def test_served_after_exec_once(node):
    a, pusher = node.new_client(), node.new_client()
    blk = run(a, "BLPOP", "k", 0)
    run(pusher, "MULTI")
    run(pusher, "RPUSH", "k", "a")
    run(pusher, "RPUSH", "k", "b")
    assert not blk.ready.done
    assert run(pusher, "EXEC") == [1, 2]
    assert blk.ready.reply == [b"k", b"a"]
    assert run(pusher, "LRANGE", "k", 0, -1) == [b"b"]


def test_retyped_key_keeps_client_blocked(node):
    a, other = node.new_client(), node.new_client()
    blk = run(a, "BLPOP", "k", 0)
    run(other, "SET", "k", "s")
    run(other, "DEL", "k")
    run(other, "ZADD", "k", 1, "m")
    assert not blk.ready.done
    run(other, "DEL", "k")
    run(other, "RPUSH", "k", "v")
    assert blk.ready.reply == [b"k", b"v"]


def test_zset_waiter_served_by_zadd(node):
    a, b, other = node.new_client(), node.new_client(), node.new_client()
    blk_list = run(b, "BLPOP", "z", 0)
    blk = run(a, "BZPOPMAX", "z", 0)
    run(other, "ZADD", "z", 1, "a", 2, "b")
    assert blk.ready.reply == [b"z", b"b", 2.0]
    assert not blk_list.ready.done


def test_blmove_wrongtype_destination_keeps_value(node):
    a, other = node.new_client(), node.new_client()
    blk = run(a, "BLMOVE", "s", "d", "LEFT", "RIGHT", 0)
    run(other, "SET", "d", "x")
    run(other, "RPUSH", "s", "v")
    assert isinstance(blk.ready.reply, ReplyError)
    assert blk.ready.reply.message.startswith("WRONGTYPE")
    assert run(other, "LRANGE", "s", 0, -1) == [b"v"]


def test_blmove_chain_serves_next_waiter(node):
    a, b, other = node.new_client(), node.new_client(), node.new_client()
    first = run(a, "BLMOVE", "s", "d", "LEFT", "RIGHT", 0)
    second = run(b, "BLPOP", "d", 0)
    run(other, "RPUSH", "s", "v")
    assert first.ready.reply == b"v"
    assert second.ready.reply == [b"d", b"v"]


def test_inside_multi_does_not_block(node):
    a = node.new_client()
    run(a, "MULTI")
    for cmd in (["BLPOP", "k", 0], ["BLMOVE", "k", "d", "LEFT", "LEFT", 0],
                ["BZPOPMIN", "k", 0], ["BLMPOP", 0, 1, "k", "LEFT"]):
        run(a, *cmd)
    assert run(a, "EXEC") == [NULL_ARRAY, None, NULL_ARRAY, NULL_ARRAY]
    assert not node.keyspace[0].blocking


def test_client_unblock(node):
    a, b, admin = node.new_client(), node.new_client(), node.new_client()
    blk_a = run(a, "BLPOP", "k", 0)
    blk_b = run(b, "BLMOVE", "k", "d", "LEFT", "LEFT", 0)
    assert run(admin, "CLIENT", "UNBLOCK", a.id) == 1
    assert blk_a.ready.reply is NULL_ARRAY
    assert run(admin, "CLIENT", "UNBLOCK", a.id) == 0
    assert run(admin, "CLIENT", "UNBLOCK", b.id, "ERROR") == 1
    assert blk_b.ready.reply.message == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert not node.keyspace[0].blocking


def test_propagation_of_served_and_immediate(node):
    out = fed(node)
    a, b, other = node.new_client(), node.new_client(), node.new_client()
    run(a, "BLMPOP", 0, 1, "k", "RIGHT", "COUNT", 5)
    run(b, "BRPOPLPUSH", "s", "d", 0)
    run(other, "RPUSH", "k", "1", "2")
    run(other, "RPUSH", "s", "x")
    run(other, "RPUSH", "k", "3")
    run(other, "BRPOP", "k", 0)
    data = b"".join(out)
    assert b"*3\r\n$4\r\nRPOP\r\n$1\r\nk\r\n$1\r\n2\r\n" in data
    assert b"*3\r\n$9\r\nRPOPLPUSH\r\n$1\r\ns\r\n$1\r\nd\r\n" in data
    assert data.endswith(b"*2\r\n$4\r\nRPOP\r\n$1\r\nk\r\n")
    assert b"BLMPOP" not in data and b"BRPOP" not in data


@pytest.mark.parametrize("raw,ms", [(b"0", None), (b"0.1", 100), (b"1.0001", 1001),
                                    (b"-0.0001", None), (b"2", 2000)])
def test_parse_timeout(raw, ms):
    assert blocking.parse_timeout(raw) == ms


@pytest.mark.parametrize("raw,message", [
    (b"x", "ERR timeout is not a float or out of range"),
    (b"nan", "ERR timeout is not a float or out of range"),
    (b"-1", "ERR timeout is negative"),
    (b"inf", "ERR timeout is negative"),
    (b"1e30", "ERR timeout is negative"),
])
def test_parse_timeout_errors(raw, message):
    with pytest.raises(ReplyError) as err:
        blocking.parse_timeout(raw)
    assert err.value.message == message


def test_parse_timeout_past_llong_max_from_now():
    with pytest.raises(ReplyError) as err:
        blocking.parse_timeout(b"9223372036854775", 10**12)
    assert err.value.message == "ERR timeout is out of range"


def _cluster_state(owner, me="me", ok=True, importing=()):
    nodes = {"other": SimpleNamespace(ip="10.0.0.2", port=7001, hostname="")}
    return SimpleNamespace(state_ok=ok, myself=SimpleNamespace(id=me),
                           slot_owner=[owner] * 16384, importing=set(importing), nodes=nodes,
                           migrating={})


def test_redirect_rule(node):
    client = node.new_client()
    waiter = blocking.Waiter(client, [b"k"], list, None, NULL_ARRAY)
    node.cluster = SimpleNamespace(state=_cluster_state("me"))
    assert blocking.redirect_for(waiter) is None
    node.cluster.state = _cluster_state("other")
    assert blocking.redirect_for(waiter) == "MOVED 7629 10.0.0.2:7001"
    node.cluster.state = _cluster_state("other", importing=[7629])
    assert blocking.redirect_for(waiter) is None
    node.cluster.state = _cluster_state(None)
    assert blocking.redirect_for(waiter) == "CLUSTERDOWN Hash slot not served"
    node.cluster.state = _cluster_state("me", ok=False)
    assert blocking.redirect_for(waiter) == "CLUSTERDOWN The cluster is down"


def test_replica_serves_its_blocked_client_without_propagating(node):
    """Redis 7.0 (checked with a real primary/replica pair, replica-read-only no): a
    client blocked on a replica is served by the primary's push; nothing is propagated."""
    waiting, link = node.new_client(), node.new_client()
    blk = run(waiting, "BLPOP", "k", 0)
    out = fed(node)
    node.repl.link = SimpleNamespace()
    link.is_master_link = True
    run(link, "RPUSH", "k", "a", "b")
    assert blk.ready.reply == [b"k", b"a"]
    assert b"LPOP" not in b"".join(out)
    assert b"RPUSH" in b"".join(out)


def test_wait_released_with_redirect_when_slot_moves(node):
    import trio
    client = node.new_client()
    node.cluster = SimpleNamespace(state=_cluster_state("me"))
    blk = run(client, "BLPOP", "k", 0)

    async def scenario():
        async with trio.open_nursery() as nursery:
            results = []

            async def waiter():
                results.append(await blk.ready.wait(blk.timeout_ms))
            nursery.start_soon(waiter)
            await trio.sleep(0.05)
            assert client.blocked
            node.cluster.state = _cluster_state("other")
        return results[0]
    reply = trio.run(scenario)
    assert reply.message == "MOVED 7629 10.0.0.2:7001"
    assert not client.blocked and not node.keyspace[0].blocking


def test_wait_times_out_with_timeout_reply(node):
    import trio
    client = node.new_client()
    blk = run(client, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.02")
    assert blk.timeout_ms == 20
    assert trio.run(blk.ready.wait, blk.timeout_ms) is NULL_ARRAY
    assert not node.keyspace[0].blocking


def test_a_busy_scripts_keys_wait_for_the_script_to_end(node):
    """While a script is past busy-reply-threshold (its thread owns the data), the
    commands other clients may run (HELLO, CLIENT ...) serve no blocked client; the
    script's end does, with what the script left (Redis: 'Timedout scripts and unblocked
    command')."""
    waiter, other = node.new_client(), node.new_client()
    blk = run(waiter, "BLPOP", "x", 0)
    node.keyspace[0].data[b"x"] = __import__("collections").deque([b"y"])
    blocking.signal_key(node.keyspace[0], b"x")        # what a script's LPUSH leaves
    node.script_busy = SimpleNamespace(is_eval=True)
    run(other, "HELLO", "2", "SETNAME", "stop")         # allowed while busy
    assert not blk.ready.done
    node.keyspace[0].data[b"x"].appendleft(b"z")        # the script's last LPUSH
    node.script_busy = None
    blocking.serve_ready(node)                           # the script ended
    assert blk.ready.reply == [b"x", b"z"]
