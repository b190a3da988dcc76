"""Whole-cluster simulation: n ClusterState machines, a virtual clock, a seeded network.

The harness performs the state machines' effects exactly as a driver would:

- Connect(link, ip, cport): a connection to the node listening there comes up after a
  network delay (on_link_up); if nobody listens there or the node is dead, the link goes
  down after a delay (on_link_down, "connection refused"); if a partition separates the
  two, it goes down after `connect_timeout` ms.
- Send(link, msg): gossip.codec.encode -> bytes -> (delay, drop, duplicate, corrupt;
  loss and corruption spare the handshake, see _send) ->
  the receiver's per-connection FrameDecoder.feed -> on_message(msg, link, now, local_ip)
  or, for a BadFrame, on_bad_frame (and the connection is closed if the decoder broke).
  Each direction of a connection is FIFO, like TCP. Inbound link ids are negative per
  receiver; outbound ones are the state's.
- `drop` loses single frames (harsher than TCP, which never loses a frame on a live
  connection: Redis then relies on its link-reset rule); `reset` breaks the whole
  connection instead, as a real network error does.
- Disconnect(link): the connection closes; the peer's outbound side, if that is what it
  was, gets on_link_down after a delay. Nobody is told about closed inbound links.
- SaveConfig: counted (fsyncs too); the text of gossip.nodes_conf.format_config is kept
  if that function exists and keep_config is set. Log: the last `log_lines` per node.
  Deliver and DeleteSlotKeys: kept per node (the latter must name slots the node no
  longer owns).
- BecamePrimary / FollowPrimary: the node's announced role (`SimNode.role`, set from
  state.role_effect() when the node starts or restarts, as the node does); the invariants
  check after every event that it is myself's actual role, so no role change goes
  unannounced. Every announcement is also kept in `SimNode.role_effects`.

Every node ticks every 100 ms from a random phase. A killed node gets no ticks and no
data; its connections close (peers see their outbound links go down); connects to it are
refused. Partitioned pairs silently lose every byte (open connections stall) and their
connects time out.

Time: the event queue is a heap of (time_us, seq, event); states get `now` in unix ms
(virtual, from 1_700_000_000_000). Everything random comes from random.Random instances
derived from the seed, so a seed replays exactly.
"""
from __future__ import annotations

import collections
import heapq
import random
import zlib
from pathlib import Path

from gossip import codec
from gossip.codec import BadFrame, FrameDecoder
from gossip.effects import Connect, DeleteSlotKeys, Deliver, Disconnect, Log, SaveConfig, Send
from gossip.effects import BecamePrimary, FollowPrimary, PauseWrites, UnpauseWrites
from gossip.messages import MsgType
from gossip import nodes_conf
from gossip.records import Flag
from gossip.state import ClusterConfig, ClusterState
from slots import CLUSTER_SLOTS
from tests.simulation.invariants import Invariants
from tests.simulation.observe import (  # noqa: F401  (re-exported for the tests)
    START_MS, Observe, SimulationFailure, cluster_nodes_text, config_text, replay_hint)

ROOT_DIR = Path(__file__).resolve().parents[2]
TICK_MS = 100
IP = "127.0.0.1"
BASE_PORT = 30001

_TICK, _UP, _DOWN, _DATA = range(4)


def allocate_slots(primaries: int) -> list[tuple[int, int]]:
    """redis-cli --cluster create's split of the 16384 slots (3 -> 0-5460, 5461-10922,
    10923-16383)."""
    per = CLUSTER_SLOTS / primaries
    out, first, cursor = [], 0, 0.0
    for i in range(primaries):
        last = round(cursor + per - 1)
        if last > CLUSTER_SLOTS - 1 or i == primaries - 1:
            last = CLUSTER_SLOTS - 1
        last = max(last, first)
        out.append((first, last))
        first = last + 1
        cursor += per
    return out


def role_of(effect) -> tuple[bool, str | None]:
    """The (replica?, primary id) a role effect announces."""
    if type(effect) is FollowPrimary:
        return (True, effect.primary_id)
    return (False, None)


