"""Redis's strict integer parsing (string2ll), shared by the parser, commands and DUMP.

A leaf module (imports nothing from the project) so any layer can use it.
"""
from __future__ import annotations

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def string2ll(raw: bytes) -> int | None:
    """The int64 `raw` spells canonically, else None.

    Canonical as Redis's string2ll wants it: optional '-', no '+', no leading zeros,
    no spaces or underscores, within int64. `int()` does the work in C; formatting the
    result back and comparing rejects every non-canonical spelling int() tolerates.
    """
    if not raw or len(raw) > 20:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    if b"%d" % value != raw or not INT64_MIN <= value <= INT64_MAX:
        return None
    return value
