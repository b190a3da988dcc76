"""The replica's link to its primary, the trio half of replication's replica side.

`supervise` (started once by the server edge, after loading) runs one link at a time,
whichever REPLICAOF (or, in cluster mode, the role the cluster bus applies:
cluster.bus.cluster_node) set: connect, handshake (PING,
AUTH, REPLCONF listening-port / ip-address / capa, PSYNC), full sync (`$<len>` or the
diskless `$EOF:<40 bytes>` form, loaded with `cluster.encoding.rdb.load_into`) or `+CONTINUE`, then
the stream with `REPLCONF ACK <offset>` every second and on GETACK. A dropped link is
retried with backoff and resumes with PSYNC <replid> <offset+1>. The state it drives is
`cluster.replication.replica.ReplicaLink`.
"""
from __future__ import annotations

import trio

from cluster.encoding.rdb import RdbError, load_into
from cluster.replication import failover as repl_failover
from cluster.replication import primary as repl_primary
from cluster.replication.propagate import encode_command
from cluster.replication.replica import ReplicaLink, set_master
from cluster.replication.state import random_id
from cluster.replication.stream import LinkError


class _Conn:
    """A buffered trio stream with the few reads the handshake needs."""

    def __init__(self, stream, timeout: float = 60):
        self.stream = stream
        self.buf = bytearray()
        self.on_io = lambda: None
        self.timeout = timeout

    async def fill(self) -> None:
        with trio.fail_after(self.timeout):        # repl-timeout, also during the transfer
            data = await self.stream.receive_some(65536)
        if not data:
            raise LinkError("connection lost")
        self.buf += data
        self.on_io()

    async def line(self) -> bytes:
        while True:
            nl = self.buf.find(b"\n")
            if nl != -1:
                line = bytes(self.buf[:nl]).rstrip(b"\r")
                del self.buf[:nl + 1]
                return line
            if len(self.buf) > 64 * 1024:
                raise LinkError("reply line too long")
            await self.fill()

    async def reply_line(self) -> bytes:
        """A reply line, skipping the bare newlines a primary sends as keepalives."""
        while True:
            line = await self.line()
            if line:
                return line

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def command(self, *argv: bytes) -> bytes:
        await self.send(encode_command(list(argv)))
        return await self.reply_line()


async def supervise(node) -> None:
    """Runs for the server's lifetime: one link at a time, whichever REPLICAOF (or, in
    cluster mode, the role the cluster bus applies) set. In cluster mode the bus applies
    role changes once `node.repl.supervising` is true (the loaded replid is known by
    then): the ones that came meanwhile at its next cron tick (cluster.bus.cluster_node)."""
    repl = node.repl
    replicaof = node.config["replicaof"]
    if replicaof and repl.link is None and node.cluster is None:
        host, port = replicaof.rsplit(" ", 1)
        set_master(node, host, int(port))
    repl.supervising = True
    await _links(node)


async def _links(node) -> None:
    repl = node.repl
    while True:
        link = repl.link
        if link is None or link.stopped:
            repl.link_changed = trio.Event()
            if repl.link is link:
                await repl.link_changed.wait()
            continue
        with trio.CancelScope() as scope:
            link.cancel_scope = scope
            await _run_link(node, link)
        if repl.link is link and not link.stopped:
            continue


async def _run_link(node, link: ReplicaLink) -> None:
    delay = 0.05
    while not link.stopped:
        try:
            with trio.CancelScope() as session:
                await _session(node, link, session)
            delay = 0.05
        except (OSError, LinkError, trio.BrokenResourceError, trio.ClosedResourceError,
                trio.TooSlowError, ValueError) as err:
            node.log.warning(f"MASTER <-> REPLICA sync: {err or type(err).__name__}")
        except Exception as err:       # a bug must not take the node down: log, retry
            node.log.warning(f"MASTER <-> REPLICA link failed: {err!r}")
        finally:
            _link_down(node, link)
        if link.stopped:
            return
        await trio.sleep(delay)
        delay = min(delay * 2, 1.0)


def _link_down(node, link: ReplicaLink) -> None:
    client = link.client
    link.client = None
    if client is not None:
        client.killer = None
        node.remove_client(client)
    if link.state == "connected":
        link.down_since_ms = node.set_time()
        node.log.notice("Connection with master lost.")
    link.state = "connect"


