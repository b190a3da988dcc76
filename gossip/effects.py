"""What the state machine asks its driver to do. Plain values, performed by the transport.

Links: the state machine names every OUTBOUND link with an int it allocates (>= 1) and
asks for it with Connect; the driver reports LinkUp/LinkDown for it. INBOUND links are
named by the driver with negative ints; the state machine only answers on them (Send).

Role: BecamePrimary / FollowPrimary announce every change of myself's role or primary,
in the effects of the input that made it (gossip/state.py's CONTRACT has the rule).
"""
from __future__ import annotations

import attrs

from gossip.messages import Message


@attrs.frozen
class Connect:
    link: int
    ip: str
    cport: int


@attrs.frozen
class Disconnect:
    link: int


@attrs.frozen
class Send:
    link: int
    message: Message


@attrs.frozen
class SaveConfig:
    fsync: bool


@attrs.frozen
class Log:
    level: str          # debug | verbose | notice | warning
    text: str


@attrs.frozen
class Deliver:
    """A PUBLISH / PUBLISHSHARD from another node, for this node's subscribers."""
    channel: bytes
    payload: bytes
    shard: bool


@attrs.frozen
class DeleteSlotKeys:
    """This node lost slots it owned to a node with a newer config (UPDATE / heartbeat):
    delete its keys in those slots from db 0 (delKeysInSlot; Redis 7.0 does not propagate
    these deletions). Slots without keys are listed too: the node checks."""
    slots: tuple[int, ...]


@attrs.frozen
class PauseWrites:
    """Manual failover, primary side: pause client writes (as CLIENT PAUSE WRITE does)
    until unix ms `until_ms` or an UnpauseWrites, whichever comes first."""
    until_ms: int


@attrs.frozen
class UnpauseWrites:
    """End the manual-failover write pause (PauseWrites) now."""


@attrs.frozen
class BecamePrimary:
    """Myself is a primary now (it was a replica): an election or TAKEOVER won, an UPDATE
    about myself, CLUSTER RESET. The node stops replicating and keeps its data."""


@attrs.frozen
class FollowPrimary:
    """Myself is a replica of `primary_id` now (it was a primary, or replicated another
    node): CLUSTER REPLICATE, an UPDATE / heartbeat handing my slots to another node,
    replica migration, SETSLOT NODE giving away my last slot. The node replicates it."""
    primary_id: str


Role = BecamePrimary | FollowPrimary          # what ClusterState.role_effect() returns

Effect = (Connect | Disconnect | Send | SaveConfig | Log | Deliver | DeleteSlotKeys
          | PauseWrites | UnpauseWrites | BecamePrimary | FollowPrimary)
