"""INFO: one builder per section, with Redis 7.0.15's field names and order.

`info_text(node, args)` is what the INFO command returns (bytes with CRLF line ends).
Values are this server's own: used_memory is the estimate maxmemory is compared with
(cluster.execution.eviction.Usage), used_memory_rss the process's resident set
(/proc/self/statm), CPU from getrusage; the rest is read from the state the node declares
(node.stats, node.repl, node.persist, node.pubsub, node.cluster). What we do not have
(forks, defragmentation, I/O threads, per-read and per-write counts) reports 0.
"""
from __future__ import annotations

import os
import resource
import sys

from cluster import __version__
from cluster.execution import latency
from cluster.execution.eviction import Usage
from cluster.persistence import aof as persist_aof
from cluster.persistence import rdb_file as persist_rdb
from cluster.replication import primary as repl_primary

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "module_list", "errorstats", "cluster", "keyspace")
_UNSAFE = str.maketrans("#:\n\r", "____")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size of this process."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024




def total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman: 919.17K, 6.46M, 0B ..."""
    if n < 1024:
        return f"{n}B"
    for i, unit in enumerate("KMGTP", 1):
        if n < 1024 ** (i + 1):
            return "%.2f%s" % (n / 1024 ** i, unit)
    return f"{n}B"


def peak_memory(node, used: int) -> int:
    peak = max(node.stats.peak_memory, used)
    node.stats.peak_memory = peak
    return peak


def _executable() -> str:
    script = sys.argv[0] if sys.argv else ""
    return os.path.abspath(script) if script and os.path.isfile(script) else sys.executable


def _fields(title: str, pairs) -> list[str]:
    return [f"# {title}"] + [f"{k}:{v}" for k, v in pairs]


def _cpu_time(seconds: float) -> str:
    whole = int(seconds)
    return "%d.%06d" % (whole, int(round((seconds - whole) * 1e6)) % 1000000)


def section_server(node) -> list[str]:
    uname = os.uname()
    uptime = max(0, (node.now_ms - node.start_ms) // 1000)
    mode = "cluster" if node.config["cluster-enabled"] else "standalone"
    return _fields("Server", [
        ("redis_version", node.redis_version),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", node.run_id[:16]),
        ("redis_mode", mode),
        ("os", f"{uname.sysname} {uname.release} {uname.machine}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll" if sys.platform.startswith("linux") else "kqueue"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", node.run_id),
        ("tcp_port", node.tcp_port),
        ("server_time_usec", node.now_ms * 1000),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", node.config["hz"]),
        ("configured_hz", node.config["hz"]),
        ("lru_clock", node.keyspace.lru_clock & 0xFFFFFF),
        ("executable", _executable()),
        ("config_file", node.config.file or ""),
        ("io_threads_active", 0),
        ("pyredis_cluster_version", __version__),
    ])


def section_clients(node) -> list[str]:
    clients = node.clients.values()
    replicas = sum(1 for c in clients if c.is_replica)
    blocked = sum(1 for c in clients if c.blocked)
    max_in = max((c.parser.pending_bytes() for c in clients if c.parser is not None),
                 default=0)
    return _fields("Clients", [
        ("connected_clients", len(node.clients) - replicas),
        ("cluster_connections", _cluster_connections(node)),
        ("maxclients", node.config["maxclients"]),
        ("client_recent_max_input_buffer", max_in),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", blocked),
        ("tracking_clients", node.tracking.count),
        ("clients_in_timeout_table", blocked),
    ])


def section_memory(node) -> list[str]:
    usage = Usage(node)
    used = usage.used
    rss = rss_bytes()
    peak = peak_memory(node, used)
    startup = usage.startup
    dataset = usage.dataset
    net = max(1, used - startup)
    system = total_system_memory()
    maxmemory = node.config["maxmemory"]
    eng = node.lua_engine
    scripts = len(eng.scripts) if eng is not None else 0
    functions = usage.functions
    return _fields("Memory", [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (used * 100 / peak if peak else 0)),
        ("used_memory_overhead", usage.overhead),
        ("used_memory_startup", startup),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", "%.2f%%" % (dataset * 100 / net)),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", system),
        ("total_system_memory_human", bytes_to_human(system)),
        ("used_memory_lua", 0),
        ("used_memory_vm_eval", 0),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", scripts),
        ("number_of_functions", 0),
        ("number_of_libraries", len(node.keyspace.functions)),
        ("used_memory_vm_functions", 0),
        ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", functions),
        ("used_memory_scripts", functions),
        ("used_memory_scripts_human", bytes_to_human(functions)),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", node.config["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", 0),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "%.2f" % (rss / used if used else 0)),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", usage.not_counted),
        ("mem_replication_backlog", usage.backlog),
        ("mem_total_replication_buffers", usage.backlog + usage.clients_replicas),
        ("mem_clients_slaves", usage.clients_replicas),
        ("mem_clients_normal", usage.clients_normal),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", usage.aof),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ])


def section_persistence(node) -> list[str]:
    st = node.persist                                # cluster.persistence.state
    rdb = persist_rdb.info_fields(node)
    loading = st.loading
    aof_fields = persist_aof.info_fields(node)
    aof = st.aof
    return _fields("Persistence", [
        ("loading", int(node.keyspace.loading)),
        ("async_loading", 0),
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", rdb["current_save_keys_total"]),
        *(loading.fields() if loading is not None else ()),     # cluster.persistence.loading.Progress
        ("rdb_changes_since_last_save", node.keyspace.dirty - st.dirty_at_last_save),
        ("rdb_bgsave_in_progress", int(st.bgsave_in_progress is not None)),
        ("rdb_last_save_time", st.last_save_s),
        ("rdb_last_bgsave_status", st.last_bgsave_status),
        ("rdb_last_bgsave_time_sec", st.rdb_last_bgsave_time_sec),
        ("rdb_current_bgsave_time_sec", rdb["rdb_current_bgsave_time_sec"]),
        ("rdb_saves", st.rdb_saves),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", st.rdb_last_load_keys_expired),
        ("rdb_last_load_keys_loaded", st.rdb_last_load_keys_loaded),
        ("aof_enabled", int(node.config["appendonly"])),
        *aof_fields.items(),                         # cluster.persistence.aof
        ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
        *(aof.info() if aof is not None else ()),    # aof_current_size ... (appendonly on)
    ])


def _pubsub_counts(node) -> tuple[int, int, int]:
    ps = node.pubsub
    return len(ps.channels), len(ps.patterns), len(ps.shard_channels)


def section_stats(node) -> list[str]:
    st, ks = node.stats, node.keyspace
    channels, patterns, shard = _pubsub_counts(node)
    return _fields("Stats", [
        ("total_connections_received", st.connections_received),
        ("total_commands_processed", st.commands_processed),
        ("instantaneous_ops_per_sec", st.instantaneous_ops),
        ("total_net_input_bytes", st.net_input_bytes),
        ("total_net_output_bytes", st.net_output_bytes),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", st.rejected_connections),
        ("sync_full", st.sync_full),
        ("sync_partial_ok", st.sync_partial_ok),
        ("sync_partial_err", st.sync_partial_err),
        ("expired_keys", ks.expired),
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", st.evicted_keys),
        ("evicted_clients", st.evicted_clients),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", ks.hits),
        ("keyspace_misses", ks.misses),
        ("pubsub_channels", channels),
        ("pubsub_patterns", patterns),
        ("pubsubshard_channels", shard),
        ("latest_fork_usec", 0),
        ("total_forks", st.total_forks),
        ("migrate_cached_sockets", len(node.migrate_sockets or ())),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(node.tracking.table)),
        ("tracking_total_items", node.tracking.items),
        ("tracking_total_prefixes", len(node.tracking.prefixes)),
        ("unexpected_error_replies", 0),
        ("total_error_replies", st.error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", 0),            # not counted (see the docstring)
        ("total_writes_processed", 0),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0),
        ("reply_buffer_expands", 0),
    ])


def section_replication(node) -> list[str]:
    link = node.repl.link
    head = link.info_fields(node.now_ms) if link is not None else [("role", "master")]
    primary = repl_primary.get(node)     # made here if needed: it mints our replid
    return _fields("Replication", head + primary.info_replicas() + primary.info_tail())


def section_cpu(node) -> list[str]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    pairs = [
        ("used_cpu_sys", _cpu_time(me.ru_stime)),
        ("used_cpu_user", _cpu_time(me.ru_utime)),
        ("used_cpu_sys_children", _cpu_time(kids.ru_stime)),
        ("used_cpu_user_children", _cpu_time(kids.ru_utime)),
    ]
    if hasattr(resource, "RUSAGE_THREAD"):
        th = resource.getrusage(resource.RUSAGE_THREAD)
        pairs += [("used_cpu_sys_main_thread", _cpu_time(th.ru_stime)),
                  ("used_cpu_user_main_thread", _cpu_time(th.ru_utime))]
    return _fields("CPU", pairs)


def section_modules(node) -> list[str]:
    return ["# Modules"]


def section_commandstats(node) -> list[str]:
    lines = ["# Commandstats"]
    for name in sorted(node.stats.commands):
        cs = node.stats.commands[name]
        if not (cs.calls or cs.failed or cs.rejected):
            continue
        per_call = cs.usec / cs.calls if cs.calls else 0.0
        lines.append("cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,"
                     "failed_calls=%d" % (name.translate(_UNSAFE), cs.calls, cs.usec, per_call,
                                          cs.rejected, cs.failed))
    return lines


def section_errorstats(node) -> list[str]:
    errors = node.stats.errors
    return ["# Errorstats"] + [
        f"errorstat_{code.translate(_UNSAFE)}:count={errors[code]}"
        for code in sorted(errors, key=lambda c: c.encode("utf-8", "surrogateescape"))]


def section_latencystats(node) -> list[str]:
    """Per-command latency percentiles (latency-tracking yes; empty when off), from the
    histograms dispatch keeps, as Redis's hdr_histogram reports them."""
    lines = ["# Latencystats"]
    if not node.config["latency-tracking"]:
        return lines
    percentiles = [float(p) for p in node.config["latency-tracking-info-percentiles"].split()]
    commands = node.stats.commands
    for name in sorted(commands):
        hist = commands[name].hist
        if hist:
            lines.append(latency.percentiles_line(name.translate(_UNSAFE), hist, percentiles))
    return lines