async def _session(node, link: ReplicaLink, session: trio.CancelScope) -> None:
    cfg = node.config
    link.state = "connecting"
    with trio.fail_after(max(cfg["repl-timeout"], 1)):
        stream = await trio.open_tcp_stream(link.host, link.port)
    sock = stream.socket
    if sock.getsockname() == sock.getpeername():
        # Connecting to a port nobody listens on can, on loopback, meet our own ephemeral
        # port (a TCP self-connection); it would hold the primary's port while it restarts.
        await stream.aclose()
        raise LinkError("connected to itself: the primary is not listening yet")
    async with stream:
        conn = _Conn(stream, max(cfg["repl-timeout"], 1))

        def touched():
            link.last_io_ms = node.set_time()
        conn.on_io = touched
        with trio.fail_after(max(cfg["repl-timeout"], 1)):
            await _handshake(node, link, conn)
            psync = [b"PSYNC", link.replid.encode(), b"%d" % (link.offset + 1)]
            failing_over = repl_failover.in_progress(node)
            if failing_over:
                psync.append(b"FAILOVER")      # the target promotes itself (failover.py)
            try:
                await conn.send(encode_command(psync))
            except (OSError, trio.BrokenResourceError):
                repl_failover.abort(node, "Write error to failover target")
                raise LinkError("Write error sending the PSYNC command.") from None
            reply = await conn.reply_line()
        text = reply.decode("utf-8", "replace")
        if failing_over and not repl_failover.psync_answered(node, text):
            return              # rejected: the failover aborted, we are a primary again
        if text.startswith("+FULLRESYNC"):
            parts = text.split()
            if len(parts) < 3:
                raise LinkError(f"bad FULLRESYNC reply: {text}")
            replid, offset = parts[1], int(parts[2])
            node.log.notice(f"Full resync from master: {replid}:{offset}")
            await _full_sync(node, link, conn, replid, offset)
        elif text.startswith("+CONTINUE"):
            parts = text.split()
            primary = repl_primary.get(node)
            node.log.notice("Successful partial resynchronization with master.")
            if len(parts) >= 2 and parts[1] != link.replid:
                node.log.warning(f"Master replication ID changed to {parts[1]}")
                node.repl.replid2 = link.replid
                node.repl.second_repl_offset = link.offset + 1
                link.replid = parts[1]
                primary.disconnect_replicas()     # they must learn the new history
            link.partial_syncs += 1
            link.start_stream(link.replid, link.offset)
            primary.create_backlog()      # kept if we had one (PSYNC2), else started here
        elif text.startswith(("-NOMASTERLINK", "-LOADING")):
            raise LinkError(f"Master is currently unable to PSYNC but should be in the "
                            f"future: {text}")
        else:
            await _sync_fallback(node, link, conn, text)
        _link_up(node, link, session, stream)
        await _stream(node, link, conn)


async def _sync_fallback(node, link: ReplicaLink, conn: _Conn, text: str) -> None:
    """A primary that does not know PSYNC (or answers it with an error): SYNC, whose answer
    is the `$<len>` RDB with no +FULLRESYNC line, as Redis's replica does. Such a history
    has no id we could resume: a fresh one (the next PSYNC fails over to a full sync)."""
    if text.startswith("-ERR"):
        node.log.notice(f"Master does not support PSYNC or is in error state (reply: {text})")
    else:
        node.log.warning(f"Unexpected reply to PSYNC from master: {text}")
    node.log.notice("Retrying with SYNC...")
    with trio.fail_after(max(node.config["repl-timeout"], 1)):
        await conn.send(b"SYNC\r\n")
    await _full_sync(node, link, conn, random_id(node.rng), 0)


