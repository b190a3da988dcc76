"""Configuration directives: one table with Redis 7.0's names, aliases, types and defaults.

`Config` reads redis.conf syntax and `--name value` overrides, and answers CONFIG GET/SET/
REWRITE. Values are stored parsed (ints, bools, strings); `Directive.format` renders them as
CONFIG GET does. The directive table and every error text follow Redis 7.0.15 (config.c);
directives listed here but without an effect in this server are accepted and reported, so
configuration files written for Redis load unchanged.
"""
from __future__ import annotations

import os
from typing import Callable

import attrs

from cluster.protocol import split_inline

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1
LONG_MAX = LLONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1
HZ_MIN, HZ_MAX = 1, 500


class ConfigError(Exception):
    """A bad value: `message` is the reason text Redis puts after ' - '."""


_MEM_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
              "g": 1000**3, "gb": 1024**3}


def memtoull(text: str) -> int | None:
    """Redis's memtoull: digits then an optional unit (b k kb m mb g gb); None if invalid."""
    if text.startswith("-"):
        return None
    i = 0
    while i < len(text) and text[i].isascii() and text[i].isdigit():
        i += 1
    unit = text[i:].lower()
    if unit not in _MEM_UNITS or i >= 128:
        return None
    value = int(text[:i]) if i else 0
    return min(value, ULLONG_MAX) * _MEM_UNITS[unit] % (ULLONG_MAX + 1)


def parse_memory(text: str) -> int:
    value = memtoull(text.strip())
    if value is None:
        raise ConfigError("argument must be a memory value")
    return value


def _string2ll(text: str) -> int | None:
    """Redis's strict string2ll: no spaces, no '+', no leading zeros; int64 range."""
    if not text or len(text) > 20 or not text.isascii():
        return None
    body = text[1:] if text[0] == "-" else text
    if not body.isdigit() or (body[0] == "0" and (len(body) > 1 or text[0] == "-")):
        return None
    value = int(text)
    return value if -LLONG_MAX - 1 <= value <= LLONG_MAX else None


