"""COMMAND DOCS argument descriptions of the string commands (as Redis 7.0.15 reports them).

redis-cli builds its command-line hints from these, so they mirror the real server's.
Importing this module sets them.
"""
from __future__ import annotations

from cluster.commands import lcs, strings  # noqa: F401  (the commands described here)
from cluster.execution.table import TABLE

ARGUMENTS: dict[str, tuple[dict, ...]] = {
    "set": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "value", "type": "string"},
        {"name": "condition", "type": "oneof", "since": "2.6.12", "flags": ("optional",),
         "arguments": (
            {"name": "nx", "type": "pure-token", "token": "NX"},
            {"name": "xx", "type": "pure-token", "token": "XX"},
        )},
        {"name": "get",
         "type": "pure-token", "token": "GET", "since": "6.2.0", "flags": ("optional",)},
        {"name": "expiration", "type": "oneof", "flags": ("optional",), "arguments": (
            {"name": "seconds", "type": "integer", "token": "EX", "since": "2.6.12"},
            {"name": "milliseconds", "type": "integer", "token": "PX", "since": "2.6.12"},
            {"name": "unix-time-seconds", "type": "unix-time", "token": "EXAT", "since": "6.2.0"},
            {"name": "unix-time-milliseconds",
              "type": "unix-time", "token": "PXAT", "since": "6.2.0"},
            {"name": "keepttl", "type": "pure-token", "token": "KEEPTTL", "since": "6.0.0"},
        )},
    ),
    "get": (
        {"name": "key", "type": "key", "key_spec_index": 0},
    ),
    "mget": (
        {"name": "key", "type": "key", "key_spec_index": 0, "flags": ("multiple",)},
    ),
    "mset": (
        {"name": "key_value", "type": "block", "flags": ("multiple",), "arguments": (
            {"name": "key", "type": "key", "key_spec_index": 0},
            {"name": "value", "type": "string"},
        )},
    ),
    "msetnx": (
        {"name": "key_value", "type": "block", "flags": ("multiple",), "arguments": (
            {"name": "key", "type": "key", "key_spec_index": 0},
            {"name": "value", "type": "string"},
        )},
    ),
    "setnx": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "value", "type": "string"},
    ),
    "setex": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "seconds", "type": "integer"},
        {"name": "value", "type": "string"},
    ),
    "psetex": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "milliseconds", "type": "integer"},
        {"name": "value", "type": "string"},
    ),
    "getset": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "value", "type": "string"},
    ),
    "getdel": (
        {"name": "key", "type": "key", "key_spec_index": 0},
    ),
    "getex": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "expiration", "type": "oneof", "flags": ("optional",), "arguments": (
            {"name": "seconds", "type": "integer", "token": "EX"},
            {"name": "milliseconds", "type": "integer", "token": "PX"},
            {"name": "unix-time-seconds", "type": "unix-time", "token": "EXAT"},
            {"name": "unix-time-milliseconds", "type": "unix-time", "token": "PXAT"},
            {"name": "persist", "type": "pure-token", "token": "PERSIST"},
        )},
    ),
    "append": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "value", "type": "string"},
    ),
    "strlen": (
        {"name": "key", "type": "key", "key_spec_index": 0},
    ),
    "getrange": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "start", "type": "integer"},
        {"name": "end", "type": "integer"},
    ),
    "substr": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "start", "type": "integer"},
        {"name": "end", "type": "integer"},
    ),
    "setrange": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "offset", "type": "integer"},
        {"name": "value", "type": "string"},
    ),
    "incr": (
        {"name": "key", "type": "key", "key_spec_index": 0},
    ),
    "decr": (
        {"name": "key", "type": "key", "key_spec_index": 0},
    ),
    "incrby": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "increment", "type": "integer"},
    ),
    "decrby": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "decrement", "type": "integer"},
    ),
    "incrbyfloat": (
        {"name": "key", "type": "key", "key_spec_index": 0},
        {"name": "increment", "type": "double"},
    ),
    "lcs": (
        {"name": "key1", "type": "key", "key_spec_index": 0},
        {"name": "key2", "type": "key", "key_spec_index": 0},
        {"name": "len", "type": "pure-token", "token": "LEN", "flags": ("optional",)},
        {"name": "idx", "type": "pure-token", "token": "IDX", "flags": ("optional",)},
        {"name": "len", "type": "integer", "token": "MINMATCHLEN", "flags": ("optional",)},
        {"name": "withmatchlen",
         "type": "pure-token", "token": "WITHMATCHLEN", "flags": ("optional",)},
    ),
}


def install() -> None:
    for name, arguments in ARGUMENTS.items():
        TABLE[name].arguments = arguments


install()
