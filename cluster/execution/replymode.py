"""CLIENT REPLY ON|OFF|SKIP, and the careful way of answering a connection that uses it
or monitors (networking.c prepareClientToWrite, resetClient, clientCommand).

`Client.reply_mode` holds Redis's flags as bits: OFF (CLIENT_REPLY_OFF), SKIP_NEXT (set
by CLIENT REPLY SKIP), SKIP (the reply being skipped now) and MONITOR
(cluster.execution.monitor). Zero for nearly every connection, so the connection (the
trio edge) reads it once per batch of requests and runs `execute` itself; otherwise it runs
each request through `run` here, which settles the reply:

- while OFF or SKIP is set when a command ends, its reply is dropped, errors included;
  pushes are not (Redis's CLIENT_PUSHING: (un)subscribe confirmations, messages);
- then resetClient: SKIP ends, and SKIP_NEXT becomes SKIP for the next command;
- a monitor's own command: the lines fed meanwhile follow its reply.

CLIENT REPLY OFF / SKIP and MONITOR, run outside a transaction, return a `Switch` so a
connection answering the fast way turns careful for the rest of its batch (`settle`
unwraps it). A blocking command is settled when its wait ends (the edge calls `settle`).
"""
from __future__ import annotations

from cluster.execution.dispatch import execute
from cluster.execution.monitor import MONITOR
from cluster.resp.outcomes import Await, Block
from cluster.resp.reply import NO_REPLY, OK, Push, Replies, Status

OFF = 1
SKIP_NEXT = 2
SKIP = 4
_SILENCED = OFF | SKIP


class Switch:
    """A handler's reply meaning: answer `reply`, and answer this connection carefully
    (`run`) from now on."""

    __slots__ = ("reply",)

    def __init__(self, reply):
        self.reply = reply


def _is_push(reply) -> bool:
    cls = reply.__class__
    if cls is Push:
        return True
    return cls is Replies and bool(reply) and all(r.__class__ is Push for r in reply)


def settle(client, reply, lines=None):
    """The reply as it goes out after the command ended (see the module docstring)."""
    if reply.__class__ is Switch:
        reply = reply.reply
    mode = client.reply_mode
    if mode & _SILENCED and not _is_push(reply):
        reply = NO_REPLY
    if mode & (SKIP | SKIP_NEXT):
        mode &= ~SKIP
        if mode & SKIP_NEXT:
            mode = (mode & ~SKIP_NEXT) | SKIP
        client.reply_mode = mode
    if lines:
        reply = Replies([reply] + [Status(data[1:-2]) for data in lines])
    return reply


def run(client, argv: list[bytes]):
    """`execute` for a connection with a reply mode: the settled reply, or a Block /
    Await for the edge (a monitor's lines fed meanwhile are queued before the wait)."""
    if client.reply_mode & MONITOR:
        client.monitor_lines = lines = []
        try:
            reply = execute(client, argv)
        finally:
            client.monitor_lines = None
    else:
        lines = None
        reply = execute(client, argv)
    cls = reply.__class__
    if cls is Block or cls is Await:
        if lines:
            client.pushes.extend(lines)
        return reply
    return settle(client, reply, lines)


def set_mode(client, word: bytes):
    """CLIENT REPLY ON|OFF|SKIP: the handler's reply."""
    word = word.lower()
    mode = client.reply_mode
    if word == b"on":
        client.reply_mode = mode & ~(SKIP | OFF)
        return OK
    if word == b"off":
        client.reply_mode = mode | OFF
    elif word == b"skip":
        if not mode & OFF:
            # Inside EXEC the transaction's end is the resetClient that turns SKIP_NEXT
            # into SKIP; EXEC is answered the fast way, so set SKIP at once.
            client.reply_mode = mode | (SKIP if client.in_multi else SKIP_NEXT)
    else:
        return None
    if client.in_multi:
        # A value inside EXEC's array, not a Switch. Limitation: a request pipelined
        # after that EXEC in the same read is answered before the mode applies.
        return NO_REPLY
    return Switch(NO_REPLY)


def reset(client) -> None:
    """RESET (clearClientConnectionState): OFF and SKIP_NEXT end; a SKIP already in force
    still drops RESET's own reply."""
    client.reply_mode &= ~(OFF | SKIP_NEXT)
