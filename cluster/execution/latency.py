"""The latency monitor (Redis's latency.c) and the per-command latency histograms.

Pure: no I/O, and the only clock read is the injected wall clock, for a sample's second.

THE MONITOR. `latency-monitor-threshold` is in milliseconds, 0 turning it off. Code that
may be slow measures itself and calls `LatencyMonitor.add_if_needed(event, ms)`; a sample
at or over the threshold goes into the event's time series, created on first use: 160
slots, one per second (a second sample in the same second keeps the larger latency), and
the all-time max. The events we record, with Redis 7.0's names:

    command, fast-command   dispatch.call: a command's own run (CMD_FAST: fast-command)
    expire-cycle            node.cron: one active expiry cycle
    aof-write, aof-write-alone / aof-write-pending-fsync
                            the AOF write of the buffered commands (persistence.aof)
    aof-fsync-always        appendfsync always: the fsync after that write
    eviction-cycle          the hook eviction will call (no eviction yet)

We never fork, so `fork` (and the child-related events) never appear.

THE HISTOGRAMS (7.0's `latency-tracking yes`). Redis records every call's duration, in
nanoseconds (duration_us * 1000, clamped to [1, 1e9]), into an hdr_histogram of 2
significant digits per command. The call path here only counts durations in a dict
{microseconds: calls} (`CommandStats.hist`), which is lossless; the hdr arithmetic is done
when someone asks (LATENCY HISTOGRAM, INFO latencystats), so every figure is the one
Redis's hdr_histogram gives for the same durations. `fold` bounds a dict: it merges
durations the hdr histogram cannot tell apart (same counts index), keeping it exact.
"""
from __future__ import annotations

from typing import Callable

LATENCY_TS_LEN = 160
GRAPH_COLS = 80
FOLD_AT = 4096              # a histogram dict with more keys is folded (cron)

# -- hdr_histogram(1, 1e9, 2 significant figures): sub_bucket_count 256, unit 1 ns ----------
HIST_MIN_NS = 1
HIST_MAX_NS = 1_000_000_000


def _ns(usec: int) -> int:
    """The value Redis records for a call of `usec` microseconds."""
    v = usec * 1000
    return HIST_MIN_NS if v < HIST_MIN_NS else (HIST_MAX_NS if v > HIST_MAX_NS else v)


def _bucket(v: int) -> int:
    return (v | 255).bit_length() - 8


def lowest_equivalent(v: int) -> int:
    b = _bucket(v)
    return (v >> b) << b


def highest_equivalent(v: int) -> int:
    b = _bucket(v)
    return ((v >> b) << b) + (1 << b) - 1


