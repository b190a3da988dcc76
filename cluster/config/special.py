"""Parsers, rewriters and validators of the directives that are not a plain bool, number,
enum or string: save, bind, replicaof, notify-keyspace-events, client-output-buffer-limit,
oom-score-adj-values, latency-tracking-info-percentiles, dir, and the file-name and
shutdown-flag checks. Error texts are Redis 7.0.15's.
"""
from __future__ import annotations

import os

from cluster.config.values import ConfigError, format_memory, memtoull, repr_string, strtoll


def parse_save(args: list[str]) -> str:
    if len(args) == 1 and args[0] == "":
        args = []
    if len(args) % 2:
        raise ConfigError("Invalid save parameters")
    pairs = []
    for j, word in enumerate(args):
        value = strtoll(word)
        if value is None or (j % 2 == 0 and value < 1) or (j % 2 == 1 and value < 0):
            raise ConfigError("Invalid save parameters")
        pairs.append(str(value))
    return " ".join(pairs)


def rewrite_save(value: str) -> list[tuple[str, bool]]:
    words = value.split()
    if not words:
        return [('save ""', True)]
    return [(f"save {words[i]} {words[i + 1]}", True) for i in range(0, len(words), 2)]


def parse_bind(args: list[str]) -> str:
    if len(args) > 16:
        raise ConfigError("Too many bind addresses specified.")
    if len(args) == 1 and args[0] == "":
        args = []
    return " ".join(args)


def rewrite_bind(value: str) -> list[tuple[str, bool]]:
    if value == "* -::*":
        return []
    return [(f"bind {value}" if value else 'bind ""', True)]


def parse_replicaof(args: list[str]) -> str:
    if len(args) != 2:
        raise ConfigError("wrong number of arguments")
    if args[0].lower() == "no" and args[1].lower() == "one":
        return ""
    port = strtoll(args[1])
    if port is None or not 0 <= port <= 65535:
        raise ConfigError("Invalid master port")
    return f"{args[0]} {port}"


def rewrite_replicaof(value: str) -> list[tuple[str, bool]]:
    return [(f"replicaof {value}", True)] if value else []


_NOTIFY_FLAGS = "g$lshzxetdn"      # the classes "A" stands for, in Redis's output order


def parse_notify(args: list[str]) -> str:
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


def rewrite_notify(value: str) -> list[tuple[str, bool]]:
    return [(f"notify-keyspace-events {repr_string(value)}", bool(value))]


OBUF_DEFAULT = {"normal": (0, 0, 0), "slave": (268435456, 67108864, 60),
                "pubsub": (33554432, 8388608, 60)}


def obuf_dict(value: str) -> dict[str, tuple[int, int, int]]:
    words = value.split()
    return {words[i]: (int(words[i + 1]), int(words[i + 2]), int(words[i + 3]))
            for i in range(0, len(words), 4)}


def obuf_text(limits: dict) -> str:
    return " ".join(f"{cls} {h} {s} {sec}" for cls, (h, s, sec) in limits.items())


class ObufParser:
    """client-output-buffer-limit: classes not named keep their current limits."""

    def __init__(self):
        self.current = obuf_text(OBUF_DEFAULT)

    def __call__(self, args: list[str]) -> str:
        if len(args) % 4:
            raise ConfigError("Wrong number of arguments in buffer limit configuration.")
        limits = obuf_dict(self.current)
        for j in range(0, len(args), 4):
            cls = args[j].lower()
            cls = "slave" if cls == "replica" else cls
            if cls not in OBUF_DEFAULT:
                raise ConfigError("Invalid client class specified in buffer limit "
                                  "configuration.")
            hard, soft = memtoull(args[j + 1]), memtoull(args[j + 2])
            secs = strtoll(args[j + 3])
            if hard is None or soft is None or secs is None or secs < 0:
                raise ConfigError("Error in hard, soft or soft_seconds setting in buffer "
                                  "limit configuration.")
            limits[cls] = (hard, soft, secs)
        return obuf_text(limits)


def rewrite_obuf(value: str) -> list[tuple[str, bool]]:
    lines = []
    for cls, (hard, soft, secs) in obuf_dict(value).items():
        name = "replica" if cls == "slave" else cls
        lines.append((f"client-output-buffer-limit {name} {format_memory(hard)} "
                      f"{format_memory(soft)} {secs}", (hard, soft, secs) != OBUF_DEFAULT[cls]))
    return lines


def parse_oom_values(args: list[str]) -> str:
    if len(args) != 3:
        raise ConfigError("wrong number of arguments")
    values = []
    for word in args:
        value = strtoll(word)
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


def parse_percentiles(args: list[str]) -> str:
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


def rewrite_percentiles(value: str) -> list[tuple[str, bool]]:
    return [(f"latency-tracking-info-percentiles {value}" if value else
             'latency-tracking-info-percentiles ""', True)]


def parse_dir(args: list[str]) -> str:
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    path = args[0]
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(2 if not os.path.exists(path) else 20))
    return os.path.abspath(path)


def rewrite_dir(value: str) -> list[tuple[str, bool]]:
    return [(f"dir {repr_string(os.getcwd())}", True)]


def valid_basename(what: str, allow_empty: bool):
    def check(value: str) -> None:
        if not allow_empty and value == "":
            raise ConfigError(f"{what} can't be empty")
        if "/" in value:
            raise ConfigError(f"{what} can't be a path, just a filename")
    return check


def valid_shutdown(value: str) -> None:
    words = value.split()
    if "save" in words and "nosave" in words:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