def _cluster_connections(node) -> int:
    """getClusterConnectionsCount: two links (in and out) per other known node."""
    cl = node.cluster
    return (len(cl.state.nodes) - 1) * 2 if cl is not None else 0


def section_cluster(node) -> list[str]:
    return ["# Cluster", f"cluster_enabled:{int(bool(node.config['cluster-enabled']))}"]


def section_keyspace(node) -> list[str]:
    lines = ["# Keyspace"]
    for db in node.keyspace.dbs:
        if db.data or db.expires:
            lines.append(f"db{db.id}:keys={len(db.data)},expires={len(db.expires)},"
                         f"avg_ttl={db.avg_ttl}")
    return lines


SECTIONS = (
    ("server", section_server), ("clients", section_clients), ("memory", section_memory),
    ("persistence", section_persistence), ("stats", section_stats),
    ("replication", section_replication), ("cpu", section_cpu),
    ("module_list", section_modules), ("commandstats", section_commandstats),
    ("errorstats", section_errorstats), ("latencystats", section_latencystats),
    ("cluster", section_cluster), ("keyspace", section_keyspace),
)


def info_text(node, args: list[bytes]) -> bytes:
    """The INFO reply for `INFO arg ...` (no args: the default sections)."""
    wanted: set[str] = set()
    everything = False
    if not args:
        wanted.update(DEFAULT_SECTIONS)
    for raw in args:
        word = raw.decode("utf-8", "surrogateescape").lower()
        if word == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif word in ("all", "everything"):
            everything = True
        else:
            wanted.add(word)
    if "modules" in wanted:
        wanted.add("module_list")
    out: list[str] = []
    for name, build in SECTIONS:
        if everything or name in wanted:
            out.append("\r\n".join(build(node)) + "\r\n")
    return "\r\n".join(out).encode("utf-8", "surrogateescape")


def info_dict(node, section: str) -> dict[str, str]:
    """One section as a dict (for tests and internal users)."""
    out = {}
    for line in info_text(node, [section.encode()]).decode().split("\r\n"):
        if line and not line.startswith("#"):
            key, _, value = line.partition(":")
            out[key] = value
    return out
