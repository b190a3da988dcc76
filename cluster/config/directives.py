"""The directive table: every Redis 7.0 configuration directive with its name, aliases,
kind, bounds and default, and `Directive`, which parses a value as CONFIG SET / redis.conf
give it and renders it as CONFIG GET and CONFIG REWRITE write it. The table and every error
text follow Redis 7.0.15 (config.c); directives listed here but without an effect in this
server are accepted and reported, so configuration files written for Redis load unchanged.
"""
from __future__ import annotations

import os
from typing import Callable

import attrs

from cluster.config import special
from cluster.config.values import (INT_MAX, INT_MIN, LLONG_MAX, LONG_MAX, UINT_MAX, ULLONG_MAX,
                                   ConfigError, format_memory, memtoull, repr_string,
                                   string2ll)


@attrs.define
class Directive:
    name: str
    kind: str                    # bool | int | memory | enum | string | special
    default: object
    mutable: bool = True
    aliases: tuple[str, ...] = ()
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()            # enum names, in Redis's order
    same: dict = attrs.field(factory=dict)   # enum synonym -> canonical name
    multi_arg: bool = False                  # MULTI_ARG_CONFIG: value is several words
    bitflags: bool = False                   # multi-word enum OR-ing flags
    percent: bool = False                    # memory value or "N%" (stored negative)
    octal: bool = False
    empty_is_null: bool = False              # "" means unset (not rewritten)
    parser: Callable[[list[str]], object] | None = None
    formatter: Callable[[object], str] | None = None
    rewriter: Callable[[object], list[tuple[str, bool]]] | None = None  # -> [(line, force)]
    validator: Callable[[object], None] | None = None
    sensitive: bool = False
    protected: bool = False
    hidden: bool = False                     # HIDDEN_CONFIG: not listed by CONFIG GET globs
    deny_loading: bool = False               # DENY_LOADING_CONFIG: CONFIG SET refused while
                                             # the dataset loads (-LOADING)

    # -- parsing ------------------------------------------------------------------
    def parse(self, text: str):
        """Parse a CONFIG SET value (multi-arg values split on single spaces)."""
        return self.parse_args(text.split(" ") if self.multi_arg and text else [text])

    def parse_args(self, args: list[str]):
        value = self._parse(args)
        if self.validator is not None:
            self.validator(value)
        return value

    def _parse(self, args: list[str]):
        if self.parser is not None:
            return self.parser(args)
        if self.kind == "enum":
            return self._parse_enum(args)
        text = args[0]
        if self.kind == "bool":
            low = text.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return low == "yes"
        if self.kind in ("int", "memory"):
            value = self._parse_number(text)
            return value if self.kind == "memory" else self._check_bounds(value)
        return text

    def _parse_number(self, text: str) -> int:
        if self.kind == "memory":
            value = memtoull(text)
            if value is not None:
                if self.hi <= LLONG_MAX and value > LLONG_MAX:
                    value -= 2**64          # Redis stores it in a signed long long
                return self._check_bounds(value)
            if self.percent and len(text) > 1 and text.endswith("%"):
                pct = string2ll(text[:-1])
                if pct is not None and pct >= 0:
                    return self._check_bounds(-pct)
            raise ConfigError("argument must be a memory or percent value" if self.percent
                              else "argument must be a memory value")
        if self.octal:
            try:
                return int(text, 8)
            except ValueError:
                raise ConfigError("argument couldn't be parsed as an octal number") from None
        value = string2ll(text)
        if value is None:
            raise ConfigError("argument couldn't be parsed into an integer")
        return value

    def _check_bounds(self, value: int) -> int:
        lo, hi = self.lo, self.hi
        if self.percent and value < 0:
            if value < lo:
                raise ConfigError(f"percentage argument must be less or equal to {-lo}")
            return value
        if value < lo or value > hi:
            if self.octal:
                raise ConfigError(f"argument must be between {lo:o} and {hi:o} inclusive")
            raise ConfigError(f"argument must be between {lo} and {hi} inclusive")
        return value

    def _parse_enum(self, args: list[str]) -> str:
        if not args or (not self.bitflags and len(args) != 1):
            raise self._enum_error()
        names = []
        for word in args:
            low = word.lower()
            if low not in self.choices:
                raise self._enum_error()
            names.append(self.same.get(low, low))
        if not self.bitflags:
            return names[0]
        picked = {n for n in names if n != "default"}
        ordered = [c for c in self.choices if c in picked]
        return " ".join(ordered) if ordered else "default"

    def _enum_error(self) -> ConfigError:
        return ConfigError("argument(s) must be one of the following: " + ", ".join(self.choices))

    # -- rendering ----------------------------------------------------------------
    def format(self, value) -> str:
        if self.formatter is not None:
            return self.formatter(value)
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.percent and value < 0:
            return f"{-value}%"
        if self.octal:
            return f"{value:o}"
        return str(value)

    def rewrite_lines(self, value) -> list[tuple[str, bool]]:
        """[(line, force)] for CONFIG REWRITE; force: write it even if not in the file.
        An empty list drops the directive's lines from the file."""
        if self.rewriter is not None:
            return self.rewriter(value)
        force = value != self.default
        if self.kind == "string":
            if self.empty_is_null and value == "":
                return []
            return [(f"{self.name} {repr_string(value)}", force)]
        if self.kind == "memory" and not (self.percent and value < 0):
            return [(f"{self.name} {format_memory(value)}", force)]
        return [(f"{self.name} {self.format(value)}", force)]


