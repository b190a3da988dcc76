"""The sentinel's own small pub/sub registry: clients SUBSCRIBE/PSUBSCRIBE to its events."""
from __future__ import annotations

import fnmatch

from cluster.resp.reply import Push, Replies


class PubSub:
    def __init__(self):
        self.channels: dict[str, set] = {}
        self.patterns: dict[str, set] = {}

    def _count(self, client) -> int:
        return len(client.channels) + len(client.patterns)

    def command(self, client, name: str, args: list[bytes]):
        out = Replies()
        pattern = name.startswith("p")
        table = self.patterns if pattern else self.channels
        mine = client.patterns if pattern else client.channels
        if name in ("subscribe", "psubscribe"):
            for raw in args:
                key = raw.decode("utf-8", "replace")
                if key not in mine:
                    mine.add(key)
                    table.setdefault(key, set()).add(client)
                out.append(Push([name.encode(), raw, self._count(client)]))
            return out
        keys = [a.decode("utf-8", "replace") for a in args] or sorted(mine)
        if not keys:
            return Push([name.encode(), None, self._count(client)])
        for key in keys:
            if key in mine:
                mine.discard(key)
                table.get(key, set()).discard(client)
            out.append(Push([name.encode(), key.encode(), self._count(client)]))
        return out

    def drop(self, client) -> None:
        for key in client.channels:
            self.channels.get(key, set()).discard(client)
        for key in client.patterns:
            self.patterns.get(key, set()).discard(client)
        client.channels.clear()
        client.patterns.clear()

    def publish(self, channel: str, payload: bytes) -> int:
        n = 0
        for client in list(self.channels.get(channel, ())):
            client.push(Push([b"message", channel.encode(), payload]))
            n += 1
        for pattern, clients in self.patterns.items():
            if clients and fnmatch.fnmatchcase(channel, pattern):
                for client in list(clients):
                    client.push(Push([b"pmessage", pattern.encode(), channel.encode(),
                                      payload]))
                    n += 1
        return n
