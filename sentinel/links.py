"""Outbound links of the sentinel (trio): a command connection and, for masters and
replicas, a pub/sub connection subscribed to __sentinel__:hello. Replies come back to the
state machine in order, each with the tag of its command."""
from __future__ import annotations

import collections

import hiredis
import trio

HELLO = b"__sentinel__:hello"



def encode_command(argv) -> bytes:
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class OutLink:
    def __init__(self, srv, addr, pubsub: bool, auth, name: str):
        self.srv = srv
        self.addr = addr
        self.pubsub = pubsub
        self.auth = auth
        self.name = name
        self.scope = trio.CancelScope()
        self.tags: collections.deque = collections.deque()
        self.send_q, self.recv_q = trio.open_memory_channel(10000)
        self.down_reported = False

    def send(self, argv, tag) -> None:
        try:
            self.send_q.send_nowait((encode_command(argv), tag))
        except (trio.WouldBlock, trio.ClosedResourceError):
            self.close()

    def close(self) -> None:
        self.scope.cancel()

    async def _open(self):
        stream = await trio.open_tcp_stream(*self.addr)
        preamble = []
        if self.auth:
            user, password = self.auth
            preamble.append(("AUTH", user, password) if user else ("AUTH", password))
        return stream, preamble

    async def run(self) -> None:
        up = False
        try:
            with self.scope:
                with trio.fail_after(2):
                    cmd, pre = await self._open()
                    sub = None
                    if self.pubsub:
                        sub, _ = await self._open()
                for argv in pre:
                    self.tags.append(None)
                    await cmd.send_all(encode_command(argv))
                self.tags.append(None)
                await cmd.send_all(encode_command(("CLIENT", "SETNAME", self.name + "cmd")))
                if sub is not None:
                    data = b"".join(encode_command(a) for a in pre)
                    data += encode_command(("CLIENT", "SETNAME", self.name + "pubsub"))
                    data += encode_command(("SUBSCRIBE", HELLO))
                    await sub.send_all(data)
                local = cmd.socket.getsockname()[0]
                up = True
                self.srv.link_event(self.addr, True, local)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, cmd)
                    nursery.start_soon(self._reader, cmd)
                    if sub is not None:
                        nursery.start_soon(self._sub_reader, sub)
        except Exception:       # any failure of either connection: the link is down
            pass
        finally:
            self.srv.link_gone(self, up)

    async def _writer(self, stream) -> None:
        async for data, tag in self.recv_q:
            self.tags.append(tag)
            await stream.send_all(data)

    async def _reader(self, stream) -> None:
        reader = hiredis.Reader()
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise EOFError
            reader.feed(data)
            while True:
                reply = reader.gets()
                if reply is False:
                    break
                tag = self.tags.popleft() if self.tags else None
                if tag is not None:
                    self.srv.reply_event(self.addr, tag, reply)

    async def _sub_reader(self, stream) -> None:
        reader = hiredis.Reader()
        while True:
            data = await stream.receive_some(65536)
            if not data:
                raise EOFError
            reader.feed(data)
            while True:
                msg = reader.gets()
                if msg is False:
                    break
                if (isinstance(msg, list) and len(msg) == 3 and msg[0] == b"message"
                        and msg[1] == HELLO):
                    self.srv.hello_event(msg[2])
