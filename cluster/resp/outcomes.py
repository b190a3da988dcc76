"""What a handler returns besides a reply: the connection waits (`Block`) or awaits a
coroutine (`Await`) before it answers. Plain values, no I/O; the trio edge
(cluster.server.edge) performs them."""
from __future__ import annotations


class Block:
    """A handler's answer meaning: send nothing yet; wait, then reply.

    `timeout_ms` None waits forever. `reply` is sent when the wait ends. Commands that can
    be woken early (BLPOP and the other key waits, WAIT) give in `ready` the waiter the
    connection awaits (cluster.execution.blocking.Waiter, replication's WaitBlock).
    """

    __slots__ = ("timeout_ms", "reply", "ready")

    def __init__(self, timeout_ms: int | None, reply, ready=None):
        self.timeout_ms = timeout_ms
        self.reply = reply
        self.ready = ready


class Await:
    """A handler's answer meaning: the connection awaits `fn()` (a coroutine function of
    no arguments, e.g. MIGRATE's network part) and replies with what it returns, which
    may itself be a Block or an Await. The node keeps serving other clients meanwhile.
    The connection starts `fn` at once (a handler may hold resources `fn` releases)."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


class Rewritten:
    """A handler's answer meaning: reply with `reply`, and if the command changed the
    dataset propagate `commands` (a list of argv lists) instead of the request itself
    (relative expiries made absolute, SPOP as SREM, BLPOP as LPOP, ...)."""

    __slots__ = ("reply", "commands")

    def __init__(self, reply, commands: list):
        self.reply = reply
        self.commands = commands
