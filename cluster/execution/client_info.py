"""What CLIENT LIST, CLIENT INFO and ACL LOG say about a client (catClientInfoString)."""
from __future__ import annotations

from cluster.execution.monitor import MONITOR


def user_name(client) -> str:
    """The client's ACL user; the primary's link and the AOF loader run as no user."""
    user = client.user
    return "(superuser)" if user is None else user.name


def client_type(client) -> str:
    if client.is_master_link:
        return "master"
    if client.is_replica:
        return "replica"
    if (client.channels or client.patterns or client.shard_channels
            or client.flags_extra == "pubsub"):
        return "pubsub"
    return "normal"


def _flags(client) -> str:
    out = ""
    if client.reply_mode & MONITOR:     # a monitor (CLIENT_SLAVE|CLIENT_MONITOR): O
        out += "O"
    elif client.is_replica:
        out += "S"
    if client.is_master_link:
        out += "M"
    if client_type(client) == "pubsub":
        out += "P"
    if client.in_multi:
        out += "x"
    if client.blocked:
        out += "b"
    tracking = client.tracking          # CLIENT TRACKING: t, broken redirect R, BCAST B
    if tracking is not None:
        out += "t" + ("R" if tracking.broken else "") + ("B" if tracking.bcast else "")
    if client.dirty_cas:
        out += "d"
    if client.close_after_reply:
        out += "c"
    if client.readonly:
        out += "r"
    if client.no_evict:
        out += "e"
    return out or "N"


# -- Redis's memory accounting of a client (getClientMemoryUsage, catClientInfoString) -------
# The figures are Redis 7.0.15's on x86-64 with jemalloc, so tools and tests that read
# CLIENT LIST see the numbers they would see there:
# - qbuf: the query buffer's length. While a command runs, Redis still holds it there (the
#   buffer is trimmed once the batch is processed): the caller's qbuf counts the running
#   command's protocol bytes, the test suite's `qbuf=26` for CLIENT LIST.
# - qbuf-free: the buffer's spare room. The first read allocates 16 KiB without greedy
#   growth; jemalloc rounds that to its 20480-byte class, less the sds header (5) and NUL,
#   so length + free = 20474. A client idle for more than 2 s whose spare room exceeds
#   4 KiB is shrunk to its length by the cron (clientsCronResizeQueryBuffer): 0 + 0.
# - argv-mem: the running command's argument lengths (c->argv_len_sum); multi-mem: per
#   queued command its argument lengths plus a pointer per argument (argv_len_sums).
# - rbs/rbp: the 16 KiB static reply buffer and its peak, as a new client has them; the
#   cron halves an idle client's buffer down to 1 KiB within its first two passes
#   (clientsCronResizeOutputBuffer), so an older client shows 1024. The peak of later
#   replies is not tracked here: 0.
# - obl/oll/omem: output waiting to be written; the static buffer takes the first rbs
#   bytes, the rest goes to 16 KiB reply blocks (a replica's are the backlog's blocks).
# - tot-mem: omem + the query buffer's allocation + the client struct (768) + rbs +
#   argv-mem and a pointer per argument + the MULTI state (multi-mem, a watched key's
#   list node and entry, the queue's slots) + the Pub/Sub dicts' entries and slots.
QUERY_ALLOC = 20474          # a first read's query buffer room (sdsalloc)
REPLY_CHUNK = 16384          # PROTO_REPLY_CHUNK_BYTES: the static buffer and each block
REPLY_MIN = 1024             # PROTO_REPLY_MIN_BYTES: how far the cron shrinks the buffer
CLIENT_STRUCT = 768          # zmalloc_size(client)
PTR = 8
WATCHED_KEY = 24 + 32        # listNode + watchedKey
MULTI_CMD = 24               # sizeof(multiCmd), one per reserved queue slot
DICT_ENTRY = 24              # a Pub/Sub dict's entry; a pattern's listNode is 24 too
BLOCK_OVERHEAD = 24 + 16     # a reply block's listNode and header


def jemalloc_size(n: int) -> int:
    """The size class jemalloc serves `n` bytes from (x86-64: 8, 16, then 4 steps per
    doubling)."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) // 16 * 16
    step = 1 << (n - 1).bit_length() - 3
    return (n + step - 1) // step * step


def _sds_header(alloc: int) -> int:
    """An sds string's header and NUL, for `alloc` bytes of room (sdshdr8/16/32)."""
    return 4 if alloc < 256 else 6 if alloc < 65536 else 10


def _sds_alloc_size(alloc: int) -> int:
    """sdsZmallocSize of a buffer with `alloc` bytes of room."""
    return jemalloc_size(alloc + _sds_header(alloc))


def _dict_slots(n: int) -> int:
    return 0 if n == 0 else max(4, 1 << (n - 1).bit_length())


def wire_length(argv) -> int:
    """Bytes `argv` takes as a RESP multibulk request."""
    return len(b"*%d\r\n" % len(argv)) + sum(
        len(b"$%d\r\n" % len(a)) + len(a) + 2 for a in argv)


