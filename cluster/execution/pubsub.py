"""Pub/Sub without I/O: the channel / pattern / shard-channel registry and delivery.

Every node has one `PubSub` (`node.pubsub`). A client's own subscriptions live on it
(`client.channels`, `client.patterns`, `client.shard_channels`: dicts kept in subscription
order). Messages for a client are encoded at once for its protocol (RESP3 pushes `>`,
RESP2 arrays) and queued with `queue()`: onto `client.pushes`, the list the connection
task sends from (during a batch it is the batch's own output list, so a message to the
client running the command lands before that command's reply, as in Redis), then
`client.wake()` (installed by the I/O edge) makes a parked connection flush it.

A slow subscriber: its queued bytes are checked against client-output-buffer-limit class
`pubsub` (hard, soft, soft seconds); over the limit the client is closed and its queue
dropped, so memory stays bounded (Redis's closeClientOnOutputBufferLimitReached).
"""
from __future__ import annotations

from slots import keyslot

from cluster.keyspace import notify
from cluster.execution import obuf
from cluster.base.glob import compile_glob
from cluster.resp.reply import Push, encode

_KINDS = {  # kind -> (client attribute, registry attribute, subscribe word, unsub word)
    "channel": ("channels", "channels", b"subscribe", b"unsubscribe"),
    "pattern": ("patterns", "patterns", b"psubscribe", b"punsubscribe"),
    "shard": ("shard_channels", "shard_channels", b"ssubscribe", b"sunsubscribe"),
}


def subscription_count(client, kind: str) -> int:
    """The count a (un)subscribe reply carries: channels + patterns, or shard channels."""
    if kind == "shard":
        return len(client.shard_channels)
    return len(client.channels) + len(client.patterns)


def _update_mode(client) -> None:
    """CLIENT_PUBSUB: set while the client has any subscription at all; the node's Pub/Sub
    gate is on while any client has it."""
    subscribed = bool(client.channels or client.patterns or client.shard_channels)
    if subscribed == (client.flags_extra == "pubsub"):
        return
    client.flags_extra = "pubsub" if subscribed else ""
    if subscribed:
        client.node.gates.hold("pubsub")
    else:
        client.node.gates.release("pubsub")


class PubSub:
    def __init__(self, node):
        self.node = node
        self.channels: dict[bytes, dict] = {}        # channel -> {client: None}
        self.patterns: dict[bytes, dict] = {}        # pattern -> {client: None}
        self.shard_channels: dict[bytes, dict] = {}  # shard channel -> {client: None}
        self.slot_channels: dict[int, dict] = {}     # slot -> {shard channel: None}
        self._matchers: dict[bytes, object] = {}     # pattern -> compiled glob
        self.limits = obuf.Limits(node.config, "pubsub")
        notify.install(node)            # node.notify_flags (notify-keyspace-events)

    # -- subscriptions -----------------------------------------------------------------
    def subscribe(self, client, kind: str, name: bytes) -> Push:
        attr, reg_attr, word, _ = _KINDS[kind]
        mine = getattr(client, attr)
        if name not in mine:
            mine[name] = None
            registry = getattr(self, reg_attr)
            subscribers = registry.get(name)
            if subscribers is None:
                subscribers = registry[name] = {}
                if kind == "pattern":
                    self._matchers[name] = compile_glob(name)
                elif kind == "shard":
                    self.slot_channels.setdefault(keyslot(name), {})[name] = None
            subscribers[client] = None
            _update_mode(client)
        return Push([word, name, subscription_count(client, kind)])

    def unsubscribe(self, client, kind: str, name: bytes) -> Push:
        attr, reg_attr, _, word = _KINDS[kind]
        mine = getattr(client, attr)
        if name in mine:
            del mine[name]
            registry = getattr(self, reg_attr)
            subscribers = registry.get(name)
            if subscribers is not None:
                subscribers.pop(client, None)
                if not subscribers:
                    del registry[name]
                    if kind == "pattern":
                        self._matchers.pop(name, None)
                    elif kind == "shard":
                        slot = keyslot(name)
                        names = self.slot_channels.get(slot)
                        if names is not None:
                            names.pop(name, None)
                            if not names:
                                del self.slot_channels[slot]
            _update_mode(client)
        return Push([word, name, subscription_count(client, kind)])

    def unsubscribe_all(self, client, kind: str) -> list[Push]:
        """(P|S)UNSUBSCRIBE without arguments: one reply per subscription, or one with a
        null name when there is none."""
        names = list(getattr(client, _KINDS[kind][0]))
        if not names:
            return [Push([_KINDS[kind][3], None, subscription_count(client, kind)])]
        return [self.unsubscribe(client, kind, name) for name in names]

    def forget_client(self, client) -> None:
        """A closed connection or RESET: drop every subscription, nothing is sent."""
        for kind in _KINDS:
            for name in list(getattr(client, _KINDS[kind][0])):
                self.unsubscribe(client, kind, name)

    # -- delivery ----------------------------------------------------------------------
    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to channel and pattern subscribers of this node; the receiver count."""
        receivers = 0
        subscribers = self.channels.get(channel)
        if subscribers:
            msg2 = msg3 = None
            for client in list(subscribers):
                if client.resp == 3:
                    if msg3 is None:
                        msg3 = encode(Push([b"message", channel, message]), True)
                    self.queue(client, msg3)
                else:
                    if msg2 is None:
                        msg2 = encode(Push([b"message", channel, message]), False)
                    self.queue(client, msg2)
                receivers += 1
        if self.patterns:
            matchers = self._matchers
            for pattern, subs in list(self.patterns.items()):
                if not matchers[pattern](channel):
                    continue
                for client in list(subs):
                    self.queue(client, encode(Push([b"pmessage", pattern, channel, message]),
                                              client.resp == 3))
                    receivers += 1
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        subscribers = self.shard_channels.get(channel)
        if not subscribers:
            return 0
        for client in list(subscribers):
            self.queue(client, encode(Push([b"smessage", channel, message]), client.resp == 3))
        return len(subscribers)

    def deliver_cluster_message(self, channel: bytes, message: bytes, shard: bool) -> None:
        """A PUBLISH / SPUBLISH another node sent over the bus."""
        if shard:
            self.spublish(channel, message)
        else:
            self.publish(channel, message)

    def remove_channels_in_slots(self, slots) -> int:
        """Slots my shard no longer serves: their shard subscribers get an `sunsubscribe`
        push per channel (Redis 7.0's removeChannelsInSlot)."""
        removed = 0
        for slot in slots:
            names = self.slot_channels.get(slot)
            if not names:
                continue
            for name in list(names):
                for client in list(self.shard_channels.get(name, ())):
                    push = self.unsubscribe(client, "shard", name)
                    self.queue(client, encode(push, client.resp == 3))
                removed += 1
        return removed

    def check_shard_slots(self) -> int:
        """Drop shard channels whose slot my shard (me or my primary) no longer owns."""
        cluster = self.node.cluster
        if cluster is None or not self.slot_channels:
            return 0
        state = cluster.state
        me = state.myself
        mine = {me.id}
        if me.primary_id:
            mine.add(me.primary_id)
        lost = [slot for slot in self.slot_channels if state.slot_owner[slot] not in mine]
        return self.remove_channels_in_slots(lost) if lost else 0

    # -- output ------------------------------------------------------------------------
    def queue(self, client, data: bytes) -> None:
        """Queue unsolicited output for `client`, enforce the pubsub output limit, wake
        its connection."""
        obuf.queue_push(client, data, self.limits)