def format_memory(value: int) -> str:
    """rewriteConfigFormatMemory: 1gb / 64mb / 16kb when exact, else plain bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return str(value)


def repr_string(value: str) -> str:
    """sdscatrepr: a double-quoted string with C escapes (how CONFIG REWRITE quotes)."""
    out = ['"']
    for ch in value.encode("utf-8", "surrogateescape"):
        c = chr(ch)
        if c in '\\"':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\a":
            out.append("\\a")
        elif c == "\b":
            out.append("\\b")
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % ch)
    out.append('"')
    return "".join(out)


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
                pct = _string2ll(text[:-1])
                if pct is not None and pct >= 0:
                    return self._check_bounds(-pct)
            raise ConfigError("argument must be a memory or percent value" if self.percent
                              else "argument must be a memory value")
        if self.octal:
            try:
                return int(text, 8)
            except ValueError:
                raise ConfigError("argument couldn't be parsed as an octal number") from None
        value = _string2ll(text)
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


# -- special directives -----------------------------------------------------------------
def _parse_save(args: list[str]) -> str:
    if len(args) == 1 and args[0] == "":
        args = []
    if len(args) % 2:
        raise ConfigError("Invalid save parameters")
    pairs = []
    for j, word in enumerate(args):
        value = _strtoll(word)
        if value is None or (j % 2 == 0 and value < 1) or (j % 2 == 1 and value < 0):
            raise ConfigError("Invalid save parameters")
        pairs.append(str(value))
    return " ".join(pairs)


def _strtoll(word: str) -> int | None:
    """strtoll(word, &end, 10) with *end == 0: leading spaces and a sign allowed."""
    text = word.lstrip(" \t\n\r\f\v")
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        return 0 if word == "" else None
    value = int(text)
    return max(min(value, LLONG_MAX), -LLONG_MAX - 1)


def _rewrite_save(value: str) -> list[tuple[str, bool]]:
    words = value.split()
    if not words:
        return [('save ""', True)]
    return [(f"save {words[i]} {words[i + 1]}", True) for i in range(0, len(words), 2)]


def _parse_bind(args: list[str]) -> str:
    if len(args) > 16:
        raise ConfigError("Too many bind addresses specified.")
    if len(args) == 1 and args[0] == "":
        args = []
    return " ".join(args)


def _rewrite_bind(value: str) -> list[tuple[str, bool]]:
    if value == "* -::*":
        return []
    return [(f"bind {value}" if value else 'bind ""', True)]


def _parse_replicaof(args: list[str]) -> str:
    if len(args) != 2:
        raise ConfigError("wrong number of arguments")
    if args[0].lower() == "no" and args[1].lower() == "one":
        return ""
    port = _strtoll(args[1])
    if port is None or not 0 <= port <= 65535:
        raise ConfigError("Invalid master port")
    return f"{args[0]} {port}"


def _rewrite_replicaof(value: str) -> list[tuple[str, bool]]:
    return [(f"replicaof {value}", True)] if value else []


_NOTIFY_FLAGS = "g$lshzxetdn"      # the classes "A" stands for, in Redis's output order


def _parse_notify(args: list[str]) -> str:
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    chars = set()
    for c in args[0]:
        if c == "A":
            chars.update("g$lshzxetd")
        elif c in _NOTIFY_FLAGS or c in "KEm":
            chars.add(c)
        else:
            raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    if set("g$lshzxetd") <= chars:
        out = "A" + ("n" if "n" in chars else "")
    else:
        out = "".join(c for c in _NOTIFY_FLAGS if c in chars)
    return out + "".join(c for c in "KEm" if c in chars)


def _rewrite_notify(value: str) -> list[tuple[str, bool]]:
    return [(f"notify-keyspace-events {repr_string(value)}", bool(value))]


_OBUF_DEFAULT = {"normal": (0, 0, 0), "slave": (268435456, 67108864, 60),
                 "pubsub": (33554432, 8388608, 60)}


def _obuf_dict(value: str) -> dict[str, tuple[int, int, int]]:
    words = value.split()
    return {words[i]: (int(words[i + 1]), int(words[i + 2]), int(words[i + 3]))
            for i in range(0, len(words), 4)}


def _obuf_text(limits: dict) -> str:
    return " ".join(f"{cls} {h} {s} {sec}" for cls, (h, s, sec) in limits.items())


class _ObufParser:
    """client-output-buffer-limit: classes not named keep their current limits."""

    def __init__(self):
        self.current = _obuf_text(_OBUF_DEFAULT)

    def __call__(self, args: list[str]) -> str:
        if len(args) % 4:
            raise ConfigError("Wrong number of arguments in buffer limit configuration.")
        limits = _obuf_dict(self.current)
        for j in range(0, len(args), 4):
            cls = args[j].lower()
            cls = "slave" if cls == "replica" else cls
            if cls not in _OBUF_DEFAULT:
                raise ConfigError("Invalid client class specified in buffer limit "
                                  "configuration.")
            hard, soft = memtoull(args[j + 1]), memtoull(args[j + 2])
            secs = _strtoll(args[j + 3])
            if hard is None or soft is None or secs is None or secs < 0:
                raise ConfigError("Error in hard, soft or soft_seconds setting in buffer "
                                  "limit configuration.")
            limits[cls] = (hard, soft, secs)
        return _obuf_text(limits)


def _rewrite_obuf(value: str) -> list[tuple[str, bool]]:
    lines = []
    for cls, (hard, soft, secs) in _obuf_dict(value).items():
        name = "replica" if cls == "slave" else cls
        lines.append((f"client-output-buffer-limit {name} {format_memory(hard)} "
                      f"{format_memory(soft)} {secs}", (hard, soft, secs) != _OBUF_DEFAULT[cls]))
    return lines


def _parse_oom_values(args: list[str]) -> str:
    if len(args) != 3:
        raise ConfigError("wrong number of arguments")
    values = []
    for word in args:
        value = _strtoll(word)
        if value is None or not -2000 <= value <= 2000:
            raise ConfigError("Invalid oom-score-adj-values, elements must be between "
                              "-2000 and 2000.")
        values.append(str(value))
    return " ".join(values)


def _format_percentile(value: float) -> str:
    text = "%f" % value
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _parse_percentiles(args: list[str]) -> str:
    if len(args) == 1 and args[0] == "":
        return ""
    out = []
    for word in args:
        try:
            value = float(word)
        except ValueError:
            value = None
        if value is None or value != value or word.strip() != word or not word:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit "
                              "between [0.0,100.0]")
        out.append(_format_percentile(value))
    return " ".join(out)


def _rewrite_percentiles(value: str) -> list[tuple[str, bool]]:
    return [(f"latency-tracking-info-percentiles {value}" if value else
             'latency-tracking-info-percentiles ""', True)]


def _parse_dir(args: list[str]) -> str:
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    path = args[0]
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(2 if not os.path.exists(path) else 20))
    return os.path.abspath(path)


def _rewrite_dir(value: str) -> list[tuple[str, bool]]:
    return [(f"dir {repr_string(os.getcwd())}", True)]


def _valid_basename(what: str, allow_empty: bool):
    def check(value: str) -> None:
        if not allow_empty and value == "":
            raise ConfigError(f"{what} can't be empty")
        if "/" in value:
            raise ConfigError(f"{what} can't be a path, just a filename")
    return check


def _valid_shutdown(value: str) -> None:
    words = value.split()
    if "save" in words and "nosave" in words:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")


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
    B("appendonly", False),
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
      validator=_valid_basename("dbfilename", True)),
    S("appendfilename", "appendonly.aof", False,
      validator=_valid_basename("appendfilename", False)),
    S("appenddirname", "appendonlydir", False,
      validator=_valid_basename("appenddirname", False)),
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
    # enums
    E("supervised", "upstart systemd auto no", "no", False),
    E("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7",
      "local0", False),
    E("repl-diskless-load", "disabled on-empty-db swapdb", "disabled"),
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
      bitflags=True, validator=_valid_shutdown),
    E("shutdown-on-sigterm", "default save nosave now force", "default", multi_arg=True,
      bitflags=True, validator=_valid_shutdown),
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
    X("dir", ".", _parse_dir, multi_arg=False, protected=True,
      formatter=os.path.abspath, rewriter=_rewrite_dir),
    X("save", "3600 1 300 100 60 10000", _parse_save, rewriter=_rewrite_save),
    X("client-output-buffer-limit", _obuf_text(_OBUF_DEFAULT), None, rewriter=_rewrite_obuf),
    X("oom-score-adj-values", "0 200 800", _parse_oom_values),
    X("notify-keyspace-events", "", _parse_notify, multi_arg=False, rewriter=_rewrite_notify),
    X("bind", "* -::*", _parse_bind, rewriter=_rewrite_bind),
    X("replicaof", "", _parse_replicaof, False, alias="slaveof", rewriter=_rewrite_replicaof),
    X("latency-tracking-info-percentiles", "50 99 99.9", _parse_percentiles,
      rewriter=_rewrite_percentiles),
]


def _directive_table() -> list[Directive]:
    """Fresh copies, so per-Config state (client-output-buffer-limit) is not shared."""
    return [attrs.evolve(d) for d in DIRECTIVES]


REWRITE_SIGNATURE = "# Generated by CONFIG REWRITE"
# Directives the file loader understands besides the table (kept by CONFIG REWRITE).
_FILE_ONLY = ("include", "rename-command", "user", "loadmodule", "sentinel")
_DEPRECATED = ("list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands")


class Config:
    """Live configuration of one node."""

    def __init__(self, directives: list[Directive] | None = None):
        directives = directives if directives is not None else _directive_table()
        self._by_name: dict[str, Directive] = {}
        for d in directives:
            if d.name == "client-output-buffer-limit" and d.parser is None:
                d.parser = _ObufParser()
            self._by_name[d.name] = d
            for alias in d.aliases:
                self._by_name[alias] = d
        self._canonical = list(directives)
        self.values: dict[str, object] = {d.name: d.default for d in directives}
        self.file: str | None = None
        self.listeners: list[Callable[[str, object], None]] = []
        self._save_loaded = False

    def directive(self, name: str) -> Directive | None:
        return self._by_name.get(name.lower())

    def __getitem__(self, name: str):
        return self.values[self._by_name[name].name]

    def format(self, name: str) -> str:
        d = self._by_name[name.lower()]
        return d.format(self.values[d.name])

    # -- setting ------------------------------------------------------------------
    def _store(self, d: Directive, value) -> None:
        if d.name == "hz":
            value = max(HZ_MIN, min(HZ_MAX, value))
        if isinstance(d.parser, _ObufParser):
            d.parser.current = value
        self.values[d.name] = value
        for listener in self.listeners:
            listener(d.name, value)

    def set(self, name: str, text: str, startup: bool = False) -> None:
        """Parse and apply one value; raises KeyError (unknown) or ConfigError (bad value)."""
        d = self._by_name.get(name.lower())
        if d is None:
            raise KeyError(name)
        if not startup and not d.mutable:
            raise ConfigError("can't set immutable config")
        self._store(d, d.parse(text))

    def set_many(self, pairs: list[tuple[str, str]], protected_ok: bool = False) -> None:
        """CONFIG SET: all or nothing. Raises ConfigSetError with Redis's reply text."""
        found: list[Directive] = []
        unknown = err_name = err = None
        for name, _ in pairs:
            d = self._by_name.get(name.lower())
            if d is None:
                if unknown is None and err is None:
                    unknown = name
                continue
            if unknown is not None or err is not None:
                continue
            if not d.mutable or (d.protected and not protected_ok):
                err_name, err = name, ("can't set immutable config" if not d.mutable
                                       else "can't set protected config")
            elif d in found:
                err_name, err = name, "duplicate parameter"
            found.append(d)
        if unknown is not None:
            raise ConfigSetError("ERR Unknown option or number of arguments for CONFIG SET - "
                                 f"'{unknown}'")
        if err is not None:
            raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                 f"'{err_name}') - {err}")
        parsed = []
        for d, (_, text) in zip(found, pairs):
            try:
                parsed.append((d, d.parse(text)))
            except ConfigError as exc:
                raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                     f"'{d.name}') - {exc}") from None
        old = [(d, self.values[d.name]) for d, _ in parsed]
        try:
            for d, value in parsed:
                if d.name == "dir":
                    os.chdir(value)
                self._store(d, value)
        except OSError as exc:
            for d, value in old:
                self.values[d.name] = value
            raise ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument "
                                 f"'dir') - {exc.strerror}") from None

    # -- getting ------------------------------------------------------------------
    def get_matching(self, pattern: str) -> dict[str, str]:
        """CONFIG GET: every name (aliases included) matching the glob, with its value."""
        return self.get_many([pattern])

    def get_many(self, patterns: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for pattern in patterns:
            pat = pattern.lower()
            if not any(c in pat for c in "*?["):
                d = self._by_name.get(pat)
                if d is not None and pattern not in out:
                    out[pattern] = d.format(self.values[d.name])   # the name as typed
                continue
            from cluster.glob import stringmatch   # Redis's matcher, case-insensitive
            raw = pattern.encode("utf-8", "surrogateescape")
            for name, d in self._by_name.items():
                if name not in out and stringmatch(raw, name.encode(), nocase=True):
                    out[name] = d.format(self.values[d.name])
        return out

    # -- loading ------------------------------------------------------------------
    def load_text(self, text: str, first_line: int = 1) -> None:
        """Apply redis.conf text; raises ConfigFileError with Redis's fatal message."""
        for lineno, raw in enumerate(text.split("\n"), first_line):
            line = raw.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            words = split_inline(line.encode("utf-8", "surrogateescape"))
            if words is None:
                raise ConfigFileError(lineno, line, "Unbalanced quotes in configuration line")
            if not words:
                continue
            args = [w.decode("utf-8", "surrogateescape") for w in words]
            name = args[0].lower()
            d = self._by_name.get(name)
            if d is not None:
                try:
                    self._load_directive(d, args[1:])
                except ConfigError as err:
                    raise ConfigFileError(lineno, line, str(err)) from None
                continue
            if name in _DEPRECATED and len(args) == 2:
                continue
            if name == "include" and len(args) == 2:
                self.include(args[1])
                continue
            raise ConfigFileError(lineno, line, "Bad directive or wrong number of arguments")

    def _load_directive(self, d: Directive, args: list[str]) -> None:
        multi = d.multi_arg
        if not multi and len(args) != 1:
            raise ConfigError("wrong number of arguments")
        if multi and len(args) == 1 and args[0]:
            split = split_inline(args[0].encode("utf-8", "surrogateescape")) or []
            args = [w.decode("utf-8", "surrogateescape") for w in split]
        value = d.parse_args(args)
        if d.name == "save" and not self._save_loaded:
            self._save_loaded = True   # the first `save` line replaces the defaults
        elif d.name == "save" and value:
            current = self.values["save"]
            value = f"{current} {value}".strip() if current else value
        if d.name == "dir":
            try:
                os.chdir(value)
            except OSError as exc:
                raise ConfigError(exc.strerror) from None
        self._store(d, value)

    def include(self, path: str) -> None:
        """`include` (globs allowed; a glob matching nothing is skipped, as Redis does)."""
        import glob
        if any(c in path for c in "*?["):
            for one in sorted(glob.glob(path)):
                self.load_text(read_config_file(one))
            return
        self.load_text(read_config_file(path))

    def load_args(self, args: list[str], first_line: int = 1) -> None:
        """`--port 7000 --save ""` style overrides, applied like config file lines."""
        self.load_text(options_text(args), first_line)

    # -- rewriting ----------------------------------------------------------------
    def rewrite_text(self, old: str = "") -> str:
        """CONFIG REWRITE: keep the old file's comments and unknown lines, replace known
        directives in place, blank their leftovers, append the rest after a signature."""
        lines: list[str] = []
        where: dict[str, list[int]] = {}
        needs_signature = True
        for raw in (old.split("\n") if old else []):
            line = raw.strip("\r\n\t ")
            if not line or line.startswith("#"):
                if line == REWRITE_SIGNATURE:
                    needs_signature = False
                lines.append(line)
                continue
            words = split_inline(line.encode("utf-8", "surrogateescape"))
            name = words[0].decode("utf-8", "surrogateescape").lower() if words else ""
            d = self._by_name.get(name)
            if not words or (d is None and name not in _FILE_ONLY):
                lines.append("# ??? " + line)
                continue
            where.setdefault(d.name if d is not None else name, []).append(len(lines))
            lines.append(line)
        processed: set[str] = set()
        for d in self._canonical:
            processed.add(d.name)
            for new, force in d.rewrite_lines(self.values[d.name]):
                slots = where.get(d.name)
                if slots:
                    lines[slots.pop(0)] = new
                elif force:
                    if needs_signature:
                        lines.append(REWRITE_SIGNATURE)
                        needs_signature = False
                    lines.append(new)
        for name, slots in where.items():
            if name in processed:
                for i in slots:
                    lines[i] = ""
        out, was_empty = [], False
        for line in lines:
            if not line:
                if was_empty:
                    continue
                was_empty = True
            else:
                was_empty = False
            out.append(line + "\n")
        return "".join(out)

    def rewrite(self) -> None:
        """Rewrite `self.file` atomically (temp file + fsync + rename), as Redis does."""
        if not self.file:
            raise ConfigError("The server is running without a config file")
        try:
            with open(self.file, encoding="utf-8", errors="surrogateescape") as f:
                old = f.read()
        except FileNotFoundError:
            old = ""
        content = self.rewrite_text(old)
        tmp = f"{self.file}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.file)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def read_config_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as err:
        raise ConfigOpenError(path, err.strerror) from None


def options_text(args: list[str]) -> str:
    """Redis's main(): `--name v1 v2` becomes the config line `name "v1" "v2"`."""
    lines: list[str] = []
    cur: str | None = None
    handled = True
    for i, arg in enumerate(args):
        if handled and arg.startswith("--"):
            if cur is not None:
                lines.append(cur)
            cur = arg[2:] + " "
            parts = split_inline(arg.encode("utf-8", "surrogateescape")) or []
            if len(parts) == 1:
                handled = False
                last = i == len(args) - 1
                if arg.lower() == "--save" and (last or args[i + 1].startswith("--")):
                    cur += '""'
                    handled = True
            else:
                handled = True
        else:
            cur = (cur if cur is not None else "") + repr_string(arg) + " "
            handled = True
    if cur is not None:
        lines.append(cur)
    return "\n".join(lines)


class ConfigSetError(Exception):
    """CONFIG SET failure: `message` is the whole error reply."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigOpenError(Exception):
    """A configuration file could not be opened (Redis logs this and exits 1)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"Fatal error, can't open config file '{path}': {reason}")
        self.path, self.reason = path, reason


class ConfigFileError(Exception):
    def __init__(self, lineno: int | None, line: str, reason: str):
        super().__init__(reason)
        self.lineno, self.line, self.reason = lineno, line, reason

    def report(self, version: str) -> str:
        """The text Redis writes to stderr before exiting with status 1 (a check made
        after reading every line, such as the log file's, names no line)."""
        where = "" if self.lineno is None else (
            f"Reading the configuration file, at line {self.lineno}\n"
            f">>> '{self.line.strip(' ' + chr(9) + chr(13) + chr(10))}'\n")
        return f"\n*** FATAL CONFIG FILE ERROR (Redis {version}) ***\n{where}{self.reason}\n"
