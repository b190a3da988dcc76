"""`scripts/bench --cluster`: redis-benchmark --cluster against a 3-primary cluster of ours
and a real Redis cluster of the same shape, in one run, with ratios and server CPU per request.

    PYTHONPATH=. python scripts/bench_cluster.py -n 100000 -N 500000

The two clusters never run at the same time: start one (tests.cluster_support.cluster_of,
its own temp directory), bench it at -P 1 and -P 16, stop it, then the other. No server is
pinned (three server processes and the client share the machine's cores). SET and GET are
separate redis-benchmark runs, so that the CPU time (utime+stime from /proc/<pid>/stat) of
the three nodes together, read before and after each run, divides by its requests. Every node is
stopped in every outcome (error, Ctrl-C, SIGTERM) and checked to have exited.
A benchmark, not a test: the numbers depend on the machine's load.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile

import redis

from tests.cluster_support import admin, cluster_of

ROWS = ("SET", "GET")          # one redis-benchmark run each (-t set, -t get)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PIPELINES = (1, 16)
CLIENTS = 50
PRIMARIES = 3
NODE_TIMEOUT = 15000        # Redis's default; a busy 2-core machine must not fake a failure
PROBE_KEY = "foo"           # slot 12182: owned by the third primary, not the first


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_csv(text: str) -> dict[str, str]:
    """redis-benchmark --csv rows as {test: rps}; the cluster banner and header skipped."""
    out = {}
    for line in text.splitlines():
        if not line.startswith('"') or line.startswith('"test"'):
            continue
        fields = [f.strip('"') for f in line.split('","')]
        if len(fields) >= 2:
            out[fields[0]] = fields[1]
    return out


def cpu_ticks(pids: list[int]) -> int:
    """utime+stime of these processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total


def run_benchmark(label: str, port: int, n: int, pipeline: int, test: str) -> dict[str, str]:
    args = ["redis-benchmark", "--cluster", "-p", str(port), "-t", test, "-c", str(CLIENTS),
            "-n", str(n), "-q", "--csv"]
    if pipeline != 1:
        args += ["-P", str(pipeline)]
    log(f">>> {label} P{pipeline} {test}: {' '.join(args)}")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=120 + n / 500)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed for {label} P{pipeline} "
                           f"(exit {proc.returncode}): {err.strip() or out.strip()[-500:]}")
    rows = parse_csv(out)
    if not rows:
        raise RuntimeError(f"redis-benchmark printed no results for {label}: {out[-500:]}")
    return rows


def routing_active(nodes) -> bool:
    """Does the first node (which does not own slot 12182) redirect GET foo with MOVED?"""
    try:
        with admin(nodes[0]) as r:
            r.execute_command("GET", PROBE_KEY)
    except redis.exceptions.MovedError:
        return True
    return False


def bench_one(real: bool, n: int, np_: int) -> tuple[dict, bool]:
    """Start one cluster in its own temp dir, bench it at each pipeline depth, stop it."""
    label = "redis cluster" if real else "our cluster"
    results, routed = {}, True
    with tempfile.TemporaryDirectory(prefix=f"pyredis-bench-{'redis' if real else 'ours'}.") as d:
        log(f">>> starting {label}: {PRIMARIES} primaries")
        nodes = []
        try:
            with cluster_of(d, primaries=PRIMARIES, real=real,
                            node_timeout=NODE_TIMEOUT) as nodes:
                if not real:
                    routed = routing_active(nodes)
                    seen = "MOVED (routing active)" if routed else "served locally (no routing)"
                    log(f">>> {label}: GET {PROBE_KEY} on a node not owning slot 12182 -> {seen}")
                pids = [node.proc.pid for node in nodes]
                for pipeline in PIPELINES:
                    requests = n if pipeline == 1 else np_
                    rows = results.setdefault(pipeline, {})
                    for test in ROWS:
                        t0 = cpu_ticks(pids)
                        rows.update(run_benchmark(label, nodes[0].port, requests, pipeline,
                                                  test.lower()))
                        ticks = cpu_ticks(pids) - t0
                        us = ticks * 1e6 / CLK_TCK / requests
                        rows["cpu " + test] = f"{us:.2f}" if us < 10 else f"{us:.1f}"
        except Exception:
            if not real:
                for node in nodes:
                    tail = "\n".join(node.log().splitlines()[-10:])
                    if tail:
                        log(f"--- node {node.port} log tail ---\n{tail}")
            raise
        finally:
            left = [node.port for node in nodes if node.alive()]
            if left:
                log(f"scripts/bench: {label} nodes still running on ports {left}")
        log(f">>> stopped {label}")
    return results, routed