class Conn:
    """One bus connection: end 0 opened it (positive link id), end 1 accepted it."""
    __slots__ = ("nodes", "links", "up", "open", "pending", "decoders", "last")

    def __init__(self, a: int | None, a_link: int, b: int, secret: bytes | None):
        self.nodes = [a, b]
        self.links = [a_link, 0]
        self.up = False
        self.open = True
        self.pending: list[bytes] = []
        self.decoders = [FrameDecoder(secret=secret), FrameDecoder(secret=secret)]
        self.last = [0, 0]               # FIFO: last delivery time per receiving end


class SimNode:
    def __init__(self, index: int, state: ClusterState, port: int, cport: int,
                 log_lines: int):
        self.index = index
        self.state = state
        self.port = port
        self.cport = cport
        self.alive = True
        self.links: dict[int, Conn] = {}
        self.next_inbound = -1
        self.saves = 0
        self.fsyncs = 0
        self.last_config: str | None = None
        self.logs: collections.deque[str] = collections.deque(maxlen=log_lines)
        self.delivered: list[Deliver] = []
        self.data_effects: list = []     # DeleteSlotKeys (for the node's keyspace)
        self.bad_frames = 0
        self.generation = 0              # bumped by a restart (its ticks start afresh)
        self.repl_offset = 0             # replication model (state.offset_provider)
        state.offset_provider = self.offset
        self.paused_until = 0            # manual failover: writes paused until (unix ms)
        self.pauses = 0                  # PauseWrites received
        self.role: tuple[bool, str | None] = (False, None)   # announced (replica?, primary)
        self.role_effects: list = []     # BecamePrimary / FollowPrimary received
        self.start_role()

    def start_role(self) -> None:
        """At (re)start the node applies state.role_effect() (the role nodes.conf gave)."""
        effect = self.state.role_effect()
        self.role = (True, None) if effect is None else role_of(effect)

    @property
    def id(self) -> str:
        return self.state.myself.id

    def offset(self) -> int:
        return self.repl_offset


