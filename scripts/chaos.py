"""`scripts/chaos --minutes N`: kill -9 a random primary of a 3+3 cluster of ours every
~10 s while writers run; restart each killed node a few seconds later; at the end report
the acknowledged writes lost (must be 0), per kill the longest unavailability window the
writers saw, and whether the cluster recovered after each kill (every live node reports
cluster_state:ok and none names the dead node as a slot owner any more).
Exit status 1 if an acknowledged write was lost (2: the cluster never became usable).

    PYTHONPATH=.:scripts python scripts/chaos.py --minutes 5 [--node-timeout 1000]
        [--writers 4] [--every 10] [--restart-after 3] [--seed S] [--real]

Writers: each keeps its own slot map (CLUSTER SLOTS, asked again after any error or
MOVED) and one connection per node; every write is a SET of a new key followed, on the
same connection, by WAIT 1 100 (a WAIT on another connection would not wait for this
write); a write with WAIT >= 1 is "acknowledged". (redis-py's RedisCluster cannot send
the WAIT on the connection that carried the SET, hence this small client.) A writer's
unavailability window: from the start of its first failed attempt to its next success;
it is counted for the last kill before it began (0.2 s of slack). --real runs the same against a real
redis-server cluster (the yardstick).
"""
from __future__ import annotations

import argparse
import random
import signal
import sys
import threading
import time

import redis

from failover_lab import Lab, client, log
from slots import keyslot


class Writer(threading.Thread):
    def __init__(self, wid: int, lab: Lab, stop: threading.Event):
        super().__init__(daemon=True)
        self.wid, self.lab, self.stop = wid, lab, stop
        self.acked: dict[str, bytes] = {}
        self.windows: list[tuple[float, float]] = []
        self.writes = self.failures = 0
        self.slots: dict[int, int] = {}
        self.conns: dict[int, redis.Redis] = {}

    def refresh(self) -> None:
        for node in self.lab.live():
            try:
                ranges = self.lab.call(node, "CLUSTER", "SLOTS")
            except redis.RedisError:
                continue
            table = {}
            for first, last, primary, *_ in ranges:
                for slot in range(first, last + 1):
                    table[slot] = int(primary[1])
            if len(table) == 16384:
                self.slots = table
                return

    def conn(self, port: int) -> redis.Redis:
        c = self.conns.get(port)
        if c is None:
            c = self.conns[port] = client(port, 1)
        return c

    def run(self) -> None:
        i = 0
        failing_since = None
        self.refresh()
        while not self.stop.is_set():
            key = f"chaos:{self.wid}:{i}"
            value = b"%d" % i
            started = time.monotonic()
            port = self.slots.get(keyslot(key.encode()))
            try:
                if port is None:
                    raise redis.ConnectionError("no slot map")
                c = self.conn(port)
                c.set(key, value)
                acked = c.execute_command("WAIT", 1, 100) >= 1
            except redis.RedisError:
                self.failures += 1
                if failing_since is None:
                    failing_since = started
                old = self.conns.pop(port, None)
                if old is not None:
                    old.close()
                time.sleep(0.01)
                self.refresh()
                continue
            self.writes += 1
            if acked:
                self.acked[key] = value
            if failing_since is not None:
                self.windows.append((failing_since, time.monotonic()))
                failing_since = None
            i += 1


def recovered(lab: Lab, victim_port: int) -> bool:
    """Every live node says cluster_state:ok and none names the victim as a slot owner."""
    live = [n for n in lab.live() if n.port != victim_port]
    if not live or not all(lab.state_ok(n) for n in live):
        return False
    for node in live:
        try:
            ranges = lab.call(node, "CLUSTER", "SLOTS")
        except redis.RedisError:
            return False
        if any(int(primary[1]) == victim_port for _, _, primary, *_ in ranges):
            return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--node-timeout", type=int, default=1000)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--restart-after", type=float, default=3)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--real", action="store_true")
    opts = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    rng = random.Random(opts.seed)
    kind = "redis" if opts.real else "ours"
    log(f">>> chaos: {kind} 3+3 cluster, node-timeout {opts.node_timeout}, "
        f"{opts.minutes} min, a kill every ~{opts.every} s")
    with Lab(kind, node_timeout=opts.node_timeout) as lab:
        stop = threading.Event()
        writers = [Writer(w, lab, stop) for w in range(opts.writers)]
        for w in writers:
            w.start()
        kills: list[dict] = []
        end = time.monotonic() + opts.minutes * 60
        try:
            while time.monotonic() < end:
                time.sleep(max(0.0, opts.every * rng.uniform(0.8, 1.2) - opts.restart_after))
                primaries = lab.primaries()
                if not primaries:
                    continue
                victim = rng.choice(primaries)
                lab.kill(victim)
                kill = {"t": time.monotonic(), "port": victim.port, "ok_after": None}
                kills.append(kill)
                since = kill["t"] - end + opts.minutes * 60
                log(f"    kill -9 primary :{victim.port} at {since:.1f} s")
                deadline = kill["t"] + max(30.0, opts.node_timeout * 6 / 1000)
                restarted = False
                while time.monotonic() < deadline:
                    if not restarted and time.monotonic() >= kill["t"] + opts.restart_after:
                        lab.restart(victim)
                        restarted = True
                    if kill["ok_after"] is None and recovered(lab, victim.port):
                        kill["ok_after"] = time.monotonic() - kill["t"]
                    if restarted and kill["ok_after"] is not None:
                        break
                    time.sleep(0.05)
                if not restarted:
                    lab.restart(victim)
                try:
                    lab.wait_stable(60)
                except TimeoutError:
                    log("    the cluster did not become stable within 60 s after the restart")
        finally:
            stop.set()
            for w in writers:
                w.join(10)
        for node in lab.nodes:
            if not node.alive():
                lab.restart(node)
        lab.wait_stable(120)
        # Every acknowledged write must be readable from its slot's primary.
        checker = Writer(-1, lab, stop)
        checker.refresh()
        lost = []
        for w in writers:
            for key, value in w.acked.items():
                port = checker.slots[keyslot(key.encode())]
                if checker.conn(port).get(key) != value:
                    lost.append(key)
    acked = sum(len(w.acked) for w in writers)
    writes = sum(w.writes for w in writers)
    windows = [win for w in writers for win in w.windows]
    print()
    print(f"writes OK: {writes}, acknowledged by WAIT 1: {acked}, "
          f"failed attempts: {sum(w.failures for w in writers)}")
    print(f"acknowledged writes lost: {len(lost)}" + (f" (e.g. {lost[:5]})" if lost else ""))
    print(f"{'kill':>4} {'port':>6} {'longest unavailability s':>25} "
          f"{'recovered after s':>25}")
    for k, kill in enumerate(kills):
        nxt = kills[k + 1]["t"] if k + 1 < len(kills) else float("inf")
        # A window belongs to the last kill before it began (an attempt may start a
        # little before the kill it fails on).
        longest = max((b - a for a, b in windows if kill["t"] - 0.2 <= a < nxt - 0.2),
                      default=0.0)
        ok = "never" if kill["ok_after"] is None else f"{kill['ok_after']:.2f}"
        print(f"{k + 1:>4} {kill['port']:>6} {longest:>25.2f} {ok:>25}")
    never = sum(1 for k in kills if k["ok_after"] is None)
    print(f"kills: {len(kills)}, recovered (cluster_state ok, slots moved) after every kill: "
          f"{'yes' if not never else f'no ({never} never)'}")
    if writes == 0:
        return 2
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