def ratio(ours: str | None, theirs: str | None) -> str:
    try:
        o, r = float(ours), float(theirs)
    except (TypeError, ValueError):
        return "-"
    return f"{o / r:.3f}" if r > 0 else "-"


def table(redis_res: dict, ours_res: dict, n: int, np_: int, routed: bool) -> str:
    lines = [f"{'cluster test':<16} {'pipe':<5} {'redis req/s':>14} {'ours req/s':>14} "
             f"{'ratio':>8} {'redis us/req':>13} {'ours us/req':>12}"]
    for pipeline in PIPELINES:
        for test in ROWS:
            r = redis_res.get(pipeline, {}).get(test)
            o = ours_res.get(pipeline, {}).get(test)
            rc = redis_res.get(pipeline, {}).get("cpu " + test)
            oc = ours_res.get(pipeline, {}).get("cpu " + test)
            lines.append(f"{test:<16} {'P' + str(pipeline):<5} {r or '-':>14} {o or '-':>14} "
                         f"{ratio(o, r):>8} {rc or '-':>13} {oc or '-':>12}")
    lines.append(f"(N={n} without pipelining, N={np_} with -P 16; ratio = ours / redis; "
                 f"redis-benchmark --cluster -c {CLIENTS}; us/req = CPU (utime+stime) of the "
                 f"three nodes together per request, 1 tick = {1e6 / CLK_TCK / n:.2f} us/req at "
                 f"N={n})")
    lines.append(f"(each cluster is {PRIMARIES} primaries; six server processes in all share "
                 "the machine unpinned with redis-benchmark, the two clusters one after the "
                 "other, never at the same time)")
    shortest = shortest_run(redis_res, ours_res, {1: n, 16: np_})
    if shortest is not None:
        low = min(100, 25 / shortest)
        lines.append("(redis-benchmark --cluster is threaded and stops only on its 250 ms timer: "
                     "each run's time is rounded up to a tick; the shortest run took "
                     f"{shortest:.2f} s, so its req/s may read up to {low:.0f}% low"
                     + ("; raise BENCH_N / BENCH_N_PIPELINE for finer numbers)"
                        if shortest < 2.5 else ")"))
    if not routed:
        lines.append("(our nodes do not route yet: each serves every key locally)")
    return "\n".join(lines)


def shortest_run(redis_res: dict, ours_res: dict, requests: dict) -> float | None:
    """Seconds of the shortest benchmark run (requests / req/s), None if nothing ran."""
    times = []
    for res in (redis_res, ours_res):
        for pipeline, rows in res.items():
            for test, rps in rows.items():
                if test.startswith("cpu "):
                    continue
                try:
                    times.append(requests[pipeline] / float(rps))
                except (ValueError, ZeroDivisionError):
                    pass
    return min(times) if times else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100000, help="requests without pipelining")
    parser.add_argument("-N", type=int, default=500000, help="requests with -P 16")
    opts = parser.parse_args(argv)

    def on_term(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # one orderly shutdown is enough
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, on_term)

    try:
        redis_res, _ = bench_one(True, opts.n, opts.N)
        ours_res, routed = bench_one(False, opts.n, opts.N)
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired, redis.RedisError) as exc:
        log(f"scripts/bench: {exc}")
        return 1
    print()
    print(table(redis_res, ours_res, opts.n, opts.N, routed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
