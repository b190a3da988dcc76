"""Value syntax shared by configuration directives, as Redis 7.0.15's config.c reads and
writes it: integer limits, memory sizes (memtoull), strict and lax integers, and the quoting
CONFIG REWRITE uses. `ConfigError` carries the reason text Redis puts after ' - '.
"""
from __future__ import annotations

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1
LONG_MAX = LLONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1


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


def string2ll(text: str) -> int | None:
    """Redis's strict string2ll: no spaces, no '+', no leading zeros; int64 range."""
    if not text or len(text) > 20 or not text.isascii():
        return None
    body = text[1:] if text[0] == "-" else text
    if not body.isdigit() or (body[0] == "0" and (len(body) > 1 or text[0] == "-")):
        return None
    value = int(text)
    return value if -LLONG_MAX - 1 <= value <= LLONG_MAX else None


def strtoll(word: str) -> int | None:
    """strtoll(word, &end, 10) with *end == 0: leading spaces and a sign allowed."""
    text = word.lstrip(" \t\n\r\f\v")
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        return 0 if word == "" else None
    value = int(text)
    return max(min(value, LLONG_MAX), -LLONG_MAX - 1)


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
