"""maxmemory: what the node counts as used memory, eviction, and the OOM refusal.

Rules, as Redis 7.0 (src/evict.c performEvictions, src/server.c processCommand):
- used_memory is the estimate of cluster.keyspace.memory (keys and values, with their
  bookkeeping) plus the clients' buffers, the replication backlog, the replicas' output
  and the AOF buffer, plus a fixed start-up figure (STARTUP, and the cluster's empty slot
  index). The replicas' output and the AOF buffer are "not counted for evict": eviction
  never runs to make room for them.
- Before every command (the gate below; CONFIG SET maxmemory and the cron too), when
  maxmemory is set and the memory counted is above it, keys are evicted by the policy
  until it is not; each goes as Redis's deleteEvictedKeyAndPropagate: DEL (UNLINK with
  lazyfree-lazy-eviction) to the replicas and the AOF, the key deleted, WATCH and
  tracking told, the keyspace event "evicted", evicted_keys counted.
- maxmemory-eviction-tenacity bounds the time one round may take (500 us at 10); past it
  the round stops and the cron goes on with it (Redis's eviction timer proc).
- Nothing is evicted by a replica that ignores maxmemory (replica-ignore-maxmemory, the
  default), while loading, while a script is busy or writes are paused.
- When nothing more can go (noeviction, no volatile key for volatile-*), a command flagged
  denyoom is refused with the OOM error, and so is any command queued inside MULTI (EXEC,
  DISCARD, QUIT and RESET excepted), and EXEC of a transaction with a denyoom command.
  The outcome is kept for scripts (`pre_command_oom`): a script's first write is refused
  then, as scriptVerifyOOM does.
"""
from __future__ import annotations

import time

from cluster.execution.client_eviction import client_memory
from cluster.execution.pause import writes_paused
from cluster.execution.table import SCRIPT_COMMANDS
from cluster.keyspace.evict import NOEVICTION, OOM
from cluster.keyspace.memory import overhead
from cluster.keyspace.notify import EVICTED, notify_node

STARTUP = 880_000            # what the server's own tables hold before any data
SLOT_INDEX_EMPTY = 216       # an empty per-slot key set (cluster mode, 16384 of them)

EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2
_MULTI_ALLOWED = frozenset(("exec", "discard", "quit", "reset"))


# -- what is used -------------------------------------------------------------------------
def startup_memory(node) -> int:
    """used_memory_startup."""
    if node.keyspace.slot_index:
        return STARTUP + 16384 * SLOT_INDEX_EMPTY
    return STARTUP


def clients_memory(node) -> tuple[int, int]:
    """(mem_clients_normal, mem_clients_slaves): their buffers and their own state."""
    normal = replicas = 0
    for client in node.clients.values():
        size = client_memory(client)
        link = client.replica_link
        if link is not None:
            replicas += size + link.pending_bytes
        else:
            normal += size
    return normal, replicas


def backlog_memory(node) -> int:
    primary = node.repl.primary
    backlog = primary.backlog if primary is not None else None
    return len(backlog) if backlog is not None else 0


def aof_memory(node) -> int:
    aof = node.persist.aof
    return len(aof.buf) if aof is not None else 0


class Usage:
    """One reading of the memory figures INFO memory and MEMORY STATS report."""

    __slots__ = ("startup", "dataset", "hashtables", "clients_normal", "clients_replicas",
                 "backlog", "aof", "functions", "used", "not_counted")

    def __init__(self, node):
        self.startup = startup_memory(node)
        keys = node.keyspace.memory()
        self.hashtables = sum(overhead(db) for db in node.keyspace.dbs if db.data)
        self.dataset = keys - self.hashtables
        self.clients_normal, self.clients_replicas = clients_memory(node)
        self.backlog = backlog_memory(node)
        self.aof = aof_memory(node)
        self.functions = sum(len(code) for code in node.keyspace.functions)
        self.used = (self.startup + keys + self.clients_normal
                     + self.clients_replicas + self.backlog + self.aof + self.functions)
        self.not_counted = self.clients_replicas + self.aof
        # what is neither the data nor counted out, for the gate's quick test
        node.mem_beside_data = self.used - keys - self.not_counted
        node.mem_moving = moving_memory(node)
        node.mem_clients_version = node.clients_version

    @property
    def overhead(self) -> int:
        return self.used - self.dataset


# -- eviction ---------------------------------------------------------------------------
def to_free(node) -> int:
    """getMaxmemoryState: bytes above maxmemory (0: within it, or no limit).

    The data's running total plus the rest (clients' buffers, backlog, ...) as last
    measured (each cron tick, each INFO, each CONFIG SET maxmemory). When that says
    "over", the clients' buffers are looked at again: all of each client when clients
    came or went since, else only what moves (output waiting, the request being read).
    Measuring every client in full on every command would cost O(clients) each."""
    limit = node.config["maxmemory"]
    if not limit:
        return 0
    over = node.keyspace.memory() + node.mem_beside_data - limit
    if over > 0:
        if node.clients_version != node.mem_clients_version:
            Usage(node)
        else:
            moving = moving_memory(node)
            node.mem_beside_data += moving - node.mem_moving
            node.mem_moving = moving
        over = node.keyspace.memory() + node.mem_beside_data - limit
    return max(0, over)


