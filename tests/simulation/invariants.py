"""Invariants of Redis's cluster bus that hold at EVERY instant, checked after each event.

Only rules that are true at every step of Redis's protocol are here (eventual properties,
like "all views agree", are what the tests wait for). Per node, after each event that ran
its state machine:

- `myself` is in the node table under its own id, flagged `myself`, never `fail?`/`fail`,
  and its id does not change; exactly one record is flagged `myself`.
- myself's role (replica?, primary id) is the one its role effects (BecamePrimary /
  FollowPrimary, or role_effect() at start) last announced: no change goes unannounced.
- current_epoch never decreases; last_vote_epoch <= current_epoch; every known record's
  config epoch is <= current_epoch (a header raises currentEpoch before configEpoch is
  taken from it) and never decreases while the record exists (Redis only raises it).
- A record is never both `fail?` and `fail`, never both `master` and `slave`; a record
  owning slots is a `master` and not in `handshake`; failure reports come from known
  nodes other than myself; records are keyed by their id.
- slot_owner (the slot table) and the records' slot bitmaps say the same thing.
- Across nodes: no two nodes believe two DIFFERENT primaries own the same slot with the
  same config epoch (Redis's safety property; our scenarios never assign a slot twice).
- Failover: at most one node wins the election of an epoch; a node grants at most one
  vote per epoch, ever (tracked by node id, so across restarts from nodes.conf too: the
  last vote epoch is persisted).

`ownership_problem(sim)` is the check after convergence: every live node maps every
slot to the same owner, and no two live primaries claim the same slot themselves.

Cost: views of up to FULL_CHECK_NODES nodes are checked whole after every event. Larger
views are checked whole after each tick of the node and, after a message, on the records
the message names (sender, gossip entries, FAIL/UPDATE target) plus myself; the slot table
is compared whenever an owner's bitmap or epoch changed, and after ticks. That keeps a
50-node run within a few seconds.

After a tick (clusterCron + clusterUpdateState, and at that point only, because Redis may
defer the recomputation to beforeSleep/cron): `size` is the number of primaries with slots,
and `state_ok` implies the minority rule and, with require-full-coverage, full coverage by
non-FAIL primaries (the ok -> fail direction is immediate in Redis; fail -> ok has delays).
"""
from __future__ import annotations

from gossip.records import Flag
from slots import CLUSTER_SLOTS

FULL_CHECK_NODES = 16      # views up to this size: every record after every event

# plain ints: IntFlag arithmetic is slow, and this runs after every event
MYSELF, MASTER, SLAVE = int(Flag.MYSELF), int(Flag.MASTER), int(Flag.SLAVE)
PFAIL, FAIL, HANDSHAKE = int(Flag.PFAIL), int(Flag.FAIL), int(Flag.HANDSHAKE)


def _role_text(role: tuple[bool, str | None]) -> str:
    replica, primary_id = role
    return f"a replica of {primary_id}" if replica else "a primary"


