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
