"""A virtual-clock world for sentinel state machines: fake Redis instances (role, master,
offset), sentinels wired to them, partitions between any two parties. Replies arrive in the
same 10 ms step; an unreachable party makes the link drop."""
from __future__ import annotations

import random

from sentinel.effects import Command, Connect, Disconnect, Event
from sentinel.state import SentinelState

STEP = 10


class FakeRedis:
    def __init__(self, port: int, rng: random.Random):
        self.addr = ("10.0.0.1", port)
        self.runid = "".join(rng.choice("0123456789abcdef") for _ in range(40))
        self.alive = True
        self.master: tuple[str, int] | None = None
        self.offset = 0

    def info(self, world) -> str:
        lines = [f"run_id:{self.runid}"]
        if self.master is None:
            lines.append("role:master")
            replicas = [r for r in world.redis.values() if r.master == self.addr and r.alive]
            for i, r in enumerate(replicas):
                lines.append(f"slave{i}:ip={r.addr[0]},port={r.addr[1]},state=online,"
                             f"offset={r.offset},lag=0")
        else:
            m = world.redis.get(self.master)
            up = m is not None and m.alive and world.reachable(self.addr, m.addr)
            lines += ["role:slave", f"master_host:{self.master[0]}",
                      f"master_port:{self.master[1]}",
                      f"master_link_status:{'up' if up else 'down'}",
                      "slave_priority:100", f"slave_repl_offset:{self.offset}"]
        return "\r\n".join(lines) + "\r\n"


class World:
    def __init__(self, n_sentinels: int, n_replicas: int, seed: int, quorum: int = 2,
                 down_after: int = 1000, failover_timeout: int = 6000):
        self.rng = random.Random(seed)
        self.now = 1_000_000
        self.redis: dict[tuple, FakeRedis] = {}
        primary = FakeRedis(6000, self.rng)
        self.redis[primary.addr] = primary
        for i in range(n_replicas):
            r = FakeRedis(6001 + i, self.rng)
            r.master = primary.addr
            r.offset = 100 + i
            self.redis[r.addr] = r
        self.sentinels: list[SentinelState] = []
        self.connected: list[set] = []
        self.blocked: set[frozenset] = set()
        self.votes: list[dict[int, set]] = []
        self.events: list[list[tuple[int, str, str]]] = []
        for i in range(n_sentinels):
            st = SentinelState(port=26000 + i, rng=random.Random(seed * 100 + i),
                               now=self.now)
            st.my_ip = "10.0.1.1"
            m = st.monitor("mymaster", *primary.addr, quorum, self.now)
            m.down_after = down_after
            m.failover_timeout = failover_timeout
            self.sentinels.append(st)
            self.connected.append(set())
            self.votes.append({})
            self.events.append([])

    def s_addr(self, i: int) -> tuple:
        return ("10.0.1.1", 26000 + i)

    def sentinel_at(self, addr) -> int | None:
        for i in range(len(self.sentinels)):
            if self.s_addr(i) == addr:
                return i
        return None

    def reachable(self, a, b) -> bool:
        return frozenset((a, b)) not in self.blocked

    def partition(self, group_a: list, group_b: list) -> None:
        for a in group_a:
            for b in group_b:
                self.blocked.add(frozenset((a, b)))

    def heal(self) -> None:
        self.blocked.clear()

    def up(self, i: int, addr) -> bool:
        if not self.reachable(self.s_addr(i), addr):
            return False
        j = self.sentinel_at(addr)
        if j is not None:
            return True
        r = self.redis.get(addr)
        return r is not None and r.alive

    # -- driving ------------------------------------------------------------------------
    def run_for(self, ms: int) -> None:
        end = self.now + ms
        while self.now < end:
            self.now += STEP
            for i, st in enumerate(self.sentinels):
                # links whose far end vanished drop
                for addr in list(self.connected[i]):
                    if not self.up(i, addr):
                        self.connected[i].discard(addr)
                        self.perform(i, st.on_link(addr, False, self.now))
                if self.now % 100 == 0:
                    self.perform(i, st.tick(self.now))

    def perform(self, i: int, effects) -> None:
        st = self.sentinels[i]
        for eff in effects:
            if isinstance(eff, Connect):
                ok = self.up(i, eff.addr)
                if ok:
                    self.connected[i].add(eff.addr)
                self.perform(i, st.on_link(eff.addr, ok, self.now))
            elif isinstance(eff, Disconnect):
                if eff.addr in self.connected[i]:
                    self.connected[i].discard(eff.addr)
            elif isinstance(eff, Command):
                if eff.addr not in self.connected[i]:
                    continue
                if not self.up(i, eff.addr):
                    self.connected[i].discard(eff.addr)
                    self.perform(i, st.on_link(eff.addr, False, self.now))
                    continue
                reply = self.execute(i, eff.addr, eff.argv)
                self.perform(i, st.on_reply(eff.addr, eff.tag, reply, self.now))
            elif isinstance(eff, Event):
                self.events[i].append((self.now, eff.name, eff.payload))
                if eff.name == "+vote-for-leader":
                    runid, epoch = eff.payload.split()
                    self.votes[i].setdefault(int(epoch), set()).add(runid)

    def execute(self, i: int, addr, argv):
        name = argv[0].upper()
        j = self.sentinel_at(addr)
        if j is not None:
            if name == "PUBLISH":
                self.perform(j, self.sentinels[j].on_hello(argv[2], self.now))
                return 1
            if name == "SENTINEL":
                reply, effects = self.sentinels[j].is_master_down(
                    argv[2], int(argv[3]), int(argv[4]), argv[5], self.now)
                self.perform(j, effects)
                return reply
            return b"PONG"
        r = self.redis[addr]
        if name == "PING":
            return b"PONG"
        if name == "INFO":
            return r.info(self).encode()
        if name == "PUBLISH":
            for k, st in enumerate(self.sentinels):
                if addr in self.connected[k] and self.up(k, addr):
                    self.perform(k, st.on_hello(argv[2], self.now))
            return 1
        if name == "SLAVEOF":
            r.master = None if argv[1] == "NO" else (argv[1], int(argv[2]))
            return b"OK"
        return b"OK"

    # -- observations ---------------------------------------------------------------------
    def primaries(self) -> list:
        return [r for r in self.redis.values() if r.alive and r.master is None]

    def promotions_by_epoch(self) -> dict[int, set]:
        out: dict[int, set] = {}
        for st in self.sentinels:
            for _name, epoch, addr in st.promotions:
                out.setdefault(epoch, set()).add(addr)
        return out