class Invariants:
    def __init__(self, sim):
        self.sim = sim
        self.myself_id: dict[int, str] = {}
        self.current_epoch: dict[int, int] = {}
        self.record_epochs: dict[int, dict[str, tuple]] = {}   # id -> (record, epoch)
        self.owner_copy: dict[int, list] = {}
        self.bitmap_fp: dict[int, tuple] = {}
        self.claims: dict[int, dict[tuple[str, int], int]] = {}
        self.full_checks = 0
        self.winners: dict[int, str] = {}          # election epoch -> winner id
        self.grants: dict[int, int] = {}           # node index -> votes granted so far
        self.voted: dict[str, set[int]] = {}       # node id -> epochs it granted a vote in

    def forget_node(self, i: int) -> None:
        """After a restart/reset of node i: start its trackers afresh."""
        for table in (self.myself_id, self.current_epoch, self.record_epochs,
                      self.owner_copy, self.bitmap_fp, self.claims, self.grants):
            table.pop(i, None)

    # -- per node ---------------------------------------------------------------------
    def check(self, i: int, after_tick: bool, involved=None) -> None:
        """`involved`: ids of the records the event can have touched (a message's sender,
        gossip entries, FAIL/UPDATE target); None checks every record. Large clusters
        check every record after each tick and the involved ones after a message, which
        keeps 50 nodes fast; small ones check every record after every event."""
        s = self.sim.nodes[i].state
        fail = self.sim.fail
        me = s.myself
        my_id = me.id
        known = self.myself_id.setdefault(i, my_id)
        if my_id != known:
            fail(f"node {i}: myself id changed from {known} to {my_id}", [i])
        if s.nodes.get(my_id) is not me:
            fail(f"node {i}: myself ({my_id}) is not nodes[{my_id!r}]", [i])
        if not int(me.flags) & MYSELF:
            fail(f"node {i}: its own record lacks the myself flag", [i])
        if int(me.flags) & (PFAIL | FAIL):
            fail(f"node {i}: myself is flagged {me.flags!r}", [i])
        role = (True, me.primary_id) if int(me.flags) & SLAVE else (False, None)
        announced = self.sim.nodes[i].role
        if role != announced:
            fail(f"node {i}: myself is {_role_text(role)} but its role effects announced "
                 f"{_role_text(announced)}", [i])

        cur = s.current_epoch
        prev = self.current_epoch.get(i, 0)
        if cur < prev:
            fail(f"node {i}: current_epoch decreased {prev} -> {cur}", [i])
        self.current_epoch[i] = cur
        if s.last_vote_epoch > cur:
            fail(f"node {i}: last_vote_epoch {s.last_vote_epoch} > current_epoch {cur}", [i])

        nodes = s.nodes
        epochs = self.record_epochs.setdefault(i, {})
        if involved is None or len(nodes) <= FULL_CHECK_NODES:
            records = nodes.items()
            myself_count = 0
        else:
            records = [(rid, nodes[rid]) for rid in involved if rid in nodes]
            records.append((my_id, me))
            myself_count = None
        for rid, r in records:
            flags = int(r.flags)
            if r.id != rid:
                fail(f"node {i}: record keyed {rid} has id {r.id}", [i])
            if flags & MYSELF and myself_count is not None:
                myself_count += 1
            if flags & PFAIL and flags & FAIL:
                fail(f"node {i}: {rid[:8]} is both fail? and fail", [i])
            if flags & MASTER and flags & SLAVE:
                fail(f"node {i}: {rid[:8]} is both master and slave", [i])
            if r.slots.count and (not flags & MASTER or flags & HANDSHAKE):
                fail(f"node {i}: {rid[:8]} owns {r.slots.count} slots but has flags "
                     f"{r.flags!r}", [i])
            epoch = r.config_epoch
            if epoch > cur:
                fail(f"node {i}: {rid[:8]} config_epoch {epoch} > current_epoch {cur}", [i])
            old = epochs.get(rid)
            if old is not None and old[0] is r and epoch < old[1]:
                fail(f"node {i}: config epoch of {rid[:8]} decreased {old[1]} -> {epoch}",
                     [i])
            epochs[rid] = (r, epoch)
            for reporter in r.fail_reports:
                if reporter == my_id or reporter not in nodes:
                    fail(f"node {i}: failure report on {rid[:8]} from "
                         f"{'myself' if reporter == my_id else 'unknown ' + reporter[:8]}",
                         [i])
        if myself_count is not None and myself_count != 1:
            fail(f"node {i}: {myself_count} records flagged myself", [i])
        if len(epochs) > 2 * len(nodes) + 16:
            for rid in [rid for rid in epochs if rid not in nodes]:
                del epochs[rid]

        self._check_slots(i, s, compare_table=after_tick or len(nodes) <= FULL_CHECK_NODES)
        self._check_election(i, s)
        if after_tick:
            self._check_state(i, s)

    def _check_election(self, i: int, s) -> None:
        el = s.election
        my_id = s.myself.id
        if el.won_epoch:
            winner = self.winners.setdefault(el.won_epoch, my_id)
            if winner != my_id:
                self.sim.fail(f"node {i} ({my_id[:8]}) won the election of epoch "
                              f"{el.won_epoch}, already won by {winner[:8]}", [i])
        before = self.grants.get(i, 0)
        if el.grants != before:
            epochs = self.voted.setdefault(my_id, set())
            if el.grants - before != 1 or s.last_vote_epoch in epochs:
                self.sim.fail(f"node {i}: voted twice in epoch {s.last_vote_epoch} "
                              f"(grants {before} -> {el.grants}, earlier votes "
                              f"{sorted(epochs)})", [i])
            epochs.add(s.last_vote_epoch)
            self.grants[i] = el.grants

    def _check_slots(self, i: int, s, compare_table: bool) -> None:
        """Full comparison when the owners' bitmaps changed; otherwise the slot table is
        compared with its last checked copy (in large clusters: after ticks only)."""
        owner = s.slot_owner
        fp = tuple((rid, r.config_epoch, bytes(r.slots))
                   for rid, r in s.nodes.items() if r.slots.count)
        if self.bitmap_fp.get(i) == fp and (not compare_table
                                            or self.owner_copy.get(i) == owner):
            return
        self.full_checks += 1
        if len(owner) != CLUSTER_SLOTS:
            self.sim.fail(f"node {i}: slot_owner has {len(owner)} entries", [i])
        from_table: dict[str, int] = {}
        for slot, oid in enumerate(owner):
            if oid is not None:
                from_table[oid] = from_table.get(oid, 0) | (1 << slot)
        from_records = {rid: int.from_bytes(raw, "little") for rid, _, raw in fp}
        if from_table != from_records:
            for rid in sorted(set(from_table) | set(from_records)):
                a, b = from_table.get(rid, 0), from_records.get(rid, 0)
                if a != b:
                    slot = ((a ^ b) & -(a ^ b)).bit_length() - 1
                    self.sim.fail(
                        f"node {i}: slot_owner[{slot}] is {owner[slot]!r} but the record "
                        f"bitmaps say {'%s owns it' % rid if b >> slot & 1 else 'not ' + rid}",
                        [i])
        self.owner_copy[i] = list(owner)
        self.bitmap_fp[i] = fp
        claims = {(rid, ep): from_records[rid] for rid, ep, _ in fp}
        self.claims[i] = claims
        self._check_claims(i, claims)

    def _check_claims(self, i: int, claims) -> None:
        for j, other in self.claims.items():
            if j == i:
                continue
            for (rid, ep), mask in claims.items():
                for (rid2, ep2), mask2 in other.items():
                    if ep2 == ep and rid2 != rid and mask & mask2:
                        slot = (mask & mask2 & -(mask & mask2)).bit_length() - 1
                        self.sim.fail(
                            f"slot {slot}: node {i} believes {rid[:8]} owns it and node {j} "
                            f"believes {rid2[:8]} owns it, both with config epoch {ep}",
                            [i, j])

    def _check_state(self, i: int, s) -> None:
        size = reachable = covered = 0
        for r in s.nodes.values():
            flags = int(r.flags)
            if flags & MASTER and r.slots.count:
                size += 1
                if not flags & (PFAIL | FAIL):
                    reachable += 1
                if not flags & FAIL:
                    covered += r.slots.count
        if s.size != size:
            self.sim.fail(f"node {i}: after a tick size is {s.size}, but {size} primaries "
                          f"own slots", [i])
        if not s.state_ok:
            return
        if reachable < size // 2 + 1:
            self.sim.fail(f"node {i}: cluster_state ok with only {reachable} of {size} "
                          f"primaries reachable", [i])
        if s.config.require_full_coverage and covered != CLUSTER_SLOTS:
            self.sim.fail(f"node {i}: cluster_state ok but only {covered} slots are served "
                          f"by non-FAIL primaries (require-full-coverage)", [i])


def ownership_problem(sim) -> str | None:
    """After convergence: one owner per slot in every live view, the same everywhere,
    and no two live primaries claiming one slot themselves. None when all is well."""
    live = sim.live()
    tables = {n.index: tuple(n.state.slot_owner) for n in live}
    if len(set(tables.values())) != 1:
        first = tables[live[0].index]
        for n in live[1:]:
            other = tables[n.index]
            if other != first:
                slot = next(k for k in range(CLUSTER_SLOTS) if other[k] != first[k])
                return (f"slot {slot}: node {live[0].index} says {first[slot]}, node "
                        f"{n.index} says {other[slot]}")
    claimed: dict[int, int] = {}
    for n in live:
        me = n.state.myself
        if not me.is_primary:
            continue
        for slot in me.slots:
            if slot in claimed:
                return f"slot {slot} claimed by nodes {claimed[slot]} and {n.index}"
            claimed[slot] = n.index
    return None
