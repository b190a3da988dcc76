"""A minimal in-process pump for driving a few ClusterStates by hand in unit tests.

Messages are delivered in FIFO order with no delay; a Connect succeeds at once when the
target is alive and reachable. (tests/simulation has the full randomized harness.)
"""
from __future__ import annotations

import collections
import random

from gossip.effects import Connect, Deliver, Disconnect, Log, SaveConfig, Send
from gossip.state import ClusterConfig, ClusterState

T0 = 1_700_000_000_000
IP = "127.0.0.1"


class Pump:
    def __init__(self, n: int, node_timeout: int = 1000, seed: int = 1, wire: bool = False,
                 **config):
        self.wire = wire            # pass every message through gossip.codec (encode+decode)
        self.now = T0
        self.rng = random.Random(seed)
        self.states: list[ClusterState] = []
        self.dead: set[int] = set()
        self.blocked: set[frozenset] = set()
        self.conns: dict[tuple[int, int], tuple[int, int]] = {}   # (node, link) -> peer end
        self.next_inbound = collections.Counter()
        self.queue: collections.deque = collections.deque()
        self.logs: list[list[Log]] = []
        self.saves: list[list[SaveConfig]] = []
        self.delivered: list[list[Deliver]] = []
        for i in range(n):
            port = 30001 + i
            cfg = ClusterConfig(port=port, cport=port + 10000, node_timeout=node_timeout,
                                **config)
            self.states.append(ClusterState(cfg, random.Random(seed * 1000 + i), self.now))
            self.logs.append([])
            self.saves.append([])
            self.delivered.append([])

    # -- topology ---------------------------------------------------------------------
    def index_of(self, cport: int) -> int | None:
        for i, st in enumerate(self.states):
            if st.config.cport == cport:
                return i
        return None

    def reachable(self, a: int, b: int) -> bool:
        return a not in self.dead and b not in self.dead and frozenset((a, b)) not in self.blocked

    def partition(self, group_a, group_b) -> None:
        for a in group_a:
            for b in group_b:
                self.blocked.add(frozenset((a, b)))
        for (i, link), (j, _) in list(self.conns.items()):
            if (i, link) in self.conns and not self.reachable(i, j):
                self._close(i, link)

    def heal(self) -> None:
        self.blocked.clear()

    def kill(self, i: int) -> None:
        self.dead.add(i)
        for (a, link) in [k for k, v in self.conns.items() if v[0] == i or k[0] == i]:
            if (a, link) in self.conns:
                self._close(a, link)

    def _close(self, i: int, link: int) -> None:
        """Both ends of a connection close; each live end hears LinkDown."""
        j, peer = self.conns.pop((i, link))
        self.conns.pop((j, peer), None)
        for node, end in ((i, link), (j, peer)):
            if node not in self.dead:
                self.queue.append((node, "down", end))

    # -- pumping ----------------------------------------------------------------------
    def apply(self, i: int, effects) -> None:
        for eff in effects:
            if isinstance(eff, Send):
                self.queue.append((i, "send", eff))
            elif isinstance(eff, Connect):
                self.queue.append((i, "connect", eff))
            elif isinstance(eff, Disconnect):
                if (i, eff.link) in self.conns:
                    j, peer = self.conns.pop((i, eff.link))
                    self.conns.pop((j, peer), None)
                    if j not in self.dead:
                        self.queue.append((j, "down", peer))
            elif isinstance(eff, Log):
                self.logs[i].append(eff)
            elif isinstance(eff, SaveConfig):
                self.saves[i].append(eff)
            elif isinstance(eff, Deliver):
                self.delivered[i].append(eff)
        self.drain()

    def drain(self) -> None:
        while self.queue:
            i, kind, item = self.queue.popleft()
            if i in self.dead:
                continue
            st = self.states[i]
            if kind == "connect":
                j = self.index_of(item.cport)
                if j is None or not self.reachable(i, j):
                    self.apply(i, st.on_link_down(item.link, self.now))
                    continue
                self.next_inbound[j] += 1
                inbound = -self.next_inbound[j]
                self.conns[(i, item.link)] = (j, inbound)
                self.conns[(j, inbound)] = (i, item.link)
                self.apply(i, st.on_link_up(item.link, self.now))
            elif kind == "down":
                self.apply(i, st.on_link_down(item, self.now))
            elif kind == "send":
                end = self.conns.get((i, item.link))
                if end is None:
                    continue
                j, link = end
                if not self.reachable(i, j):
                    continue
                msg = item.message
                if self.wire:
                    from gossip import codec
                    decoded = codec.decode_payload(codec.encode(msg)[4:])
                    assert decoded == msg, decoded
                self.apply(j, self.states[j].on_message(msg, link, self.now,
                                                        local_ip=IP, peer_ip=IP))

    def call(self, i: int, method: str, *args):
        effects = getattr(self.states[i], method)(*args, self.now)
        self.apply(i, effects)
        return effects

    def tick(self) -> None:
        self.now += 100
        for i, st in enumerate(self.states):
            if i not in self.dead:
                self.apply(i, st.tick(self.now))

    def run(self, ms: int) -> None:
        for _ in range(ms // 100):
            self.tick()

    def run_until(self, cond, max_ms: int = 60_000) -> int:
        """Tick until cond() holds; returns the ms it took (fails the test otherwise)."""
        start = self.now
        while not cond():
            assert self.now - start < max_ms, "condition not reached in time"
            self.tick()
        return self.now - start

    # -- building clusters --------------------------------------------------------------
    def meet_all(self) -> None:
        """CLUSTER MEET every node from node 0, then run until everybody knows everybody."""
        for j in range(1, len(self.states)):
            st = self.states[j]
            self.call(0, "meet", IP, st.config.port, st.config.cport)
        self.run_until(self.converged)

    def converged(self) -> bool:
        ids = {st.myself.id for i, st in enumerate(self.states) if i not in self.dead}
        for i, st in enumerate(self.states):
            if i in self.dead:
                continue
            known = {n.id for n in st.nodes.values() if not n.flags & 32}   # HANDSHAKE
            if not ids <= known or len(st.nodes) != len(known):
                return False
        return True

    def log_texts(self, i: int) -> list[str]:
        return [log.text for log in self.logs[i]]
