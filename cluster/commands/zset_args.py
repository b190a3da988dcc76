"""Sorted-set argument parsing with Redis 7.0's rules and error words: scores (C strtod
semantics), score ranges with "(" for exclusive, lex ranges "[a" "(a" "-" "+", LIMIT."""
from __future__ import annotations

import math
import re

from cluster.commands.args import NOT_FLOAT, NOT_INT, SYNTAX, string2ll
from cluster.resp.reply import ReplyError

NOT_RANGE_FLOAT = "ERR min or max is not a float"
NOT_LEX = "ERR min or max not valid string range item"
NAN_SCORE = "ERR resulting score is not a number (NaN)"

_HEX = re.compile(r"[+-]?0[xX]")
_WS = " \t\n\v\f\r"
_NONZERO_MANTISSA = re.compile(r"[+-]?0*\.?0*[1-9]")
_PLAIN = re.compile(rb"-?[0-9]{1,20}(\.[0-9]{1,20})?").fullmatch  # float() agrees with strtod


def strtod(raw: bytes) -> tuple[float, bool] | None:
    """(value, out_of_range) when all of `raw` is a C double (leading blanks allowed,
    as strtod skips them), else None. out_of_range: glibc's ERANGE (overflow to inf or
    underflow to 0)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    body = text.lstrip(_WS)
    if not body or "_" in body or body[-1] in _WS:
        return None
    try:
        if _HEX.match(body):
            value = float.fromhex(body)
        else:
            value = float(body)
    except (ValueError, OverflowError):
        if _HEX.match(body):
            return None
        return None
    if math.isinf(value):
        low = body.lstrip("+-").lower()
        return value, not low.startswith("inf")
    if value == 0 and _NONZERO_MANTISSA.match(body.split("e")[0].split("E")[0]):
        return value, True
    return value, False


def parse_score(raw: bytes) -> float:
    """getDoubleFromObject: no leading blank, no nan, no overflow."""
    if _PLAIN(raw) is not None:
        return float(raw)
    parsed = strtod(raw) if raw and raw[:1] not in b" \t\n\v\f\r" else None
    if parsed is None or parsed[1] or math.isnan(parsed[0]):
        raise ReplyError(NOT_FLOAT)
    return parsed[0]


def parse_range_item(raw: bytes) -> tuple[float, bool]:
    """One end of a score range: (value, exclusive)."""
    exclusive = raw[:1] == b"("
    parsed = strtod(raw[1:] if exclusive else raw)
    if parsed is None or math.isnan(parsed[0]):
        raise ReplyError(NOT_RANGE_FLOAT)
    return parsed[0], exclusive


def parse_lex_item(raw: bytes):
    """One end of a lex range: "-" / "+" or (member, exclusive)."""
    first = raw[:1]
    if first == b"+" and len(raw) == 1:
        return "+"
    if first == b"-" and len(raw) == 1:
        return "-"
    if first == b"(":
        return raw[1:], True
    if first == b"[":
        return raw[1:], False
    raise ReplyError(NOT_LEX)


def parse_int(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None:
        raise ReplyError(NOT_INT)
    return value


def parse_limit(argv: list[bytes], i: int) -> tuple[int, int]:
    """LIMIT offset count at argv[i], argv[i+1]."""
    if i + 1 >= len(argv):
        raise ReplyError(SYNTAX)
    return parse_int(argv[i]), parse_int(argv[i + 1])
