"""The gates: processCommand's checks between a command's arity check and its call.

A gate is `gate(client, cmd, argv)` returning None (let the command through), an error
text (the dispatcher refuses the command with it: `refusal.reject`), or a reply to send
as is (QUEUED, a redirect already counted, an `Await` for a paused or held-back command).

The node builds one `Gates` with every gate in Redis 7.0's processCommand order (see
cluster/node.py) and the subsystem behind a gate turns it on while it can refuse anything:
the cluster bus while attached, the replica side while replicating, the loader while
loading, a pause while set. Gates that many holders share count them (`hold` / `release`):
clients in MULTI, subscribed clients, MIGRATEs in flight. The dispatcher runs
`gates.active`, the gates that are on, so a command pays only for the checks that can
matter now (a plain standalone node runs none).

The gates that look at the client alone (the RESP2 Pub/Sub context, a running script,
MULTI queueing) live here; the others live with their subsystems (authentication and
ACL: cluster.acl.gate).
"""
from __future__ import annotations

from typing import Callable

from cluster.resp.reply import QUEUED

BUSY = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
        "NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 "SHUTDOWN NOSAVE.")           # the running script is an FCALL
NO_MULTI = "ERR Command not allowed inside a transaction"
# What a RESP2 client in subscribed mode may run (processCommand's pubsub context).
PUBSUB_ALLOWED = frozenset(("ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                            "psubscribe", "punsubscribe", "quit", "reset"))
# What a client in MULTI runs at once instead of queueing.
MULTI_CONTROL = frozenset(("exec", "discard", "multi", "watch", "quit", "reset"))

Gate = Callable[..., object]


class Gates:
    """The ordered gates of one node and which of them are on."""

    def __init__(self, order: list[tuple[str, Gate]], on: tuple[str, ...] = ()):
        self.order = tuple(order)     # (name, gate) in processCommand's order
        self.on = set(on)             # names of the gates that are on
        self.holders: dict[str, int] = {}    # name -> how many hold it on (hold/release)
        self.active: tuple[Gate, ...] = ()   # the gates that are on, in order
        self._rebuild()

    def turn(self, name: str, on: bool = True) -> None:
        """Switch gate `name` on or off (idempotent)."""
        if (name in self.on) == on:
            return
        if on:
            self.on.add(name)
        else:
            self.on.discard(name)
        self._rebuild()

    def hold(self, name: str) -> None:
        """One more reason for gate `name` to be on (a client entered MULTI, ...)."""
        count = self.holders.get(name, 0) + 1
        self.holders[name] = count
        if count == 1:
            self.turn(name, True)

    def release(self, name: str) -> None:
        """One reason less; the gate goes off with the last one."""
        count = self.holders.get(name, 0) - 1
        if count > 0:
            self.holders[name] = count
            return
        self.holders.pop(name, None)
        self.turn(name, False)

    def _rebuild(self) -> None:
        known = {name for name, _ in self.order}
        unknown = self.on - known
        if unknown:
            raise KeyError(f"no gate named {sorted(unknown)}")
        self.active = tuple(gate for name, gate in self.order if name in self.on)


def pubsub_gate(client, cmd, argv):
    """A RESP2 client with subscriptions may only (un)subscribe, PING, QUIT and RESET.
    On while any client is subscribed (cluster.execution.pubsub holds it)."""
    if client.flags_extra == "pubsub" and client.resp == 2 and cmd.name not in PUBSUB_ALLOWED:
        return ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                "QUIT / RESET are allowed in this context" % cmd.name)
    return None


def busy_gate(client, cmd, argv):
    """While a script runs past busy-reply-threshold, only commands flagged allow_busy
    (SCRIPT KILL, SHUTDOWN NOSAVE, ...) run; the rest get -BUSY."""
    run = client.node.script_busy
    if run is not None and "allow_busy" not in cmd.flags:
        return BUSY if run.is_eval else BUSY_FUNCTION
    return None


def multi_gate(client, cmd, argv):
    """Inside MULTI every command but the transaction's own is queued (QUEUED); commands
    flagged no_multi are refused. On while any client is in MULTI (Client.begin_multi)."""
    if client.in_multi and cmd.name not in MULTI_CONTROL:
        if cmd.no_multi:
            return NO_MULTI
        client.multi_queue.append((cmd, argv))
        client.last_cmd = cmd.name          # c->lastcmd: CLIENT LIST shows the queued one
        return QUEUED
    return None
