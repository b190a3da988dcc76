"""Counters INFO reports, the slow log, and the ops/sec sampler."""
from __future__ import annotations

from collections import deque

SLOWLOG_ENTRY_MAX_ARGC = 32
SLOWLOG_ENTRY_MAX_STRING = 128
STATS_METRIC_SAMPLES = 16


class CommandStats:
    __slots__ = ("calls", "usec", "rejected", "failed", "hist")

    def __init__(self):
        self.calls = self.usec = self.rejected = self.failed = 0
        # latency-tracking: {duration in usec: calls}, read as Redis's hdr_histogram by
        # cluster.execution.latency (LATENCY HISTOGRAM, INFO latencystats)
        self.hist: dict[int, int] = {}


class Stats:
    def __init__(self):
        self.connections_received = 0
        self.rejected_connections = 0
        self.commands_processed = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.error_replies = 0
        # PSYNC / SYNC answered by the primary side (cluster.commands.psync): full syncs,
        # accepted and refused partial resyncs.
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.peak_memory = 0           # used_memory_peak: the most RSS seen by INFO
        self.evicted_keys = 0          # keys evicted for maxmemory (cluster.execution.eviction)
        self.evicted_clients = 0       # clients evicted for maxmemory-clients
        self.total_forks = 0           # we never fork (snapshots are views, not children)
        self.errors: dict[str, int] = {}
        self.commands: dict[str, CommandStats] = {}
        self._ops_samples: deque = deque(maxlen=STATS_METRIC_SAMPLES)
        self._last_sample: tuple[int, int] | None = None

    def command(self, name: str) -> CommandStats:
        cs = self.commands.get(name)
        if cs is None:
            cs = self.commands[name] = CommandStats()
        return cs

    def count_error(self, message: str) -> None:
        self.error_replies += 1
        code = message.split(" ", 1)[0]
        self.errors[code] = self.errors.get(code, 0) + 1

    def sample(self, now_ms: int) -> None:
        """Called every 100 ms: ops/sec over the last samples, as Redis computes it."""
        if self._last_sample is not None:
            t0, n0 = self._last_sample
            dt = now_ms - t0
            if dt > 0:
                self._ops_samples.append((self.commands_processed - n0) * 1000 // dt)
        self._last_sample = (now_ms, self.commands_processed)

    @property
    def instantaneous_ops(self) -> int:
        s = self._ops_samples
        return sum(s) // len(s) if s else 0

    def reset(self) -> None:
        self.__init__()


class SlowLog:
    def __init__(self):
        self.entries: deque = deque()
        self.next_id = 0

    def add(self, argv: list[bytes], duration_us: int, now_s: int, addr: str, name: bytes,
            max_len: int) -> None:
        args = []
        argc = len(argv)
        for i, arg in enumerate(argv[:SLOWLOG_ENTRY_MAX_ARGC]):
            if i == SLOWLOG_ENTRY_MAX_ARGC - 1 and argc > SLOWLOG_ENTRY_MAX_ARGC:
                args.append(b"... (%d more arguments)" % (argc - SLOWLOG_ENTRY_MAX_ARGC + 1))
                break
            if len(arg) > SLOWLOG_ENTRY_MAX_STRING:
                arg = arg[:SLOWLOG_ENTRY_MAX_STRING] + \
                    b"... (%d more bytes)" % (len(arg) - SLOWLOG_ENTRY_MAX_STRING)
            args.append(arg)
        self.entries.appendleft([self.next_id, now_s, duration_us, args,
                                 addr.encode(), name])
        self.next_id += 1
        while len(self.entries) > max_len:
            self.entries.pop()
