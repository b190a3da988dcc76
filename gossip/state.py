"""The cluster bus state machine (clusterCron / clusterProcessPacket, sans I/O).

Driven as:
    state.tick(now)                            every 100 ms
    state.on_message(msg, link, now, local_ip, peer_ip)  for each decoded frame
    state.on_link_up(link, now) / on_link_down(link, now)   outbound link events
    state.on_bad_frame(link, reason, now)      a frame the codec rejected
and by the CLUSTER commands (meet, add_slots, ...). Every call returns a list of effects
(gossip.effects) for the driver to perform. `now` is unix milliseconds; randomness comes
only from the injected `random.Random`. No I/O, no clock.

The rules are Redis's (shared/reference/redis-cluster-facts.md section 2). This module is
the facade and keeps the node table; the rules live in:
    gossip/packet.py     clusterProcessPacket (what a received message does)
    gossip/heartbeat.py  message headers, PING/PONG/MEET with gossip, the gossip section
    gossip/failure.py    failure reports, PFAIL -> FAIL, clearing FAIL
    gossip/slotconf.py   slot ownership, config epochs, UPDATE, collisions, roles
    gossip/health.py     cluster_state ok/fail (clusterUpdateState)
    gossip/cron.py       clusterCron
    gossip/admin.py      the CLUSTER commands that change the state
    gossip/setslot.py    CLUSTER SETSLOT (open slots, manual hand-over of a slot)

CONTRACT (what other modules rely on; keep these names):
    ClusterState(config, rng, now, myself_id=None)
    ClusterState.from_saved(config, rng, now, myself_id, records, current_epoch,
                            last_vote_epoch)            (state loaded from nodes.conf)
    .config: ClusterConfig      .rng
    .myself: NodeRecord         .nodes: dict[str, NodeRecord]  (myself included)
    .current_epoch: int         .last_vote_epoch: int
    .slot_owner: list[str | None] (16384 entries; read-only outside: every change goes
        through set_slot_owner, reached from add_slot / del_slot)
    .slots_by_owner: dict[str, int]  owner id -> how many slots slot_owner gives it
        (owners with none are absent); CLUSTER INFO sums it instead of walking slots
    slot_runs() -> [(first, last, owner id)]  maximal runs of one owner in slot order,
        cached until ownership changes (CLUSTER SLOTS / SHARDS)
    .migrating: dict[int, str]  .importing: dict[int, str]      (slot -> node id)
    .state_ok: bool             .size: int (primaries owning >= 1 slot)
    .stats_sent / .stats_received: collections.Counter keyed by MsgType
    .bad_frames: int
    methods listed below.
Added (optional, read-only for other modules):
    .blacklist: dict[str, int]  node id -> unix ms when it may be re-added (FORGET)
    .outbound: dict[int, NodeRecord]  my outbound link id -> the node it goes to
    .inbound: dict[int, NodeRecord]   inbound link id -> the node that spoke on it
    .myself.repl_offset: the node sets it (replication offset advertised in headers)
    lookup(node_id), link_node(link)
Failover (gossip/failover.py):
    .offset_provider: Callable[[], int] | None  set by the node / simulation; refreshes
        .myself.repl_offset at the start of every input (tick, message, command)
    .repl_last_io: int   unix ms of the last data from my primary (0: unknown -> the
        primary record's data_received is used for the data-age check)
    .election: failover.Election   the replica's election state
    todo(handle_failover=True)     run the election check in beforeSleep
Manual failover and replica migration (gossip/manual.py, gossip/migration.py; the record
of a running manual failover and its reset in gossip/mfstate.py):
    .mf: mfstate.ManualFailover | None  the manual failover in progress (either side)
    failover(mode, now)   CLUSTER FAILOVER [FORCE|TAKEOVER]; effects PauseWrites /
        UnpauseWrites on the primary side
Role changes (gossip.effects BecamePrimary / FollowPrimary):
    RULE: whenever an input (tick, on_message, on_link_*, on_bad_frame, a CLUSTER
    command) changes myself's role -- replica -> primary, primary -> replica, or a
    replica's primary -- the effects it returns announce it, at the point of the change
    (in order with the other effects): BecamePrimary() when myself becomes a primary,
    FollowPrimary(primary_id) when it becomes a replica or gets another primary. Nothing
    is announced when the role stays the same (myself's role as (replica?, primary id),
    slotconf.my_role). Only slotconf.set_node_as_master(st, st.myself) and
    slotconf.set_my_primary change myself's role, and they emit the effect; they are
    reached from the election and TAKEOVER (failover.replace_my_primary), UPDATE and
    heartbeats (slotconf.update_slots_config_with, process_update), replica migration,
    CLUSTER REPLICATE / RESET and SETSLOT NODE. A command that raises ClusterError
    changes nothing and emits nothing.
    role_effect()   the current role as an effect, for the node at start-up (the role
        loaded from nodes.conf): BecamePrimary(), FollowPrimary(id), or None for a
        replica whose primary is unknown (nothing to follow yet)
"""
from __future__ import annotations

