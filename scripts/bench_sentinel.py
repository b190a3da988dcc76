"""`scripts/bench_sentinel.py`: time from kill -9 of the primary to redis-py's
`Sentinel(...).master_for("mymaster")` writing again, with three REAL redis-sentinel 7.0.15
processes (down-after-milliseconds 1000, failover-timeout 5000, parallel-syncs 1) watching
one primary and two replicas: our nodes, and for reference real redis-server nodes in the
same setup. A fresh setup per run (so every run starts from a settled, unfailed state);
prints every run and the median of each kind.

    PYTHONPATH=. python scripts/bench_sentinel.py [--runs 3] [--only ours|real]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.real_sentinel_lab import SentinelLab, measure_failover  # noqa: E402


def run_kind(kind: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix=f"bench-sentinel-{kind}-") as base:
            with SentinelLab(Path(base), kind) as lab:
                took = measure_failover(lab, timeout=60)
        print(f"{kind:5} run {i + 1}: {took:.3f} s", flush=True)
        times.append(took)
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=("ours", "real"))
    args = ap.parse_args()
    kinds = [args.only] if args.only else ["ours", "real"]
    medians = {kind: statistics.median(run_kind(kind, args.runs)) for kind in kinds}
    for kind, med in medians.items():
        label = "our nodes" if kind == "ours" else "real redis-server nodes"
        print(f"median kill -> write again, real redis-sentinel + {label}: {med:.3f} s "
              f"({args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