def query_buffer(qbuf: int, idle_ms: int) -> int:
    """sdsalloc of a query buffer holding `qbuf` bytes, its client idle for `idle_ms`."""
    alloc = QUERY_ALLOC if qbuf <= QUERY_ALLOC else _sds_alloc_size(qbuf) - _sds_header(qbuf)
    if idle_ms > 2000 and alloc - qbuf > 4096:
        return qbuf                      # the cron gave the spare room back
    return alloc


def _multi_overhead(client) -> tuple[int, int]:
    """(multi-mem, its part of tot-mem)."""
    queue = client.multi_queue
    argv_sums = sum(sum(len(a) for a in args) + PTR * len(args) for _, args in queue)
    reserved = 0
    if queue:
        reserved = 2
        while reserved < len(queue):
            reserved *= 2
    return argv_sums, argv_sums + len(client.watched) * WATCHED_KEY + reserved * MULTI_CMD


def _pubsub_overhead(client) -> int:
    channels, shard = len(client.channels), len(client.shard_channels)
    return (len(client.patterns) * DICT_ENTRY
            + channels * DICT_ENTRY + _dict_slots(channels) * PTR
            + shard * DICT_ENTRY + _dict_slots(shard) * PTR)


def _sizes(client, argv, now: int, queued: bool = True) -> tuple:
    """The buffer fields of a CLIENT LIST line: (qbuf, qalloc, argv_mem, multi_mem, rbs,
    rbp, obl, oll, omem, tot_mem). `argv`: the running command's arguments; a request
    still arriving has its arguments read so far in argv-mem too. `queued`: count the
    pushes queued for the connection that it has not tried to send yet."""
    idle_ms = max(0, now - client.last_interaction_ms)
    parser = client.parser
    qbuf = parser.pending_bytes() if parser is not None else 0
    argv_mem = sum(len(a) for a in argv)
    if argv:
        qbuf += wire_length(argv)
    elif parser is not None:
        argv_mem = parser.held_bytes() - qbuf
    qalloc = query_buffer(qbuf, idle_ms)
    multi_mem, multi_total = _multi_overhead(client)
    young = now - client.created_ms < 2 * 1000 // max(1, client.node.config["hz"])
    rbs = REPLY_CHUNK if young else REPLY_MIN
    rbp = REPLY_CHUNK if young else 0
    link = client.replica_link
    if link is not None:                 # a replica: the backlog's blocks it still needs
        obl, omem = 0, link.pending_bytes
        oll = -(-omem // REPLY_CHUNK)
    else:
        pending = client.out_held + (client.push_bytes if queued else 0)
        obl = min(pending, rbs)
        rest = pending - obl
        oll = -(-rest // REPLY_CHUNK)
        omem = rest + oll * BLOCK_OVERHEAD
    tot_mem = (omem + _sds_alloc_size(qalloc) + CLIENT_STRUCT + rbs + argv_mem
               + PTR * len(argv) + multi_total + _pubsub_overhead(client))
    return qbuf, qalloc, argv_mem, multi_mem, rbs, rbp, obl, oll, omem, tot_mem


def total_memory(client) -> int:
    """What the client costs to used_memory and client eviction: tot-mem, without the
    pushes queued but not yet offered to its socket. Redis writes those before it reads
    the next command (beforeSleep); counted, ten tracking clients' invalidations would
    make an eviction round evict again at the next command (a feedback loop)."""
    return _sizes(client, (), client.node.now_ms, False)[-1]


def request_memory(client, argv) -> int:
    """total_memory while the request `argv` is about to run."""
    return _sizes(client, argv, client.node.now_ms, False)[-1]


def client_info_line(client, current: str | None = None, argv=None) -> str:
    """One CLIENT LIST line (without the newline). `current`: the running command's name
    when `client` is the caller (Redis shows the command being executed), `argv` its
    arguments (still in the query buffer and in c->argv while it runs)."""
    node = client.node
    now = node.now_ms
    idle_ms = max(0, now - client.last_interaction_ms)
    qbuf, qalloc, argv_mem, multi_mem, rbs, rbp, obl, oll, omem, tot_mem = _sizes(
        client, argv or (), now)
    name = client.name.decode("utf-8", "replace")
    return (
        f"id={client.id} addr={client.addr} laddr={client.laddr} fd={client.fd} "
        f"name={name} age={max(0, (now - client.created_ms) // 1000)} "
        f"idle={idle_ms // 1000} flags={_flags(client)} "
        f"db={client.db.id} sub={len(client.channels)} "
        f"psub={len(client.patterns)} ssub={len(client.shard_channels)} "
        f"multi={len(client.multi_queue) if client.in_multi else -1} qbuf={qbuf} "
        f"qbuf-free={qalloc - qbuf} argv-mem={argv_mem} multi-mem={multi_mem} "
        f"rbs={rbs} rbp={rbp} obl={obl} oll={oll} omem={omem} tot-mem={tot_mem} "
        f"events=r cmd={current or client.last_cmd} "
        f"user={user_name(client)} "
        f"redir={client.tracking.redirect if client.tracking is not None else -1} "
        f"resp={client.resp}")
