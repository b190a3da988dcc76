"""What C's string functions (%s, strcasecmp, sdsnew of a char*) see of an argument."""
from __future__ import annotations


def c_string(raw: bytes) -> bytes:
    """`raw` up to its first NUL byte."""
    nul = raw.find(b"\0")
    return raw if nul < 0 else raw[:nul]


def c_text(raw: bytes) -> str:
    """c_string as text (for an error message: its bytes kept through surrogates)."""
    return c_string(raw).decode("utf-8", "surrogateescape")
