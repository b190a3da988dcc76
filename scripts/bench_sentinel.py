"""`scripts/bench_sentinel.py`: time from kill -9 of the primary to redis-py's
`Sentinel(...).master_for("mymaster")` writing again, with three sentinels
(down-after-milliseconds 1000, failover-timeout 5000, parallel-syncs 1) watching one
primary and two replicas. Sentinels: OUR sentinels or the REAL redis-sentinel 7.0.15;
nodes: ours, or for reference real redis-server 7.0.15 nodes in the same setup. A fresh
setup per run (so every run starts from a settled, unfailed state); prints every run and
the median of each combination.

    PYTHONPATH=. python scripts/bench_sentinel.py [--runs 3] [--nodes ours|real]
                                                  [--sentinels ours|real]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_sentinel_lab import SentinelLab, measure_failover  # noqa: E402

LABELS = {"ours": "ours", "real": "real 7.0.15"}


def run_combo(nodes: str, sentinels: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix=f"bench-sentinel-{sentinels}-{nodes}-") as base:
            with SentinelLab(Path(base), nodes, sentinels=sentinels) as lab:
                took = measure_failover(lab, timeout=60)
        print(f"sentinels {sentinels:4} nodes {nodes:4} run {i + 1}: {took:.3f} s",
              flush=True)
        times.append(took)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nodes", choices=("ours", "real"))
    ap.add_argument("--sentinels", choices=("ours", "real"))
    args = ap.parse_args()
    combos = [(s, n) for n in ("ours", "real") for s in ("ours", "real")
              if args.nodes in (None, n) and args.sentinels in (None, s)]
    results = {combo: run_combo(combo[1], combo[0], args.runs) for combo in combos}
    print("\n| sentinels | nodes | median kill -> write again | runs |")
    print("|---|---|---|---|")
    for (sentinels, nodes), times in results.items():
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {LABELS[sentinels]} | {LABELS[nodes]} | {statistics.median(times):.3f} s "
              f"| {runs} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
