"""Paused clients: CLIENT PAUSE timeout [WRITE|ALL], CLIENT UNPAUSE, and the primary's
write pause during a manual failover (the bus's PauseWrites / UnpauseWrites effects).

As Redis 7.0, each purpose ("client" for the command, "failover" for the bus) keeps its
own pause: its kind only grows (WRITE -> ALL) and its end only moves later while it lasts;
the node is paused by the most restrictive live purpose. A paused command is postponed
before MULTI queueing (`pause_gate`, on while a pause is set): with ALL every command of a
normal client waits, with WRITE the commands that may replicate (write commands, EVAL-like
`may_replicate` ones, EXEC of a transaction holding one). The master link and replica
connections are never paused. When a pause ends (timeout, CLIENT UNPAUSE, UnpauseWrites)
the postponed commands run again from the top, in the order they were postponed; those
still paused go back to the queue. While writes are paused the node does no active expiry
(node.cron checks `writes_paused`), so a paused primary's offset does not move.

The node's `pauses` (a `Pauses`) turns the dispatcher's "pause" gate on while a purpose is
set, so nothing is paid per command while nothing is paused. Postponed commands run again
through `node.execute`, the dispatcher the node was built with.
"""
from __future__ import annotations

import math
from collections import deque

import trio

from cluster.resp.outcomes import Await

WRITE, ALL = 1, 2
MAX_END = (1 << 63) - 1


class _Ticket:
    __slots__ = ("client", "argv", "writes", "done", "reply")

    def __init__(self, client, argv, writes: bool):
        self.client = client
        self.argv = argv
        self.writes = writes
        self.done = False
        self.reply = None


class Pauses:
    def __init__(self, node):
        self.node = node                # its gates, clock, keyspace and execute
        self.purposes: dict[str, tuple[int, int]] = {}    # purpose -> (kind, end ms)
        self.queue: deque[_Ticket] = deque()
        self.changed = trio.Event()

    def kind(self, now: int) -> int:
        """The pause in force at `now` (0: none); expired purposes are dropped."""
        kind = 0
        for purpose, (one, end) in list(self.purposes.items()):
            if end <= now:
                self.remove(purpose)
            elif one > kind:
                kind = one
        return kind

    def next_end(self) -> int | None:
        return min((end for _, end in self.purposes.values()), default=None)

    def remove(self, purpose: str) -> None:
        if self.purposes.pop(purpose, None) is not None:
            if not self.purposes:
                self.node.gates.turn("pause", False)
                self.node.keyspace.hold_expired = None
            self.wake()

    def wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def drain(self) -> None:
        """Run the postponed commands no longer paused, oldest first."""
        node = self.node
        queue, self.queue = self.queue, deque()
        for ticket in queue:
            if ticket.done:
                continue
            now = node.set_time()
            kind = self.kind(now)
            if kind == ALL or (kind == WRITE and ticket.writes):
                self.queue.append(ticket)
                continue
            ticket.done = True
            ticket.reply = node.execute(ticket.client, ticket.argv)


def pause(node, purpose: str, kind: int, end_ms: int) -> None:
    """pauseClients: `purpose` pauses `kind` (WRITE/ALL) until end_ms (unix ms)."""
    pauses = node.pauses
    if end_ms <= node.now_ms:
        return
    old = pauses.purposes.get(purpose)
    if old is None:
        if not pauses.purposes:
            node.gates.turn("pause", True)
        pauses.purposes[purpose] = (kind, min(end_ms, MAX_END))
        # Due keys read while writes are paused are expired logically, not deleted (no
        # DEL may move the offset a manual failover waits for), as Redis 7.0.
        node.keyspace.hold_expired = lambda: writes_paused(node)
    else:
        pauses.purposes[purpose] = (max(old[0], kind), max(old[1], min(end_ms, MAX_END)))
    pauses.wake()


def unpause(node, purpose: str) -> None:
    node.pauses.remove(purpose)


def writes_paused(node) -> bool:
    pauses = node.pauses
    return bool(pauses.purposes and pauses.kind(node.now_ms))


def may_replicate(cmd, client) -> bool:
    if cmd.is_write or "may_replicate" in cmd.flags:
        return True
    if cmd.name == "exec" and client.in_multi:
        return any(c.is_write or "may_replicate" in c.flags for c, _ in client.multi_queue)
    return False


def pause_gate(client, cmd, argv):
    """blockPostponeClient: while paused, a command of a normal client (ALL) or one that
    may replicate (WRITE) waits for the pause to end, then runs again from the top; the
    master link and replicas are never paused. None, or the Await the connection waits on."""
    node = client.node
    pauses = node.pauses
    if client.is_master_link or client.replica_link is not None:
        return None
    kind = pauses.kind(node.now_ms)
    if not kind:
        return None
    writes = may_replicate(cmd, client)
    if kind == WRITE and not writes:
        return None
    ticket = _Ticket(client, argv, writes)
    client.last_cmd = cmd.name            # CLIENT LIST cmd= (Redis sets lastcmd first)
    pauses.queue.append(ticket)

    async def waiting():
        try:
            while not ticket.done:
                end = pauses.next_end()
                wait = math.inf if end is None else max(0.0, (end - node.set_time()) / 1000)
                with trio.move_on_after(wait + 0.001):
                    await pauses.changed.wait()
                if not ticket.done:
                    pauses.drain()
            return ticket.reply
        finally:
            ticket.done = True            # cancelled (client gone): never run it
    return Await(waiting)
