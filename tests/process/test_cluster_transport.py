"""gossip.transport over real loopback sockets, driven by a scripted fake state machine.

The fake records every call the transport makes and answers with the effects a test
scripts, so the transport's own duties are checked alone: link ids, connect / link down,
framing, bad frames, the bounded send queue, SaveConfig coalescing, submit().
"""
from __future__ import annotations

import socket
import time

import trio

from gossip import codec
from gossip.effects import Connect, Disconnect, Log, SaveConfig, Send
from gossip.messages import Header, Message, MsgType
from gossip.transport import BusTransport
from tests.support import free_port

ID_A = "a" * 40
ID_B = "b" * 40


def ping(sender: str = ID_A, mtype: MsgType = MsgType.PING, hostname: str = "") -> Message:
    header = Header(sender=sender, current_epoch=1, config_epoch=1, flags=2, primary_id=None,
                    slots=bytes(2048), repl_offset=0, myip="", port=1, cport=2,
                    state_ok=True, hostname=hostname)
    return Message(type=mtype, header=header)


class FakeConfig:
    node_timeout = 1000


class FakeState:
    def __init__(self, on_message=None):
        self.config = FakeConfig()
        self.nodes = {ID_A: object(), ID_B: object()}
        self.calls: list[tuple] = []
        self.reply = on_message or (lambda msg, link: [])
        self.ticks = 0

    def tick(self, now):
        self.ticks += 1
        return []

    def on_message(self, msg, link, now, local_ip="", peer_ip=""):
        self.calls.append(("message", msg.type, link, local_ip, peer_ip))
        return self.reply(msg, link)

    def on_link_up(self, link, now):
        self.calls.append(("up", link))
        return []

    def on_link_down(self, link, now):
        self.calls.append(("down", link))
        return []

    def on_bad_frame(self, link, reason, now):
        self.calls.append(("bad", link, reason))
        return []


def make(state, **kw):
    saves = []
    logs = []
    port = free_port()
    t = BusTransport(state, bind=[("127.0.0.1", False)], cport=port + 10000,
                     save_config=saves.append, log=lambda lvl, text: logs.append(text), **kw)
    return t, saves, logs


async def until(predicate, timeout=5.0):
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.01)


def test_connect_send_reply_and_link_ids():
    b_state = FakeState(lambda msg, link: [Send(link, ping(ID_B, MsgType.PONG))])
    a_state = FakeState()

    async def main():
        a, _, _ = make(a_state)
        b, _, _ = make(b_state)
        async with trio.open_nursery() as nursery:
            await nursery.start(a.run)
            await nursery.start(b.run)
            a.submit([Connect(7, "127.0.0.1", b.cport)])
            await until(lambda: ("up", 7) in a_state.calls)
            a.submit([Send(7, ping())])
            await until(lambda: any(c[0] == "message" for c in a_state.calls))
            got = [c for c in b_state.calls if c[0] == "message"]
            assert got == [("message", MsgType.PING, -1, "127.0.0.1", "127.0.0.1")]
            assert ("message", MsgType.PONG, 7, "127.0.0.1", "127.0.0.1") in a_state.calls
            # CLUSTER LINKS material: the outbound link and the inbound one of the sender.
            assert a.describe(7)[0] > 0 and b.inbound_of(ID_A) == -1
            # A second inbound connection gets the next negative id.
            a.submit([Connect(8, "127.0.0.1", b.cport)])
            await until(lambda: ("up", 8) in a_state.calls)
            a.submit([Send(8, ping())])
            await until(lambda: len([c for c in b_state.calls if c[0] == "message"]) == 2)
            assert b_state.calls[-1][2] == -2
            # Disconnect asked by the state: closed, not reported back as a link down.
            a.submit([Disconnect(8)])
            await until(lambda: 8 not in a.links)
            await until(lambda: ("down", -2) in b_state.calls)
            assert ("down", 8) not in a_state.calls
            assert a_state.ticks > 0
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_connect_refused_reports_link_down():
    state = FakeState()
    closed = free_port()

    async def main():
        t, _, logs = make(state)
        async with trio.open_nursery() as nursery:
            await nursery.start(t.run)
            t.submit([Connect(1, "127.0.0.1", closed)])
            await until(lambda: ("down", 1) in state.calls)
            assert ("up", 1) not in state.calls
            assert any("failed" in line for line in logs)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_bad_frames_are_reported_and_an_oversized_one_closes_the_link():
    state = FakeState()

    async def main():
        t, _, _ = make(state)
        async with trio.open_nursery() as nursery:
            await nursery.start(t.run)

            def garbage():
                with socket.create_connection(("127.0.0.1", t.cport), timeout=5) as s:
                    s.sendall(b"\x00\x00\x00\x03abc" + codec.encode(ping()))
                    s.sendall(b"\xff\xff\xff\xff")
                    s.settimeout(5)
                    return s.recv(10)       # the node closes the link: EOF

            assert await trio.to_thread.run_sync(garbage) == b""
            kinds = [c[0] for c in state.calls]
            assert kinds[:2] == ["bad", "message"] and kinds.count("bad") == 2
            assert "exceeds the maximum" in state.calls[2][2]
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_secret_frames_without_the_tag_are_dropped():
    state = FakeState()

    async def main():
        t, _, _ = make(state, secret=b"s3cret")
        async with trio.open_nursery() as nursery:
            await nursery.start(t.run)

            def send():
                with socket.create_connection(("127.0.0.1", t.cport), timeout=5) as s:
                    s.sendall(codec.encode(ping()) + codec.encode(ping(), b"s3cret"))
                    time.sleep(0.3)

            await trio.to_thread.run_sync(send)
            await until(lambda: len(state.calls) >= 2)
            assert state.calls[0][0] == "bad" and "authentication" in state.calls[0][2]
            assert state.calls[1][:2] == ("message", MsgType.PING)
            nursery.cancel_scope.cancel()

    trio.run(main)


def test_a_peer_that_does_not_read_cannot_grow_the_queue_without_limit():
    state = FakeState()
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)
    big = ping(hostname="h" * 250)

    async def main():
        t, _, _ = make(state, sendbuf_limit=64 * 1024)
        async with trio.open_nursery() as nursery:
            await nursery.start(t.run)
            t.submit([Connect(1, "127.0.0.1", sink.getsockname()[1])])
            await until(lambda: ("up", 1) in state.calls)
            for _ in range(2000):            # far more than the socket buffers hold
                t.submit([Send(1, big)] * 50)
                await trio.sleep(0)
                if ("down", 1) in state.calls:
                    break
                link = t.links.get(1)
                assert link is None or link.queued <= 64 * 1024
            await until(lambda: ("down", 1) in state.calls)
            assert t.buffer_limit_exceeded == 1 and 1 not in t.links
            nursery.cancel_scope.cancel()

    try:
        trio.run(main)
    finally:
        sink.close()


def test_save_config_effects_are_coalesced_and_logs_forwarded():
    state = FakeState()

    async def main():
        t, saves, logs = make(state)
        async with trio.open_nursery() as nursery:
            await nursery.start(t.run)
            t.submit([SaveConfig(False), Log("notice", "hello"), SaveConfig(True),
                      SaveConfig(False)])
            await until(lambda: saves)
            await trio.sleep(0.05)
            assert saves == [True] and "hello" in logs
            nursery.cancel_scope.cancel()

    trio.run(main)
