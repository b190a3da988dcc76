"""The directive table, CONFIG SET semantics, redis.conf parsing and CONFIG REWRITE.

Expected texts were taken from a real redis-server 7.0.15.
"""
import os

import pytest

from cluster.config.live import Config, ConfigError, ConfigFileError, ConfigSetError
from cluster.config.file import options_text
from cluster.config.values import format_memory, parse_memory, repr_string

# `CONFIG GET *` of redis-server 7.0.15 started with no file (a sample of every kind).
REAL_DEFAULTS = {
    "acl-pubsub-default": "resetchannels", "activedefrag": "no", "appendfsync": "everysec",
    "appendonly": "no", "bind": "* -::*", "busy-reply-threshold": "5000",
    "client-output-buffer-limit":
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    "client-query-buffer-limit": "1073741824", "cluster-node-timeout": "15000",
    "cluster-slave-validity-factor": "10", "databases": "16", "dbfilename": "dump.rdb",
    "enable-debug-command": "no", "hash-max-listpack-entries": "512",
    "hash-max-ziplist-value": "64", "hz": "10", "latency-tracking-info-percentiles":
        "50 99 99.9", "list-max-ziplist-size": "-2", "loglevel": "notice",
    "lua-time-limit": "5000", "maxclients": "10000", "maxmemory": "0",
    "maxmemory-clients": "0", "maxmemory-policy": "noeviction", "notify-keyspace-events": "",
    "oom-score-adj-values": "0 200 800", "proto-max-bulk-len": "536870912",
    "repl-backlog-size": "1048576", "replicaof": "", "save": "3600 1 300 100 60 10000",
    "set-max-intset-entries": "512", "shutdown-on-sigterm": "default",
    "slave-read-only": "yes", "slaveof": "", "slowlog-log-slower-than": "10000",
    "tcp-backlog": "511", "timeout": "0", "unixsocketperm": "0",
    "zset-max-listpack-entries": "128",
}


def test_every_redis_name_is_there_with_redis_defaults():
    values = Config().get_many(["*"])
    assert len(values) == 192          # the count `CONFIG GET *` gives on 7.0.15
    for name, value in REAL_DEFAULTS.items():
        assert values[name] == value, name
    assert values["dir"] == os.getcwd()


def test_get_many_exact_names_keep_case_and_globs_are_case_insensitive():
    c = Config()
    assert c.get_many(["MAXMEMORY"]) == {"MAXMEMORY": "0"}
    assert set(c.get_many(["MAXMEM*"])) == {"maxmemory", "maxmemory-policy",
                                            "maxmemory-samples", "maxmemory-clients",
                                            "maxmemory-eviction-tenacity"}
    assert c.get_many(["port", "port", "po*"]) == {"port": "6379"}
    assert c.get_many(["nosuch"]) == {}
    assert c.get_many(["save", "appendonly"]) == {"save": "3600 1 300 100 60 10000",
                                                  "appendonly": "no"}


