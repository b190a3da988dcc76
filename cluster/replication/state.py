"""Replication state, declared once: `node.repl` (Redis keeps the same fields in `server`).

Both sides read and write it: the primary side (cluster.replication.primary: the backlog
and the attached replicas), the replica side (cluster.replication.replica / link: our link
to a primary), PSYNC (cluster.commands.psync), INFO / ROLE, the dump's repl-id aux fields
(cluster.persistence.rdb_file) and the cluster bus (cluster.bus.cluster_node: the offset it
advertises, the role it follows).

Replication ids are minted in one place, `random_id` (through `ReplState.new_replid`).
"""
from __future__ import annotations

import random
from typing import Callable

import trio

ZERO_ID = "0" * 40      # replid2 of a node that never continued another history


def random_id(rng: random.Random) -> str:
    """40 random hex digits (getRandomHexChars(CONFIG_RUN_ID_SIZE)): a replication id, or
    the end mark of a diskless transfer."""
    return "%040x" % rng.getrandbits(160)


def _nothing() -> None:
    return None


class ReplState:
    """What Redis keeps in `server` for replication; `node.repl` (built by node.py)."""

    def __init__(self, rng: random.Random):
        # The node's random source: replication ids are minted from it (seeded runs repeat).
        self.rng = rng
        # Our history's id (master_replid); None until the primary side first needs one
        # (primary.get: INFO, PSYNC, WAIT...), as the node always did.
        self.replid: str | None = None
        # The history we continued from (PSYNC2: our old primary's id, for our siblings).
        self.replid2: str = ZERO_ID
        # A PSYNC with replid2 may start up to this offset (-1: none).
        self.second_repl_offset: int = -1
        # The stream's offset, produced (primary) or processed (replica); WAIT's reference.
        self.master_repl_offset: int = 0
        # repl-stream-db a dump restored on a future replica (its stream's database).
        self.stream_db: int = 0
        # The primary side (primary.Primary: backlog, replicas), made on first use.
        self.primary = None
        # The replica side (replica.ReplicaLink) while we replicate a primary, else None.
        self.link = None
        # Set whenever `link` is replaced or cleared: wakes the link supervisor (link.py).
        self.link_changed = trio.Event()
        # The link supervisor runs (after loading): the cluster's role may be applied now.
        self.supervising: bool = False
        # After a full sync replaced the dataset: the AOF restarts from it (node.py sets it).
        self.after_full_sync: Callable[[], None] = _nothing

    def new_replid(self) -> str:
        """A new history (changeReplicationId): a fresh random id becomes ours."""
        self.replid = random_id(self.rng)
        return self.replid

    def ensure_replid(self) -> str:
        """Our replication id, minted now if we never had one."""
        if self.replid is None:
            return self.new_replid()
        return self.replid
