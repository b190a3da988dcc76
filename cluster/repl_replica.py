"""The replica side of replication: our node replicating a primary (ours or real Redis).

Two halves:
- sans-I/O: `ReplicaLink` (what INFO/ROLE show, the cached replid/offset, the refusals
  READONLY / MASTERDOWN) and `StreamParser` + `ReplicaLink.apply` (the replication stream
  split into commands, each executed through `cluster.dispatch.execute` by the master
  client, the processed offset advanced by the exact bytes of each command);
- the trio link (`supervise`, started once by the server edge): connect, handshake (PING,
  AUTH, REPLCONF listening-port / ip-address / capa, PSYNC), full sync (`$<len>` or the
  diskless `$EOF:<40 bytes>` form, loaded with `cluster.rdb.load_into`) or `+CONTINUE`,
  then the stream with `REPLCONF ACK <offset>` every second and on GETACK; a dropped link
  is retried with backoff and resumes with PSYNC <replid> <offset+1>.
"""
from __future__ import annotations

import trio

from cluster.propagate import Propagator, encode_command

READONLY_ERR = "READONLY You can't write against a read only replica."
MASTERDOWN_ERR = ("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set "
                  "to 'no'.")
MAX_BULK = 512 * 1024 * 1024
# In cluster mode, replicate whichever primary the cluster state names (CLUSTER REPLICATE).
CLUSTER_FOLLOW = True
_MUTE = Propagator()                   # no sinks: what the master's commands propagate


class LinkError(Exception):
    """The link must be dropped (and retried)."""