@pytest.mark.parametrize("pairs,message", [
    ([("foo", "bar")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
    ([("maxmemory", "abc")], "ERR CONFIG SET failed (possibly related to argument "
                             "'maxmemory') - argument must be a memory value"),
    ([("port", "abc")], "ERR CONFIG SET failed (possibly related to argument 'port') - "
                        "argument couldn't be parsed into an integer"),
    ([("daemonize", "yes")], "ERR CONFIG SET failed (possibly related to argument "
                             "'daemonize') - can't set immutable config"),
    ([("dir", "/tmp")], "ERR CONFIG SET failed (possibly related to argument 'dir') - "
                        "can't set protected config"),
    ([("loglevel", "foo")], "ERR CONFIG SET failed (possibly related to argument "
                            "'loglevel') - argument(s) must be one of the following: "
                            "debug, verbose, notice, warning"),
    ([("appendonly", "maybe")], "ERR CONFIG SET failed (possibly related to argument "
                                "'appendonly') - argument must be 'yes' or 'no'"),
    ([("maxclients", "0")], "ERR CONFIG SET failed (possibly related to argument "
                            "'maxclients') - argument must be between 1 and 4294967295 "
                            "inclusive"),
    ([("timeout", "-1")], "ERR CONFIG SET failed (possibly related to argument 'timeout') "
                          "- argument must be between 0 and 2147483647 inclusive"),
    ([("slowlog-log-slower-than", "-5")],
     "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
     "argument must be between -1 and 9223372036854775807 inclusive"),
    ([("maxmemory", "1"), ("maxmemory", "2")],
     "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"),
    ([("save", "1 2 3")], "ERR CONFIG SET failed (possibly related to argument 'save') - "
                          "Invalid save parameters"),
    ([("save", "abc 1")], "ERR CONFIG SET failed (possibly related to argument 'save') - "
                          "Invalid save parameters"),
    ([("databases", "3")], "ERR CONFIG SET failed (possibly related to argument "
                           "'databases') - can't set immutable config"),
    ([("maxmemory-clients", "200%")],
     "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - "
     "percentage argument must be less or equal to 100"),
    ([("shutdown-on-sigint", "save nosave")],
     "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - "
     "shutdown options SAVE and NOSAVE can't be used simultaneously"),
    ([("oom-score-adj", "default")],
     "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj') - argument(s) "
     "must be one of the following: no, yes, relative, absolute"),
    ([("daemonize", "yes"), ("foo", "x")],
     "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set "
     "immutable config"),
    ([("foo", "x"), ("daemonize", "yes")],
     "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
])
def test_config_set_errors_word_for_word(pairs, message):
    with pytest.raises(ConfigSetError) as err:
        Config().set_many(pairs)
    assert err.value.message == message


def test_config_set_is_all_or_nothing():
    c = Config()
    with pytest.raises(ConfigSetError):
        c.set_many([("maxmemory", "10mb"), ("hz", "abc")])
    assert c["maxmemory"] == 0 and c["hz"] == 10
    c.set_many([("maxmemory", "10mb"), ("hz", "1000")])
    assert c["maxmemory"] == 10 * 1024 * 1024
    assert c["hz"] == 500                    # clamped as Redis's updateHZ does
    c.set_many([("hz", "0")])
    assert c.format("hz") == "1"


def test_values_render_as_redis_renders_them():
    c = Config()
    c.set_many([("save", "100 1 200 2"), ("notify-keyspace-events", "KEA"),
                ("maxmemory-clients", "10%"), ("shutdown-on-sigint", "now NOSAVE"),
                ("oom-score-adj", "relative"), ("slave-read-only", "no"),
                ("client-output-buffer-limit", "pubsub 64mb 16mb 90"),
                ("latency-tracking-info-percentiles", "50.0 99.90")])
    got = c.get_many(["save", "notify-keyspace-events", "maxmemory-clients",
                      "shutdown-on-sigint", "oom-score-adj", "replica-read-only",
                      "client-output-buffer-limit", "latency-tracking-info-percentiles"])
    assert got == {
        "save": "100 1 200 2", "notify-keyspace-events": "AKE", "maxmemory-clients": "10%",
        "shutdown-on-sigint": "nosave now", "oom-score-adj": "yes",
        "replica-read-only": "no",
        "client-output-buffer-limit":
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 90",
        "latency-tracking-info-percentiles": "50 99.9"}
    c.set_many([("save", "")])
    assert c["save"] == ""
    c.set_many([("notify-keyspace-events", "Elx$")])
    assert c["notify-keyspace-events"] == "$lxE"
    with pytest.raises(ConfigSetError, match="Invalid event class character"):
        c.set_many([("notify-keyspace-events", "Q")])


def test_memory_values():
    assert parse_memory("1gb") == 1024**3
    assert parse_memory("1G") == 1000**3
    assert parse_memory("10k") == 10000
    assert parse_memory("") == 0                   # memtoull: no digits is 0
    for bad in ("-1", "1tb", "x", "1.5mb"):
        with pytest.raises(ConfigError):
            parse_memory(bad)
    assert format_memory(3 * 1024**3) == "3gb"
    assert format_memory(64 * 1024 * 1024) == "64mb"
    assert format_memory(1000) == "1000"


def test_listeners_hear_applied_values():
    c = Config()
    heard = []
    c.listeners.append(lambda name, value: heard.append((name, value)))
    c.set_many([("requirepass", "s3cret"), ("slave-read-only", "no")])
    assert heard == [("requirepass", "s3cret"), ("replica-read-only", False)]


def test_load_text_multi_arg_quotes_aliases_and_deprecated():
    c = Config()
    c.load_text('# comment\n\n  port 7001  \nsave 900 1\nsave "300 10"\n'
                'requirepass "a b\\"c"\nslave-read-only no\nlist-max-ziplist-entries 5\n'
                "masterauth 'x y'\nhz 1000\nbind 127.0.0.1 ::1\n")
    assert c["port"] == 7001
    assert c["save"] == "900 1 300 10"        # the first save line replaces the defaults
    assert c["requirepass"] == 'a b"c'
    assert c["replica-read-only"] is False
    assert c["masterauth"] == "x y"
    assert c["hz"] == 500
    assert c["bind"] == "127.0.0.1 ::1"


@pytest.mark.parametrize("text,lineno,line,reason", [
    ("port 0\n# c\nmaxmemory abc\n", 3, "maxmemory abc", "argument must be a memory value"),
    ("port 0\nsave 1 2 3\n", 2, "save 1 2 3", "Invalid save parameters"),
    ('port 0\nfoo "bar\n', 2, 'foo "bar', "Unbalanced quotes in configuration line"),
    ("port 0\nport 1 2\n", 2, "port 1 2", "wrong number of arguments"),
    ("\nfoo bar\n", 2, "foo bar", "Bad directive or wrong number of arguments"),
    ("include\n", 1, "include", "Bad directive or wrong number of arguments"),
    ('x"y" 1\n', 1, 'x"y" 1', "Bad directive or wrong number of arguments"),
])
def test_load_text_errors(text, lineno, line, reason):
    with pytest.raises(ConfigFileError) as err:
        Config().load_text(text)
    assert (err.value.lineno, err.value.line, err.value.reason) == (lineno, line, reason)


def test_fatal_report_text():
    err = ConfigFileError(3, "  maxmemory abc \t", "argument must be a memory value")
    assert err.report("7.0.15") == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                                    "Reading the configuration file, at line 3\n"
                                    ">>> 'maxmemory abc'\n"
                                    "argument must be a memory value\n")
    late = ConfigFileError(None, "", "Can't open the log file: Permission denied")
    assert late.report("7.0.15") == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                                     "Can't open the log file: Permission denied\n")


def test_include_and_globbed_include(tmp_path):
    (tmp_path / "a.conf").write_text("maxmemory 1mb\n")
    (tmp_path / "b.conf").write_text("timeout 7\n")
    c = Config()
    c.load_text(f"include {tmp_path / 'a.conf'}\ninclude {tmp_path / '*.conf'}\n"
                f"include {tmp_path / 'none*.conf'}\n")
    assert c["maxmemory"] == 1024 * 1024 and c["timeout"] == 7


def test_command_line_options_become_config_lines():
    assert options_text(["--port", "7000", "--save", "--appendonly", "yes"]) == \
        'port "7000" \nsave ""\nappendonly "yes" '
    assert options_text(["--save"]) == 'save ""'
    assert options_text(["--save", "900", "1", "--bind", "a b"]) == \
        'save "900" "1" \nbind "a b" '
    c = Config()
    c.load_text("\n" + options_text(["--port", "7000", "--save", "", "--bind", "1.2.3.4 ::1"]))
    assert (c["port"], c["save"], c["bind"]) == (7000, "", "1.2.3.4 ::1")
    with pytest.raises(ConfigFileError) as err:
        c.load_text("\n" + options_text(["--port", "0", "--foo", "bar"]))
    assert (err.value.lineno, err.value.line) == (3, 'foo "bar"')


def test_repr_string_escapes_like_sdscatrepr():
    assert repr_string('a"b c') == '"a\\"b c"'
    assert repr_string("x\n\x01") == '"x\\n\\x01"'


def test_rewrite_keeps_comments_and_replaces_in_place():
    old = ("# my comment\nport 7001\n\nsave 900 1\nsave 300 10\nmaxmemory 100mb\n"
           "# another\nloglevel notice\nslave-read-only yes\nloadmodule /x.so\n")
    c = Config()
    c.load_text(old.replace("loadmodule /x.so\n", ""))   # modules: not loadable here
    c.set_many([("maxmemory", "3gb"), ("timeout", "30"), ("save", ""),
                ("notify-keyspace-events", "KEA"),
                ("client-output-buffer-limit", "pubsub 64mb 16mb 90"),
                ("requirepass", 'a"b c')])
    text = c.rewrite_text(old)
    lines = text.split("\n")
    assert lines[:9] == ["# my comment", "port 7001", "", 'save ""', "", "maxmemory 3gb",
                         "# another", "loglevel notice", "replica-read-only yes"]
    assert lines[9] == "loadmodule /x.so"        # not understood: kept as it was
    tail = lines[lines.index("# Generated by CONFIG REWRITE"):]
    for expected in ('notify-keyspace-events "AKE"',
                     "client-output-buffer-limit pubsub 64mb 16mb 90", "timeout 30",
                     'requirepass "a\\"b c"', "latency-tracking-info-percentiles 50 99 99.9",
                     f'dir "{os.getcwd()}"'):
        assert expected in tail
    assert "hz 10" not in text                      # defaults are not written
    again = Config()
    again.load_text(text.replace("loadmodule /x.so\n", ""))
    assert again["maxmemory"] == 3 * 1024**3 and again["requirepass"] == 'a"b c'
    assert text.count("# Generated by CONFIG REWRITE") == 1
    assert c.rewrite_text(text).count("# Generated by CONFIG REWRITE") == 1


def test_rewrite_file_and_no_file(tmp_path):
    c = Config()
    with pytest.raises(ConfigError, match="running without a config file"):
        c.rewrite()
    path = tmp_path / "r.conf"
    path.write_text("# keep me\nfrobnicate 1\nmaxmemory 5mb\n")
    c.file = str(path)
    c.set_many([("maxmemory", "6mb")])
    c.rewrite()
    content = path.read_text()
    assert content.startswith("# keep me\n# ??? frobnicate 1\nmaxmemory 6mb\n")
    assert [p.name for p in tmp_path.iterdir()] == ["r.conf"]


# The directives `DEBUG CONFIG-REWRITE-FORCE-ALL` of redis-server 7.0.15 writes into a file
# that had none (`user` aside; the Debian build adds lua-enable-deprecated-api).
REAL_FORCE_ALL = """
    acl-pubsub-default aclfile acllog-max-len active-defrag-cycle-max
    active-defrag-cycle-min active-defrag-ignore-bytes active-defrag-max-scan-fields
    active-defrag-threshold-lower active-defrag-threshold-upper active-expire-effort
    activedefrag activerehashing always-show-logo aof-disable-auto-gc
    aof-load-truncated aof-rewrite-incremental-fsync aof-timestamp-enabled
    aof-use-rdb-preamble appenddirname appendfilename appendfsync appendonly
    auto-aof-rewrite-min-size auto-aof-rewrite-percentage busy-reply-threshold
    client-output-buffer-limit client-query-buffer-limit
    cluster-allow-pubsubshard-when-down cluster-allow-reads-when-down
    cluster-allow-replica-migration cluster-announce-bus-port cluster-announce-port
    cluster-announce-tls-port cluster-config-file cluster-enabled
    cluster-link-sendbuf-limit cluster-migration-barrier cluster-node-timeout
    cluster-port cluster-preferred-endpoint-type cluster-replica-no-failover
    cluster-replica-validity-factor cluster-require-full-coverage crash-log-enabled
    crash-memcheck-enabled daemonize databases dbfilename dir disable-thp dynamic-hz
    enable-debug-command enable-module-command enable-protected-configs
    hash-max-listpack-entries hash-max-listpack-value hll-sparse-max-bytes hz
    ignore-warnings io-threads io-threads-do-reads jemalloc-bg-thread key-load-delay
    latency-monitor-threshold latency-tracking latency-tracking-info-percentiles
    lazyfree-lazy-eviction lazyfree-lazy-expire lazyfree-lazy-server-del
    lazyfree-lazy-user-del lazyfree-lazy-user-flush lfu-decay-time lfu-log-factor
    list-compress-depth list-max-listpack-size loading-process-events-interval-bytes
    logfile loglevel maxclients maxmemory maxmemory-clients
    maxmemory-eviction-tenacity maxmemory-policy maxmemory-samples
    min-replicas-max-lag min-replicas-to-write no-appendfsync-on-rewrite
    notify-keyspace-events oom-score-adj oom-score-adj-values port
    proc-title-template propagation-error-behavior protected-mode proto-max-bulk-len
    rdb-del-sync-files rdb-key-save-delay rdb-save-incremental-fsync rdbchecksum
    rdbcompression repl-backlog-size repl-backlog-ttl repl-disable-tcp-nodelay
    repl-diskless-load repl-diskless-sync repl-diskless-sync-delay
    repl-diskless-sync-max-replicas repl-ping-replica-period repl-timeout
    replica-announce-port replica-announced replica-ignore-disk-write-errors
    replica-ignore-maxmemory replica-lazy-flush replica-priority replica-read-only
    replica-serve-stale-data sanitize-dump-payload save set-max-intset-entries
    set-proc-title shutdown-on-sigint shutdown-on-sigterm shutdown-timeout
    slowlog-log-slower-than slowlog-max-len socket-mark-id
    stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries
    supervised syslog-enabled syslog-facility syslog-ident tcp-backlog tcp-keepalive
    timeout tls-auth-clients tls-cluster tls-port tls-prefer-server-ciphers
    tls-replication tls-session-cache-size tls-session-cache-timeout
    tls-session-caching tracking-table-max-keys unixsocketperm use-exit-on-panic
    watchdog-period zset-max-listpack-entries zset-max-listpack-value
""".split()


def test_rewrite_force_all_writes_every_directive_as_redis_does():
    c = Config()
    text = c.rewrite_text("", force_all=True)
    names = [line.split()[0] for line in text.splitlines() if line and line[0] != "#"]
    assert sorted(set(names)) == sorted(REAL_FORCE_ALL)
    # unset ones stay out even so, as Redis leaves them: an empty pidfile, the default
    # bind, no replicaof
    assert not {"pidfile", "bind", "replicaof", "masterauth", "cluster-bus-secret"} & set(names)
    assert "key-load-delay 0" in text.splitlines()       # hidden ones are written too
    again = Config()
    again.load_text(text)
    assert again.get_many(["*"]) == c.get_many(["*"])
    # without force_all, a file with no directives gets only what differs from a default
    plain = c.rewrite_text("")
    assert "hz 10" not in plain and "hz 10" in text


def test_debug_config_rewrite_force_all(tmp_path):
    from cluster.commands import registry  # noqa: F401
    from cluster.execution.dispatch import execute
    from cluster.node import Node
    from cluster.resp.reply import OK, ReplyError
    node = Node()
    node.config.set("enable-debug-command", "yes", startup=True)
    client = node.new_client()
    err = execute(client, [b"DEBUG", b"CONFIG-REWRITE-FORCE-ALL"])
    assert isinstance(err, ReplyError)
    assert err.message == "ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address"
    path = tmp_path / "redis.conf"
    path.write_text("# mine\nport 7000\n")
    node.config.file = str(path)
    assert execute(client, [b"DEBUG", b"CONFIG-REWRITE-FORCE-ALL"]) is OK
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# mine", "port 6379"]
    assert "# Generated by CONFIG REWRITE" in lines and "hz 10" in lines
    err = execute(client, [b"DEBUG", b"CONFIG-REWRITE-FORCE-ALL", b"x"])
    assert err.message.startswith("ERR unknown subcommand or wrong number of arguments for "
                                  "'CONFIG-REWRITE-FORCE-ALL'")


def test_hidden_debugging_directives_answer_only_by_name():
    c = Config()
    for name, value in (("key-load-delay", "0"), ("rdb-key-save-delay", "0"),
                        ("loading-process-events-interval-bytes", "2097152"),
                        ("watchdog-period", "0"), ("use-exit-on-panic", "no")):
        assert name not in c.get_many(["*"])
        assert c.get_many([name]) == {name: value}
    c.set_many([("key-load-delay", "-5"), ("rdb-key-save-delay", "100")])
    assert c["key-load-delay"] == -5 and c["rdb-key-save-delay"] == 100
    with pytest.raises(ConfigSetError) as err:
        c.set_many([("loading-process-events-interval-bytes", "10")])
    assert "must be between 1024 and 2147483647" in err.value.message


def test_config_set_while_loading():
    """DENY_LOADING_CONFIG: dir, appendonly, repl-diskless-load get -LOADING while the
    dataset loads, before other errors in the arguments that follow."""
    c = Config()
    for name in ("dir", "appendonly", "repl-diskless-load"):
        with pytest.raises(ConfigSetError) as err:
            c.set_many([("maxmemory", "1mb"), (name, "x"), ("nosuch", "1")], True,
                       loading=True)
        assert err.value.message == "LOADING Redis is loading the dataset in memory"
    assert c["maxmemory"] == 0
    with pytest.raises(ConfigSetError) as err:        # an error before it goes first
        c.set_many([("daemonize", "yes"), ("dir", "x")], loading=True)
    assert "immutable" in err.value.message
    c.set_many([("loglevel", "debug")], loading=True)
    assert c["loglevel"] == "debug"


def test_appliers_run_for_changed_values_and_roll_back_on_failure():
    c = Config()
    calls = []

    def port(value):
        calls.append(("port", value))
        if value == 7001:
            raise ConfigError("Unable to listen on this port")

    c.appliers["port"] = port
    c.appliers["maxmemory"] = lambda v: calls.append(("maxmemory", v))
    c.set_many([("port", "6379"), ("maxmemory", "0")])      # unchanged: nothing to apply
    assert calls == []
    c.set_many([("port", "7000")])
    assert calls == [("port", 7000)] and c["port"] == 7000
    calls.clear()
    with pytest.raises(ConfigSetError) as err:
        c.set_many([("maxmemory", "10mb"), ("port", "7001"), ("hz", "20")])
    assert err.value.message == ("ERR CONFIG SET failed (possibly related to argument "
                                 "'port') - Unable to listen on this port")
    assert (c["port"], c["maxmemory"], c["hz"]) == (7000, 0, 10)
    assert calls == [("maxmemory", 10 * 1024 * 1024), ("port", 7001), ("maxmemory", 0)]


def test_rename_command_lines():
    from cluster.commands import registry  # noqa: F401
    from cluster.execution.rename import rename_command
    from cluster.execution.table import TABLE
    seen = []
    c = Config()
    c.load_text("rename-command flushdb badger\n")        # no hook: accepted, kept
    c.rename_command = lambda old, new: seen.append((old, new))
    c.load_text('rename-command flushdb ""\n')
    assert seen == [("flushdb", "")]
    with pytest.raises(ConfigFileError) as err:
        c.load_text("rename-command flushdb\n")
    assert err.value.reason == "Bad directive or wrong number of arguments"
    assert "rename-command flushdb badger" in c.rewrite_text(
        "rename-command flushdb badger\n", force_all=True)
    flushdb = TABLE["flushdb"]
    try:
        c.rename_command = rename_command
        c.load_text("rename-command FLUSHDB badger\n")
        assert "flushdb" not in TABLE and TABLE["badger"] is flushdb
        with pytest.raises(ConfigFileError) as err:
            c.load_text("rename-command nosuch x\n")
        assert err.value.reason == "No such command in rename-command"
        with pytest.raises(ConfigFileError) as err:
            c.load_text("rename-command badger get\n")
        assert err.value.reason == "Target command name already exists"
    finally:
        TABLE.pop("badger", None)
        TABLE["flushdb"] = flushdb
