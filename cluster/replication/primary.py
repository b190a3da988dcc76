"""The primary side of replication: replid/offset, the backlog, attached replicas.

`Primary` is pure state fed by the Propagator (it subscribes as a sink when the backlog is
created, on the first replica): every propagated byte moves `offset`, lands in the backlog
and in each replica's pending output. PSYNC (cluster.commands.psync) decides between
`+CONTINUE` (id and offset in the backlog, PSYNC2 previous id too) and `+FULLRESYNC` with
an RDB snapshot: a `cluster.keyspace.snapshot` view taken at that instant (so it matches the offset)
and written by `cluster.encoding.rdb.rdb_chunks` chunk by chunk while the node keeps serving - the
diskless `$EOF:<mark>` form when the replica said `REPLCONF capa eof`, else `$<len>` -
followed by the stream written meanwhile. The connection hands the socket over to
`serve_replica` (cluster.server.edge), which sends all that and reads REPLCONF ACKs.

A replica whose pending output passes client-output-buffer-limit (class replica: hard
limit, or soft limit for soft-seconds) is disconnected; it comes back with PSYNC.
"""
from __future__ import annotations

import math

import trio

from cluster.encoding.rdb import rdb_chunks
from cluster.execution import obuf
from cluster.execution.pause import writes_paused
from cluster.execution.table import SCRIPT_COMMANDS
from cluster.replication.propagate import encode_command
from cluster.replication.state import random_id
from cluster.replication.wait_block import WaitBlock
from cluster.resp.outcomes import Block

NOREPLICAS_ERR = "NOREPLICAS Not enough good replicas to write."
PING = encode_command([b"PING"])
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


class ReplicaLink:
    __slots__ = ("client", "ip", "port", "state", "ack_offset", "ack_ms", "pending",
                 "pending_bytes", "wake", "soft_since_ms", "capa", "online_after",
                 "full_sync", "first_ack")

    def __init__(self, client, ip: str, port: int, capa: set):
        self.client = client
        self.ip = ip
        self.port = port
        self.state = "wait_bgsave"
        self.ack_offset = 0
        self.ack_ms = client.node.now_ms
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.wake = trio.Event()
        self.soft_since_ms = 0
        self.capa = capa
        self.online_after = 0        # bytes to flush before the link is online
        self.full_sync: FullSync | None = None     # the snapshot still to send
        self.first_ack: trio.Event | None = None   # diskless: the stream waits for it


class FullSync:
    """A full sync still to send: the header line, then the RDB of `view` (released once
    sent, or when the link goes away)."""

    __slots__ = ("header", "view", "aux", "list_fill", "eof")

    def __init__(self, header: bytes, view, aux: dict, list_fill: int, eof: bool):
        self.header = header
        self.view = view
        self.aux = aux
        self.list_fill = list_fill
        self.eof = eof


