"""The one propagation point: every write that changed the dataset passes here once.

Later the replication backlog and the append-only file subscribe as sinks; each gets the
same RESP bytes. With no sink, nothing is encoded (and, as in Redis without a backlog,
the replication offset does not move).
"""
from __future__ import annotations

from typing import Callable


# Arity -> the whole frame's format: one %-formatting per command instead of a join.
_FORMATS = {n: b"*%d\r\n" % n + b"$%d\r\n%s\r\n" * n for n in range(1, 9)}


def encode_command(argv: list[bytes]) -> bytes:
    """The RESP multibulk of argv (the replication stream / AOF form of a command)."""
    fmt = _FORMATS.get(len(argv))
    if fmt is None:
        parts = [b"*%d\r\n" % len(argv)]
        for arg in argv:
            parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
        return b"".join(parts)
    if len(argv) == 3:
        a, b, c = argv
        return fmt % (len(a), a, len(b), b, len(c), c)
    values = []
    for arg in argv:
        values.append(len(arg))
        values.append(arg)
    return fmt % tuple(values)


class Propagator:
    def __init__(self):
        self.sinks: list[Callable[[bytes], None]] = []
        self._db: int | None = None
        self._txn: list[tuple[int, list[bytes]]] | None = None

    def begin_transaction(self) -> None:
        self._txn = []

    def end_transaction(self) -> None:
        txn, self._txn = self._txn, None
        if not txn:
            return
        if len(txn) == 1:
            self.feed(*txn[0])
            return
        self.feed(txn[0][0], [b"MULTI"])
        for db, argv in txn:
            self.feed(db, argv)
        self.feed(txn[-1][0], [b"EXEC"])

    def feed_all(self, db: int, argvs: list) -> None:
        """What one command propagates in its place; two or more commands go as one
        MULTI/EXEC unit (Redis 7.0's also-propagate), unless already inside one."""
        if len(argvs) > 1 and self._txn is None:
            self.begin_transaction()
            for argv in argvs:
                self.feed(db, argv)
            self.end_transaction()
            return
        for argv in argvs:
            self.feed(db, argv)

    def feed(self, db: int, argv: list[bytes]) -> None:
        if self._txn is not None:
            self._txn.append((db, argv))
            return
        if not self.sinks:
            return
        chunks = []
        if db != self._db:
            chunks.append(encode_command([b"SELECT", b"%d" % db]))
            self._db = db
        chunks.append(encode_command(argv))
        data = b"".join(chunks)
        for sink in self.sinks:
            sink(data)
