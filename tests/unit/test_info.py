"""INFO sections: names, order and field sets of Redis 7.0.15 (values are this server's)."""
import os

from cluster import __version__
from cluster.commands import registry  # noqa: F401
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.commands.info_sections import bytes_to_human, info_dict, info_text
from cluster.node import Node
from cluster.resp.reply import Verbatim

# Field names, in order, of `INFO everything` on redis-server 7.0.15 (idle, no AOF).
REAL_FIELDS = {
    "Server": "redis_version redis_git_sha1 redis_git_dirty redis_build_id redis_mode os "
              "arch_bits monotonic_clock multiplexing_api atomicvar_api gcc_version "
              "process_id process_supervised run_id tcp_port server_time_usec "
              "uptime_in_seconds uptime_in_days hz configured_hz lru_clock executable "
              "config_file io_threads_active",
    "Clients": "connected_clients cluster_connections maxclients "
               "client_recent_max_input_buffer client_recent_max_output_buffer "
               "blocked_clients tracking_clients clients_in_timeout_table",
    "Memory": "used_memory used_memory_human used_memory_rss used_memory_rss_human "
              "used_memory_peak used_memory_peak_human used_memory_peak_perc "
              "used_memory_overhead used_memory_startup used_memory_dataset "
              "used_memory_dataset_perc allocator_allocated allocator_active "
              "allocator_resident total_system_memory total_system_memory_human "
              "used_memory_lua used_memory_vm_eval used_memory_lua_human "
              "used_memory_scripts_eval number_of_cached_scripts number_of_functions "
              "number_of_libraries used_memory_vm_functions used_memory_vm_total "
              "used_memory_vm_total_human used_memory_functions used_memory_scripts "
              "used_memory_scripts_human maxmemory maxmemory_human maxmemory_policy "
              "allocator_frag_ratio allocator_frag_bytes allocator_rss_ratio "
              "allocator_rss_bytes rss_overhead_ratio rss_overhead_bytes "
              "mem_fragmentation_ratio mem_fragmentation_bytes mem_not_counted_for_evict "
              "mem_replication_backlog mem_total_replication_buffers mem_clients_slaves "
              "mem_clients_normal mem_cluster_links mem_aof_buffer mem_allocator "
              "active_defrag_running lazyfree_pending_objects lazyfreed_objects",
    "Persistence": "loading async_loading current_cow_peak current_cow_size "
                   "current_cow_size_age current_fork_perc current_save_keys_processed "
                   "current_save_keys_total rdb_changes_since_last_save "
                   "rdb_bgsave_in_progress rdb_last_save_time rdb_last_bgsave_status "
                   "rdb_last_bgsave_time_sec rdb_current_bgsave_time_sec rdb_saves "
                   "rdb_last_cow_size rdb_last_load_keys_expired rdb_last_load_keys_loaded "
                   "aof_enabled aof_rewrite_in_progress aof_rewrite_scheduled "
                   "aof_last_rewrite_time_sec aof_current_rewrite_time_sec "
                   "aof_last_bgrewrite_status aof_rewrites aof_rewrites_consecutive_failures "
                   "aof_last_write_status aof_last_cow_size module_fork_in_progress "
                   "module_fork_last_cow_size",
    "Stats": "total_connections_received total_commands_processed instantaneous_ops_per_sec "
             "total_net_input_bytes total_net_output_bytes total_net_repl_input_bytes "
             "total_net_repl_output_bytes instantaneous_input_kbps instantaneous_output_kbps "
             "instantaneous_input_repl_kbps instantaneous_output_repl_kbps "
             "rejected_connections sync_full sync_partial_ok sync_partial_err expired_keys "
             "expired_stale_perc expired_time_cap_reached_count "
             "expire_cycle_cpu_milliseconds evicted_keys evicted_clients "
             "total_eviction_exceeded_time current_eviction_exceeded_time keyspace_hits "
             "keyspace_misses pubsub_channels pubsub_patterns pubsubshard_channels "
             "latest_fork_usec total_forks migrate_cached_sockets slave_expires_tracked_keys "
             "active_defrag_hits active_defrag_misses active_defrag_key_hits "
             "active_defrag_key_misses total_active_defrag_time current_active_defrag_time "
             "tracking_total_keys tracking_total_items tracking_total_prefixes "
             "unexpected_error_replies total_error_replies dump_payload_sanitizations "
             "total_reads_processed total_writes_processed io_threaded_reads_processed "
             "io_threaded_writes_processed reply_buffer_shrinks reply_buffer_expands",
    "Replication": "role connected_slaves master_failover_state master_replid "
                   "master_replid2 master_repl_offset second_repl_offset repl_backlog_active "
                   "repl_backlog_size repl_backlog_first_byte_offset repl_backlog_histlen",
    "CPU": "used_cpu_sys used_cpu_user used_cpu_sys_children used_cpu_user_children "
           "used_cpu_sys_main_thread used_cpu_user_main_thread",
    "Cluster": "cluster_enabled",
}
ALL_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
              "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]
DEFAULT_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication",
                  "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]


def make(*args):
    config = Config()
    config.load_args(list(args))
    node = Node(config, clock=lambda: 1_700_000_000.0)
    return node, node.new_client("127.0.0.1:5000", "127.0.0.1:6379")


def titles(text: bytes) -> list[str]:
    return [line[2:] for line in text.decode().split("\r\n") if line.startswith("# ")]


