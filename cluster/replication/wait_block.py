"""WAIT's block: the client waits for replica acks, the timeout, or CLIENT UNBLOCK.

Registered with cluster.execution.blocking's WAITERS so CLIENT UNBLOCK finds it, as Redis 7.0
unblocks BLOCKED_WAIT clients: TIMEOUT replies with the acks counted so far, ERROR with
the UNBLOCKED error. A `Block`'s `ready` (the connection awaits `wait(timeout_ms)`).
"""
from __future__ import annotations

from typing import Callable

import trio

from cluster.execution.blocking import WAITERS, Blocked


class WaitBlock(Blocked):
    __slots__ = ("client", "count", "numreplicas", "primary", "done", "reply", "_event")

    def __init__(self, client, count: Callable[[], int], numreplicas: int, primary=None):
        self.client = client
        self.count = count              # the acks so far (the reply at timeout / UNBLOCK)
        self.numreplicas = numreplicas
        self.primary = primary          # cluster.replication.primary.Primary, or None: no replicas
        self.done = False
        self.reply = None
        self._event = trio.Event()
        self.logged = None
        WAITERS.setdefault(client.node, {})[client.id] = self

    @property
    def timeout_reply(self) -> int:
        return self.count()

    def _enough(self) -> bool:
        return self.primary is not None and self.count() >= self.numreplicas

    async def _park(self, node, deadline: float) -> None:
        with trio.move_on_at(deadline):
            while not self.done and not self._enough():
                await self._next_event()
        self.finish(self.count())        # enough acks or timed out (no-op when unblocked)

    async def _next_event(self) -> None:
        """Until finished (CLIENT UNBLOCK) or, with replicas, the next ack."""
        if self.primary is None:
            await self._event.wait()
            return
        ack = self.primary.ack_event
        async with trio.open_nursery() as nursery:
            async def one(event):
                await event.wait()
                nursery.cancel_scope.cancel()
            nursery.start_soon(one, self._event)
            nursery.start_soon(one, ack)
