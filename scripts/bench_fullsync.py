"""Full-sync time of N small keys from our primary, to our replica and to a real one.

    PYTHONPATH=. python scripts/bench_fullsync.py [-n 1000000]

Starts our primary (tests.support.NodeProcess, its own temp directory), loads N keys with
pipelined MSETs, then for each replica kind (ours, then a real redis-server 7.0.15) times
REPLICAOF -> master_link_status:up with the primary's DBSIZE and offset. Meanwhile a
concurrent client PINGs the primary in a loop; the largest PING latency seen during the
sync is how long the primary stalled at most. Every server is stopped in every outcome.
A benchmark, not a test: the numbers depend on the machine's load.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from tests.support import NodeProcess, RealRedis, running

BATCH = 1000


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def populate(client: redis.Redis, n: int) -> None:
    pipe = client.pipeline(transaction=False)
    for start in range(0, n, BATCH):
        pipe.mset({b"key:%d" % i: b"value:%d" % i for i in range(start, min(n, start + BATCH))})
        if len(pipe) >= 50:
            pipe.execute()
    pipe.execute()


class Pinger(threading.Thread):
    """PINGs the primary back to back; records the worst latency while `active`."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.client = redis.Redis(port=port, socket_timeout=120)
        self.stop = threading.Event()
        self.worst = 0.0
        self.count = 0

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            self.client.ping()
            self.worst = max(self.worst, time.perf_counter() - t0)
            self.count += 1
            time.sleep(0.001)


def synced(primary: redis.Redis, replica: redis.Redis, n: int) -> bool:
    info = replica.info("replication")
    return (info.get("master_link_status") == "up" and replica.dbsize() == n and
            info.get("master_repl_offset") == primary.info("replication")["master_repl_offset"])


def time_sync(primary: redis.Redis, port: int, replica: redis.Redis, n: int,
              replicaof: bool) -> tuple[float, float, int]:
    pinger = Pinger(port)
    pinger.start()
    t0 = time.perf_counter()
    if replicaof:
        replica.execute_command("REPLICAOF", "127.0.0.1", port)
    while not synced(primary, replica, n):
        time.sleep(0.02)
        if time.perf_counter() - t0 > 600:
            raise RuntimeError("full sync did not finish in 600 s")
    elapsed = time.perf_counter() - t0
    pinger.stop.set()
    pinger.join()
    return elapsed, pinger.worst, pinger.count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="keys (default 1000000)")
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="bench-fullsync-") as tmp:
        base = Path(tmp)
        with running(NodeProcess(base / "primary")) as prim:
            primary = redis.Redis(port=prim.port, socket_timeout=600)
            t0 = time.perf_counter()
            populate(primary, n)
            log(f"loaded {primary.dbsize()} keys in {time.perf_counter() - t0:.1f} s")
            with running(NodeProcess(base / "ours")) as ours:
                replica = redis.Redis(port=ours.port, socket_timeout=600)
                ours_t, ours_stall, ours_pings = time_sync(primary, prim.port, replica, n,
                                                           True)
            real = RealRedis(["--replicaof", "127.0.0.1", str(prim.port)])
            with running(real):
                replica = redis.Redis(port=real.port, socket_timeout=600)
                real_t, real_stall, real_pings = time_sync(primary, prim.port, replica, n,
                                                           False)
    print(f"full sync of {n} keys, our primary -> our replica:        {ours_t:7.2f} s "
          f"(max PING stall on the primary {ours_stall * 1000:.0f} ms, {ours_pings} PINGs)")
    print(f"full sync of {n} keys, our primary -> real redis-server:  {real_t:7.2f} s "
          f"(max PING stall on the primary {real_stall * 1000:.0f} ms, {real_pings} PINGs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