class StreamParser:
    """Splits the replication stream into (argv, nbytes) commands; sans-I/O."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0

    def feed(self, data: bytes) -> None:
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def _line(self, start: int) -> tuple[bytes, int] | None:
        end = self.buf.find(b"\r\n", start)
        if end == -1:
            if len(self.buf) - start > 64 * 1024:
                raise LinkError("Protocol error: too big line in the replication stream")
            return None
        return bytes(self.buf[start:end]), end + 2

    def next(self) -> tuple[list[bytes], int] | None:
        """The next whole command and its size in bytes, or None if more bytes are needed."""
        buf = self.buf
        start = self.pos
        if start >= len(buf):
            return None
        if buf[start] != 0x2A:          # '*'
            # An inline command (a bare newline keepalive counts as an empty one).
            got = self._line(start) if b"\r\n" in buf[start:start + 64 * 1024 + 2] else None
            if got is None:
                nl = buf.find(b"\n", start)
                if nl == -1:
                    return None
                line, after = bytes(buf[start:nl]), nl + 1
            else:
                line, after = got
            self.pos = after
            return line.split(), after - start
        got = self._line(start + 1)
        if got is None:
            return None
        count_raw, pos = got
        try:
            count = int(count_raw)
        except ValueError:
            raise LinkError("Protocol error: invalid multibulk length") from None
        if count > 1024 * 1024:
            raise LinkError("Protocol error: invalid multibulk length")
        argv = []
        for _ in range(max(count, 0)):
            if pos >= len(buf):
                return None
            if buf[pos] != 0x24:        # '$'
                raise LinkError("Protocol error: expected '$'")
            got = self._line(pos + 1)
            if got is None:
                return None
            len_raw, pos = got
            try:
                n = int(len_raw)
            except ValueError:
                raise LinkError("Protocol error: invalid bulk length") from None
            if n < 0 or n > MAX_BULK:
                raise LinkError("Protocol error: invalid bulk length")
            if pos + n + 2 > len(buf):
                return None
            argv.append(bytes(buf[pos:pos + n]))
            pos += n + 2
        self.pos = pos
        return argv, pos - start


class ReplicaLink:
    """Our node as a replica of host:port: the state INFO and ROLE show, and the stream."""

    def __init__(self, node, host: str, port: int):
        self.node = node
        self.host = host
        self.port = port
        self.state = "connect"           # connect, connecting, handshake, sync, connected
        # The cached master (PSYNC2: start from our own history, replicationCacheMaster-
        # UsingMyself), so a promoted sibling can accept a partial resync.
        self.replid: str = getattr(node, "replid", None) or "?"
        self.offset: int = getattr(node, "master_repl_offset", 0)
        self.read_offset = self.offset
        self.has_history = self.replid != "?"
        self.client = None               # the master client while the link is up
        self.last_io_ms = 0
        self.down_since_ms: int | None = None     # None: never was up
        self.sync_total = -1
        self.sync_read = 0
        self.parser = StreamParser()
        self.cancel_scope: trio.CancelScope | None = None
        self.stopped = False
        self.full_syncs = 0
        self.partial_syncs = 0
        self.ack_needed = False
        self.ack_offset = 0

    # -- what clients see ---------------------------------------------------------
    @property
    def link_up(self) -> bool:
        return self.state == "connected"

    def refusal(self, client, cmd) -> str | None:
        """READONLY / MASTERDOWN for a normal client's command (processCommand order)."""
        cfg = self.node.config
        if cfg["replica-read-only"] and (cmd.is_write or (
                cmd.name == "exec" and client.in_multi
                and any(c.is_write for c, _ in client.multi_queue))):
            return READONLY_ERR
        if not self.link_up and not cfg["replica-serve-stale-data"]:
            stale = "stale" in cmd.flags and not (
                cmd.name == "exec" and client.in_multi
                and any("stale" not in c.flags for c, _ in client.multi_queue))
            if not stale:
                return MASTERDOWN_ERR
        return None

    def role_state(self) -> str:
        return self.state

    def role_reply(self) -> list:
        off = self.offset if self.client is not None or self.state == "connected" else -1
        return [b"slave", self.host.encode(), self.port, self.state.encode(), off]

    def info_fields(self, now_ms: int) -> list[tuple[str, object]]:
        cfg = self.node.config
        up = self.link_up
        last_io = (now_ms - self.last_io_ms) // 1000 if up else -1
        syncing = self.state == "sync"
        pairs: list[tuple[str, object]] = [
            ("role", "slave"),
            ("master_host", self.host),
            ("master_port", self.port),
            ("master_link_status", "up" if up else "down"),
            ("master_last_io_seconds_ago", last_io),
            ("master_sync_in_progress", 1 if syncing else 0),
            ("slave_read_repl_offset", self.read_offset),
            ("slave_repl_offset", self.offset),
        ]
        if syncing:
            total = max(self.sync_total, 0)
            perc = (self.sync_read * 100.0 / total) if total > 0 else 0.0
            pairs += [
                ("master_sync_total_bytes", self.sync_total),
                ("master_sync_read_bytes", self.sync_read),
                ("master_sync_left_bytes", total - self.sync_read),
                ("master_sync_perc", "%.2f" % perc),
                ("master_sync_last_io_seconds_ago", (now_ms - self.last_io_ms) // 1000),
            ]
        if not up:
            down = -1 if self.down_since_ms is None else (now_ms - self.down_since_ms) // 1000
            pairs.append(("master_link_down_since_seconds", down))
        pairs += [
            ("slave_priority", cfg["replica-priority"]),
            ("slave_read_only", 1 if cfg["replica-read-only"] else 0),
            ("replica_announced", 1 if cfg["replica-announced"] else 0),
        ]
        return pairs

    # -- the stream ---------------------------------------------------------------
    def start_stream(self, replid: str, offset: int) -> None:
        self.replid = replid
        self.offset = self.read_offset = offset
        self.has_history = True
        self.parser = StreamParser()
        self._sync_node()

    def _sync_node(self) -> None:
        node = self.node
        node.replid = self.replid
        node.master_repl_offset = self.offset

    def apply(self, data: bytes) -> bool:
        """Execute every whole command in `data` (plus what was buffered); True when the
        primary asked for an ACK (REPLCONF GETACK)."""
        self.read_offset += len(data)
        parser = self.parser
        parser.feed(data)
        client = self.client
        node = self.node
        ack = False
        # Our own propagation is muted while the master's commands run: the stream is
        # passed on verbatim instead (to our backlog / sub-replicas), as Redis proxies it.
        real = node.propagator
        node.propagator = _MUTE
        start = parser.pos
        try:
            ack = self._run_commands(parser, client, node)
        finally:
            node.propagator = real
        if real.sinks and parser.pos > start:
            raw = bytes(parser.buf[start:parser.pos])
            for sink in real.sinks:
                sink(raw)
            real._db = None            # the next own write re-selects its database
        self._sync_node()
        if ack:
            self.ack_needed = True
        return ack

    def _run_commands(self, parser: StreamParser, client, node) -> bool:
        from cluster.dispatch import execute
        ack = False
        while True:
            got = parser.next()
            if got is None:
                break
            argv, size = got
            if argv:
                name = argv[0].lower()
                if name == b"replconf":
                    if len(argv) >= 2 and argv[1].lower() == b"getack":
                        ack = True
                        self.ack_offset = self.offset    # before this command, as Redis
                elif name != b"ping" and client is not None:
                    client.last_interaction_ms = node.set_time()
                    execute(client, argv)
                    client.commands += 1
            self.offset += size
        return ack

    def ack_command(self, offset: int | None = None) -> bytes:
        return encode_command([b"REPLCONF", b"ACK", b"%d" % (
            self.offset if offset is None else offset)])


# -- control (called from handlers: sync) -------------------------------------------
class _Control:
    def __init__(self):
        self.changed = trio.Event()


def _control(node) -> _Control:
    ctl = getattr(node, "repl_control", None)
    if ctl is None:
        ctl = node.repl_control = _Control()
    return ctl


def _new_replid(node) -> str:
    return "%040x" % node.rng.getrandbits(160)


def set_master(node, host: str, port: int) -> None:
    """Become (or switch to being) a replica of host:port; the link task does the rest."""
    old = node.repl_link
    if old is not None:
        _drop(old)
    elif getattr(node, "on_become_replica", None) is not None:
        node.on_become_replica()      # the primary side disconnects its replicas
    node.repl_link = ReplicaLink(node, host, port)
    _remember(node, f"{host} {port}")
    node.log.notice(f"Connecting to MASTER {host}:{port}")
    _control(node).changed.set()


def unset_master(node) -> None:
    """REPLICAOF NO ONE: keep the data, shift the replication id (PSYNC2)."""
    link = node.repl_link
    if link is None:
        return
    _drop(link)
    node.repl_link = None
    _remember(node, "")
    offset = link.offset
    if link.has_history and link.replid != "?":
        node.replid2 = link.replid
        node.second_repl_offset = offset + 1
    node.replid = _new_replid(node)
    node.master_repl_offset = offset
    _control(node).changed.set()


def _remember(node, value: str) -> None:
    """CONFIG GET / REWRITE replicaof show the current master (standalone only: cluster
    mode never writes the directive)."""
    if node.cluster is None:
        node.config.values["replicaof"] = value


def _drop(link: ReplicaLink) -> None:
    link.stopped = True
    client = link.client
    link.client = None
    if client is not None:
        client.killer = None
        link.node.remove_client(client)
    if link.cancel_scope is not None:
        link.cancel_scope.cancel()


# -- the trio link ------------------------------------------------------------------
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
    cluster mode, the cluster's view of our primary) set."""
    replicaof = node.config["replicaof"]
    if replicaof and node.repl_link is None and node.cluster is None:
        host, port = replicaof.rsplit(" ", 1)
        set_master(node, host, int(port))
    async with trio.open_nursery() as nursery:
        if node.cluster is not None and CLUSTER_FOLLOW:
            nursery.start_soon(_follow_cluster, node)
        await _links(node)


def cluster_target(node) -> tuple[str, int] | None:
    """In cluster mode: (ip, port) of the primary the cluster says we replicate, if any."""
    st = node.cluster.state
    me = st.myself
    if not me.is_replica or me.primary_id is None:
        return None
    primary = st.nodes.get(me.primary_id)
    if primary is None or not primary.ip or not primary.port:
        return None
    return primary.ip, primary.port


def follow_cluster(node) -> None:
    """clusterCron's part for replication: replicate the primary the cluster names (CLUSTER
    REPLICATE, a failover, nodes.conf at start); promoted -> stop replicating."""
    target = cluster_target(node)
    link = node.repl_link
    if target is not None:
        if link is None or (link.host, link.port) != target:
            set_master(node, *target)
        node.cluster.state.myself.repl_offset = node.repl_link.offset
    elif link is not None and node.cluster.state.myself.is_primary:
        unset_master(node)


async def _follow_cluster(node) -> None:
    while True:
        follow_cluster(node)
        await trio.sleep(0.1)


async def _links(node) -> None:
    ctl = _control(node)
    while True:
        link = node.repl_link
        if link is None or link.stopped:
            ctl.changed = trio.Event()
            if node.repl_link is link:
                await ctl.changed.wait()
            continue
        with trio.CancelScope() as scope:
            link.cancel_scope = scope
            await _run_link(node, link)
        if node.repl_link is link and not link.stopped:
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
            reply = await conn.command(b"PSYNC", link.replid.encode(),
                                       b"%d" % (link.offset + 1))
        text = reply.decode("utf-8", "replace")
        if text.startswith("+FULLRESYNC"):
            parts = text.split()
            if len(parts) < 3:
                raise LinkError(f"bad FULLRESYNC reply: {text}")
            replid, offset = parts[1], int(parts[2])
            node.log.notice(f"Full resync from master: {replid}:{offset}")
            await _full_sync(node, link, conn, replid, offset)
        elif text.startswith("+CONTINUE"):
            parts = text.split()
            if len(parts) >= 2 and parts[1] != link.replid:
                node.replid2 = link.replid
                node.second_repl_offset = link.offset + 1
                link.replid = parts[1]
            node.log.notice("Successful partial resynchronization with master.")
            link.partial_syncs += 1
            link.start_stream(link.replid, link.offset)
        else:
            raise LinkError(f"Unexpected reply to PSYNC from master: {text}")
        _link_up(node, link, session, stream)
        await _stream(node, link, conn)


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
        node.log.notice("(Non critical) Master does not understand REPLCONF capa")


async def _full_sync(node, link: ReplicaLink, conn: _Conn, replid: str, offset: int) -> None:
    from cluster.rdb import RdbError, load_into
    link.state = "sync"
    link.sync_read = 0
    header = await conn.reply_line()
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
        load_into(node.keyspace, payload)
    except RdbError as err:
        for db in node.keyspace.dbs:
            db.flush()
        raise LinkError(f"Failed trying to load the MASTER synchronization DB: {err}") from None
    node.log.notice("MASTER <-> REPLICA sync: Finished with success")
    link.full_syncs += 1
    link.start_stream(replid, offset)
    if getattr(node, "on_replica_full_sync", None) is not None:
        node.on_replica_full_sync()    # the primary side: our own sub-replicas resync


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


def refuse_for(client, cmd) -> str | None:
    """dispatch's hook: None unless this node is a replica refusing the command."""
    link = client.node.repl_link
    if link is None or client.is_master_link:
        return None
    return link.refusal(client, cmd)

