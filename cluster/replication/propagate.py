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


# Where a command goes (Redis's PROPAGATE_AOF / PROPAGATE_REPL).
AOF = 1
REPL = 2
ALL = AOF | REPL


def sink_kind(sink) -> int:
    """REPL for the replication backlog's sink (its owner says `repl_sink = True`), else
    AOF."""
    return REPL if getattr(getattr(sink, "__self__", None), "repl_sink", False) else AOF


class Propagator:
    def __init__(self):
        self.sinks: list[Callable[[bytes], None]] = []
        # The database each kind of sink has selected (Redis: aof_selected_db, slaveseldb);
        # None: its next command starts with a SELECT.
        self.selected: dict[int, int | None] = {AOF: None, REPL: None}
        self._txn: list[tuple[int, list[bytes], int]] | None = None
        # A replica: its replication stream is its primary's, proxied verbatim; its own
        # writes (replica-read-only no) reach the AOF only (replicationFeedSlaves).
        self.replica = False

    @property
    def repl_db(self) -> int | None:
        """The database the replication stream has selected (repl-stream-db)."""
        return self.selected[REPL]

    def reselect(self) -> None:
        """Every sink's next command starts with a SELECT (a new AOF file, the stream
        after a snapshot, a replica's own write after its primary's stream)."""
        self.selected[AOF] = self.selected[REPL] = None

    def begin_transaction(self) -> None:
        self._txn = []

    @property
    def in_transaction(self) -> bool:
        """A MULTI/EXEC or script is collecting its commands (they go out as one block)."""
        return self._txn is not None

    def mark(self) -> int | None:
        """How many commands the open transaction holds (None: no transaction)."""
        return len(self._txn) if self._txn is not None else None

    def drop_since(self, mark: int) -> None:
        """Forget what the open transaction collected after `mark` (redis.set_repl)."""
        del self._txn[mark:]

    def retarget_since(self, mark: int, target: int) -> None:
        """What the open transaction collected after `mark` goes only to `target`
        (redis.set_repl: AOF, REPL, both; 0: nowhere)."""
        if not target:
            del self._txn[mark:]
            return
        self._txn[mark:] = [(db, argv, kind & target) for db, argv, kind in self._txn[mark:]]

    def end_transaction(self) -> None:
        txn, self._txn = self._txn, None
        if not txn:
            return
        if len(txn) == 1:
            self.feed(*txn[0])
            return
        self.feed(txn[0][0], [b"MULTI"])
        for db, argv, target in txn:
            self.feed(db, argv, target)
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

    def feed(self, db: int, argv: list[bytes], target: int = ALL) -> None:
        if self._txn is not None:
            self._txn.append((db, argv, target))
            return
        if not self.sinks:
            self.reselect()
            return
        if self.replica:
            target &= AOF
        sel = self.selected
        body = None
        ready: dict[int, bytes] = {}
        present = 0
        for sink in self.sinks:
            kind = sink_kind(sink)
            present |= kind
            if not target & kind:
                continue
            data = ready.get(kind)
            if data is None:
                if body is None:
                    body = encode_command(argv)
                if sel[kind] != db:
                    data = encode_command([b"SELECT", b"%d" % db]) + body
                    sel[kind] = db
                else:
                    data = body
                ready[kind] = data
            sink(data)
        for kind in (AOF, REPL):
            if not present & kind:
                sel[kind] = None        # a sink attached later starts with a SELECT
