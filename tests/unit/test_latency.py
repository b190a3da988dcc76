"""cluster.execution.latency: the monitor's series, GRAPH, DOCTOR, and the histograms.

The golden histogram figures come from Redis 7.0.15's own deps/hdr_histogram (compiled
beside this work, fed the same durations); the sparkline from its src/sparkline.c."""
from __future__ import annotations

import random

from cluster.execution import latency as L


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def hist_of(durations) -> dict:
    hist: dict[int, int] = {}
    for d in durations:
        hist[d] = hist.get(d, 0) + 1
    return hist


# -- histograms -------------------------------------------------------------------------
def test_histogram_rows_and_percentiles_match_hdr_histogram():
    hist = hist_of([1, 2, 3])
    assert L.histogram_usec(hist) == (3, {1: 1, 2: 2, 4: 3})
    assert L.percentiles_line("set", hist, [50.0, 99.0]) == \
        "latency_percentiles_usec_set:p50=2.007,p99=3.007"


def test_histogram_clamps_and_the_last_bucket():
    hist = hist_of([0, 0, 7, 300, 301, 4000, 999999, 2000000, 15, 15])
    assert L.histogram_usec(hist) == (10, {1: 2, 8: 3, 16: 5, 528: 7, 4227: 8, 1073741: 10})
    assert L.percentiles_line("x", hist, [50.0, 99.0, 99.9]) == (
        "latency_percentiles_usec_x:p50=15.039,p99=1002438.655,p99.9=1002438.655")


def test_fold_keeps_every_figure():
    rng = random.Random(5)
    durations = [int(rng.lognormvariate(4, 3)) for _ in range(20000)]
    hist = hist_of(durations)
    before = (L.histogram_usec(hist),
              [L.value_at_percentile(hist, p) for p in (0.0, 50.0, 99.0, 99.9, 100.0)])
    L.fold(hist)
    assert len(hist) <= 3072 + 256
    after = (L.histogram_usec(hist),
             [L.value_at_percentile(hist, p) for p in (0.0, 50.0, 99.0, 99.9, 100.0)])
    assert before == after


def test_percentile_labels_as_redis_trims_them():
    assert [L.format_percentile(p) for p in (50.0, 99.9, 0.0, 100.0, 12.125)] == \
        ["50", "99.9", "0", "100", "12.125"]


# -- the monitor ------------------------------------------------------------------------
def test_samples_one_per_second_keeping_the_max():
    clock = Clock()
    mon = L.LatencyMonitor(clock)
    mon.threshold_ms = 100
    mon.add_if_needed(b"command", 99)           # under the threshold: nothing
    assert mon.latest() == []
    mon.add_if_needed(b"command", 150)
    mon.add_if_needed(b"command", 300)          # same second: the larger stays
    mon.add_if_needed(b"command", 120)
    clock.now += 1
    mon.add_if_needed(b"command", 200)
    assert mon.history(b"command") == [[1_000_000, 300], [1_000_001, 200]]
    assert mon.latest() == [[b"command", 1_000_001, 200, 300]]
    assert mon.history(b"Command") == []        # HISTORY is case-sensitive ...
    assert mon.reset(b"COMMAND") == 1           # ... RESET is not
    assert mon.latest() == []


def test_series_keeps_the_last_160_seconds():
    clock = Clock()
    mon = L.LatencyMonitor(clock)
    for i in range(200):
        mon.add_sample(b"expire-cycle", i + 1)
        clock.now += 1
    hist = mon.history(b"expire-cycle")
    assert len(hist) == 160
    assert hist[0][1] == 41 and hist[-1][1] == 200
    assert mon.latest()[0][3] == 200


def test_threshold_zero_records_nothing():
    mon = L.LatencyMonitor(Clock())
    mon.add_if_needed(b"command", 10_000)
    assert mon.events == {}


def test_graph_is_redis_sparkline():
    clock = Clock()
    mon = L.LatencyMonitor(clock)
    for ms in (1, 5, 3):
        mon.add_sample(b"command", ms)
        clock.now += 1
    clock.now -= 1
    assert mon.graph(b"nope") is None
    assert mon.graph(b"command") == (
        b"command - high 5 ms, low 1 ms (all time high 5 ms)\n" + b"-" * 80 + b"\n"
        b" # \n |_\n ||\n_||\n   \n210\nsss\n")


def test_sparkline_matches_redis_for_labels():
    # sparkline.c output for "3 1 a 5 bb 3 ccc" (values, labels)
    assert L.sparkline([1, 5, 3], ["a", "bb", "ccc"], 80, 4) == \
        " # \n |_\n ||\n_||\n   \nabc\n bc\n  c\n"


def test_doctor_texts():
    clock = Clock()
    mon = L.LatencyMonitor(clock)
    assert mon.doctor(10000, 10, False, False).startswith(b"I'm sorry, Dave, I can't do that.")
    mon.threshold_ms = 100
    assert mon.doctor(10000, 10, False, False).startswith(
        b"Dave, no latency spike was observed")
    mon.add_sample(b"command", 200)
    text = mon.doctor(10000, 10, False, False).decode()
    assert text.startswith("Dave, I have observed latency spikes in this Redis instance.")
    assert ("1. command: 1 latency spikes (average 200ms, mean deviation 0ms, period 1.00 "
            "sec). Worst all time event 200ms.\n") in text
    assert "- Check your Slow Log" in text and "- Deleting, expiring or evicting" in text
    assert "CONFIG SET slowlog-log-slower-than" not in text
    text = mon.doctor(-1, 10, False, False).decode()
    assert "'CONFIG SET slowlog-log-slower-than 100000'. If the Slow log is disabled" in text
    mon.add_sample(b"expire-cycle", 150)
    text = mon.doctor(10000, 10, False, False).decode()
    assert "2. expire-cycle: 1 latency spikes" in text and "'CONFIG SET hz 100'" in text
    assert "'CONFIG SET hz 100'" not in mon.doctor(10000, 100, False, False).decode()
