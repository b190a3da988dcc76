"""The trio driver of the bus state machine: sockets, frames, the 100 ms tick.

It performs the effects the state machine returns (gossip.effects) and feeds it what the
network does; it makes no decision of its own. Every call into the state happens in the
trio thread, from this module's tasks or from CLUSTER command handlers running on the
same thread (they hand their effects over with `submit`).

Links: outbound links carry the ids the state machine allocated (>= 1, asked for with
Connect); inbound connections get -1, -2, ... Each link has a bounded send queue: a peer
that does not read cannot block the node, and when its queue passes the limit the link is
dropped (Redis's cluster-link-sendbuf-limit; counted in total_cluster_links_buffer_limit_
exceeded), the state learning about it as a link going down.

The node's data side gets Deliver, DeleteSlotKeys, PauseWrites, UnpauseWrites,
BecamePrimary and FollowPrimary through the `deliver` callback, in the order the state
returned them; a callback that raises is logged (as a failing state input is), never
fatal to the bus.
"""
from __future__ import annotations

import inspect
import itertools
import socket as pysocket
import time
import traceback
from typing import Callable

import trio

from gossip import codec
from gossip.listen import accept, listen
from gossip.effects import (BecamePrimary, Connect, DeleteSlotKeys, Deliver, Disconnect,
                            Effect, FollowPrimary, Log, PauseWrites, SaveConfig, Send,
                            UnpauseWrites)

TICK_SECONDS = 0.1
DEFAULT_SENDBUF_LIMIT = 8 << 20      # bytes queued for one peer before the link is dropped
READ_SIZE = 65536
_NET_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)
# Effects for the node's data side, handed to `deliver` in order: PUBLISH messages, the
# keys of lost slots, the manual-failover write pause, and role changes (replicate the
# new primary / stop replicating).
_DATA_SIDE = (Deliver, DeleteSlotKeys, PauseWrites, UnpauseWrites, BecamePrimary,
              FollowPrimary)


def now_ms() -> int:
    return int(time.time() * 1000)


class Link:
    """One bus connection, outbound (id > 0) or inbound (id < 0)."""

    def __init__(self, link_id: int, created: int):
        self.id = link_id
        self.created = created
        self.stream: trio.SocketStream | None = None
        self.queue: list[bytes] = []
        self.queued = 0                  # bytes in `queue` (+ the chunk being written)
        self.wake = trio.Event()
        self.scope = trio.CancelScope()
        self.closed = False
        self.connected = False
        self.local_ip = ""
        self.peer_ip = ""
        self.node_id: str | None = None  # inbound: the node that spoke on it

    @property
    def outbound(self) -> bool:
        return self.id > 0