def moving_memory(node) -> int:
    """The part of normal clients' memory that changes between measures (the output
    their sockets did not take, the requests being read)."""
    total = 0
    for client in node.clients.values():
        if client.replica_link is None:
            parser = client.parser
            total += client.out_held + (parser.held_bytes() if parser is not None else 0)
    return total


def safe_to_evict(node) -> bool:
    """isSafeToPerformEvictions."""
    if node.script_busy is not None or node.keyspace.loading:
        return False
    if node.repl.link is not None and node.config["replica-ignore-maxmemory"]:
        return False
    return not writes_paused(node)


def time_limit_us(tenacity: int) -> int:
    """evictionTimeLimitUs: 50 us per step up to 10, then +15% a step; 100: no limit."""
    if tenacity <= 10:
        return 50 * tenacity
    if tenacity < 100:
        return int(500.0 * 1.15 ** (tenacity - 10))
    return 1 << 62


def perform_evictions(node) -> int:
    """Evict keys until the memory counted is within maxmemory: EVICT_OK, EVICT_RUNNING
    (out of time: the cron goes on) or EVICT_FAIL (nothing more can go)."""
    node.evicting = False
    if not safe_to_evict(node):
        return EVICT_OK
    tofree = to_free(node)
    if not tofree:
        return EVICT_OK
    config = node.config
    policy = config["maxmemory-policy"]
    if policy == NOEVICTION:
        return EVICT_FAIL
    tracking = node.tracking
    tracking.hold()                     # invalidations go out after the round
    try:
        return _evict_round(node, policy, tofree)
    finally:
        tracking.release()


def _evict_round(node, policy: str, tofree: int) -> int:
    config = node.config
    start = time.perf_counter_ns()
    limit_ns = time_limit_us(config["maxmemory-eviction-tenacity"]) * 1000
    samples = config["maxmemory-samples"]
    ev = node.evictor
    freed = keys = 0
    while freed < tofree:
        chosen = ev.pick(policy, samples)
        if chosen is None:
            break
        db, key = chosen
        freed += evict_key(node, db, key)
        keys += 1
        if keys % 16 == 0:
            tofree = to_free(node) + freed      # buffers may have changed meanwhile
            if freed >= tofree:
                break
            if time.perf_counter_ns() - start > limit_ns:
                node.evicting = True            # the cron goes on (evictionTimeProc)
                _latency(node, start)
                return EVICT_RUNNING
    _latency(node, start)
    return EVICT_OK if freed >= tofree else EVICT_FAIL


def _latency(node, start_ns: int) -> None:
    node.latency.add_if_needed(b"eviction-cycle",
                               (time.perf_counter_ns() - start_ns) // 1_000_000)


def evict_key(node, db, key: bytes) -> int:
    """deleteEvictedKeyAndPropagate: returns the bytes it freed."""
    if node.repl.link is None:
        node.propagator.feed(db.id, [b"UNLINK" if node.config["lazyfree-lazy-eviction"]
                                     else b"DEL", key])
    before = db.memory()
    start = time.perf_counter_ns()
    db.delete(key)           # WATCH, tracking (the keyspace's on_modified hook)
    node.latency.add_if_needed(b"eviction-del", (time.perf_counter_ns() - start) // 1_000_000)
    node.stats.evicted_keys += 1
    notify_node(node, EVICTED, b"evicted", key, db.id)
    return max(0, before - db.memory())


# -- the gate ---------------------------------------------------------------------------
def oom_gate(client, cmd, argv):
    """processCommand's maxmemory step; on while maxmemory is set."""
    node = client.node
    if client.scripting or node.script_busy is not None:
        return None                       # inside a script: scriptVerifyOOM's business
    out_of_memory = perform_evictions(node) == EVICT_FAIL
    node.pre_command_oom = out_of_memory
    if not out_of_memory:
        return None
    if cmd.denyoom:
        return OOM
    name = cmd.name
    if client.in_multi and name not in _MULTI_ALLOWED:
        return OOM
    if name == "exec" and client.in_multi and any(c.denyoom for c, _ in client.multi_queue):
        return OOM
    if name in SCRIPT_COMMANDS and _script_denies_oom(node, name, argv):
        return OOM
    return None


def _script_denies_oom(node, name: str, argv) -> bool:
    """evalGetCommandFlags / fcallGetCommandFlags: a script or function that declares
    flags is denyoom unless it declares allow-oom or no-writes."""
    flags = node.script_flags(name, argv)
    return flags is not None and not ({"allow-oom", "no-writes"} & flags)


def maxmemory_changed(node) -> None:
    """updateMaxmemory: warn when the new limit is below what is used; eviction starts
    at the next command or cron tick (Redis starts its eviction timer), never inside the
    command that set it (a CONFIG SET inside MULTI: the DELs follow the EXEC)."""
    usage = Usage(node)
    limit = node.config["maxmemory"]
    if limit < usage.used - usage.not_counted:
        node.log.warning(
            "WARNING: the new maxmemory value set via CONFIG SET (%d) is smaller than the "
            "current memory usage (%d). This will result in key eviction and/or the "
            "inability to accept new write commands depending on the maxmemory-policy."
            % (limit, usage.used - usage.not_counted))
    node.evicting = True
