"""`scripts/bench_failover`: time from SIGKILL of a primary to the first successful write
on its slots through the new primary, for our cluster and a real Redis cluster of the same
shape (3 primaries + 3 replicas, `redis-cli --cluster create --cluster-replicas 1`), at
each cluster-node-timeout given, N runs each; medians side by side.

    PYTHONPATH=. python scripts/bench_failover.py [--runs 5] [--timeouts 1000 5000]
        [--only ours|redis]

One cluster per (kind, timeout), never two at a time. A run: a random current primary
and a key of its slots; kill -9 it; a probe writes
that key in a tight loop to whichever live node CLUSTER SLOTS names (re-asked after each
error); time kill -> first OK. Then the killed node is restarted (it rejoins as a replica)
and the next run waits for the cluster to be stable again. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import time

from failover_lab import Lab, log, probe_until_ok
from slots import keyslot


def key_for(lab: Lab, port: int, rng: random.Random) -> tuple[str, int]:
    while True:
        key = f"probe:{rng.getrandbits(32)}"
        slot = keyslot(key.encode())
        if lab.slot_owner_port(slot) == port:
            return key, slot


def one_run(lab: Lab, rng: random.Random) -> float | None:
    lab.wait_stable(120)
    victim = rng.choice(lab.primaries())
    key, slot = key_for(lab, victim.port, rng)
    lab.kill(victim)
    killed = time.monotonic()
    ok_at = probe_until_ok(lab, key, slot, victim.port,
                           killed + 30 + lab.node_timeout * 5 / 1000)
    lab.restart(victim)
    return None if ok_at is None else ok_at - killed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--timeouts", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--only", choices=("ours", "redis"))
    ap.add_argument("--seed", type=int, default=None)
    opts = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    rng = random.Random(opts.seed)
    kinds = [opts.only] if opts.only else ["ours", "redis"]
    results: dict[tuple[str, int], list[float | None]] = {}
    for timeout in opts.timeouts:
        for kind in kinds:
            log(f">>> {kind}, cluster-node-timeout {timeout}: {opts.runs} runs")
            with Lab(kind, node_timeout=timeout) as lab:
                times = []
                for i in range(opts.runs):
                    took = one_run(lab, rng)
                    log(f"    run {i + 1}: " + ("no write" if took is None else f"{took:.3f} s"))
                    times.append(took)
                results[(kind, timeout)] = times
    print()
    print(f"{'node-timeout':>12} {'kind':>6} {'median s':>9}  runs (s)")
    for timeout in opts.timeouts:
        for kind in kinds:
            times = results[(kind, timeout)]
            ok = [t for t in times if t is not None]
            med = f"{statistics.median(ok):.3f}" if ok else "-"
            runs = " ".join("-" if t is None else f"{t:.2f}" for t in times)
            print(f"{timeout:>12} {kind:>6} {med:>9}  {runs}")
    print("(kill -9 of a primary -> first OK write on its slots through the new primary)")
    return 0 if all(t is not None for ts in results.values() for t in ts) else 1


if __name__ == "__main__":
    sys.exit(main())
