"""client-output-buffer-limit: when a client's pending output gets it disconnected.

One rule for every class (checkClientOutputBufferLimits): over the hard limit at once, or
over the soft limit continuously for soft-seconds. `Limits` caches the parsed directive for
one class; `over()` applies the rule and keeps the "soft since" time on the caller's
object (a replica link or a subscriber).
"""
from __future__ import annotations

from cluster.config.special import obuf_dict


class Limits:
    """The (hard, soft, soft_seconds) of one client class, re-read when CONFIG SET
    changes the directive."""

    __slots__ = ("config", "cls", "_text", "_value")

    def __init__(self, config, cls: str):
        self.config = config
        self.cls = cls
        self._text: str | None = None
        self._value = (0, 0, 0)

    def get(self) -> tuple[int, int, int]:
        text = self.config["client-output-buffer-limit"]
        if text is not self._text:
            self._text = text
            self._value = obuf_dict(text).get(self.cls, (0, 0, 0))
        return self._value


def over(limits: tuple[int, int, int], pending: int, holder, since_attr: str,
         now_ms: int) -> bool:
    """True when `pending` bytes break the limits; `holder.<since_attr>` remembers since
    when the soft limit has been exceeded (0: it is not)."""
    hard, soft, seconds = limits
    if hard and pending >= hard:
        return True
    if soft and pending >= soft:
        since = getattr(holder, since_attr)
        if not since:
            setattr(holder, since_attr, now_ms)
            return False
        return now_ms - since >= seconds * 1000
    setattr(holder, since_attr, 0)
    return False


def closing_log(client) -> str:
    return (f"Client id={client.id} addr={client.addr} scheduled to be closed ASAP for "
            f"overcoming of output buffer limits.")


def queue_push(client, data: bytes, limits: Limits) -> bool:
    """Queue unsolicited output (a Pub/Sub message, a MONITOR line, an invalidation) for
    `client` and wake its connection; over its class's limits (counting what the socket
    holds up too) the client is closed instead and False returned."""
    if client.close_after_reply:
        return False                     # closing: what it would get is dropped
    client.pushes.append(data)
    client.push_bytes += len(data)
    node = client.node
    if over(limits.get(), client.push_bytes + client.out_held, client, "push_soft_since",
            node.now_ms):
        node.log.warning(closing_log(client))
        client.pushes = []
        client.push_bytes = 0
        client.kill()
        return False
    if client.wake is not None:
        client.wake()
    return True