class Simulation(Observe):
    def __init__(self, n: int, seed: int, *, node_timeout: int = 15000,
                 require_full_coverage: bool = True, secret: bytes | None = None,
                 delay_ms: tuple[float, float] = (0.2, 5.0), drop: float = 0.0,
                 duplicate: float = 0.0, corrupt: float = 0.0, reset: float = 0.0,
                 connect_timeout: int | None = None, keep_config: bool = True,
                 log_lines: int = 40, check: bool = True, wire: bool = True):
        self.seed = seed
        self.node_timeout = node_timeout
        self.secret = secret
        self.delay_us = (int(delay_ms[0] * 1000), int(delay_ms[1] * 1000))
        self.drop = drop
        self.duplicate = duplicate
        self.corrupt = corrupt
        self.reset = reset
        self.connect_timeout_us = (connect_timeout if connect_timeout is not None
                                   else node_timeout) * 1000
        self.keep_config = keep_config
        self.wire = wire
        self.net = random.Random(f"{seed}:net")
        self.now_us = START_MS * 1000
        self.queue: list = []
        self.seq = 0
        self.events = 0
        self.stats: collections.Counter = collections.Counter()
        self.blocked: set[tuple[int, int]] = set()
        self.nodes: list[SimNode] = []
        self.by_addr: dict[tuple[str, int], int] = {}
        self.trace = 0                   # rolling digest of the event sequence (replays)
        for i in range(n):
            port = BASE_PORT + i
            config = ClusterConfig(port=port, cport=port + 10000, node_timeout=node_timeout,
                                   require_full_coverage=require_full_coverage)
            state = ClusterState(config, random.Random(f"{seed}:node{i}"), self.now_ms)
            self.nodes.append(SimNode(i, state, port, port + 10000, log_lines))
            self.by_addr[(IP, port + 10000)] = i
            self._schedule(self.now_us + self.net.randrange(TICK_MS * 1000), (_TICK, i, 0))
        self.invariants = Invariants(self) if check else None

    # -- clock and queue ----------------------------------------------------------------
    @property
    def now_ms(self) -> int:
        return self.now_us // 1000

    @property
    def elapsed_ms(self) -> int:
        return self.now_ms - START_MS

    def _schedule(self, at_us: int, event: tuple) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at_us, self.seq, event))

    def _delay(self) -> int:
        return self.net.randint(*self.delay_us)

    def _step(self) -> None:
        at, _, event = heapq.heappop(self.queue)
        self.now_us = at
        self.events += 1
        kind = event[0]
        if kind == _TICK:
            i = event[1]
            node = self.nodes[i]
            if not node.alive or event[2] != node.generation:
                return
            self._schedule(at + TICK_MS * 1000, event)
            self._run(i, node.state.tick(self.now_ms), "tick", after_tick=True)
        elif kind == _DATA:
            self._arrive(*event[1:])
        elif kind == _UP:
            self._connected(event[1])
        elif kind == _DOWN:
            _, i, link, conn = event
            node = self.nodes[i]
            if node.alive and node.links.get(link) is conn:
                del node.links[link]
                self._run(i, node.state.on_link_down(link, self.now_ms), "down")

    def run_for(self, ms: int) -> None:
        end = self.now_us + ms * 1000
        while self.queue and self.queue[0][0] <= end:
            self._step()
        self.now_us = end

    def run_until(self, predicate, max_ms: int, what: str | None = None,
                  poll_ms: int = 10) -> int:
        """Run until predicate(self) holds (polled every poll_ms of virtual time); return
        the virtual ms it took. Raises SimulationFailure (seed, replay, dump) if max_ms
        passes first."""
        start = self.now_us
        if predicate(self):
            return 0
        deadline = start + max_ms * 1000
        poll = start + poll_ms * 1000
        while poll <= deadline:
            while self.queue and self.queue[0][0] < poll:
                self._step()
            self.now_us = poll
            if predicate(self):
                return (poll - start) // 1000
            poll += poll_ms * 1000
        name = what or getattr(predicate, "__name__", "condition")
        self.fail(f"{name} not reached within {max_ms} ms")

    # -- effects --------------------------------------------------------------------------
    def _run(self, i: int, effects, what: str, after_tick: bool = False,
             involved=None) -> None:
        self.trace = (self.trace * 1_000_003 + self.now_us * 31 + i * 7 + len(effects)
                      + zlib.crc32(what.encode())) % (1 << 61)
        self.perform(i, effects)
        if self.invariants is not None:
            self.invariants.check(i, after_tick, involved if not after_tick else None)

    def perform(self, i: int, effects) -> None:
        node = self.nodes[i]
        for eff in effects:
            cls = type(eff)
            if cls is Send:
                self._send(node, eff.link, eff.message)
            elif cls is Connect:
                self._connect(node, eff)
            elif cls is Disconnect:
                conn = node.links.pop(eff.link, None)
                if conn is None:
                    self.stats["disconnect_unknown_link"] += 1
                elif conn.open:
                    self._close(conn, notify_self=None)
            elif cls is SaveConfig:
                node.saves += 1
                node.fsyncs += eff.fsync
                if self.keep_config:
                    node.last_config = config_text(node.state)
            elif cls is Log:
                node.logs.append(f"+{self.elapsed_ms} {eff.level} {eff.text}")
            elif cls is Deliver:
                node.delivered.append(eff)
            elif cls is DeleteSlotKeys:
                mine = node.state.myself.slots
                kept = [slot for slot in eff.slots if slot in mine]
                if kept:
                    self.fail(f"node {i}: DeleteSlotKeys for slots it still owns, e.g. "
                              f"{kept[:5]}", [i])
                node.data_effects.append(eff)
            elif cls is PauseWrites:
                node.paused_until = eff.until_ms
                node.pauses += 1
            elif cls is UnpauseWrites:
                node.paused_until = 0
            elif cls is BecamePrimary or cls is FollowPrimary:
                node.role = role_of(eff)
                node.role_effects.append(eff)
            else:
                self.fail(f"node {i}: unknown effect {eff!r}"[:300], [i])

    def _connect(self, node: SimNode, eff: Connect) -> None:
        if eff.link <= 0 or eff.link in node.links:
            self.fail(f"node {node.index}: Connect with link id {eff.link} "
                      f"(must be a new positive id)", [node.index])
        target = self.by_addr.get((eff.ip, eff.cport))
        conn = Conn(node.index, eff.link, target if target is not None else -1, self.secret)
        node.links[eff.link] = conn
        if target is None or not self.nodes[target].alive:
            self.stats["connect_refused"] += 1
            self._schedule(self.now_us + self._delay(), (_DOWN, node.index, eff.link, conn))
        elif self._blocked(node.index, target):
            self.stats["connect_timeout"] += 1
            self._schedule(self.now_us + self.connect_timeout_us,
                           (_DOWN, node.index, eff.link, conn))
        else:
            self._schedule(self.now_us + self._delay(), (_UP, conn))

    def _connected(self, conn: Conn) -> None:
        a, b = conn.nodes
        na, nb = self.nodes[a], self.nodes[b]
        if not conn.open or not na.alive:
            return
        if not nb.alive or self._blocked(a, b):
            self._schedule(self.now_us + self._delay(), (_DOWN, a, conn.links[0], conn))
            return
        conn.up = True
        conn.links[1] = nb.next_inbound
        nb.links[nb.next_inbound] = conn
        nb.next_inbound -= 1
        self._run(a, na.state.on_link_up(conn.links[0], self.now_ms), "up")
        pending, conn.pending = conn.pending, []
        for data, reliable in pending:
            self._transmit(conn, 0, data, reliable)

    def _close(self, conn: Conn, notify_self: int | None) -> None:
        """Close a connection. Each end still registered loses it; an end whose link is
        outbound (positive) hears on_link_down unless it asked for the close itself.
        `notify_self`: the end that closed it without its state asking (driver error)."""
        conn.open = False
        for end in (0, 1):
            i, link = conn.nodes[end], conn.links[end]
            if i is None or i < 0 or link == 0:
                continue
            node = self.nodes[i]
            if node.links.get(link) is not conn:
                continue                      # this end already dropped it
            if link > 0 and node.alive:
                self._schedule(self.now_us + (0 if end == notify_self else self._delay()),
                               (_DOWN, i, link, conn))
            else:
                del node.links[link]

    def _send(self, node: SimNode, link: int, msg) -> None:
        conn = node.links.get(link)
        if conn is None or not conn.open:
            self.stats["send_no_link"] += 1
            return
        data = codec.encode(msg, self.secret) if self.wire else msg
        self.stats["sent"] += 1
        end = 0 if link > 0 else 1
        # Loss and corruption spare the handshake (a MEET, or anything between two nodes
        # that do not both know each other by id yet): Redis relies on TCP for it (it
        # never re-sends a MEET or a handshake PING); a lost one leaves the node outside
        # the cluster for good, in Redis too.
        peer = conn.nodes[1 - end]
        reliable = (msg.type is MsgType.MEET or peer is None or peer < 0
                    or not self._acquainted(node, self.nodes[peer]))
        if not conn.up:
            self.stats["send_before_up"] += 1
            conn.pending.append((data, reliable))
            return
        self._transmit(conn, end, data, reliable)

    @staticmethod
    def _acquainted(a: SimNode, b: SimNode) -> bool:
        ra, rb = b.state.nodes.get(a.id), a.state.nodes.get(b.id)
        return (ra is not None and rb is not None
                and not (ra.flags | rb.flags) & Flag.HANDSHAKE)

    def _transmit(self, conn: Conn, from_end: int, data, reliable: bool) -> None:
        to_end = 1 - from_end
        a, b = conn.nodes
        if a is not None and self._blocked(a, b):
            self.stats["lost_partition"] += 1
            return
        net = self.net
        if self.drop and net.random() < self.drop and not reliable:
            self.stats["dropped"] += 1
            return
        if self.reset and net.random() < self.reset and not reliable:
            self.stats["resets"] += 1           # the connection breaks, as TCP fails
            self._close(conn, notify_self=None)
            return
        copies = 2 if self.duplicate and net.random() < self.duplicate else 1
        self.stats["duplicated"] += copies - 1
        for _ in range(copies):
            bad = bool(self.corrupt and self.wire and net.random() < self.corrupt
                       and not reliable)
            at = max(self.now_us + self._delay(), conn.last[to_end])
            conn.last[to_end] = at
            self._schedule(at, (_DATA, conn, to_end, self._corrupted(data) if bad else data,
                                bad))

    def _corrupted(self, data: bytes) -> bytes:
        """Flip one bit after the length prefix (the frame stays a frame)."""
        self.stats["corrupted"] += 1
        pos = self.net.randrange(codec.LEN_PREFIX, len(data))
        out = bytearray(data)
        out[pos] ^= 1 << self.net.randrange(8)
        return bytes(out)

    def _arrive(self, conn: Conn, to_end: int, data, corrupted: bool) -> None:
        i = conn.nodes[to_end]
        if i is None or not conn.open:
            return
        node = self.nodes[i]
        a, b = conn.nodes
        if not node.alive or (a is not None and self._blocked(a, b)):
            self.stats["lost_partition" if node.alive else "lost_dead"] += 1
            return
        link = conn.links[to_end]
        self.stats["corrupted_arrived"] += corrupted
        if not self.wire:
            items = [data]
        else:
            items = conn.decoders[to_end].feed(data)
        state = node.state
        for item in items:
            if not conn.open or not node.alive:
                break
            if type(item) is BadFrame:
                node.bad_frames += 1
                self.stats["bad_frames"] += 1
                node.logs.append(f"+{self.elapsed_ms} (harness) bad frame: {item.reason}")
                self._run(i, state.on_bad_frame(link, item.reason, self.now_ms), "bad")
            else:
                self.stats["delivered"] += 1
                effects = state.on_message(item, link, self.now_ms, IP, IP)
                involved = [g.id for g in item.gossip]
                involved.append(item.header.sender)
                if item.node_id:
                    involved.append(item.node_id)
                self._run(i, effects, item.type.value, involved=involved)
        if self.wire and conn.decoders[to_end].broken and conn.open:
            self.stats["closed_broken"] += 1
            self._close(conn, notify_self=to_end)

    # -- network control ------------------------------------------------------------------
    def _blocked(self, a: int, b: int) -> bool:
        return (a, b) in self.blocked if self.blocked else False

    def partition(self, group_a, group_b=None) -> None:
        """Nodes of group_a and group_b (default: everyone else) stop reaching each other."""
        group_a = set(group_a)
        group_b = set(group_b) if group_b is not None else (
            set(range(len(self.nodes))) - group_a)
        for x in group_a:
            for y in group_b:
                self.blocked.add((x, y))
                self.blocked.add((y, x))

    def heal(self) -> None:
        self.blocked.clear()

    def kill(self, i: int) -> None:
        node = self.nodes[i]
        node.alive = False
        for conn in list(node.links.values()):
            self._close(conn, notify_self=None)

    def restart(self, i: int) -> None:
        """Start node i again (it must be dead) from its last saved nodes.conf text, as
        the node does: gossip.nodes_conf.parse_config -> ClusterState.from_saved."""
        node = self.nodes[i]
        if node.alive or node.last_config is None:
            raise ValueError(f"node {i} is running or never saved its config")
        saved = nodes_conf.parse_config(node.last_config)
        old = node.state
        node.state = ClusterState.from_saved(
            old.config, random.Random(f"{self.seed}:node{i}:restart{node.generation + 1}"),
            self.now_ms, saved.myself_id, saved.records, saved.current_epoch,
            saved.last_vote_epoch, saved.migrating, saved.importing)
        node.state.offset_provider = node.offset
        node.start_role()
        node.alive = True
        node.links = {}
        node.logs.append(f"+{self.elapsed_ms} (harness) restarted from its nodes.conf")
        if self.invariants is not None:
            self.invariants.forget_node(i)
            self.invariants.check(i, False)
        node.generation += 1
        self._schedule(self.now_us + self.net.randrange(TICK_MS * 1000),
                       (_TICK, i, node.generation))

    def inject(self, i: int, data: bytes) -> int:
        """Raw bytes from a stranger: a new inbound connection to node i carrying `data`.
        Returns the inbound link id."""
        node = self.nodes[i]
        conn = Conn(None, 0, i, self.secret)
        conn.up = True
        link = node.next_inbound
        node.next_inbound -= 1
        conn.links[1] = link
        node.links[link] = conn
        self._schedule(self.now_us + self._delay(), (_DATA, conn, 1, data, False))
        return link

    # -- commands, as redis-cli would send them ---------------------------------------------
    def command(self, i: int, name: str, *args):
        """Call a ClusterState command method on node i and perform its effects."""
        result = getattr(self.nodes[i].state, name)(*args, self.now_ms)
        effects = result[1] if isinstance(result, tuple) else result
        self._run(i, effects, name)
        return result

    def publish(self, i: int, channel: bytes, payload: bytes, shard: bool = False) -> None:
        """PUBLISH (or SPUBLISH with shard=True) on node i: the bus part of it."""
        self._run(i, self.nodes[i].state.publish(channel, payload, shard), "publish")

    def meet(self, i: int, j: int) -> None:
        self.command(i, "meet", IP, self.nodes[j].port, self.nodes[j].cport)

    def meet_all(self) -> None:
        """Every node meets node 0 (redis-cli --cluster create's order)."""
        for i in range(1, len(self.nodes)):
            self.meet(i, 0)

    def add_slots(self, i: int, first: int, last: int) -> None:
        self.command(i, "add_slots", list(range(first, last + 1)))

    def assign_slots(self, primaries: int = 3) -> None:
        """Nodes 0..primaries-1 get redis-cli's even split of all slots."""
        for i, (first, last) in enumerate(allocate_slots(primaries)):
            self.add_slots(i, first, last)

    # -- replicas and replication (failover) ---------------------------------------------
    def set_config(self, i: int, **fields) -> None:
        """Change node i's ClusterConfig fields (replica_no_failover also sets or clears
        the nofailover flag on myself, as CONFIG SET does)."""
        state = self.nodes[i].state
        for name, value in fields.items():
            setattr(state.config, name, value)
        if "replica_no_failover" in fields:
            if fields["replica_no_failover"]:
                state.myself.flags |= Flag.NOFAILOVER
            else:
                state.myself.flags &= ~Flag.NOFAILOVER

    def replicas_of(self, i: int) -> list[int]:
        """Live nodes whose own view says they replicate node i."""
        pid = self.nodes[i].id
        return [n.index for n in self.live() if n.state.myself.primary_id == pid
                and n.state.myself.is_replica]

    def primary_index(self, i: int) -> int | None:
        """The node index node i replicates (its own view), or None."""
        pid = self.nodes[i].state.myself.primary_id
        if not pid or not self.nodes[i].state.myself.is_replica:
            return None
        return next((n.index for n in self.nodes if n.id == pid), None)

    def write(self, i: int, amount: int, lag: dict[int, int] | None = None) -> None:
        """Primary i takes `amount` bytes of writes; its live replicas follow, each
        `lag[j]` bytes behind (default: in sync)."""
        node = self.nodes[i]
        node.repl_offset += amount
        for j in self.replicas_of(i):
            self.nodes[j].repl_offset = max(
                self.nodes[j].repl_offset, node.repl_offset - (lag or {}).get(j, 0))

    def failover(self, i: int, mode: str = "default") -> None:
        """CLUSTER FAILOVER [FORCE|TAKEOVER] on node i (mode: default|force|takeover)."""
        self.command(i, "failover", mode)

    def writes_paused(self, i: int) -> bool:
        """Node i's client writes are paused for a manual failover (PauseWrites)."""
        return self.nodes[i].paused_until > self.now_ms

    def set_config_epochs(self, epochs) -> None:
        """CLUSTER SET-CONFIG-EPOCH on nodes 0.. (before they meet anybody)."""
        for i, epoch in enumerate(epochs):
            self.command(i, "set_config_epoch", epoch)