import collections
import random
from typing import Callable

from gossip import (admin, cron, failover, health, heartbeat, manual, packet, setslot,
                    slotconf)
from gossip.config import (  # noqa: F401  (re-exported: the contract names live here)
    BLACKLIST_TTL_MS, CRON_PERIOD_MS, FAIL_REPORT_VALIDITY_MULT, FAIL_UNDO_TIME_MULT,
    WRITABLE_DELAY_MS, ClusterConfig, new_node_id)
from gossip.effects import (BecamePrimary, Connect, Disconnect, Effect, FollowPrimary, Log,
                            Role, SaveConfig, Send)
from gossip.errors import ClusterError  # noqa: F401  (re-exported)
from gossip.messages import Message, MsgType
from gossip.records import Flag, NodeRecord
from slots import CLUSTER_SLOTS


class ClusterState:
    def __init__(self, config: ClusterConfig, rng: random.Random, now: int,
                 myself_id: str | None = None):
        self.config = config
        self.rng = rng
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.slot_owner: list[str | None] = [None] * CLUSTER_SLOTS
        # slot_owner's bookkeeping, kept by set_slot_owner: per-owner counts, and the
        # merged runs (None: to rebuild from the owners' cached bitmap runs).
        self.slots_by_owner: dict[str, int] = {}
        self._slot_runs: list[tuple[int, int, str]] | None = None
        self.migrating: dict[int, str] = {}
        self.importing: dict[int, str] = {}
        self.state_ok = False
        self.size = 0
        self.stats_sent: collections.Counter = collections.Counter()
        self.stats_received: collections.Counter = collections.Counter()
        self.bad_frames = 0
        self.mf = None                    # gossip.mfstate.ManualFailover while one runs
        self.blacklist: dict[str, int] = {}
        self.owner_not_claiming: set[int] = set()   # slots whose owner stopped claiming them
        self.outbound: dict[int, NodeRecord] = {}
        self.inbound: dict[int, NodeRecord] = {}
        self.iteration = 0                # cron ticks so far
        self.first_state_time = 0         # first clusterUpdateState (writable delay)
        self.among_minority_time = 0      # last time we were in a minority partition
        self.now = now
        self._next_link = 1
        self._out: list[Effect] = []
        self._todo_save = self._todo_fsync = self._todo_update = False
        self._todo_failover = False
        # failover (gossip/failover.py): the node (and the simulation) set these
        self.offset_provider: Callable[[], int] | None = None   # my replication offset
        self.repl_last_io = 0     # unix ms of the last data from my primary (0: unknown)
        self.election = failover.Election()
        flags = Flag.MYSELF | Flag.MASTER
        if config.replica_no_failover:
            flags |= Flag.NOFAILOVER
        self.myself = NodeRecord(
            id=myself_id or new_node_id(rng), ip=config.announce_ip,
            port=config.announce_port or config.port,
            cport=config.announce_bus_port or config.cport,
            hostname=config.announce_hostname, flags=flags, created=now,
            shard_id=new_node_id(rng))
        self.nodes: dict[str, NodeRecord] = {self.myself.id: self.myself}

    @classmethod
    def from_saved(cls, config: ClusterConfig, rng: random.Random, now: int, myself_id: str,
                   records: list[NodeRecord], current_epoch: int, last_vote_epoch: int,
                   migrating: dict[int, str] | None = None,
                   importing: dict[int, str] | None = None) -> "ClusterState":
        """clusterLoadConfig: rebuild the state from nodes.conf records (myself among them).

        Timestamps become `now` when non-zero, links start closed, a replica's config
        epoch is 0, ids named only as a primary or open-slot peer get an empty record
        (as Redis does). Raises ValueError if myself_id is not among the records."""
        saved = {rec.id: rec for rec in records}
        if myself_id not in saved:
            raise ValueError(f"no record for myself ({myself_id}) in the saved config")
        st = cls(config, rng, now, myself_id)
        me, mine = st.myself, saved[myself_id]
        me.flags = (mine.flags & ~(Flag.HANDSHAKE | Flag.MEET | Flag.NOFAILOVER)) | Flag.MYSELF
        if config.replica_no_failover:
            me.flags |= Flag.NOFAILOVER
        me.ip = config.announce_ip or mine.ip
        me.primary_id = mine.primary_id
        me.config_epoch = mine.config_epoch
        me.shard_id = mine.shard_id or me.shard_id
        if mine.hostname and not config.announce_hostname:
            me.hostname = mine.hostname
        for rec in records:
            if rec.id == myself_id:
                continue
            st.nodes[rec.id] = NodeRecord(
                id=rec.id, ip=rec.ip, port=rec.port, cport=rec.cport, hostname=rec.hostname,
                flags=rec.flags & ~(Flag.MYSELF | Flag.HANDSHAKE | Flag.MEET),
                primary_id=rec.primary_id, config_epoch=rec.config_epoch,
                ping_sent=now if rec.ping_sent else 0,
                pong_received=now if rec.pong_received else 0,
                fail_time=rec.fail_time, created=now,
                shard_id=rec.shard_id or new_node_id(rng))
        for rec in records:
            if rec.primary_id:
                st._placeholder(rec.primary_id)
        for table in (migrating or {}, importing or {}):
            for node_id in table.values():
                st._placeholder(node_id)
        for rec in records:
            node = st.nodes[rec.id]
            if node.is_replica and node.primary_id:
                node.config_epoch = 0
            for slot in rec.slots:
                if st.slot_owner[slot] is None:
                    st.add_slot(node, slot)
        st.migrating = dict(migrating or {})
        st.importing = dict(importing or {})
        st.current_epoch = max([current_epoch] + [n.config_epoch for n in st.nodes.values()])
        st.last_vote_epoch = last_vote_epoch
        return st

    def _placeholder(self, node_id: str) -> None:
        if node_id not in self.nodes:
            self.nodes[node_id] = NodeRecord(id=node_id, created=self.now,
                                             shard_id=new_node_id(self.rng))

    # -- driver inputs ------------------------------------------------------------
    def tick(self, now: int) -> list[Effect]:
        """clusterCron: handshake timeouts, connects, pings, PFAIL, state."""
        return self._run(now, cron.cron, self)

    def on_message(self, msg: Message, link: int, now: int, local_ip: str = "",
                   peer_ip: str = "") -> list[Effect]:
        """clusterProcessPacket. `link` is where it came from (reply there);
        `local_ip` is our address on that connection (learned on MEET); `peer_ip` is the
        remote address of that connection (a MEET sender's address unless it announces
        one in header.myip)."""
        self.stats_received[msg.type] += 1
        return self._run(now, packet.process, self, msg, link, local_ip, peer_ip)

    def on_link_up(self, link: int, now: int) -> list[Effect]:
        return self._run(now, self._link_up, link)

    def on_link_down(self, link: int, now: int) -> list[Effect]:
        return self._run(now, self._link_down, link)

    def on_bad_frame(self, link: int, reason: str, now: int) -> list[Effect]:
        self.bad_frames += 1
        node = self.link_node(link)
        who = f"node {node.id}" if node else f"link {link}"
        return self._run(now, self.log, "warning",
                         f"Dropping a bad cluster bus frame from {who}: {reason}")

    # -- CLUSTER commands ---------------------------------------------------------
    def meet(self, ip: str, port: int, cport: int, now: int) -> list[Effect]:
        """CLUSTER MEET: raises ClusterError("ERR Invalid node address specified: ip:port")."""
        return self._run(now, admin.meet, self, ip, port, cport)

    def add_slots(self, slots: list[int], now: int) -> list[Effect]:
        """ADDSLOTS / ADDSLOTSRANGE (ranges expanded in argument order)."""
        return self._run(now, admin.add_slots, self, slots)

    def del_slots(self, slots: list[int], now: int) -> list[Effect]:
        return self._run(now, admin.del_slots, self, slots)

    def flush_slots(self, now: int) -> list[Effect]:
        """FLUSHSLOTS (the node checks the DB is empty first)."""
        return self._run(now, admin.flush_slots, self)

    def set_slot(self, slot: int, action: str, node_id: str | None, keys_in_slot: int,
                 now: int) -> list[Effect]:
        """SETSLOT <slot> IMPORTING|MIGRATING|STABLE|NODE (gossip/setslot.py); the node
        passes how many keys it holds in the slot."""
        return self._run(now, setslot.set_slot, self, slot, action, node_id, keys_in_slot)

    def forget(self, node_id: str, now: int) -> list[Effect]:
        return self._run(now, admin.forget, self, node_id)

    def reset(self, hard: bool, now: int) -> list[Effect]:
        """RESET SOFT|HARD (the node checks keys, flushes a replica's data)."""
        return self._run(now, admin.reset, self, hard)

    def replicate(self, node_id: str, keys: int, now: int) -> list[Effect]:
        """CLUSTER REPLICATE <node_id>: become a replica of that primary (the node passes
        how many keys it holds in db 0). ClusterError with Redis's words otherwise."""
        return self._run(now, admin.replicate, self, node_id, keys)

    def set_config_epoch(self, epoch: int, now: int) -> list[Effect]:
        return self._run(now, admin.set_config_epoch, self, epoch)

    def bump_epoch(self, now: int) -> tuple[bool, list[Effect]]:
        """(bumped?, effects): CLUSTER BUMPEPOCH answers BUMPED or STILL <epoch>."""
        result: list[bool] = []
        effects = self._run(now, lambda: result.append(admin.bump_epoch(self)))
        return result[0], effects

    def count_failure_reports(self, node_id: str, now: int) -> int:
        self.now = now
        return admin.count_failure_reports(self, node_id)

    def publish(self, channel: bytes, payload: bytes, shard: bool) -> list[Effect]:
        return self._run(self.now, admin.publish, self, channel, payload, shard)

    def failover(self, mode: str, now: int) -> list[Effect]:
        """CLUSTER FAILOVER [FORCE|TAKEOVER] (mode: default | force | takeover) on a
        replica (gossip/manual.py); ClusterError with Redis's words otherwise."""
        return self._run(now, manual.failover, self, mode)

    def replicas_of(self, node_id: str) -> list[NodeRecord]:
        """CLUSTER REPLICAS: ClusterError for an unknown node or a replica."""
        return admin.replicas_of(self, node_id)

    # -- queries --------------------------------------------------------------------
    def lookup(self, node_id: str) -> NodeRecord | None:
        return self.nodes.get(node_id)

    def link_node(self, link: int) -> NodeRecord | None:
        """The node an outbound link goes to, or the sender seen on an inbound link."""
        return self.outbound.get(link) if link > 0 else self.inbound.get(link)

    def owner(self, slot: int) -> NodeRecord | None:
        owner_id = self.slot_owner[slot]
        return self.nodes[owner_id] if owner_id is not None else None

    def is_voting_primary(self, node: NodeRecord) -> bool:
        return node.is_primary and len(node.slots) > 0

    def primary_of(self, node: NodeRecord) -> NodeRecord | None:
        return self.nodes.get(node.primary_id) if node.primary_id else None

    def blacklisted(self, node_id: str) -> bool:
        for expired in [k for k, until in self.blacklist.items() if until < self.now]:
            del self.blacklist[expired]
        return node_id in self.blacklist

    def header(self):
        """The header this node puts on every message it sends now."""
        return heartbeat.header(self)

    def slot_unclaimed(self, slot: int) -> bool:
        return self.slot_owner[slot] is None or slot in self.owner_not_claiming

    def role_effect(self) -> Role | None:
        """Myself's current role as the effect that would announce it (the node applies
        it at start-up, e.g. the role loaded from nodes.conf); None for a replica whose
        primary is unknown."""
        replica, primary_id = slotconf.my_role(self)
        if not replica:
            return BecamePrimary()
        return FollowPrimary(primary_id) if primary_id else None

    # -- effects (used by the rule modules) -------------------------------------------
    def _run(self, now: int, fn, *args):
        self.now = now
        if self.offset_provider is not None:
            self.myself.repl_offset = self.offset_provider()
        try:
            fn(*args)
        except ClusterError:
            self._out = []
            self._todo_save = self._todo_fsync = self._todo_update = False
            self._todo_failover = False
            raise
        return self._before_sleep()

    def _before_sleep(self) -> list[Effect]:
        """clusterBeforeSleep: the election, update the state, then save the config,
        once per event."""
        if self._todo_failover or (self._todo_update and self.myself.is_replica):
            self._todo_failover = False     # (a FAIL just seen starts the election now)
            failover.cron(self)
        if self._todo_update:
            self._todo_update = False
            health.update_state(self)
        if self._todo_save:
            self._out.append(SaveConfig(fsync=self._todo_fsync))
            self._todo_save = self._todo_fsync = False
        out, self._out = self._out, []
        return out

    def todo(self, save: bool = False, fsync: bool = False, update: bool = False,
             handle_failover: bool = False) -> None:
        """clusterDoBeforeSleep: fsync implies save."""
        self._todo_failover |= handle_failover
        self._todo_save |= save or fsync
        self._todo_fsync |= fsync
        self._todo_update |= update

    def emit(self, effect: Effect) -> None:
        """Queue an effect for the driver (the rule modules' way to ask for one)."""
        self._out.append(effect)

    def log(self, level: str, text: str) -> None:
        self._out.append(Log(level, text))

    def send(self, link: int, msg: Message) -> None:
        self._out.append(Send(link, msg))
        self.stats_sent[msg.type] += 1

    def send_to(self, node: NodeRecord, msg: Message) -> bool:
        """Send on the node's outbound link if it is connected."""
        if node.link is None or not node.link_up:
            return False
        self.send(node.link, msg)
        return True

    def broadcast(self, msg: Message) -> None:
        """clusterBroadcastMessage: every connected node but myself and handshakes."""
        for node in list(self.nodes.values()):
            if not node.flags & (Flag.MYSELF | Flag.HANDSHAKE):
                self.send_to(node, msg)

    # -- the node table and links -----------------------------------------------------
    def add_node(self, node: NodeRecord) -> None:
        self.nodes[node.id] = node
        self._slot_runs = None          # (slot_runs leaves out owners not in the table)

    def del_node(self, node: NodeRecord) -> None:
        """clusterDelNode: its slots unassigned, its reports and links dropped."""
        for table in (self.importing, self.migrating):
            for slot in [s for s, n in table.items() if n == node.id]:
                del table[slot]
        for slot in list(node.slots):
            self.del_slot(slot)
        for other in self.nodes.values():
            other.fail_reports.pop(node.id, None)
            if other.primary_id == node.id and other is not self.myself:
                other.primary_id = None
        self.drop_link(node)
        for link in [k for k, n in self.inbound.items() if n is node]:
            del self.inbound[link]
        self.nodes.pop(node.id, None)
        self._slot_runs = None

    def rename_node(self, node: NodeRecord, new_id: str) -> None:
        self.log("debug", f"Renaming node {node.id} into {new_id}")
        del self.nodes[node.id]
        node.id = new_id
        self.nodes[new_id] = node
        self._slot_runs = None

    def connect(self, node: NodeRecord) -> None:
        """Open an outbound link. A connect attempt counts as a ping sent (as a failed
        connect does in Redis), so an unreachable node goes PFAIL after node_timeout."""
        link = self._next_link
        self._next_link += 1
        node.link, node.link_up, node.link_created = link, False, self.now
        self.outbound[link] = node
        if node.ping_sent == 0:
            node.ping_sent = self.now
        self._out.append(Connect(link, node.ip, node.cport))

    def drop_link(self, node: NodeRecord) -> None:
        """freeClusterLink on the outbound link; cron reconnects later."""
        if node.link is None:
            return
        self._out.append(Disconnect(node.link))
        self.outbound.pop(node.link, None)
        node.link, node.link_up = None, False

    def _link_up(self, link: int) -> None:
        node = self.outbound.get(link)
        if node is None:
            self._out.append(Disconnect(link))
            return
        node.link_up = True
        old_ping_sent = node.ping_sent
        heartbeat.send_ping(self, link, MsgType.MEET if node.flags & Flag.MEET else MsgType.PING)
        if old_ping_sent:
            node.ping_sent = old_ping_sent
        node.flags &= ~Flag.MEET

    def _link_down(self, link: int) -> None:
        if link < 0:
            self.inbound.pop(link, None)
            return
        node = self.outbound.pop(link, None)
        if node is not None and node.link == link:
            node.link, node.link_up = None, False

    # -- slot primitives (clusterAddSlot / clusterDelSlot) ----------------------------
    def add_slot(self, node: NodeRecord, slot: int) -> bool:
        if self.slot_owner[slot] is not None:
            return False
        if node.slots.add(slot) and len(node.slots) == 1 and self._primaries_have_replicas():
            node.flags |= Flag.MIGRATE_TO
        self.set_slot_owner(slot, node.id)
        return True

    def del_slot(self, slot: int) -> bool:
        owner_id = self.slot_owner[slot]
        if owner_id is None:
            return False
        self.nodes[owner_id].slots.discard(slot)
        self.set_slot_owner(slot, None)
        self.owner_not_claiming.discard(slot)
        return True

    def set_slot_owner(self, slot: int, owner_id: str | None) -> None:
        """The one writer of slot_owner: keeps slots_by_owner and the run cache in step.
        (add_slot / del_slot keep the owners' bitmaps; this keeps the table.)"""
        old = self.slot_owner[slot]
        if old == owner_id:
            return
        counts = self.slots_by_owner
        if old is not None:
            left = counts.get(old, 0) - 1
            if left > 0:
                counts[old] = left
            else:
                counts.pop(old, None)
        if owner_id is not None:
            counts[owner_id] = counts.get(owner_id, 0) + 1
        self.slot_owner[slot] = owner_id
        self._slot_runs = None

    def slot_runs(self) -> list[tuple[int, int, str]]:
        """Maximal runs of consecutive slots with one owner, (first, last, owner id), in
        slot order. Rebuilt after a change by merging the owners' bitmap runs (each cached
        by its bitmap, so only owners whose slots changed are walked again); owners
        unknown to the node table are left out. Do not modify the returned list."""
        runs = self._slot_runs
        if runs is None:
            runs = []
            for owner_id in self.slots_by_owner:
                node = self.nodes.get(owner_id)
                if node is not None:
                    runs.extend((first, last, owner_id) for first, last in node.slots.runs())
            runs.sort()
            self._slot_runs = runs
        return runs

    def _primaries_have_replicas(self) -> bool:
        return any(n.is_replica and n.primary_id in self.nodes for n in self.nodes.values())


__all__ = ["ClusterState", "ClusterConfig", "ClusterError", "new_node_id",
           "CRON_PERIOD_MS", "BLACKLIST_TTL_MS", "FAIL_REPORT_VALIDITY_MULT",
           "FAIL_UNDO_TIME_MULT", "WRITABLE_DELAY_MS"]