class BusTransport:
    def __init__(self, state, *, bind: list[tuple[str, bool]], cport: int,
                 save_config: Callable[[bool], None],
                 log: Callable[[str, str], None],
                 deliver: Callable[[Effect], None] = lambda effect: None,
                 secret: bytes | None = None, max_frame: int = codec.DEFAULT_MAX_FRAME,
                 sendbuf_limit: int = DEFAULT_SENDBUF_LIMIT, backlog: int = 511,
                 clock: Callable[[], int] = now_ms):
        self.state = state
        self.bind = bind
        self.cport = cport
        self.save_config = save_config
        self.log = log
        self.deliver = deliver
        self.secret = secret or None
        self.max_frame = max_frame
        self.sendbuf_limit = sendbuf_limit or DEFAULT_SENDBUF_LIMIT
        self.backlog = backlog
        self.clock = clock
        self.links: dict[int, Link] = {}
        self.inbound_by_node: dict[str, int] = {}
        self.buffer_limit_exceeded = 0
        self.listeners: list[pysocket.socket] = []
        self._inbound_ids = itertools.count(1)
        self._pending: list = []
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self._save_pending: bool | None = None     # None: no save; else fsync wanted?
        params = inspect.signature(state.on_message).parameters
        self._pass_peer_ip = "peer_ip" in params

    # -- the public side ---------------------------------------------------------------
    def submit(self, effects) -> None:
        """Effects from a CLUSTER command: performed by the transport task, soon."""
        if effects:
            self._pending.extend(effects)
            self._wake.set()

    def inbound_of(self, node_id: str) -> int | None:
        link_id = self.inbound_by_node.get(node_id)
        link = self.links.get(link_id) if link_id is not None else None
        if link is None or link.closed or link.node_id != node_id:
            return None
        return link_id

    def describe(self, link_id: int):
        """(create-time ms, events, send-buffer-allocated, send-buffer-used) or None."""
        link = self.links.get(link_id)
        if link is None or link.closed:
            return None
        events = ("r" + ("w" if link.queued else "")) if link.connected else ""
        return link.created, events, link.queued, link.queued

    def open_listeners(self) -> None:
        self.listeners.extend(listen(self.bind, self.cport, self.backlog))

    async def run(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Listen (unless open_listeners was called already), tick, perform effects."""
        if not self.listeners:
            self.open_listeners()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for listener in self.listeners:
                    nursery.start_soon(self._accept_loop, listener)
                nursery.start_soon(self._tick_loop)
                nursery.start_soon(self._effects_loop)
                task_status.started(self)
        finally:
            for listener in self.listeners:
                listener.close()
            self._flush_save()

    # -- loops ---------------------------------------------------------------------------
    async def _tick_loop(self) -> None:
        deadline = trio.current_time()
        while True:
            self._perform(self._call(self.state.tick, self.clock()))
            # Every 100 ms without drift; after a stall, carry on from now (no burst).
            deadline = max(deadline + TICK_SECONDS, trio.current_time())
            await trio.sleep_until(deadline)

    async def _effects_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            pending, self._pending = self._pending, []
            self._perform(pending)

    async def _accept_loop(self, listener) -> None:
        while True:
            sock = await accept(listener, lambda text: self.log("warning", text))
            link = Link(-next(self._inbound_ids), self.clock())
            self.links[link.id] = link
            self._nursery.start_soon(self._run_inbound, link, sock)

    # -- performing effects --------------------------------------------------------------
    def _call(self, method, *args, **kwargs) -> list:
        """A state machine input; a bug in it is logged, never fatal to the node."""
        try:
            return list(method(*args, **kwargs))
        except Exception:
            self.log("warning", f"Cluster bus: {method.__name__} failed: "
                                + traceback.format_exc().replace("\n", " | "))
            return []

    def _perform(self, effects) -> None:
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            cls = effect.__class__
            if cls is Send:
                self._send(effect, queue)
            elif cls is Connect:
                self._connect(effect)
            elif cls is Disconnect:
                link = self.links.get(effect.link)
                if link is not None:
                    self._close(link)
            elif cls is SaveConfig:
                self._save_pending = bool(self._save_pending) or effect.fsync
            elif cls is Log:
                self.log(effect.level, effect.text)
            elif cls in _DATA_SIDE:
                self._deliver(effect)           # the node's data side performs these
        self._flush_save()

    def _deliver(self, effect) -> None:
        """Hand a data-side effect to the node; a bug there is logged, never fatal."""
        try:
            self.deliver(effect)
        except Exception:
            self.log("warning", f"Cluster bus: performing {effect!r} failed: "
                                + traceback.format_exc().replace("\n", " | "))

    def _flush_save(self) -> None:
        if self._save_pending is not None:
            fsync, self._save_pending = self._save_pending, None
            try:
                self.save_config(fsync)
            except OSError as err:
                self.log("warning", f"Could not save the cluster config: {err}")

    def _send(self, effect: Send, queue: list) -> None:
        link = self.links.get(effect.link)
        if link is None or link.closed:
            return
        try:
            frame = codec.encode(effect.message, self.secret, max_frame=self.max_frame)
        except ValueError as err:
            self.log("warning", f"Dropping a bus message that cannot be encoded: {err}")
            return
        if link.queued + len(frame) > self.sendbuf_limit:
            self.buffer_limit_exceeded += 1
            self.log("warning", f"Freeing cluster link ({link.id}), since its send buffer "
                                f"exceeds the limit of {self.sendbuf_limit} bytes")
            queue.extend(self._drop(link))
            return
        link.queue.append(frame)
        link.queued += len(frame)
        link.wake.set()

    def _connect(self, effect: Connect) -> None:
        old = self.links.get(effect.link)
        if old is not None:
            self._close(old)
        link = Link(effect.link, self.clock())
        self.links[link.id] = link
        self._nursery.start_soon(self._run_outbound, link, effect.ip, effect.cport)

    def _close(self, link: Link) -> None:
        """Close without telling the state (it asked for it)."""
        link.closed = True
        link.scope.cancel()
        if self.links.get(link.id) is link:
            del self.links[link.id]
        if link.node_id is not None and self.inbound_by_node.get(link.node_id) == link.id:
            del self.inbound_by_node[link.node_id]

    def _drop(self, link: Link) -> list:
        """The link died: close it and tell the state. Returns effects."""
        if link.closed:
            return []
        self._close(link)
        return self._call(self.state.on_link_down, link.id, self.clock())

    # -- one link ------------------------------------------------------------------------
    async def _run_outbound(self, link: Link, ip: str, cport: int) -> None:
        with link.scope:
            timeout = max(self.state.config.node_timeout, 1) / 1000
            error = "connection timed out"
            stream = None
            with trio.move_on_after(timeout):
                try:
                    stream = await trio.open_tcp_stream(ip, cport)
                except OSError as err:
                    error = err.strerror or str(err)
            if stream is None:
                self.log("verbose", f"Connection with Node at {ip}:{cport} failed: {error}")
                self._perform(self._drop(link))
                return
            link.stream = stream
            self._configure(stream, link)
            link.connected = True
            self._perform(self._call(self.state.on_link_up, link.id, self.clock()))
            await self._serve(link)
        await self._aclose(link)

    async def _run_inbound(self, link: Link, sock) -> None:
        with link.scope:
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
            link.stream = stream
            self._configure(stream, link)
            link.connected = True
            await self._serve(link)
        await self._aclose(link)

    def _configure(self, stream: trio.SocketStream, link: Link) -> None:
        try:
            stream.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
            link.local_ip = _host(stream.socket.getsockname())
            link.peer_ip = _host(stream.socket.getpeername())
        except OSError:
            pass

    async def _serve(self, link: Link) -> None:
        """Read and write until the link fails; then report it (if nobody closed it)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._writer, link, nursery.cancel_scope)
            try:
                await self._reader(link)
            except _NET_ERRORS:
                pass
            nursery.cancel_scope.cancel()
        if not link.closed:
            self._perform(self._drop(link))

    async def _reader(self, link: Link) -> None:
        decoder = codec.FrameDecoder(self.max_frame, self.secret)
        stream = link.stream
        while True:
            data = await stream.receive_some(READ_SIZE)
            if not data:
                return
            for item in decoder.feed(data):
                if link.closed:
                    return
                now = self.clock()
                if isinstance(item, codec.BadFrame):
                    self._perform(self._call(self.state.on_bad_frame, link.id, item.reason, now))
                else:
                    self._note_sender(link, item)
                    extra = {"peer_ip": link.peer_ip} if self._pass_peer_ip else {}
                    self._perform(self._call(self.state.on_message, item, link.id, now,
                                             link.local_ip, **extra))
            if decoder.broken:
                self.log("warning", f"Closing cluster link ({link.id}): the peer sent an "
                                    f"oversized frame")
                return

    def _note_sender(self, link: Link, msg) -> None:
        """Associate an inbound link with the known node speaking on it (CLUSTER LINKS)."""
        if link.outbound or link.node_id is not None:
            return
        sender = msg.header.sender
        if sender in self.state.nodes:
            link.node_id = sender
            self.inbound_by_node[sender] = link.id

    async def _writer(self, link: Link, scope: trio.CancelScope) -> None:
        stream = link.stream
        try:
            while True:
                if not link.queue:
                    await link.wake.wait()
                    link.wake = trio.Event()
                    continue
                frames, link.queue = link.queue, []
                data = b"".join(frames)
                await stream.send_all(data)
                link.queued -= len(data)
        except _NET_ERRORS:
            pass
        finally:
            scope.cancel()

    async def _aclose(self, link: Link) -> None:
        if link.stream is not None:
            with trio.CancelScope(shield=True):
                try:
                    await trio.aclose_forcefully(link.stream)
                except OSError:
                    pass
        if self.links.get(link.id) is link:
            del self.links[link.id]


def _host(addr) -> str:
    host = addr[0] if isinstance(addr, tuple) else ""
    if host.startswith("::ffff:") and "." in host:
        host = host[7:]
    return host
