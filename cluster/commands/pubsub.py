"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB ...

The registry and delivery are cluster.execution.pubsub (node.pubsub). (Un)subscribe confirmations
are one reply per channel (`Replies`): RESP3 pushes, RESP2 arrays. In cluster mode
PUBLISH also goes over the bus to every node, SPUBLISH to the nodes of this shard; in
standalone both are propagated to replicas (forceCommandPropagation), whose subscribers
get them too.
"""
from __future__ import annotations

from cluster.commands.help import help_reply
from cluster.base.glob import compile_glob
from cluster.replication.propagate import REPL
from cluster.resp.reply import ReplyError, Replies
from cluster.execution.table import command, container, subcommand

_SUB = dict(group="pubsub", acl="@pubsub")


@command("subscribe", -2, "pubsub noscript loading stale", since="2.0.0",
         summary="Listen for messages published to the given channels",
         complexity="O(N) where N is the number of channels to subscribe to.", **_SUB)
def subscribe(client, argv):
    ps = client.node.pubsub
    return Replies([ps.subscribe(client, "channel", name) for name in argv[1:]])


@command("unsubscribe", -1, "pubsub noscript loading stale", since="2.0.0",
         summary="Stop listening for messages posted to the given channels",
         complexity="O(N) where N is the number of clients already subscribed to a channel.",
         **_SUB)
def unsubscribe(client, argv):
    return _unsubscribe(client, argv, "channel")


@command("psubscribe", -2, "pubsub noscript loading stale", since="2.0.0",
         summary="Listen for messages published to channels matching the given patterns",
         complexity="O(N) where N is the number of patterns the client is already "
                    "subscribed to.", **_SUB)
def psubscribe(client, argv):
    ps = client.node.pubsub
    return Replies([ps.subscribe(client, "pattern", name) for name in argv[1:]])


@command("punsubscribe", -1, "pubsub noscript loading stale", since="2.0.0",
         summary="Stop listening for messages posted to channels matching the given patterns",
         complexity="O(N+M) where N is the number of patterns the client is already "
                    "subscribed and M is the number of total patterns subscribed in the "
                    "system (by any client).", **_SUB)
def punsubscribe(client, argv):
    return _unsubscribe(client, argv, "pattern")


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1),
         key_flags="not_key", since="7.0.0",
         summary="Listen for messages published to the given shard channels",
         complexity="O(N) where N is the number of shard channels to subscribe to.", **_SUB)
def ssubscribe(client, argv):
    ps = client.node.pubsub
    return Replies([ps.subscribe(client, "shard", name) for name in argv[1:]])


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1),
         key_flags="not_key", since="7.0.0",
         summary="Stop listening for messages posted to the given shard channels",
         complexity="O(N) where N is the number of clients already subscribed to a shard "
                    "channel.", **_SUB)
def sunsubscribe(client, argv):
    return _unsubscribe(client, argv, "shard")


def _unsubscribe(client, argv, kind: str) -> Replies:
    ps = client.node.pubsub
    if len(argv) == 1:
        return Replies(ps.unsubscribe_all(client, kind))
    return Replies([ps.unsubscribe(client, kind, name) for name in argv[1:]])


@command("publish", 3, "pubsub loading stale fast", since="2.0.0",
         summary="Post a message to a channel",
         complexity="O(N+M) where N is the number of clients subscribed to the receiving "
                    "channel and M is the total number of subscribed patterns (by any "
                    "client).", **_SUB)
def publish(client, argv):
    node = client.node
    receivers = node.pubsub.publish(argv[1], argv[2])
    _spread(client, argv, shard=False)
    return receivers


@command("spublish", 3, "pubsub loading stale fast", keys=(1, 1, 1), key_flags="not_key",
         since="7.0.0", summary="Post a message to a shard channel",
         complexity="O(N) where N is the number of clients subscribed to the receiving "
                    "shard channel.", **_SUB)
def spublish(client, argv):
    receivers = client.node.pubsub.spublish(argv[1], argv[2])
    _spread(client, argv, shard=True)
    return receivers


def _spread(client, argv, shard: bool) -> None:
    """Cluster: over the bus. Standalone: to replicas, as Redis forces propagation."""
    node = client.node
    if node.cluster is not None:
        if not client.is_master_link:
            node.cluster.submit(node.cluster.state.publish(argv[1], argv[2], shard))
    elif node.repl.link is None:
        # Only a primary propagates its own PUBLISH (sentinels PUBLISH hellos to replicas
        # too): a replica's stream is its primary's, verbatim, or its backlog would break.
        # To replicas only, never the AOF (PROPAGATE_REPL).
        node.propagator.feed(client.db.id, argv, REPL)


container("pubsub", -2, group="pubsub", since="2.8.0",
          summary="A container for Pub/Sub commands", complexity="Depends on subcommand.")

_PUBSUB_HELP = [
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> "
    "(default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
]


def _matching(client, argv, registry: dict) -> list[bytes]:
    if len(argv) > 3:
        raise ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                         "Try PUBSUB HELP." % argv[1].decode("utf-8", "replace"))
    if len(argv) == 2:
        return list(registry)
    match = compile_glob(argv[2])
    return [name for name in registry if match(name)]


@subcommand("pubsub", "channels", -2, "pubsub loading stale", acl="@pubsub", since="2.8.0",
            summary="List active channels",
            complexity="O(N) where N is the number of active channels, and assuming "
                       "constant time pattern matching (relatively short channels and "
                       "patterns)")
def pubsub_channels(client, argv):
    return _matching(client, argv, client.node.pubsub.channels)


@subcommand("pubsub", "shardchannels", -2, "pubsub loading stale", acl="@pubsub",
            since="7.0.0", summary="List active shard channels",
            complexity="O(N) where N is the number of active shard channels, and assuming "
                       "constant time pattern matching (relatively short shard channels).")
def pubsub_shardchannels(client, argv):
    return _matching(client, argv, client.node.pubsub.shard_channels)


@subcommand("pubsub", "numsub", -2, "pubsub loading stale", acl="@pubsub", since="2.8.0",
            summary="Get the count of subscribers for channels",
            complexity="O(N) for the NUMSUB subcommand, where N is the number of requested "
                       "channels")
def pubsub_numsub(client, argv):
    return _numsub(argv, client.node.pubsub.channels)


@subcommand("pubsub", "shardnumsub", -2, "pubsub loading stale", acl="@pubsub",
            since="7.0.0", summary="Get the count of subscribers for shard channels",
            complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of "
                       "requested shard channels")
def pubsub_shardnumsub(client, argv):
    return _numsub(argv, client.node.pubsub.shard_channels)


def _numsub(argv, registry: dict) -> list:
    out: list = []
    for name in argv[2:]:
        out.append(name)
        out.append(len(registry.get(name, ())))
    return out


@subcommand("pubsub", "numpat", 2, "pubsub loading stale", acl="@pubsub", since="2.8.0",
            summary="Get the count of unique patterns pattern subscriptions",
            complexity="O(1)")
def pubsub_numpat(client, argv):
    return len(client.node.pubsub.patterns)


@subcommand("pubsub", "help", 2, "loading stale", since="6.2.0", summary="Show helpful text "
            "about the different subcommands", complexity="O(1)")
def pubsub_help(client, argv):
    return help_reply("PUBSUB", _PUBSUB_HELP)