class Primary:
    """The replid / replid2 / offset live in `node.repl` (cluster.replication.state) so the
    replica side (cluster.replication.replica) and INFO share them; this object adds the
    backlog and the attached replicas."""

    repl_sink = True        # cluster.replication.propagate: feed() is the replication stream's sink

    def __init__(self, node):
        self.node = node
        self.repl = node.repl
        self.repl.ensure_replid()   # the first use of the primary side gives us a history
        self.backlog: bytearray | None = None
        self.backlog_off = 0        # offset of backlog[0] (1-based, as Redis)
        self.replicas: list[ReplicaLink] = []
        self.ack_event = trio.Event()
        self.no_replicas_since_ms = node.now_ms
        self.last_ping_ms = node.now_ms
        self._limits = obuf.Limits(node.config, "slave")
        self._trim_at = 0
        self._check_from = 0
        self._refresh()

    replid = property(lambda self: self.repl.replid,
                      lambda self, v: setattr(self.repl, "replid", v))
    replid2 = property(lambda self: self.repl.replid2,
                       lambda self, v: setattr(self.repl, "replid2", v))
    second_offset = property(lambda self: self.repl.second_repl_offset,
                             lambda self, v: setattr(self.repl, "second_repl_offset", v))
    offset = property(lambda self: self.repl.master_repl_offset,
                      lambda self, v: setattr(self.repl, "master_repl_offset", v))

    def disconnect_replicas(self) -> None:
        """Our history changed: our replicas reconnect and PSYNC again (disconnectSlaves)."""
        for link in list(self.replicas):
            self.drop(link)
            link.client.kill()

    def disconnect_all(self) -> None:
        """A new history (full sync): replicas reconnect; the old backlog is useless."""
        self.disconnect_replicas()
        if self.backlog is not None:
            self.reset_backlog()        # our old history is not the new primary's

    def reset_backlog(self) -> None:
        """An empty backlog starting at the current offset: for the replica side after a
        full sync (so its own replicas, or its old siblings after a promotion, can PSYNC
        partially), and when our history stops being valid."""
        self.backlog = None
        if self.feed in self.node.propagator.sinks:
            self.node.propagator.sinks.remove(self.feed)
        self.create_backlog()

    # -- the stream ------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Propagator sink: the replication stream."""
        self.offset += len(data)
        backlog = self.backlog
        backlog += data
        if len(backlog) > self._trim_at:
            cut = len(backlog) - self.node.config["repl-backlog-size"]
            if cut > 0:
                del backlog[:cut]
                self.backlog_off += cut
            self._refresh()
        for link in self.replicas:
            self._queue(link, data)

    def _refresh(self) -> None:
        """The limits feed() checks, cached (they are config lookups): refreshed by cron
        and whenever the backlog is trimmed, so CONFIG SET takes effect within 100 ms."""
        self._trim_at = 2 * self.node.config["repl-backlog-size"]
        hard, soft, _ = self._limits.get()
        self._check_from = min([limit for limit in (hard, soft) if limit] or [math.inf])

    def _queue(self, link: ReplicaLink, data: bytes) -> None:
        link.pending.append(data)
        link.pending_bytes += len(data)
        link.wake.set()
        if link.pending_bytes < self._check_from:     # the usual case: far below a limit
            if link.soft_since_ms:
                link.soft_since_ms = 0
            return
        if link.state != "online":
            return
        if obuf.over(self._limits.get(), link.pending_bytes, link, "soft_since_ms",
                     self.node.now_ms):
            self.node.log.warning(obuf.closing_log(link.client))
            self.drop(link)
            link.client.kill()

    def histlen(self) -> int:
        if self.backlog is None:
            return 0
        return min(len(self.backlog), self.node.config["repl-backlog-size"])

    def first_byte(self) -> int:
        if self.backlog is None:
            return 0
        return self.backlog_off + len(self.backlog) - self.histlen()

    def create_backlog(self) -> None:
        if self.backlog is not None:
            return
        self.backlog = bytearray()
        self.backlog_off = self.offset + 1
        self.node.propagator.sinks.append(self.feed)

    # -- PSYNC -------------------------------------------------------------------------
    def try_partial(self, replid: str, want: int) -> bytes | None:
        """The backlog bytes from `want` on if a partial resync is possible, else None."""
        if self.backlog is None:
            return None
        if replid != self.replid and not (replid == self.replid2 and
                                          want <= self.second_offset):
            return None
        first = self.backlog_off
        if want < first or want > first + len(self.backlog):
            return None
        return bytes(self.backlog[want - first:])

    def attach(self, client, capa: set) -> ReplicaLink:
        conf = client.repl_conf or {}
        ip = conf.get("ip") or client.addr.rsplit(":", 1)[0]
        link = ReplicaLink(client, ip, conf.get("port", 0), capa)
        self.replicas.append(link)
        client.is_replica = True
        return link

    def drop(self, link: ReplicaLink) -> None:
        job = link.full_sync
        if job is not None:
            link.full_sync = None
            job.view.release()
        if link in self.replicas:
            self.replicas.remove(link)
            if not self.replicas:
                self.no_replicas_since_ms = self.node.now_ms
        self.signal_ack()

    def signal_ack(self) -> None:
        event, self.ack_event = self.ack_event, trio.Event()
        event.set()

    def ack(self, client, offset: int) -> None:
        for link in self.replicas:
            if link.client is client:
                link.ack_offset = max(link.ack_offset, offset)
                link.ack_ms = self.node.now_ms
                if (link.state == "send_bulk" and not link.online_after
                        and link.full_sync is None):
                    link.state = "online"
                if link.first_ack is not None:
                    link.first_ack.set()
                self.signal_ack()
                return

    def acked(self, offset: int) -> int:
        return sum(1 for link in self.replicas
                   if link.state == "online" and link.ack_offset >= offset)

    def good_replicas(self) -> int:
        max_lag = self.node.config["min-replicas-max-lag"]
        now = self.node.now_ms
        return sum(1 for link in self.replicas
                   if link.state == "online" and (now - link.ack_ms) // 1000 <= max_lag)

    def request_acks(self) -> None:
        if self.replicas and not writes_paused(self.node):   # a pause freezes the offset
            self.feed(GETACK)

    # -- INFO / ROLE -------------------------------------------------------------------
    def info_replicas(self) -> list[tuple[str, object]]:
        node = self.node
        pairs: list[tuple[str, object]] = [("connected_slaves", len(self.replicas))]
        if node.config["min-replicas-to-write"] and node.config["min-replicas-max-lag"]:
            pairs.append(("min_slaves_good_slaves", self.good_replicas()))
        now = node.now_ms
        for i, link in enumerate(self.replicas):
            pairs.append((f"slave{i}", f"ip={link.ip},port={link.port},state={link.state},"
                                       f"offset={link.ack_offset},"
                                       f"lag={(now - link.ack_ms) // 1000}"))
        return pairs

    def info_tail(self) -> list[tuple[str, object]]:
        return [
            ("master_failover_state", self.node.failover.state),   # replication.failover
            ("master_replid", self.replid),
            ("master_replid2", self.replid2),
            ("master_repl_offset", self.offset),
            ("second_repl_offset", self.second_offset),
            ("repl_backlog_active", int(self.backlog is not None)),
            ("repl_backlog_size", self.node.config["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", self.first_byte()),
            ("repl_backlog_histlen", self.histlen()),
        ]

    def role_replicas(self) -> list:
        return [[link.ip.encode(), b"%d" % link.port, b"%d" % link.ack_offset]
                for link in self.replicas if link.state == "online"]

    def cron(self) -> None:
        """PING the replicas every repl-ping-replica-period seconds (in the stream, as
        Redis: it keeps their repl-timeout from firing); free the backlog of a primary
        after repl-backlog-ttl seconds without replicas."""
        node = self.node
        now = node.now_ms
        self._refresh()
        timeout = node.config["repl-timeout"] * 1000
        for link in list(self.replicas):
            if link.state == "online" and now - link.ack_ms > timeout:
                node.log.warning(f"Disconnecting timedout replica (streaming sync): "
                                 f"{link.ip}:{link.port}")
                self.drop(link)
                link.client.kill()
        if self.replicas:
            if node.repl.link is not None:
                return      # a replica proxies its primary's PINGs; its own would shift offsets
            period = node.config["repl-ping-replica-period"] * 1000
            if node.failover.active:
                return      # FAILOVER: the offset a replica must reach stays put
            if now - self.last_ping_ms >= period:
                self.last_ping_ms = now
                self.feed(PING)
            return
        ttl = node.config["repl-backlog-ttl"]
        if (self.backlog is not None and ttl and node.repl.link is None
                and now - self.no_replicas_since_ms > ttl * 1000):
            self.backlog = None
            node.propagator.sinks.remove(self.feed)
            # the next replica starts a new history (see cluster.commands.psync)


def get(node) -> Primary:
    """The node's primary side, made on first use (it mints our replid if we had none)."""
    primary = node.repl.primary
    if primary is None:
        primary = node.repl.primary = Primary(node)
    return primary


def too_few_good_replicas(node) -> bool:
    """min-replicas-to-write / min-replicas-max-lag refuse writes (-NOREPLICAS)."""
    if node.repl.link is not None or not node.config["min-replicas-max-lag"]:
        return False
    primary = node.repl.primary
    good = primary.good_replicas() if primary is not None else 0
    return good < node.config["min-replicas-to-write"]


def script_writes(node, cmd, argv) -> bool:
    """getCommandFlags for EVAL*/FCALL*: a script or function that declares flags is a
    write command unless it declares no-writes (scriptFlagsToCmdFlags)."""
    flags = node.script_flags(cmd.name, argv)
    return flags is not None and "no-writes" not in flags


def writes_in(client, cmd, argv=None) -> bool:
    """`cmd` writes: a write command, a script declaring it may write, or an EXEC whose
    queued transaction holds one of those."""
    if cmd.is_write:
        return True
    name = cmd.name
    if name in SCRIPT_COMMANDS:
        return argv is not None and script_writes(client.node, cmd, argv)
    return name == "exec" and client.in_multi and any(
        c.is_write or (c.name in SCRIPT_COMMANDS and script_writes(client.node, c, a))
        for c, a in client.multi_queue)


def min_replicas_gate(client, cmd, argv) -> str | None:
    """processCommand: with min-replicas-to-write set, a primary refuses a write (or an
    EXEC that would run one) while fewer than min-replicas-to-write replicas acked within
    min-replicas-max-lag seconds (-NOREPLICAS, checkGoodReplicasStatus). Never for our
    own primary's link."""
    node = client.node
    if (node.config.values["min-replicas-to-write"] and not client.is_master_link
            and writes_in(client, cmd, argv) and too_few_good_replicas(node)):
        return NOREPLICAS_ERR
    return None


def wait(client, numreplicas: int, timeout_ms: int):
    """WAIT: the number of replicas that acked the calling client's last write
    (`client.woff`, as Redis's c->woff), waiting (with REPLCONF GETACK sent to them) up to
    timeout_ms (0: forever) for `numreplicas`."""
    primary = get(client.node)
    target = client.woff
    acked = primary.acked(target)
    if acked >= numreplicas or client.in_multi:
        return acked
    primary.request_acks()
    # A Block CLIENT UNBLOCK can end (Redis 7.0 unblocks BLOCKED_WAIT clients too).
    ready = WaitBlock(client, lambda: primary.acked(target), numreplicas, primary)
    return Block(timeout_ms or None, None, ready)


# -- the socket side (run by cluster.server.edge after the hand-over) ------------------------
async def _send_all(sock, data) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (BlockingIOError, InterruptedError):
            await trio.lowlevel.wait_writable(sock)


async def _send_full_sync(sock, primary: Primary, link: ReplicaLink) -> None:
    """+FULLRESYNC, then the RDB produced chunk by chunk from the view, yielding to trio
    between chunks so that other clients are served meanwhile."""
    job = link.full_sync
    node = primary.node
    name = f"{link.ip}:{link.port}"
    try:
        link.state = "send_bulk"
        if job.header:
            await _send_all(sock, job.header)
        chunks = rdb_chunks(job.view, job.aux, job.list_fill, job.view.now_ms,
                            compress=node.config["rdbcompression"])
        checkpoint = trio.lowlevel.checkpoint
        if job.eof:
            node.log.notice("Starting BGSAVE for SYNC with target: replicas sockets")
            mark = random_id(node.rng).encode()
            await _send_all(sock, b"$EOF:" + mark + b"\r\n")
            size = 0
            for chunk in chunks:
                await _send_all(sock, chunk)
                size += len(chunk)
                await checkpoint()
            await _send_all(sock, mark)
            node.log.notice(f"Streamed RDB transfer with replica {name} succeeded "
                            f"(socket, {size} bytes). Waiting for REPLCONF ACK from "
                            f"replica to enable streaming")
        else:
            node.log.notice("Starting BGSAVE for SYNC with target: disk")
            parts = []
            for chunk in chunks:
                parts.append(chunk)
                await checkpoint()
            rdb = b"".join(parts)
            del parts
            node.log.notice(f"Background saving terminated with success; sending "
                            f"{len(rdb)} bytes to replica {name}")
            await _send_all(sock, b"$%d\r\n" % len(rdb))
            await _send_all(sock, rdb)
    finally:
        link.full_sync = None
        job.view.release()
    node.set_time()
    link.state = "online"
    link.ack_ms = node.now_ms
    node.log.notice(f"Synchronization with replica {name} succeeded")
    if job.eof:
        # As Redis 7: a diskless replica finds the end mark in the last bytes it read, so
        # the stream starts only after its first REPLCONF ACK (it loaded the RDB).
        while link.first_ack is not None and not link.first_ack.is_set():
            await link.first_ack.wait()
        link.first_ack = None


async def _writer(sock, primary: Primary, link: ReplicaLink) -> None:
    if link.full_sync is not None:
        await _send_full_sync(sock, primary, link)
    while True:
        if not link.pending:
            link.wake = trio.Event()
            await link.wake.wait()
            continue
        chunks, link.pending = link.pending, []
        data = b"".join(chunks)
        await _send_all(sock, data)
        link.pending_bytes -= len(data)
        if link.online_after:
            link.online_after = max(0, link.online_after - len(data))
            if not link.online_after:
                link.state = "online"
                link.ack_ms = primary.node.now_ms


async def _write_until_gone(sock, primary: Primary, link: ReplicaLink, scope) -> None:
    try:
        await _writer(sock, primary, link)
    except OSError:             # the replica went away (reset, broken pipe): the link ends
        primary.node.log.notice(f"Connection with replica {link.ip}:{link.port} lost.")
        scope.cancel()


async def serve_replica(sock, client, parser) -> None:
    """Own a replica's connection: write its stream, read its REPLCONF ACKs."""
    node = client.node
    primary = get(node)
    link = client.replica_link
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_write_until_gone, sock, primary, link, nursery.cancel_scope)
            while True:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    await trio.lowlevel.wait_readable(sock)
                    continue
                except OSError:
                    break
                if not data:
                    break
                node.set_time()
                client.last_interaction_ms = node.now_ms
                client.net_in += len(data)
                commands, error = parser.feed(data)
                for argv in commands:
                    node.execute(client, argv)      # a replica gets no replies (REPLCONF ACK)
                if error is not None:
                    break
            nursery.cancel_scope.cancel()
    finally:
        primary.drop(link)
