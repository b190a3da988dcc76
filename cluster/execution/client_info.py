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
    if client.dirty_cas:
        out += "d"
    if client.close_after_reply:
        out += "c"
    if client.readonly:
        out += "r"
    if client.no_evict:
        out += "e"
    return out or "N"


def client_info_line(client, current: str | None = None, argv=None) -> str:
    """One CLIENT LIST line (without the newline). `current`: the running command's name
    when `client` is the caller (Redis shows the command being executed)."""
    now = client.node.now_ms
    qbuf = client.parser.pending_bytes() if client.parser is not None else 0
    argv_mem = sum(len(a) for a in argv) if argv else 0
    multi_mem = sum(sum(len(a) for a in args) for _, args in client.multi_queue)
    tot_mem = 1024 + qbuf + argv_mem + multi_mem
    name = client.name.decode("utf-8", "replace")
    return (
        f"id={client.id} addr={client.addr} laddr={client.laddr} fd={client.fd} "
        f"name={name} age={max(0, (now - client.created_ms) // 1000)} "
        f"idle={max(0, (now - client.last_interaction_ms) // 1000)} flags={_flags(client)} "
        f"db={client.db.id} sub={len(client.channels)} "
        f"psub={len(client.patterns)} ssub={len(client.shard_channels)} "
        f"multi={len(client.multi_queue) if client.in_multi else -1} qbuf={qbuf} "
        f"qbuf-free=0 argv-mem={argv_mem} multi-mem={multi_mem} rbs=0 rbp=0 obl=0 oll=0 "
        f"omem=0 tot-mem={tot_mem} events=r cmd={current or client.last_cmd} "
        f"user={user_name(client)} redir=-1 resp={client.resp}")
