"""The trio edge: listening sockets, one task per connection, the cron timer, signals.

Per performance-notes.md: raw `trio.socket` calls, 64 KiB reads, every reply produced
from one read sent with one `send`, TCP_NODELAY, a listen backlog of tcp-backlog (511).
"""
from __future__ import annotations

import signal
import socket as pysocket

import trio

from gossip.listen import accept, listen

from cluster.config.bind import bind_addresses
from cluster.config.values import ConfigError
from cluster.persistence import loading
from cluster.persistence import rdb_file as persist_rdb
from cluster.replication import link as repl_link
from cluster.persistence import shutdown
from cluster.execution.dispatch import execute
from cluster.execution import obuf, replymode
from cluster.execution.replymode import Switch
from cluster.resp.outcomes import Await, Block
from cluster.node import Node
from cluster.resp.parser import RequestParser
from cluster.resp.reply import OK, ReplyError, encode
from cluster.server import protected

_OK = b"+OK\r\n"
_MAXCLIENTS = b"-ERR max number of clients reached\r\n"


class Server:
    def __init__(self, node: Node):
        self.node = node
        self.listeners: list[pysocket.socket] = []
        self._nursery: trio.Nursery | None = None
        self._shutdown = trio.Event()
        node.request_shutdown = self._shutdown.set
        self.port = node.config["port"]

    # -- listening ----------------------------------------------------------------
    def _change_port(self, port: int) -> None:
        """CONFIG SET port (changeListenPort): listen on the new port first, then close
        the old listeners; the config's apply step rolls back on ConfigError."""
        try:
            new = listen(bind_addresses(self.node.config["bind"]), port,
                         self.node.config["tcp-backlog"])
        except OSError:
            raise ConfigError("Unable to listen on this port") from None
        old, self.listeners = self.listeners, new
        for listener in new:
            self._nursery.start_soon(self._accept_loop, listener)
        for listener in old:
            trio.lowlevel.notify_closing(listener)
            listener.close()
        self.port = port
        self.node.tcp_port = port

    def _open_listeners(self) -> None:
        self.listeners.extend(listen(bind_addresses(self.node.config["bind"]), self.port,
                                     self.node.config["tcp-backlog"]))

    async def serve(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        node = self.node
        self._open_listeners()
        node.config.appliers["port"] = self._change_port
        bus = None
        if node.cluster is not None:
            bus = node.cluster.make_transport()
            bus.open_listeners()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for listener in self.listeners:
                nursery.start_soon(self._accept_loop, listener)
            if bus is not None:
                await nursery.start(bus.run)
            nursery.start_soon(self._cron_loop)
            # the dump / AOF (-LOADING meanwhile), then BGSAVE's runner and REPLICAOF's link
            nursery.start_soon(loading.start_up, node, repl_link.supervise)
            nursery.start_soon(self._signal_loop)
            node.log.notice("Ready to accept connections tcp")
            task_status.started(self)
            while True:
                await self._shutdown.wait()
                node.log.notice("User requested shutdown...")
                if persist_rdb.on_shutdown(node):     # the final save, as configured
                    if node.persist.aof is not None:
                        node.persist.aof.close(shutdown=True)  # flush + fsync the AOF
                    break
                node.log.warning("Errors trying to shut down the server. Check the logs "
                                 "for more information.")
                shutdown.failed(node)
                self._shutdown = trio.Event()
                node.request_shutdown = self._shutdown.set
            nursery.cancel_scope.cancel()
            # No new connection from now on, as Redis exits here: an abandoned script's
            # thread may keep its connection's task a moment longer.
            for listener in self.listeners:
                trio.lowlevel.notify_closing(listener)
                listener.close()
        for listener in self.listeners:
            listener.close()
        if node.cluster is not None:
            node.cluster.close()
        node.log.notice("Redis is now ready to exit, bye bye...")

    async def _signal_loop(self) -> None:
        try:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for signum in signals:
                    if shutdown.on_signal(self.node, signum):   # flags from the config
                        self._shutdown.set()
        except RuntimeError:
            await trio.sleep_forever()  # not the main thread (tests): no signal handling

    async def _cron_loop(self) -> None:
        node = self.node
        while True:
            await trio.sleep(1 / node.config["hz"])
            node.set_time()
            node.cron()

    async def _accept_loop(self, listener) -> None:
        while True:
            try:
                sock = await accept(listener, self.node.log.warning)
            except trio.ClosedResourceError:
                return                  # CONFIG SET port closed it
            self._nursery.start_soon(self._serve_client, sock)

    # -- one client ---------------------------------------------------------------
    def _configure_socket(self, sock) -> None:
        try:
            sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
            keepalive = self.node.config["tcp-keepalive"]
            if keepalive > 0:
                sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE, 1)
                if hasattr(pysocket, "TCP_KEEPIDLE"):
                    sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_KEEPIDLE, keepalive)
                    sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_KEEPINTVL,
                                    max(1, keepalive // 3))
                    sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_KEEPCNT, 3)
        except OSError:
            pass

    @staticmethod
    def _addr(pair) -> str:
        host, port = pair[0], pair[1]
        return f"{host}:{port}"

    async def _serve_client(self, sock) -> None:
        node = self.node
        with sock:
            self._configure_socket(sock)
            try:
                peer = sock.getpeername()
                addr = self._addr(peer)
                laddr = self._addr(sock.getsockname())
            except OSError:
                return
            # Redis's order: maxclients (acceptCommonHandler), then protected mode
            # (clientAcceptHandler); neither refusal counts in total_connections_received.
            if len(node.clients) >= node.config["maxclients"]:
                refused = _MAXCLIENTS
            else:
                refused = protected.refusal(node, peer[0])
                if refused is not None:
                    node.take_client_id()     # Redis made the client before checking
            if refused is not None:
                node.stats.rejected_connections += 1
                try:
                    sock.send(refused)      # best effort, as Redis's connWrite
                except OSError:
                    pass
                return
            client = node.new_client(addr, laddr, sock.fileno())
            parser = RequestParser(node.config["proto-max-bulk-len"],
                                   node.config["client-query-buffer-limit"])
            client.parser = parser
            with trio.CancelScope() as scope:
                client.killer = scope.cancel
                try:
                    await self._client_loop(sock, client, parser)
                except OSError:
                    pass
                finally:
                    node.remove_client(client)

    async def _client_loop(self, sock, client, parser: RequestParser) -> None:
        node = self.node
        stats = node.stats
        recv = sock.recv
        wait_readable = trio.lowlevel.wait_readable
        fd = sock.fileno()
        eager = 0
        more = True     # the last read filled the buffer: more may be waiting already
        while True:
            # Read without a trip through the scheduler when data is already there; park
            # only when the socket would block, and yield now and then for fairness.
            # After a short read the client has (almost always) sent nothing since, so
            # skip the recv that would fail with EAGAIN and wait for readability at once
            # (the epoll registration reports data that came meanwhile immediately).
            data = None
            if more:
                size = parser.read_size()
                try:
                    data = recv(size)
                except (BlockingIOError, InterruptedError):
                    pass
                else:
                    eager += 1
                    if eager >= 16:
                        eager = 0
                        await trio.lowlevel.checkpoint()
            if data is None:
                more = True
                eager = 0
                if client.pushes:                   # pub/sub output queued meanwhile
                    await self._send_pushes(sock, client)
                    continue
                if client.obuf:                     # replies the client has not taken:
                    await self._wait_io(sock, client)   # read on meanwhile, as Redis
                    self._flush(sock, client)
                    continue
                # subscribed, monitoring, RESP3 (tracking invalidations may come):
                if client.flags_extra or client.reply_mode or client.resp == 3:
                    with trio.CancelScope() as parked:
                        client.wake = parked.cancel
                        await wait_readable(fd)
                    client.wake = None
                else:
                    await wait_readable(fd)
                continue
            if not data:
                return
            more = len(data) >= size
            stats.net_input_bytes += len(data)
            client.net_in += len(data)
            node.set_time()
            client.last_interaction_ms = node.keyspace.now_ms
            parser.auth_required = not client.authenticated
            commands, error = parser.feed(data)
            out: list[bytes] = client.pushes    # pushes queued for us go out first
            resp3 = client.resp == 3
            # CLIENT REPLY OFF/SKIP or MONITOR: each reply settled (cluster.execution.replymode)
            run = replymode.run if client.reply_mode else execute
            while True:
                for argv in commands:
                    reply = run(client, argv)
                    if client.handover is not None:
                        break           # PSYNC/SYNC: the socket becomes a replica link
                    cls = reply.__class__
                    if cls is bytes:
                        out.append(b"$%d\r\n%s\r\n" % (len(reply), reply))
                    elif reply is OK:
                        out.append(_OK)
                    elif cls is int:
                        out.append(b":%d\r\n" % reply)
                    elif cls is Block:
                        if out:
                            await self._send_pushes(sock, client)
                            out = client.pushes
                        await self._drain(sock, client)
                        reply = await self._wait(client, reply)
                        if client.reply_mode:
                            reply = replymode.settle(client, reply)
                        resp3 = client.resp == 3
                        out.append(encode(reply, resp3))
                    elif cls is Await:
                        reply = await self._await(client, reply)
                        if reply.__class__ is Block:
                            if out:
                                await self._send_pushes(sock, client)
                                out = client.pushes
                            await self._drain(sock, client)
                            reply = await self._wait(client, reply)
                        if client.reply_mode:
                            reply = replymode.settle(client, reply)
                            run = replymode.run
                        resp3 = client.resp == 3
                        out.append(encode(reply, resp3))
                    else:
                        if cls is Switch:       # CLIENT REPLY OFF/SKIP, MONITOR
                            reply = replymode.settle(client, reply)
                            run = replymode.run
                        # Read the protocol after the command: HELLO 3 answers in RESP3.
                        resp3 = client.resp == 3
                        out.append(encode(reply, resp3))
                    if client.close_after_reply:
                        break
                if (error is None or not error.unauth or not client.authenticated
                        or client.close_after_reply):
                    break
                # A command of this batch authenticated the client: parse on without the
                # limits Redis puts on unauthenticated requests.
                parser.auth_required = False
                commands, error = parser.feed(b"")
            if error is not None and not client.close_after_reply:
                if error.reply is None:
                    node.log.warning(f"Closing client that reached max query buffer "
                                     f"length: addr={client.addr}")
                else:
                    out.append(encode(ReplyError(error.reply), resp3))
                    node.log.verbose(f"Protocol error ({error.reply}) from client: "
                                     f"id={client.id} addr={client.addr}")
                client.close_after_reply = True
            if out:
                await self._send_pushes(sock, client)
            if client.handover is not None:
                await self._drain(sock, client)
                await client.handover(sock, client, parser)
                return
            if client.close_after_reply:
                await self._drain(sock, client)
                return

    async def _send_pushes(self, sock, client) -> None:
        """Send client.pushes (the batch's replies and pub/sub pushes queued for it);
        what is queued while this send waits goes into a fresh list."""
        aof = self.node.persist.aof
        if aof is not None and aof.buf:
            aof.flush()              # appendfsync always: on disk before the reply leaves
        data = b"".join(client.pushes)
        client.pushes = []
        client.push_bytes = 0
        await self._send(sock, client, data)

    async def _send(self, sock, client, data: bytes) -> None:
        """Send what the socket takes now; the rest waits in client.obuf while the
        connection goes on reading and running commands (Redis's reply list: a client
        may pipeline a million commands before it reads a reply). The buffer counts in
        used_memory and against the normal class's client-output-buffer-limit."""
        n = len(data)
        node = self.node
        node.stats.net_output_bytes += n
        client.net_out += n
        if client.obuf:
            client.obuf += data
            self._flush(sock, client)
        else:
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == n:
                return
            client.obuf = bytearray(memoryview(data)[sent:])
            client.out_held = len(client.obuf)
        limits = node.pubsub.limits if client.flags_extra == "pubsub" else node.monitor_limits
        if client.out_held and obuf.over(limits.get(), client.out_held, client,
                                         "push_soft_since", node.now_ms):
            node.log.warning(obuf.closing_log(client))
            client.obuf = bytearray()
            client.out_held = 0
            client.kill()

    @staticmethod
    def _flush(sock, client) -> None:
        """Send what the socket takes of client.obuf, without waiting."""
        buf = client.obuf
        try:
            sent = sock.send(buf)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent:
            del buf[:sent]
        client.out_held = len(buf)

    async def _drain(self, sock, client) -> None:
        """Wait until client.obuf is all sent (before a blocking wait, a hand-over or a
        close: what was answered must reach the client first)."""
        while client.obuf:
            await trio.lowlevel.wait_writable(sock)
            self._flush(sock, client)

    @staticmethod
    async def _wait_io(sock, client) -> None:
        """Until the socket can be read or written (or pushes are queued: client.wake)."""
        async with trio.open_nursery() as nursery:
            scope = nursery.cancel_scope

            async def one(wait):
                await wait(sock)
                scope.cancel()
            client.wake = scope.cancel
            nursery.start_soon(one, trio.lowlevel.wait_readable)
            nursery.start_soon(one, trio.lowlevel.wait_writable)
        client.wake = None

    async def _await(self, client, pending):
        """Run an Await's coroutine (started at once: see dispatch.Await), and the next
        one if its result is an Await again; return the first other result."""
        reply = pending
        while reply.__class__ is Await:
            client.blocked = True
            try:
                reply = await reply.fn()
            finally:
                client.blocked = False
            self.node.set_time()
        return reply

    async def _wait(self, client, block: Block):
        if block.ready is not None:             # blocked on keys (cluster.execution.blocking.Waiter)
            return await block.ready.wait(block.timeout_ms)
        client.blocked = True
        try:
            if block.timeout_ms is None:
                await trio.sleep_forever()
            await trio.sleep(block.timeout_ms / 1000)
        finally:
            client.blocked = False
        self.node.set_time()
        return block.reply


async def run_node(node: Node, task_status=trio.TASK_STATUS_IGNORED) -> None:
    server = Server(node)
    await server.serve(task_status=task_status)
