"""maxmemory-clients: the clients' own memory, and client eviction (Redis 7.0).

Rules, as Redis 7.0's evictClients:
- A client's memory is CLIENT LIST's tot-mem (cluster.execution.client_info): its state,
  what it sent and was not run yet (the request in progress, a MULTI's queued commands),
  and what it was sent and has not read (replies and pushes waiting for the socket).
- maxmemory-clients is bytes, or (negative in the config) a percentage of maxmemory; 0
  turns client eviction off.
- Only normal and Pub/Sub clients may be evicted (not replicas, the primary's link,
  MONITORs or a client with CLIENT NO-EVICT on); while the evictable clients together use
  more than the limit, the biggest is disconnected, counted in evicted_clients and logged.
- It runs before every command while the limit is set (a gate that never refuses) and
  from the cron, so a client that sends nothing more is also evicted.
"""
from __future__ import annotations

from cluster.execution import monitor
from cluster.resp.reply import ReplyError
from cluster.execution.client_info import request_memory
from cluster.execution.client_info import total_memory as client_memory


_EVICTED = ReplyError("ERR client evicted")


def limit(node) -> int:
    value = node.config["maxmemory-clients"]
    if value < 0:
        return -value * node.config["maxmemory"] // 100
    return value


def evictable(client) -> bool:
    return not (client.no_evict or client.replica_link is not None or client.is_master_link
                or client.is_replica or client.scripting or client.reply_mode & monitor.MONITOR)


def evict_clients(node, current=None, argv=()) -> int:
    """Disconnect the biggest evictable clients until the rest fit; how many went.
    `current` with `argv`: the client whose command is about to run, its arguments
    counted as its own (Redis evicts as the request is read, before it runs)."""
    cap = limit(node)
    if not cap:
        return 0
    sized = [(client_memory(c) if c is not current else request_memory(c, argv), c)
             for c in node.clients.values() if evictable(c)]
    total = sum(size for size, _ in sized)
    if total <= cap:
        return 0
    sized.sort(key=lambda pair: pair[0], reverse=True)
    evicted = 0
    for size, client in sized:
        if total <= cap:
            break
        node.log.verbose(f"Evicting client: id={client.id} addr={client.addr} "
                         f"tot-mem={size}")
        client.kill()
        node.stats.evicted_clients += 1
        total -= size
        evicted += 1
    return evicted


def client_eviction_gate(client, cmd, argv):
    """On while maxmemory-clients is set: evict before the command; the command of a
    client evicted now does not run (its connection is closing: no reply is read)."""
    evict_clients(client.node, client, argv)
    if client.close_after_reply and evictable(client):
        return _EVICTED             # not counted: the connection is gone already
    return None
