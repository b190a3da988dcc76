"""Snapshot speed: SAVE and start-up load of N keys (default 1 million), ours and redis-server's.

    .venv/bin/python scripts/bench_persist.py [--keys 1000000]

Ours is measured in-process with the code the server runs (persist_rdb.save; then
parse_file + apply as cluster.persistence.loading does at start). redis-server loads the very same
dump.rdb and its log line "DB loaded from disk: X seconds" is reported next to ours.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cluster.node import Node  # noqa: E402
from cluster.persistence import rdb_file as persist_rdb  # noqa: E402


def _redis_load_seconds(directory: str) -> float | None:
    from tests.support import free_port, wait_until
    port = free_port()
    log = os.path.join(directory, "redis.log")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", directory,
                             "--logfile", log], stdout=subprocess.DEVNULL)
    try:
        def loaded():
            try:
                return re.search(r"DB loaded from disk: ([0-9.]+) seconds", open(log).read())
            except OSError:
                return None
        wait_until(loaded, 600)
        return float(loaded().group(1))
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    args = ap.parse_args()
    directory = tempfile.mkdtemp(prefix="bench-persist-")
    os.chdir(directory)
    node = Node()
    db = node.keyspace[0]
    db.load((b"key:%08d" % i, b"value:%d" % i, None) for i in range(args.keys))
    start = time.perf_counter()
    assert persist_rdb.save(node)
    save_s = time.perf_counter() - start
    size = os.path.getsize("dump.rdb")
    other = Node()
    start = time.perf_counter()
    snap, _ = persist_rdb.parse_file("dump.rdb", True)
    parse_s = time.perf_counter() - start
    persist_rdb.apply(other, snap)
    load_s = time.perf_counter() - start
    assert len(other.keyspace[0].data) == args.keys
    theirs = _redis_load_seconds(directory)
    print(f"{args.keys} keys, dump.rdb {size / 1e6:.1f} MB")
    print(f"ours:  SAVE {save_s:.2f} s, load {load_s:.2f} s (parse {parse_s:.2f} s)")
    print(f"redis-server 7.0.15: load {theirs:.2f} s (its log)")


if __name__ == "__main__":
    main()
