"""Bus messages. Every message carries the sender's header, as in Redis.

The state machine deals in these values; gossip/codec.py turns them into frames.
"""
from __future__ import annotations

import enum

import attrs


class MsgType(enum.Enum):
    PING = "ping"
    PONG = "pong"
    MEET = "meet"
    FAIL = "fail"
    PUBLISH = "publish"
    PUBLISHSHARD = "publishshard"
    UPDATE = "update"
    AUTH_REQUEST = "auth-req"
    AUTH_ACK = "auth-ack"
    MFSTART = "mfstart"


# Message flags (mflags), as Redis's CLUSTERMSG_FLAG0_*.
MFLAG_PAUSED = 1
MFLAG_FORCEACK = 2


@attrs.frozen
class Header:
    sender: str                    # sender's node id (40 hex)
    current_epoch: int
    config_epoch: int              # a primary's own; a replica advertises its primary's
    flags: int                     # sender's gossip.records.Flag bits (MYSELF excluded)
    primary_id: str | None         # set when the sender is a replica
    slots: bytes                   # 2048-byte bitmap (a replica sends its primary's)
    repl_offset: int
    myip: str                      # sender's own IP if it knows/announces it, else ""
    port: int                      # sender's client port
    cport: int                     # sender's bus port
    state_ok: bool                 # sender's cluster_state
    mflags: int = 0
    shard_id: str = ""
    hostname: str = ""


@attrs.frozen
class GossipEntry:
    """What the sender knows about a third node."""
    id: str
    ping_sent: int                 # ms
    pong_received: int             # ms
    ip: str
    port: int
    cport: int
    flags: int


@attrs.frozen
class Message:
    """One bus message. Which optional fields are set depends on `type`:

    PING / PONG / MEET: gossip
    FAIL: node_id (the failing node)
    UPDATE: node_id, config_epoch, slots (the newer config of node_id)
    PUBLISH / PUBLISHSHARD: channel, payload
    AUTH_REQUEST / AUTH_ACK / MFSTART: header only
    """
    type: MsgType
    header: Header
    gossip: tuple[GossipEntry, ...] = ()
    node_id: str | None = None
    config_epoch: int = 0
    slots: bytes | None = None
    channel: bytes = b""
    payload: bytes = b""
