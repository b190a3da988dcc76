"""Configuration directives: one table with Redis's names, aliases, types and defaults.

`Config` reads redis.conf syntax and `--name value` overrides, and answers CONFIG GET/SET.
Values are stored parsed (ints, bools, strings); `format` renders them as CONFIG GET does.
"""
from __future__ import annotations

import fnmatch
import re
import shlex
from typing import Callable

import attrs


class ConfigError(Exception):
    """A bad value: `message` is the reason text Redis puts after ' - '."""


_MEM_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
              "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    m = re.fullmatch(r"(-?\d+)([a-zA-Z]*)", text.strip())
    if not m or m.group(2).lower() not in _MEM_UNITS:
        raise ConfigError("argument must be a memory value")
    return int(m.group(1)) * _MEM_UNITS[m.group(2).lower()]


@attrs.define
class Directive:
    name: str
    kind: str                    # bool | int | memory | enum | string | special
    default: object
    mutable: bool = True
    aliases: tuple[str, ...] = ()
    lo: int | None = None
    hi: int | None = None
    choices: tuple[str, ...] = ()
    multi_enum: bool = False     # enum taking several words (e.g. keyspace events style)
    parser: Callable[[str], object] | None = None
    formatter: Callable[[object], str] | None = None
    sensitive: bool = False

    def parse(self, text: str):
        if self.parser is not None:
            return self.parser(text)
        if self.kind == "bool":
            low = text.lower()
            if low not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return low == "yes"
        if self.kind in ("int", "memory"):
            if self.kind == "memory":
                value = parse_memory(text)
            else:
                try:
                    value = int(text)
                except ValueError:
                    raise ConfigError("argument couldn't be parsed into an integer") from None
            if (self.lo is not None and value < self.lo) or \
                    (self.hi is not None and value > self.hi):
                raise ConfigError(f"argument must be between {self.lo} and {self.hi} inclusive")
            return value
        if self.kind == "enum":
            words = text.lower().split() if self.multi_enum else [text.lower()]
            for w in words:
                if w not in self.choices:
                    raise ConfigError("argument(s) must be one of the following: "
                                      + ", ".join(self.choices))
            return " ".join(words)
        return text

    def format(self, value) -> str:
        if self.formatter is not None:
            return self.formatter(value)
        if self.kind == "bool":
            return "yes" if value else "no"
        return str(value)


def _d(name, kind, default, **kw) -> Directive:
    return Directive(name, kind, default, **kw)


