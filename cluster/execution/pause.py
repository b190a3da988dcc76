"""Paused clients: CLIENT PAUSE timeout [WRITE|ALL], CLIENT UNPAUSE, and the primary's
write pause during a manual failover (the bus's PauseWrites / UnpauseWrites effects).

As Redis 7.0, each purpose ("client" for the command, "failover" for the bus) keeps its
own pause: its kind only grows (WRITE -> ALL) and its end only moves later while it lasts;
the node is paused by the most restrictive live purpose. A paused command is postponed
before MULTI queueing (`dispatch.execute` calls `postpone`): with ALL every command of a
normal client waits, with WRITE the commands that may replicate (write commands, EVAL-like
`may_replicate` ones, EXEC of a transaction holding one). The master link and replica
connections are never paused. When a pause ends (timeout, CLIENT UNPAUSE, UnpauseWrites)
the postponed commands run again from the top, in the order they were postponed; those
still paused go back to the queue. While writes are paused the node does no active expiry
(node.cron checks `writes_paused`), so a paused primary's offset does not move.

`ACTIVE` counts nodes of this process with a pause set: the dispatcher's only cost while
nothing is paused is reading that module global.
"""
from __future__ import annotations

import math
from collections import deque

import trio

ACTIVE = 0
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
        self.node = node
        self.purposes: dict[str, tuple[int, int]] = {}    # purpose -> (kind, end ms)
        self.queue: deque[_Ticket] = deque()
        self.changed = trio.Event()

    def kind(self, now: int) -> int:
        """The pause in force at `now` (0: none); expired purposes are dropped."""
        kind = 0
        for purpose, (one, end) in list(self.purposes.items()):
            if end <= now:
                self._remove(purpose)
            elif one > kind:
                kind = one
        return kind

    def next_end(self) -> int | None:
        return min((end for _, end in self.purposes.values()), default=None)

    def _remove(self, purpose: str) -> None:
        global ACTIVE
        if self.purposes.pop(purpose, None) is not None:
            if not self.purposes:
                ACTIVE -= 1
                self.node.keyspace.hold_expired = None
            self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def drain(self) -> None:
        """Run the postponed commands no longer paused, oldest first."""
        from cluster.execution.dispatch import execute
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
            ticket.reply = execute(ticket.client, ticket.argv)


def _get(node) -> Pauses:
    pauses = getattr(node, "pauses", None)
    if pauses is None:
        pauses = node.pauses = Pauses(node)
    return pauses


def pause(node, purpose: str, kind: int, end_ms: int) -> None:
    """pauseClients: `purpose` pauses `kind` (WRITE/ALL) until end_ms (unix ms)."""
    global ACTIVE
    pauses = _get(node)
    if end_ms <= node.now_ms:
        return
    old = pauses.purposes.get(purpose)
    if old is None:
        if not pauses.purposes:
            ACTIVE += 1
        pauses.purposes[purpose] = (kind, min(end_ms, MAX_END))
        # Due keys read while writes are paused are expired logically, not deleted (no
        # DEL may move the offset a manual failover waits for), as Redis 7.0.
        node.keyspace.hold_expired = lambda: writes_paused(node)
    else:
        pauses.purposes[purpose] = (max(old[0], kind), max(old[1], min(end_ms, MAX_END)))
    pauses._wake()


def unpause(node, purpose: str) -> None:
    pauses = getattr(node, "pauses", None)
    if pauses is not None:
        pauses._remove(purpose)


def writes_paused(node) -> bool:
    pauses = getattr(node, "pauses", None)
    return bool(ACTIVE and pauses is not None and pauses.kind(node.now_ms))


def may_replicate(cmd, client) -> bool:
    if cmd.is_write or "may_replicate" in cmd.flags:
        return True
    if cmd.name == "exec" and client.in_multi:
        return any(c.is_write or "may_replicate" in c.flags for c, _ in client.multi_queue)
    return False


def postpone(client, cmd, argv):
    """dispatch's hook: None, or the Await a paused command's connection waits on."""
    node = client.node
    pauses = getattr(node, "pauses", None)
    if pauses is None or client.is_master_link or client.replica_link is not None:
        return None
    kind = pauses.kind(node.now_ms)
    if not kind:
        return None
    writes = may_replicate(cmd, client)
    if kind == WRITE and not writes:
        return None
    from cluster.resp.outcomes import Await
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
