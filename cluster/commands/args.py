"""Argument parsing shared by command handlers, with Redis's exact error words."""
from __future__ import annotations

import math

from cluster.reply import ReplyError

SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def string2ll(raw: bytes) -> int | None:
    """Redis's strict integer parsing: no spaces, no '+', no leading zeros; int64 range."""
    n = len(raw)
    if n == 0 or n > 20:
        return None
    if n == 1 and 48 <= raw[0] <= 57:
        return raw[0] - 48
    neg = raw[0] == 45
    digits = raw[1:] if neg else raw
    if not digits or not 49 <= digits[0] <= 57 or not digits.isdigit():
        return None
    value = int(digits)
    if neg:
        value = -value
    if not INT64_MIN <= value <= INT64_MAX:
        return None
    return value


def parse_int(raw: bytes, message: str = NOT_INT) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(message)
    return value


def parse_float(raw: bytes, message: str = NOT_FLOAT) -> float:
    """Redis's string-to-long-double: no spaces, no nan; inf/-inf accepted."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ReplyError(message) from None
    if not text or text[0].isspace() or text[-1].isspace():
        raise ReplyError(message)
    try:
        value = float(text)
    except ValueError:
        raise ReplyError(message) from None
    if math.isnan(value):
        raise ReplyError(message)
    return value


def lower(raw: bytes) -> bytes:
    return raw.lower()
