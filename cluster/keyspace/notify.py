"""Keyspace notifications (notify-keyspace-events), as Redis 7.0's notifyKeyspaceEvent.

A command calls `notify(client, TYPE, b"event", key)` once per event Redis raises; with
notifications off the cost is one integer test. Messages go to this node's subscribers
only (never over the cluster bus nor to replicas: replicas raise their own):
`__keyspace@<db>__:<key>` carries the event name, `__keyevent@<db>__:<event>` the key.
"""
from __future__ import annotations

KEYSPACE = 1 << 0     # K
KEYEVENT = 1 << 1     # E
GENERIC = 1 << 2      # g
STRING = 1 << 3       # $
LIST = 1 << 4         # l
SET = 1 << 5          # s
HASH = 1 << 6         # h
ZSET = 1 << 7         # z
EXPIRED = 1 << 8      # x
EVICTED = 1 << 9      # e
STREAM = 1 << 10      # t
KEY_MISS = 1 << 11    # m
MODULE = 1 << 13      # d
NEW = 1 << 14         # n

_LETTERS = {"K": KEYSPACE, "E": KEYEVENT, "g": GENERIC, "$": STRING, "l": LIST, "s": SET,
            "h": HASH, "z": ZSET, "x": EXPIRED, "e": EVICTED, "t": STREAM, "m": KEY_MISS,
            "d": MODULE, "n": NEW}
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE


def flags_of(text: str) -> int:
    """The canonical directive text (config_special.parse_notify) -> the flag bits."""
    flags = 0
    for c in text:
        flags |= ALL if c == "A" else _LETTERS.get(c, 0)
    return flags


def install(node) -> None:
    """Keep `node.notify_flags` in step with the directive."""
    node.notify_flags = flags_of(node.config["notify-keyspace-events"])
    _hooks(node)

    def changed(name: str, value) -> None:
        if name == "notify-keyspace-events":
            node.notify_flags = flags_of(value)
            _hooks(node)
    node.config.listeners.append(changed)


def _hooks(node) -> None:
    """"new" (n) and "keymiss" (m) come from the keyspace itself (Redis's dbAdd and
    lookupKeyRead): hooks there only while a subscriber could receive them."""
    flags = node.notify_flags
    ks = node.keyspace
    on = flags & (KEYSPACE | KEYEVENT)
    ks.on_new = (lambda db, key: publish_event(node, b"new", key, db.id)) \
        if on and flags & NEW else None
    ks.on_miss = (lambda db, key: publish_event(node, b"keymiss", key, db.id)) \
        if on and flags & KEY_MISS else None


def notify(client, kind: int, event: bytes, key: bytes, db_id: int | None = None) -> None:
    """One event of `kind` about `key` in the client's db (or db `db_id`)."""
    if client.node.notify_flags & kind:
        publish_event(client.node, event, key, client.db.id if db_id is None else db_id)


def elements_removed(client, kind: int, event: bytes, key: bytes, value) -> None:
    """Elements were taken out of the collection `value` stored at `key`: the command's
    event, then the key changed or, emptied, deleted with a `del` event (Redis's type
    commands all end this way)."""
    notify(client, kind, event, key)
    db = client.db
    if len(value):
        db.modified(key)
    else:
        db.delete(key)
        notify(client, GENERIC, b"del", key)


def notify_node(node, kind: int, event: bytes, key: bytes, db_id: int) -> None:
    """The same without a client (active / lazy expiry)."""
    if node.notify_flags & kind:
        publish_event(node, event, key, db_id)


def publish_event(node, event: bytes, key: bytes, db_id: int) -> None:
    flags = node.notify_flags
    publish = node.pubsub.publish
    if flags & KEYSPACE:
        publish(b"__keyspace@%d__:%s" % (db_id, key), event)
    if flags & KEYEVENT:
        publish(b"__keyevent@%d__:%s" % (db_id, event), key)