# -- the table --------------------------------------------------------------------------
def B(name, default, mutable=True, alias=(), **kw) -> Directive:
    return Directive(name, "bool", default, mutable, _aliases(alias), **kw)


def S(name, default="", mutable=True, alias=(), null=False, **kw) -> Directive:
    return Directive(name, "string", default, mutable, _aliases(alias), empty_is_null=null, **kw)


def I(name, lo, hi, default, mutable=True, alias=(), **kw) -> Directive:  # noqa: E743
    return Directive(name, "int", default, mutable, _aliases(alias), lo=lo, hi=hi, **kw)


def M(name, lo, hi, default, mutable=True, alias=(), **kw) -> Directive:
    return Directive(name, "memory", default, mutable, _aliases(alias), lo=lo, hi=hi, **kw)


def E(name, choices, default, mutable=True, same=None, **kw) -> Directive:
    return Directive(name, "enum", default, mutable, choices=tuple(choices.split()),
                     same=same or {}, **kw)


def X(name, default, parser, mutable=True, alias=(), **kw) -> Directive:
    return Directive(name, "special", default, mutable, _aliases(alias), parser=parser,
                     multi_arg=kw.pop("multi_arg", True), **kw)


def _aliases(alias) -> tuple[str, ...]:
    return (alias,) if isinstance(alias, str) else tuple(alias)


_POLICIES = ("volatile-lru volatile-lfu volatile-random volatile-ttl allkeys-lru "
             "allkeys-lfu allkeys-random noeviction")
_PROTECTED_ACTION = "no yes local"