DIRECTIVES: list[Directive] = [
    _d("port", "int", 6379, lo=0, hi=65535),
    _d("bind", "string", "* -::*"),
    _d("unixsocket", "string", "", mutable=False),
    _d("protected-mode", "bool", True),
    _d("tcp-backlog", "int", 511, mutable=False, lo=0),
    _d("timeout", "int", 0, lo=0),
    _d("tcp-keepalive", "int", 300, lo=0),
    _d("daemonize", "bool", False, mutable=False),
    _d("pidfile", "string", "", mutable=False),
    _d("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning")),
    _d("logfile", "string", "", mutable=False),
    _d("databases", "int", 16, mutable=False, lo=1, hi=2**31 - 1),
    _d("dir", "string", "."),
    _d("dbfilename", "string", "dump.rdb"),
    _d("save", "string", "3600 1 300 100 60 10000"),
    _d("appendonly", "bool", False),
    _d("appendfilename", "string", "appendonly.aof", mutable=False),
    _d("appenddirname", "string", "appendonlydir", mutable=False),
    _d("appendfsync", "enum", "everysec", choices=("always", "everysec", "no")),
    _d("requirepass", "string", "", sensitive=True),
    _d("masterauth", "string", "", sensitive=True),
    _d("masteruser", "string", ""),
    _d("maxclients", "int", 10000, lo=1),
    _d("maxmemory", "memory", 0, lo=0),
    _d("maxmemory-policy", "enum", "noeviction",
       choices=("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    _d("maxmemory-samples", "int", 5, lo=1, hi=64),
    _d("lfu-log-factor", "int", 10, lo=0),
    _d("lfu-decay-time", "int", 1, lo=0),
    _d("hz", "int", 10, lo=1, hi=500),
    _d("dynamic-hz", "bool", True),
    _d("proto-max-bulk-len", "memory", 512 * 1024 * 1024, lo=1024 * 1024),
    _d("client-query-buffer-limit", "memory", 1024 * 1024 * 1024, lo=1024 * 1024),
    _d("slowlog-log-slower-than", "int", 10000, lo=-1),
    _d("slowlog-max-len", "int", 128, lo=0),
    _d("latency-monitor-threshold", "int", 0, lo=0),
    _d("lazyfree-lazy-user-flush", "bool", False),
    _d("lazyfree-lazy-user-del", "bool", False),
    _d("cluster-enabled", "bool", False, mutable=False),
    _d("cluster-config-file", "string", "nodes.conf", mutable=False),
    _d("cluster-node-timeout", "int", 15000, lo=0),
    _d("cluster-port", "int", 0, mutable=False, lo=0, hi=65535),
    _d("replicaof", "string", "", mutable=False, aliases=("slaveof",)),
    _d("replica-read-only", "bool", True, aliases=("slave-read-only",)),
    _d("replica-serve-stale-data", "bool", True, aliases=("slave-serve-stale-data",)),
    _d("replica-priority", "int", 100, lo=0, aliases=("slave-priority",)),
    _d("repl-backlog-size", "memory", 1024 * 1024, lo=1),
    _d("repl-timeout", "int", 60, lo=1),
    _d("repl-diskless-sync", "bool", True),
    _d("min-replicas-to-write", "int", 0, lo=0, aliases=("min-slaves-to-write",)),
    _d("min-replicas-max-lag", "int", 10, lo=0, aliases=("min-slaves-max-lag",)),
    _d("notify-keyspace-events", "string", ""),
    _d("io-threads", "int", 1, mutable=False, lo=1, hi=128),
    _d("rdbcompression", "bool", True),
    _d("rdbchecksum", "bool", True, mutable=False),
    _d("stop-writes-on-bgsave-error", "bool", True),
    _d("activerehashing", "bool", True),
    _d("list-max-listpack-size", "int", -2, aliases=("list-max-ziplist-size",)),
    _d("hash-max-listpack-entries", "int", 128, lo=0, aliases=("hash-max-ziplist-entries",)),
    _d("hash-max-listpack-value", "int", 64, lo=0, aliases=("hash-max-ziplist-value",)),
    _d("set-max-intset-entries", "int", 512, lo=0),
    _d("zset-max-listpack-entries", "int", 128, lo=0, aliases=("zset-max-ziplist-entries",)),
    _d("zset-max-listpack-value", "int", 64, lo=0, aliases=("zset-max-ziplist-value",)),
    _d("enable-debug-command", "enum", "no", mutable=False, choices=("no", "yes", "local")),
]


class Config:
    """Live configuration of one node."""

    def __init__(self, directives: list[Directive] = DIRECTIVES):
        self._by_name: dict[str, Directive] = {}
        for d in directives:
            self._by_name[d.name] = d
            for alias in d.aliases:
                self._by_name[alias] = d
        self._canonical = [d for d in directives]
        self.values: dict[str, object] = {d.name: d.default for d in directives}
        self.file: str | None = None
        self.listeners: list[Callable[[str, object], None]] = []

    def directive(self, name: str) -> Directive | None:
        return self._by_name.get(name.lower())

    def __getitem__(self, name: str):
        return self.values[self._by_name[name].name]

    def set(self, name: str, text: str, startup: bool = False) -> None:
        """Parse and apply one value; raises KeyError (unknown) or ConfigError (bad value)."""
        d = self._by_name.get(name.lower())
        if d is None:
            raise KeyError(name)
        if not startup and not d.mutable:
            raise ConfigError("can't set immutable config")
        value = d.parse(text)
        self.values[d.name] = value
        for listener in self.listeners:
            listener(d.name, value)

    def get_matching(self, pattern: str) -> dict[str, str]:
        """CONFIG GET: every name (aliases included) matching the glob, with its value."""
        out: dict[str, str] = {}
        pat = pattern.lower()
        has_glob = any(c in pat for c in "*?[")
        for name, d in self._by_name.items():
            if (fnmatch.fnmatchcase(name, pat) if has_glob else name == pat):
                out[name] = d.format(self.values[d.name])
        return out

    def load_text(self, text: str) -> None:
        """Apply redis.conf text; raises ConfigFileError with Redis's fatal message."""
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                words = shlex.split(line, posix=True)
            except ValueError:
                raise ConfigFileError(lineno, raw, "Unbalanced quotes in configuration line")
            name, args = words[0].lower(), words[1:]
            if name == "include":
                continue
            d = self._by_name.get(name)
            if d is None or not args:
                raise ConfigFileError(lineno, raw,
                                      "Bad directive or wrong number of arguments")
            try:
                self.set(name, " ".join(args), startup=True)
            except ConfigError as err:
                raise ConfigFileError(lineno, raw, str(err)) from None

    def load_args(self, args: list[str]) -> None:
        """`--port 7000 --save ""` style overrides, applied like config file lines."""
        lines, cur = [], None
        for arg in args:
            if arg.startswith("--"):
                if cur is not None:
                    lines.append(cur)
                cur = [arg[2:]]
            elif cur is None:
                raise ConfigFileError(0, arg, "Bad directive or wrong number of arguments")
            else:
                cur.append(arg)
        if cur is not None:
            lines.append(cur)
        self.load_text("\n".join(
            " ".join([words[0]] + [shlex.quote(w) for w in words[1:]]) if len(words) > 1
            else words[0] for words in lines))

    def rewrite_text(self) -> str:
        """The config file contents CONFIG REWRITE writes: every non-default value."""
        lines = []
        for d in self._canonical:
            value = self.values[d.name]
            if value != d.default:
                text = d.format(value)
                lines.append(f"{d.name} {shlex.quote(text) if text else chr(34) * 2}")
        return "\n".join(lines) + "\n"


class ConfigFileError(Exception):
    def __init__(self, lineno: int, line: str, reason: str):
        super().__init__(reason)
        self.lineno, self.line, self.reason = lineno, line, reason

    def report(self, version: str) -> str:
        return (f"\n*** FATAL CONFIG FILE ERROR (Redis {version}) ***\n"
                f"Reading the configuration file, at line {self.lineno}\n"
                f">>> '{self.line.strip()}'\n{self.reason}\n")