async def _handshake(node, link: ReplicaLink, conn: _Conn) -> None:
    cfg = node.config
    link.state = "handshake"
    reply = await conn.command(b"PING")
    if reply.startswith(b"-") and not (reply.startswith(b"-NOAUTH")
                                       or reply.startswith(b"-NOPERM")
                                       or reply.startswith(b"-ERR operation not permitted")):
        raise LinkError(f"Error reply to PING from master: '{reply.decode('utf-8', 'replace')}'")
    auth = cfg["masterauth"]
    if auth:
        user = cfg["masteruser"]
        args = [b"AUTH"] + ([user.encode()] if user else []) + [auth.encode()]
        reply = await conn.command(*args)
        if reply.startswith(b"-"):
            raise LinkError(f"Unable to AUTH to MASTER: {reply.decode('utf-8', 'replace')}")
    port = cfg["replica-announce-port"] or node.tcp_port
    reply = await conn.command(b"REPLCONF", b"listening-port", b"%d" % port)
    if reply.startswith(b"-"):
        node.log.notice(f"(Non critical) Master does not understand REPLCONF listening-port: "
                        f"{reply.decode('utf-8', 'replace')}")
    ip = cfg["replica-announce-ip"]
    if ip:
        await conn.command(b"REPLCONF", b"ip-address", ip.encode())
    reply = await conn.command(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
    if reply.startswith(b"-"):
        node.log.notice(f"(Non critical) Master does not understand REPLCONF capa: "
                        f"{reply.decode('utf-8', 'replace')}")


async def _full_sync(node, link: ReplicaLink, conn: _Conn, replid: str, offset: int) -> None:
    link.state = "sync"
    link.sync_read = 0
    header = await conn.reply_line()
    if header.startswith(b"-"):        # e.g. SYNC refused (NOAUTH): Redis's words
        raise LinkError(f"MASTER aborted replication with an error: "
                        f"{header[1:].decode('utf-8', 'replace')}")
    if not header.startswith(b"$"):
        raise LinkError(f"Bad protocol from MASTER, the first byte is not '$': "
                        f"{header[:64]!r}")
    if header.startswith(b"$EOF:"):
        mark = header[5:]
        if len(mark) != 40:
            raise LinkError("bad EOF mark")
        link.sync_total = -1
        while not (len(conn.buf) >= 40 and conn.buf.endswith(mark)):
            await conn.fill()
            link.sync_read = len(conn.buf)
        payload = bytes(conn.buf[:-40])
        conn.buf.clear()
    else:
        try:
            size = int(header[1:])
        except ValueError:
            raise LinkError("bad bulk length for the RDB payload") from None
        if size < 0:
            raise LinkError("bad bulk length for the RDB payload")
        link.sync_total = size
        while len(conn.buf) < size:
            await conn.fill()
            link.sync_read = min(len(conn.buf), size)
        payload = bytes(conn.buf[:size])
        del conn.buf[:size]
    node.log.notice(f"MASTER <-> REPLICA sync: receiving {len(payload)} bytes from master")
    node.log.notice("MASTER <-> REPLICA sync: Flushing old data")
    try:
        snap = load_into(node.keyspace, payload)
        failed = node.functions.replace_all(snap.functions)   # the primary's libraries
        if failed is not None:
            raise RdbError(f"Failed loading library, {failed}")
    except RdbError as err:
        for db in node.keyspace.dbs:
            db.flush()
        raise LinkError(f"Failed trying to load the MASTER synchronization DB: {err}") from None
    node.log.notice("MASTER <-> REPLICA sync: Finished with success")
    node.repl.after_full_sync()         # the AOF restarts from the new dataset
    link.full_syncs += 1
    link.start_stream(replid, offset)
    # A new history: our own sub-replicas resync to it, and a backlog starts here so that,
    # promoted, we accept our siblings' partial resync (PSYNC2).
    primary = repl_primary.get(node)
    primary.disconnect_all()
    primary.reset_backlog()


def _link_up(node, link: ReplicaLink, session: trio.CancelScope, stream=None) -> None:
    host = link.host if ":" not in link.host else f"[{link.host}]"
    laddr, fd = "", -1
    try:
        sock = stream.socket
        local = sock.getsockname()
        laddr, fd = f"{local[0]}:{local[1]}", sock.fileno()
    except (AttributeError, OSError):
        pass
    client = node.new_client(f"{host}:{link.port}", laddr, fd)
    client.is_master_link = True
    client.authenticated = True
    client.user = None              # the primary's stream is never checked against ACLs
    client.killer = session.cancel
    link.client = client
    link.state = "connected"
    link.down_since_ms = None
    node.set_time()
    link.last_io_ms = node.now_ms
    node.log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."
                    if link.partial_syncs else "MASTER <-> REPLICA sync: link up")


async def _stream(node, link: ReplicaLink, conn: _Conn) -> None:
    timeout = max(node.config["repl-timeout"], 1)
    lock = trio.Lock()

    async def send(data: bytes) -> None:
        async with lock:
            await conn.send(data)

    failure: list[BaseException] = []
    errors = (OSError, LinkError, trio.BrokenResourceError, trio.ClosedResourceError)

    async def acker():
        try:
            while True:
                await send(link.ack_command())
                await trio.sleep(1)
        except errors as err:
            failure.append(err)
            nursery.cancel_scope.cancel()

    async def reader():
        try:
            await _read_stream(node, link, conn, timeout, send)
        except errors as err:
            failure.append(err)
            nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(acker)
        nursery.start_soon(reader)
    if failure:
        raise LinkError(str(failure[0]) or type(failure[0]).__name__)


async def _read_stream(node, link: ReplicaLink, conn: _Conn, timeout: float, send) -> None:
    if conn.buf:
        pending = bytes(conn.buf)
        conn.buf.clear()
        if link.apply(pending):
            await send(link.ack_command(link.ack_offset))
    while True:
        with trio.move_on_after(timeout) as waited:
            data = await conn.stream.receive_some(65536)
        if waited.cancelled_caught:
            raise LinkError("MASTER timeout: no data nor PING received...")
        if not data:
            raise LinkError("connection lost")
        node.set_time()
        link.last_io_ms = node.now_ms
        if link.client is None or link.client.close_after_reply:
            raise LinkError("master client closed")
        if link.apply(data):
            link.ack_needed = False
            await send(link.ack_command(link.ack_offset))