DIRECTIVES: list[Directive] = [
    # bool
    B("rdbchecksum", True, False),
    B("daemonize", False, False),
    B("io-threads-do-reads", False, False),
    B("always-show-logo", False, False),
    B("protected-mode", True),
    B("rdbcompression", True),
    B("rdb-del-sync-files", False),
    B("activerehashing", True),
    B("stop-writes-on-bgsave-error", True),
    B("set-proc-title", True, False),
    B("dynamic-hz", True),
    B("lazyfree-lazy-eviction", False),
    B("lazyfree-lazy-expire", False),
    B("lazyfree-lazy-server-del", False),
    B("lazyfree-lazy-user-del", False),
    B("lazyfree-lazy-user-flush", False),
    B("repl-disable-tcp-nodelay", False),
    B("repl-diskless-sync", True),
    B("aof-rewrite-incremental-fsync", True),
    B("no-appendfsync-on-rewrite", False),
    B("cluster-require-full-coverage", True),
    B("rdb-save-incremental-fsync", True),
    B("aof-load-truncated", True),
    B("aof-use-rdb-preamble", True),
    B("aof-timestamp-enabled", False),
    B("cluster-replica-no-failover", False, alias="cluster-slave-no-failover"),
    B("replica-lazy-flush", False, alias="slave-lazy-flush"),
    B("replica-serve-stale-data", True, alias="slave-serve-stale-data"),
    B("replica-read-only", True, alias="slave-read-only"),
    B("replica-ignore-maxmemory", True, alias="slave-ignore-maxmemory"),
    B("jemalloc-bg-thread", True),
    B("activedefrag", False),
    B("syslog-enabled", False, False),
    B("cluster-enabled", False, False),
    B("appendonly", False, deny_loading=True),
    B("cluster-allow-reads-when-down", False),
    B("cluster-allow-pubsubshard-when-down", True),
    B("crash-log-enabled", True),
    B("crash-memcheck-enabled", True),
    B("disable-thp", True, False),
    B("cluster-allow-replica-migration", True),
    B("replica-announced", True),
    B("latency-tracking", True),
    B("aof-disable-auto-gc", False),
    B("replica-ignore-disk-write-errors", False),
    # strings
    S("aclfile", "", False),
    S("unixsocket", "", False, null=True),
    S("pidfile", "", False, null=True),
    S("replica-announce-ip", "", alias="slave-announce-ip", null=True),
    S("masteruser", "", null=True, sensitive=True),
    S("cluster-announce-ip", "", null=True),
    S("cluster-config-file", "nodes.conf", False),
    S("cluster-announce-hostname", "", null=True),
    S("syslog-ident", "redis", False),
    S("dbfilename", "dump.rdb", protected=True,
      validator=special.valid_basename("dbfilename", True)),
    S("appendfilename", "appendonly.aof", False,
      validator=special.valid_basename("appendfilename", False)),
    S("appenddirname", "appendonlydir", False,
      validator=special.valid_basename("appenddirname", False)),
    S("server_cpulist", "", False, null=True),
    S("bio_cpulist", "", False, null=True),
    S("aof_rewrite_cpulist", "", False, null=True),
    S("bgsave_cpulist", "", False, null=True),
    S("ignore-warnings", ""),
    S("proc-title-template", "{title} {listen-addr} {server-mode}"),
    S("bind-source-addr", "", null=True),
    S("logfile", "", False),
    S("masterauth", "", null=True, sensitive=True),
    S("requirepass", "", null=True, sensitive=True),
    # Ours (not in Redis): HMAC-SHA256 key of every cluster bus frame; hidden from
    # `CONFIG GET *` so the listing stays Redis's.
    S("cluster-bus-secret", "", False, null=True, sensitive=True, hidden=True),
    # Redis's hidden debugging knobs (HIDDEN_CONFIG): named, they answer CONFIG GET/SET;
    # accepted and reported, their delays are not applied here.
    B("use-exit-on-panic", False, hidden=True),
    I("rdb-key-save-delay", INT_MIN, INT_MAX, 0, hidden=True),
    I("key-load-delay", INT_MIN, INT_MAX, 0, hidden=True),
    I("watchdog-period", 0, INT_MAX, 0, hidden=True),
    I("loading-process-events-interval-bytes", 1024, INT_MAX, 2 * 1024 * 1024, hidden=True),
    # enums
    E("supervised", "upstart systemd auto no", "no", False),
    E("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7",
      "local0", False),
    E("repl-diskless-load", "disabled on-empty-db swapdb", "disabled", deny_loading=True),
    E("loglevel", "debug verbose notice warning", "notice"),
    E("maxmemory-policy", _POLICIES, "noeviction"),
    E("appendfsync", "everysec always no", "everysec"),
    E("oom-score-adj", "no yes relative absolute", "no", same={"relative": "yes"}),
    E("acl-pubsub-default", "allchannels resetchannels", "resetchannels"),
    E("sanitize-dump-payload", "no yes clients", "no"),
    E("enable-protected-configs", _PROTECTED_ACTION, "no", False),
    E("enable-debug-command", _PROTECTED_ACTION, "no", False),
    E("enable-module-command", _PROTECTED_ACTION, "no", False),
    E("cluster-preferred-endpoint-type", "ip hostname unknown-endpoint", "ip"),
    E("propagation-error-behavior", "ignore panic panic-on-replicas", "ignore"),
    E("shutdown-on-sigint", "default save nosave now force", "default", multi_arg=True,
      bitflags=True, validator=special.valid_shutdown),
    E("shutdown-on-sigterm", "default save nosave now force", "default", multi_arg=True,
      bitflags=True, validator=special.valid_shutdown),
    # integers
    I("databases", 1, INT_MAX, 16, False),
    I("port", 0, 65535, 6379),
    I("io-threads", 1, 128, 1, False),
    I("auto-aof-rewrite-percentage", 0, INT_MAX, 100),
    I("cluster-replica-validity-factor", 0, INT_MAX, 10, alias="cluster-slave-validity-factor"),
    I("list-max-listpack-size", INT_MIN, INT_MAX, -2, alias="list-max-ziplist-size"),
    I("tcp-keepalive", 0, INT_MAX, 300),
    I("cluster-migration-barrier", 0, INT_MAX, 1),
    I("active-defrag-cycle-min", 1, 99, 1),
    I("active-defrag-cycle-max", 1, 99, 25),
    I("active-defrag-threshold-lower", 0, 1000, 10),
    I("active-defrag-threshold-upper", 0, 1000, 100),
    I("lfu-log-factor", 0, INT_MAX, 10),
    I("lfu-decay-time", 0, INT_MAX, 1),
    I("replica-priority", 0, INT_MAX, 100, alias="slave-priority"),
    I("repl-diskless-sync-delay", 0, INT_MAX, 5),
    I("maxmemory-samples", 1, INT_MAX, 5),
    I("maxmemory-eviction-tenacity", 0, 100, 10),
    I("timeout", 0, INT_MAX, 0),
    I("replica-announce-port", 0, 65535, 0, alias="slave-announce-port"),
    I("tcp-backlog", 0, INT_MAX, 511, False),
    I("cluster-port", 0, 65535, 0, False),
    I("cluster-announce-bus-port", 0, 65535, 0),
    I("cluster-announce-port", 0, 65535, 0),
    I("cluster-announce-tls-port", 0, 65535, 0),
    I("repl-timeout", 1, INT_MAX, 60),
    I("repl-ping-replica-period", 1, INT_MAX, 10, alias="repl-ping-slave-period"),
    I("list-compress-depth", 0, INT_MAX, 0),
    I("active-expire-effort", 1, 10, 1),
    I("hz", 0, INT_MAX, 10),
    I("min-replicas-to-write", 0, INT_MAX, 0, alias="min-slaves-to-write"),
    I("min-replicas-max-lag", 0, INT_MAX, 10, alias="min-slaves-max-lag"),
    I("shutdown-timeout", 0, INT_MAX, 10),
    I("repl-diskless-sync-max-replicas", 0, INT_MAX, 0),
    I("maxclients", 1, UINT_MAX, 10000),
    I("unixsocketperm", 0, 0o777, 0, False, octal=True),
    I("socket-mark-id", 0, UINT_MAX, 0, False),
    I("active-defrag-max-scan-fields", 1, LONG_MAX, 1000),
    I("slowlog-max-len", 0, LONG_MAX, 128),
    I("acllog-max-len", 0, LONG_MAX, 128),
    I("busy-reply-threshold", 0, LONG_MAX, 5000, alias="lua-time-limit"),
    I("cluster-node-timeout", 0, LLONG_MAX, 15000),
    I("slowlog-log-slower-than", -1, LLONG_MAX, 10000),
    I("latency-monitor-threshold", 0, LLONG_MAX, 0),
    M("proto-max-bulk-len", 1024 * 1024, LONG_MAX, 512 * 1024 * 1024),
    I("stream-node-max-entries", 0, LLONG_MAX, 100),
    M("repl-backlog-size", 1, LLONG_MAX, 1024 * 1024),
    M("maxmemory", 0, ULLONG_MAX, 0),
    M("cluster-link-sendbuf-limit", 0, ULLONG_MAX, 0),
    I("hash-max-listpack-entries", 0, LONG_MAX, 512, alias="hash-max-ziplist-entries"),
    I("set-max-intset-entries", 0, LONG_MAX, 512),
    I("zset-max-listpack-entries", 0, LONG_MAX, 128, alias="zset-max-ziplist-entries"),
    M("active-defrag-ignore-bytes", 1, LLONG_MAX, 100 << 20),
    M("hash-max-listpack-value", 0, LONG_MAX, 64, alias="hash-max-ziplist-value"),
    M("stream-node-max-bytes", 0, LONG_MAX, 4096),
    M("zset-max-listpack-value", 0, LONG_MAX, 64, alias="zset-max-ziplist-value"),
    M("hll-sparse-max-bytes", 0, LONG_MAX, 3000),
    I("tracking-table-max-keys", 0, LONG_MAX, 1000000),
    M("client-query-buffer-limit", 1024 * 1024, LONG_MAX, 1024 * 1024 * 1024),
    M("maxmemory-clients", -100, LONG_MAX, 0, percent=True),
    I("repl-backlog-ttl", 0, LONG_MAX, 3600),
    M("auto-aof-rewrite-min-size", 0, LLONG_MAX, 64 * 1024 * 1024),
    # tls (accepted and reported; TLS itself is not implemented)
    I("tls-port", 0, 65535, 0),
    I("tls-session-cache-size", 0, INT_MAX, 20 * 1024),
    I("tls-session-cache-timeout", 0, INT_MAX, 300),
    B("tls-cluster", False),
    B("tls-replication", False),
    E("tls-auth-clients", "no yes optional", "yes"),
    B("tls-prefer-server-ciphers", False),
    B("tls-session-caching", True),
    S("tls-cert-file", null=True),
    S("tls-key-file", null=True),
    S("tls-key-file-pass", null=True),
    S("tls-client-cert-file", null=True),
    S("tls-client-key-file", null=True),
    S("tls-client-key-file-pass", null=True),
    S("tls-dh-params-file", null=True),
    S("tls-ca-cert-file", null=True),
    S("tls-ca-cert-dir", null=True),
    S("tls-protocols", null=True),
    S("tls-ciphers", null=True),
    S("tls-ciphersuites", null=True),
    # special
    X("dir", ".", special.parse_dir, multi_arg=False, protected=True, deny_loading=True,
      formatter=os.path.abspath, rewriter=special.rewrite_dir),
    X("save", "3600 1 300 100 60 10000", special.parse_save, rewriter=special.rewrite_save),
    X("client-output-buffer-limit", special.obuf_text(special.OBUF_DEFAULT), None,
      rewriter=special.rewrite_obuf),
    X("oom-score-adj-values", "0 200 800", special.parse_oom_values),
    X("notify-keyspace-events", "", special.parse_notify, multi_arg=False,
      rewriter=special.rewrite_notify),
    X("bind", "* -::*", special.parse_bind, rewriter=special.rewrite_bind),
    X("replicaof", "", special.parse_replicaof, False, alias="slaveof",
      rewriter=special.rewrite_replicaof),
    X("latency-tracking-info-percentiles", "50 99 99.9", special.parse_percentiles,
      rewriter=special.rewrite_percentiles),
]


def directive_table() -> list[Directive]:
    """Fresh copies, so per-Config state (client-output-buffer-limit) is not shared."""
    return [attrs.evolve(d) for d in DIRECTIVES]