def fold(hist: dict) -> None:
    """Merge the durations that land in one hdr counts index under the smallest of them
    (exact: every report depends on the index only)."""
    merged: dict[int, int] = {}
    for usec, n in hist.items():
        if usec > 0:
            v = _ns(usec)
            low = lowest_equivalent(v)
            usec = max(1, -(-low // 1000))          # the first microsecond in that index
            if usec * 1000 > HIST_MAX_NS:
                usec = HIST_MAX_NS // 1000
        merged[usec] = merged.get(usec, 0) + n
    hist.clear()
    hist.update(merged)


def bound_histograms(commands: dict) -> None:
    """Cron: fold any per-command histogram grown past FOLD_AT distinct durations."""
    for cs in commands.values():
        if len(cs.hist) > FOLD_AT:
            fold(cs.hist)


def histogram_usec(hist: dict) -> tuple[int, dict[int, int]]:
    """fillCommandCDF: (calls, {usec: cumulative calls}) as hdr_iter_log(1024, 2) walks
    it: at each power of two from 1024 ns, the highest value of that power's counts index
    (in usec) and the calls up to it; a row only where the count grew."""
    items = sorted(hist.items())
    total = sum(n for _, n in items)
    rows: dict[int, int] = {}
    cum = prev = i = 0
    count = len(items)
    for power in range(10, 31):
        if power < 30:
            hi = (1 << power) + (1 << (power - 7)) - 1
            micros = hi // 1000
        else:                   # past the last counts index: the iterator's last values
            hi = HIST_MAX_NS
            micros = ((255 << 22) + (1 << 22) - 1) // 1000
        while i < count and _ns(items[i][0]) <= hi:
            cum += items[i][1]
            i += 1
        if cum > prev:
            rows[micros] = cum
        prev = cum
        if cum >= total:
            break
    return total, rows


def value_at_percentile(hist: dict, percentile: float) -> int:
    """hdr_value_at_percentile, in nanoseconds."""
    items = sorted(hist.items())
    total = sum(n for _, n in items)
    requested = percentile if percentile < 100.0 else 100.0
    target = int((requested / 100) * total + 0.5)
    target = target if target > 0 else 1
    cum = 0
    for usec, n in items:
        cum += n
        if cum >= target:
            v = _ns(usec)
            return lowest_equivalent(v) if percentile == 0.0 else highest_equivalent(v)
    return 0


def format_percentile(p: float) -> str:
    """sprintf("%f") then trimDoubleString: 50 -> "50", 99.9 -> "99.9"."""
    text = "%f" % p
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percentiles_line(name: str, hist: dict, percentiles: list[float]) -> str:
    """fillPercentileDistributionLatencies: latency_percentiles_usec_<name>:p50=...,..."""
    parts = ["p%s=%.3f" % (format_percentile(p), value_at_percentile(hist, p) / 1000.0)
             for p in percentiles]
    return f"latency_percentiles_usec_{name}:" + ",".join(parts)


# -- the monitor ----------------------------------------------------------------------------
class Series:
    """latencyTimeSeries: a ring of [second, ms] (second 0: an empty slot) and the max."""

    __slots__ = ("idx", "max", "samples")

    def __init__(self):
        self.idx = 0
        self.max = 0
        self.samples = [[0, 0] for _ in range(LATENCY_TS_LEN)]

    def add(self, now_s: int, ms: int) -> None:
        if ms > self.max:
            self.max = ms
        prev = self.samples[(self.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN]
        if prev[0] == now_s:
            if ms > prev[1]:
                prev[1] = ms
            return
        self.samples[self.idx] = [now_s, ms]
        self.idx = (self.idx + 1) % LATENCY_TS_LEN

    def ordered(self) -> list[list[int]]:
        """The samples oldest first, empty slots skipped."""
        out = []
        for j in range(LATENCY_TS_LEN):
            s = self.samples[(self.idx + j) % LATENCY_TS_LEN]
            if s[0]:
                out.append(s)
        return out

    def last(self) -> list[int]:
        return self.samples[(self.idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN]


class LatencyMonitor:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock                      # wall clock: a sample's second
        self.threshold_ms = 0                   # latency-monitor-threshold (0: off)
        self.events: dict[bytes, Series] = {}   # event name -> its series, by first use

    def add_if_needed(self, event: bytes, ms: int) -> None:
        """latencyAddSampleIfNeeded."""
        if self.threshold_ms and ms >= self.threshold_ms:
            self.add_sample(event, ms)

    def add_sample(self, event: bytes, ms: int) -> None:
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = Series()
        series.add(int(self.clock()), min(int(ms), 0xFFFFFFFF))

    def reset(self, event: bytes | None = None) -> int:
        """latencyResetEvent: every event, or those named so (any case); how many."""
        if event is None:
            n = len(self.events)
            self.events.clear()
            return n
        want = event.lower()
        gone = [name for name in self.events if name.lower() == want]
        for name in gone:
            del self.events[name]
        return len(gone)

    def latest(self) -> list[list]:
        return [[name, *series.last(), series.max] for name, series in self.events.items()]

    def history(self, event: bytes) -> list[list[int]]:
        series = self.events.get(event)
        return [] if series is None else [list(s) for s in series.ordered()]

    # -- LATENCY GRAPH ---------------------------------------------------------------------
    def graph(self, event: bytes) -> bytes | None:
        """latencyCommandGenSparkeline, or None if the event has no series."""
        series = self.events.get(event)
        if series is None:
            return None
        now = int(self.clock())
        values, labels = [], []
        for t, ms in series.ordered():
            elapsed = now - t
            if elapsed < 60:
                label = "%ds" % elapsed
            elif elapsed < 3600:
                label = "%dm" % _cdiv(elapsed, 60)
            elif elapsed < 86400:
                label = "%dh" % _cdiv(elapsed, 3600)
            else:
                label = "%dd" % _cdiv(elapsed, 86400)
            values.append(ms)
            labels.append(label)
        high = max(values) if values else 0
        low = min(values) if values else 0
        head = "%s - high %d ms, low %d ms (all time high %d ms)\n" % (
            event.decode("utf-8", "surrogateescape"), high, low, series.max)
        out = head + "-" * GRAPH_COLS + "\n" + sparkline(values, labels, GRAPH_COLS, 4)
        return out.encode("utf-8", "surrogateescape")

    # -- LATENCY DOCTOR --------------------------------------------------------------------
    def analyze(self, event: bytes) -> dict:
        """analyzeLatencyForEvent."""
        series = self.events.get(event)
        out = {"all_time_high": series.max if series else 0, "avg": 0, "min": 0, "max": 0,
               "mad": 0, "samples": 0, "period": 0}
        if series is None:
            return out
        total = 0
        oldest = 0
        lat = [s for s in series.samples if s[0]]
        for t, ms in lat:
            out["samples"] += 1
            if out["samples"] == 1:
                out["min"] = out["max"] = ms
            else:
                out["min"] = min(out["min"], ms)
                out["max"] = max(out["max"], ms)
            total += ms
            if oldest == 0 or t < oldest:
                oldest = t
        if out["samples"]:
            out["avg"] = total // out["samples"]
            out["period"] = int(self.clock()) - oldest
            if out["period"] == 0:
                out["period"] = 1
            out["mad"] = sum(abs(out["avg"] - ms) for _, ms in lat) // out["samples"]
        return out

    def doctor(self, slowlog_slower_than: int, hz: int, fsync_always: bool,
               thp: bool) -> bytes:
        """createLatencyReport, word for word."""
        if not self.events and self.threshold_ms == 0:
            return _DOCTOR_DISABLED.encode()
        report = []
        adv = set()
        advices = 0
        eventnum = 0
        for name, series in list(self.events.items()):
            eventnum += 1
            if eventnum == 1:
                report.append("Dave, I have observed latency spikes in this Redis instance. "
                              "You don't mind talking about it, do you Dave?\n\n")
            ls = self.analyze(name)
            ev = name.decode("utf-8", "surrogateescape")
            report.append(
                "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period "
                "%.2f sec). Worst all time event %dms." % (
                    eventnum, ev, ls["samples"], ls["avg"], ls["mad"],
                    ls["period"] / ls["samples"] if ls["samples"] else float("nan"),
                    series.max))
            low = ev.lower()
            if low == "command":
                if slowlog_slower_than < 0:
                    adv.add("slowlog_enabled")
                    advices += 1
                elif slowlog_slower_than // 1000 > self.threshold_ms:
                    adv.add("slowlog_tuning")
                    advices += 1
                adv.update(("slowlog_inspect", "large_objects"))
                advices += 2
            for event_names, kinds in _EVENT_ADVICE:
                if low in event_names:
                    adv.update(kinds)
                    advices += len(kinds)
            report.append("\n")
        if thp:
            adv.add("disable_thp")
            advices += 1
        if eventnum == 0 and advices == 0:
            report.append(_DOCTOR_NONE)
        elif eventnum > 0 and advices == 0:
            report.append(_DOCTOR_NO_FIX)
        else:
            report.append("\nI have a few advices for you:\n\n")
            threshold_us = self.threshold_ms * 1000
            for kind, text in _ADVICE_TEXT:
                if kind not in adv:
                    continue
                if kind == "relax_fsync_policy" and not fsync_always:
                    continue
                if kind == "hz" and hz >= 100:
                    continue
                report.append(text.replace("%llu", str(threshold_us)))
        return "".join(report).encode("utf-8", "surrogateescape")


def _cdiv(a: int, b: int) -> int:
    """C's integer division (toward zero): labels of samples from the future stay so."""
    q = abs(a) // b
    return q if a >= 0 else -q


# -- sparkline.c ------------------------------------------------------------------------------
_CHARSET_FILL = "_o#"
_LABEL_MARGIN_TOP = 1


def sparkline(values: list, labels: list, columns: int, rows: int) -> str:
    """sparklineRender(..., SPARKLINE_FILL): the chunks of `columns` samples each."""
    if not values:
        return ""
    lo, hi = values[0], values[0]
    for v in values[1:]:
        if v < lo:
            lo = v
        elif v > hi:
            hi = v
    out = []
    for j in range(0, len(values), columns):
        if j:
            out.append("\n")
        out.append(_render_range(values[j:j + columns], labels[j:j + columns], lo, hi, rows))
    return "".join(out)


def _render_range(values, labels, lo, hi, rows) -> str:
    relmax = float(hi - lo) or 1.0
    steps = len(_CHARSET_FILL) * rows
    n = len(values)
    out = []
    row = 0
    while True:
        loop = False
        chars = [" "] * n
        for j in range(n):
            step = int(int((values[j] - lo) * steps) / relmax)
            step = min(max(step, 0), steps - 1)
            if row < rows:
                charidx = step - (rows - row - 1) * len(_CHARSET_FILL)
                loop = True
                if 0 <= charidx < len(_CHARSET_FILL):
                    chars[j] = _CHARSET_FILL[charidx]
                elif charidx >= len(_CHARSET_FILL):
                    chars[j] = "|"
            else:
                if row - rows < _LABEL_MARGIN_TOP:      # every sample here has a label
                    loop = True
                    break
                label = labels[j]
                label_char = row - rows - _LABEL_MARGIN_TOP
                if len(label) > label_char:
                    loop = True
                    chars[j] = label[label_char]
        if not loop:
            break
        row += 1
        out.append("".join(chars) + "\n")
    return "".join(out)


# -- DOCTOR's texts ----------------------------------------------------------------------------
_DOCTOR_DISABLED = (
    "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
    "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable "
    "it. If we weren't in a deep space mission I'd suggest to take a look at "
    "https://redis.io/topics/latency-monitor.\n")
_DOCTOR_NONE = (
    "Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
    "the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, "
    "and think things over.\n")
_DOCTOR_NO_FIX = (
    "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please "
    "use the Redis community to get some help, providing this report in your help request.\n")

_EVENT_ADVICE = (
    (("fast-command",), ("scheduler",)),
    (("aof-write-pending-fsync",), ("local_disk", "disk_contention", "ssd", "data_writeback")),
    (("aof-write-active-child",), ("no_appendfsync", "data_writeback", "ssd")),
    (("aof-write-alone",), ("local_disk", "data_writeback", "ssd")),
    (("aof-fsync-always",), ("relax_fsync_policy",)),
    (("aof-fstat", "rdb-unlink-temp-file"), ("disk_contention", "local_disk")),
    (("aof-rewrite-diff-write", "aof-rename"),
     ("write_load_info", "data_writeback", "ssd", "local_disk")),
    (("expire-cycle",), ("hz", "large_objects")),
    (("eviction-del",), ("large_objects",)),
    (("eviction-cycle",), ("mass_eviction",)),
)

_ADVICE_TEXT = (
    ("better_vm", "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n"),
    ("slowlog_enabled", "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"),
    ("slowlog_tuning", "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %llu'.\n"),
    ("slowlog_inspect", "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"),
    ("scheduler", "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
     "  1) Lower the system load.\n"
     "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
     "  3) Check if you have a \"noisy neighbour\" problem.\n"
     "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
     "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n"),
    ("local_disk", "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n"),
    ("ssd", "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n"),
    ("data_writeback", "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n"),
    ("disk_contention", "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n"),
    ("no_appendfsync", "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n"),
    ("relax_fsync_policy", "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n"),
    ("write_load_info", "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n"),
    ("hz", "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n"),
    ("large_objects", "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"),
    ("mass_eviction", "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n"),
    ("disable_thp", "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n"),
)