def sections(text: bytes) -> dict[str, list[str]]:
    out, cur = {}, None
    for line in text.decode().split("\r\n"):
        if line.startswith("# "):
            cur = line[2:]
            out[cur] = []
        elif line:
            out[cur].append(line.split(":", 1)[0])
    return out


def test_section_selection_and_order():
    node, _ = make()
    assert titles(info_text(node, [])) == DEFAULT_TITLES
    assert titles(info_text(node, [b"default"])) == DEFAULT_TITLES
    assert titles(info_text(node, [b"all"])) == ALL_TITLES
    assert titles(info_text(node, [b"everything"])) == ALL_TITLES
    assert titles(info_text(node, [b"keyspace", b"SERVER"])) == ["Server", "Keyspace"]
    assert titles(info_text(node, [b"modules"])) == ["Modules"]
    assert info_text(node, [b"bogus"]) == b""


def test_wire_layout_matches_redis():
    node, _ = make()
    assert info_text(node, [b"cluster"]) == b"# Cluster\r\ncluster_enabled:0\r\n"
    node.keyspace[0].store(b"k", b"v")
    assert info_text(node, [b"cluster", b"keyspace"]) == (
        b"# Cluster\r\ncluster_enabled:0\r\n\r\n"
        b"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n")
    assert info_text(node, [b"modules"]) == b"# Modules\r\n"


def test_field_names_and_order_are_redis_70():
    node, _ = make()
    got = sections(info_text(node, [b"everything"]))
    for title, names in REAL_FIELDS.items():
        expected = names.split()
        if title == "Server":
            expected.append("pyredis_cluster_version")   # our one addition
        assert got[title] == expected, title


def test_server_and_replication_values():
    node, _ = make("--port", "7123", "--hz", "20")
    server = info_dict(node, "server")
    assert server["redis_version"] == "7.0.15"
    assert server["pyredis_cluster_version"] == __version__
    assert server["redis_mode"] == "standalone"
    assert server["run_id"] == node.run_id and len(node.run_id) == 40
    assert server["process_id"] == str(os.getpid())
    assert server["tcp_port"] == "7123"
    assert server["hz"] == "20" and server["configured_hz"] == "20"
    assert server["server_time_usec"] == str(1_700_000_000 * 10**6)
    repl = info_dict(node, "replication")
    assert repl["role"] == "master" and repl["connected_slaves"] == "0"
    assert len(repl["master_replid"]) == 40 and repl["master_replid"] != node.run_id
    assert repl["master_replid"] == info_dict(node, "replication")["master_replid"]
    assert repl["master_replid2"] == "0" * 40
    assert (repl["master_repl_offset"], repl["second_repl_offset"]) == ("0", "-1")
    assert repl["repl_backlog_active"] == "0"
    cluster_node, _ = make("--cluster-enabled", "yes")
    assert info_dict(cluster_node, "server")["redis_mode"] == "cluster"
    assert info_dict(cluster_node, "cluster") == {"cluster_enabled": "1"}


def test_keyspace_commandstats_errorstats():
    node, c = make()
    execute(c, [b"SET", b"a", b"1"])
    execute(c, [b"SET", b"b", b"2"])
    node.keyspace[0].set_expire(b"b", 1_700_000_100_000)
    execute(c, [b"SELECT", b"3"])
    execute(c, [b"SET", b"c", b"3"])
    execute(c, [b"NOSUCH"])
    execute(c, [b"GET"])
    text = info_text(node, [b"keyspace", b"commandstats", b"errorstats"]).decode()
    assert "db0:keys=2,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n" in text
    assert "db1:" not in text
    set_line = [ln for ln in text.split("\r\n") if ln.startswith("cmdstat_set:")][0]
    assert set_line.startswith("cmdstat_set:calls=3,usec=")
    assert set_line.endswith(",rejected_calls=0,failed_calls=0")
    assert "cmdstat_get:calls=0," in text and "rejected_calls=1,failed_calls=0" in text
    assert "# Errorstats\r\nerrorstat_ERR:count=2\r\n" in text
    stats = info_dict(node, "stats")
    assert stats["total_error_replies"] == "2"


def test_memory_section_is_consistent():
    node, _ = make("--maxmemory", "1gb")
    mem = info_dict(node, "memory")
    used = int(mem["used_memory"])
    assert used >= int(mem["used_memory_startup"]) > 0
    assert used == int(mem["used_memory_overhead"]) + int(mem["used_memory_dataset"])
    assert int(mem["used_memory_rss"]) > 1024 * 1024     # a Python process: megabytes
    assert int(mem["used_memory_peak"]) >= used
    assert mem["maxmemory"] == str(1024**3) and mem["maxmemory_human"] == "1.00G"
    assert mem["maxmemory_policy"] == "noeviction"
    assert mem["used_memory_human"] == bytes_to_human(used)


def test_bytes_to_human():
    assert bytes_to_human(0) == "0B"
    assert bytes_to_human(1023) == "1023B"
    assert bytes_to_human(941232) == "919.17K"
    assert bytes_to_human(6770688) == "6.46M"
    assert bytes_to_human(25276510208) == "23.54G"


def test_info_command_is_verbatim():
    node, c = make()
    reply = execute(c, [b"INFO", b"cluster"])
    assert reply.__class__ is Verbatim and reply == b"# Cluster\r\ncluster_enabled:0\r\n"
