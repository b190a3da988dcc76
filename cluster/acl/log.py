"""ACL LOG: the node's record of refused commands, keys, channels and logins (Redis 7.0).

Rules of addACLLogEntry:

* an event like one of the 10 newest entries (same reason, context, object and username,
  times at most 60 s apart) bumps that entry's count, takes the new client info and time,
  and moves it to the front;
* otherwise a new entry goes in front, and the oldest are dropped beyond `max_len`
  (acllog-max-len), which is applied only when an entry is added;
* ACL LOG shows the newest first: count, reason, context, object, username, age-seconds,
  client-info.
"""
from __future__ import annotations

GROUPING_MS = 60000
SCAN = 10


class _Entry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "cinfo")

    def __init__(self, reason, context, obj, username, cinfo, ctime):
        self.count = 1
        self.reason, self.context, self.object = reason, context, obj
        self.username, self.cinfo, self.ctime = username, cinfo, ctime

    def same_event(self, reason, context, obj, username, now_ms) -> bool:
        return (self.reason == reason and self.context == context
                and abs(self.ctime - now_ms) <= GROUPING_MS
                and self.object == obj and self.username == username)


def _raw(text) -> bytes:
    return text if isinstance(text, bytes) else str(text).encode("utf-8", "surrogateescape")


class AclLog:
    def __init__(self, max_len: int = 128):
        self.max_len = max_len
        self._entries: list[_Entry] = []       # newest first

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, reason: str, context: str, object: str, username: str, client_info: str,
            now_ms: int) -> None:
        for i, entry in enumerate(self._entries[:SCAN]):
            if entry.same_event(reason, context, object, username, now_ms):
                entry.cinfo, entry.ctime = client_info, now_ms
                entry.count += 1
                del self._entries[i]
                self._entries.insert(0, entry)
                return
        self._entries.insert(0, _Entry(reason, context, object, username, client_info,
                                       now_ms))
        del self._entries[max(self.max_len, 0):]

    def entries(self, count: int | None, now_ms: int) -> list[dict]:
        shown = self._entries if count is None else self._entries[:max(count, 0)]
        return [{
            b"count": e.count,
            b"reason": _raw(e.reason),
            b"context": _raw(e.context),
            b"object": _raw(e.object),
            b"username": _raw(e.username),
            b"age-seconds": (now_ms - e.ctime) / 1000,
            b"client-info": _raw(e.cinfo),
        } for e in shown]

    def reset(self) -> None:
        self._entries.clear()
