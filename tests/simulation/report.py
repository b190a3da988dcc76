"""Numbers for the issue note: convergence rounds and kill -> FAIL times, from the
simulation (virtual time, so they do not depend on the machine). Run scripts/sim-report.

    python -m tests.simulation.report [--seeds N] [--big 50]
"""
from __future__ import annotations

import argparse
import statistics
import time

from tests.simulation.scenarios import convergence_time, kill_to_fail


def _spread(values) -> str:
    values = sorted(values)
    return (f"min {values[0]:>6}  median {statistics.median(values):>8}  "
            f"max {values[-1]:>6}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="seeds 1..N per scenario")
    ap.add_argument("--big", type=int, default=50, help="size of the large cluster")
    args = ap.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    started = time.monotonic()
    print("Simulated cluster bus (virtual time; cron tick = 100 ms; 3 primaries own all "
          "slots; every node meets node 0 as redis-cli does)")
    print(f"seeds: 1..{args.seeds}; replay one with SIM_SEED=<seed>\n")

    print("Convergence (every node knows and has heard from every node, all views agree, "
          "cluster_state ok everywhere; includes the 2 s writable delay):")
    for n in (6, args.big):
        runs = [convergence_time(n, seed, keep_config=False) for seed in seeds]
        for r in runs:
            print(f"  {n:>3} nodes seed {r['seed']:>2}: {r['ms']:>6} ms = "
                  f"{r['rounds']:>5.0f} cron rounds ({r['messages']} messages)")
        print(f"  {n:>3} nodes rounds: {_spread([round(r['rounds']) for r in runs])}\n")

    print("Kill -> FAIL (6 nodes, a primary killed at a random cron phase; ms after the kill):")
    for timeout in (1000, 5000):
        runs = [kill_to_fail(seed, timeout) for seed in seeds]
        for r in runs:
            print(f"  node-timeout {timeout}, seed {r['seed']:>2}: first fail? "
                  f"{r['first_pfail']:>5}  first fail {r['first_fail']:>5}  "
                  f"fail on every live node {r['all_fail']:>5}")
        print(f"  node-timeout {timeout}: fail on all: "
              f"{_spread([r['all_fail'] for r in runs])}\n")
    print(f"({time.monotonic() - started:.1f} s real time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
