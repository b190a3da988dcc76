"""The hash value: a dict of bytes field -> bytes value, insertion ordered like Redis's
listpack.

`big` records Redis's one-way conversion listpack -> hashtable (more than
hash-max-listpack-entries fields, or a field/value longer than hash-max-listpack-value
bytes); it drives OBJECT ENCODING, DUMP's encoding and HSCAN's cursor.
"""
from __future__ import annotations


class Hash(dict):
    """A Redis hash: field -> value (bytes), in insertion order."""

    __slots__ = ("big", "scan_cache")

    def __init__(self, *args):
        dict.__init__(self, *args)
        self.big = False
        self.scan_cache = None

    def copy(self) -> "Hash":
        twin = Hash(self)
        twin.big = self.big
        return twin


def limits_check(h: Hash, config, items, added_len: int = 0) -> None:
    """Convert to hashtable as Redis would before/after adding `items` (fields, values)."""
    if h.big:
        return
    limit = config["hash-max-listpack-value"]
    for item in items:
        if len(item) > limit:
            h.big = True
            return
    if len(h) + added_len > config["hash-max-listpack-entries"]:
        h.big = True
