"""What the sentinel state machine asks its driver to do. Plain values.

Instances are named by their address `(ip, port)`; one link (a command connection plus,
for masters and replicas, a pub/sub connection subscribed to __sentinel__:hello) per
address, shared by every master record that names it, as Redis shares instance links.
"""
from __future__ import annotations

import attrs

Addr = tuple[str, int]


@attrs.frozen
class Connect:
    """Open the links to `addr` (pubsub too when `pubsub`); report with on_link."""
    addr: Addr
    pubsub: bool
    auth: tuple[str | None, str] | None = None     # (user, password) or None


@attrs.frozen
class Disconnect:
    addr: Addr


@attrs.frozen
class Command:
    """Send argv on addr's command link; its reply comes back as on_reply(addr, tag, ...)."""
    addr: Addr
    argv: tuple
    tag: object = None


@attrs.frozen
class Event:
    """A sentinel event: published on channel `name` to the sentinel's subscribers."""
    level: str
    name: str
    payload: str
    master: str | None = None     # the master it concerns when the payload does not say


@attrs.frozen
class RunScript:
    """Queue a user script (a client-reconfig-script) with its arguments."""
    argv: tuple


@attrs.frozen
class SaveConfig:
    pass


@attrs.frozen
class Log:
    level: str
    text: str


Effect = Connect | Disconnect | Command | Event | SaveConfig | Log | RunScript
