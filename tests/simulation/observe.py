"""What the tests look at in a Simulation: views, convergence predicates, failure
reports with the seed and a state dump. Mixed into tests.simulation.harness.Simulation."""
from __future__ import annotations

import os

from gossip import nodes_conf
from gossip.records import Flag, format_flags
from slots import CLUSTER_SLOTS, SlotRanges

START_MS = 1_700_000_000_000        # virtual time starts here (unix ms)
DUMP_LOG_LINES = 8


def config_text(state) -> str:
    """The nodes.conf text of a state (gossip.nodes_conf.format_config)."""
    return nodes_conf.format_config(state.nodes.values(), state.myself.id,
                                    state.current_epoch, state.last_vote_epoch,
                                    state.migrating, state.importing)


def cluster_nodes_text(state, now: int) -> str:
    """CLUSTER NODES as the node would reply (gossip.nodes_conf.format_nodes)."""
    return nodes_conf.format_nodes(state.nodes.values(), state.myself.id, now,
                                   state.migrating, state.importing)


class SimulationFailure(AssertionError):
    """An invariant violated or a condition not reached; the message says how to replay."""


def replay_hint(seed: int) -> str:
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].split("[")[0]
    target = f" '{test}'" if test else " tests/simulation"
    return f"SIM_SEED={seed} .venv/bin/python -m pytest -q{target}"


class Observe:
    def live(self) -> list:
        return [n for n in self.nodes if n.alive]

    _ranges_cache: dict[bytes, str] = {}

    @classmethod
    def _ranges(cls, raw: bytes) -> str:
        text = cls._ranges_cache.get(raw)
        if text is None:
            bits = int.from_bytes(raw, "little")
            text = SlotRanges(s for s in range(CLUSTER_SLOTS) if bits >> s & 1).format()
            if len(cls._ranges_cache) > 4096:
                cls._ranges_cache.clear()
            cls._ranges_cache[raw] = text
        return text

    def signature(self, i: int) -> str:
        """redis-cli's config signature of node i's view: sorted `id:slots` of the nodes
        that own slots."""
        state = self.nodes[i].state
        parts = sorted(f"{r.id}:{self._ranges(bytes(r.slots))}"
                       for r in state.nodes.values() if r.slots.count)
        return "|".join(parts)

    def views(self) -> dict[int, str]:
        return {n.index: self.signature(n.index) for n in self.live()}

    def views_agree(self) -> bool:
        return len(set(self.views().values())) == 1

    def all_ok(self) -> bool:
        return all(n.state.state_ok for n in self.live())

    def full_membership(self) -> bool:
        """Every live node knows every live node (not in handshake, not failing) and has
        its current config epoch, i.e. has processed a header from it (a node learned from
        gossip shows epoch 0, and gossip also carries pong times)."""
        live = self.live()
        # a replica advertises its primary's config epoch; records only ever raise it
        epochs = [(n.id, n.state.header().config_epoch, n.state.myself.is_replica)
                  for n in live]
        bad = Flag.HANDSHAKE | Flag.PFAIL | Flag.FAIL
        for n in live:
            known = n.state.nodes
            for nid, epoch, replica in epochs:
                r = known.get(nid)
                if r is None or int(r.flags) & bad:
                    return False
                if r.config_epoch != epoch and not (replica and (r.config_epoch > epoch
                                                                 or nid == n.id)):
                    return False
        return True

    def converged(self) -> bool:
        return self.all_ok() and self.full_membership() and self.views_agree()

    def flagged(self, observer: int, target: int, flag: Flag) -> bool:
        r = self.nodes[observer].state.nodes.get(self.nodes[target].id)
        return r is not None and bool(r.flags & flag)

    # -- failure reports ------------------------------------------------------------------
    def fail(self, message: str, focus=None):
        raise SimulationFailure(self.report(message, focus))

    def report(self, message: str, focus=None) -> str:
        lines = [f"simulation: {message}",
                 f"seed={self.seed} at +{self.elapsed_ms} ms virtual (event #{self.events})",
                 f"replay: {replay_hint(self.seed)}",
                 f"network: {dict(self.stats)}"]
        focus = list(focus) if focus is not None else list(range(len(self.nodes)))
        for n in self.nodes:
            lines.append(self._summary(n))
            if n.index in focus[:6]:
                lines.extend("    " + line for line in self._view_lines(n))
                lines.extend("    log: " + line for line in list(n.logs)[-DUMP_LOG_LINES:])
        return "\n".join(lines)

    def _summary(self, n: SimNode) -> str:
        s = n.state
        return (f"node {n.index} {n.id[:8]} :{n.port} {'alive' if n.alive else 'DEAD'} "
                f"current_epoch={s.current_epoch} config_epoch={s.myself.config_epoch} "
                f"state={'ok' if s.state_ok else 'fail'} size={s.size} "
                f"known={len(s.nodes)} bad_frames={s.bad_frames} saves={n.saves}")

    def _view_lines(self, n: SimNode) -> list[str]:
        out = []
        for r in n.state.nodes.values():
            who = self.by_addr.get((r.ip, r.cport))
            slots = self._ranges(bytes(r.slots)) if r.slots.count else ""
            out.append(f"{r.id[:8]} (node {who}) {r.ip}:{r.port}@{r.cport} "
                       f"{format_flags(r.flags)} {r.primary_id[:8] if r.primary_id else '-'} "
                       f"{r.ping_sent - START_MS if r.ping_sent else 0} "
                       f"{r.pong_received - START_MS if r.pong_received else 0} "
                       f"{r.config_epoch} {'connected' if r.link_up else 'disconnected'} "
                       f"{slots} reports={len(r.fail_reports)}")
        return out

