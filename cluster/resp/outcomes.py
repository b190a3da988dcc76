"""What a handler returns besides a reply: the connection waits (`Block`) or awaits a
coroutine (`Await`) before it answers. Plain values, no I/O; the trio edge
(cluster.server.edge) performs them."""
from __future__ import annotations


class Block:
    """A handler's answer meaning: send nothing yet; wait, then reply.

    `timeout_ms` None waits forever. `reply` is sent when the wait ends. Commands that can
    be woken early (later: BLPOP, WAIT with replicas) give a `ready` callable the
    connection re-checks when woken.
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
