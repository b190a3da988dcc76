"""Argument parsing shared by command handlers, with Redis's exact error words."""
from __future__ import annotations

from cluster.base.numbers import INT64_MAX, INT64_MIN, string2ll  # noqa: F401 (re-exported)
from cluster.resp.reply import ReplyError

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"


def parse_int(raw: bytes, message: str = NOT_INT) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(message)
    return value

