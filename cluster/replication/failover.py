"""FAILOVER: the coordinated failover of a standalone primary to one of its replicas
(Redis 6.2+). `Failover` is the state machine, sans I/O: it is given the time, our offset
and our replicas, and answers with effects (plain values); the functions after it perform
them on the node. The command (its parsing and refusals) is cluster.commands.failover.

The rules (Redis 7.0, replication.c: failoverCommand, updateFailoverStatus, abortFailover,
syncCommand and slaveTryPartialResynchronization's FAILOVER parts):

1. Three states, shown by INFO replication as master_failover_state:
   no-failover -> waiting-for-sync -> failover-in-progress -> no-failover.
2. Starting pauses the clients' writes as CLIENT PAUSE WRITE does, with no end (pause
   purpose "failover"): our offset stops moving, so a replica can reach it.
3. Every cron tick while waiting-for-sync (Redis runs its replication cron every 100 ms
   while a failover is on; our cron runs at hz):
   a. past the TIMEOUT with FORCE, go ahead with the target anyway ("time out exceeded,
      failing over"); without FORCE, abort ("Replica never caught up before timeout");
   b. the target - the replica TO named, else the first online replica whose acked offset
      is ours (its address as it announced it) - is online and acked our whole offset:
      failover-in-progress, and we become a replica of it.
4. In progress, our link to the target sends `PSYNC <our replid> <our offset + 1> FAILOVER`.
   The target checks that it is a replica whose replid is the one sent, promotes itself
   (REPLICAOF NO ONE: a new history, ours kept as its second one) and answers the PSYNC as
   any primary. +CONTINUE, or +FULLRESYNC (after FORCE), ends the failover: no-failover,
   the pause ends, and the writes it postponed run again and meet -READONLY. Any other
   answer, or a write error sending the PSYNC, aborts.
5. Abort (FAILOVER ABORT, the timeout, a rejected PSYNC): logged; in progress we become a
   primary again (REPLICAOF NO ONE); the pause ends.
6. While a failover is on, REPLICAOF is refused, SYNC / PSYNC get -NOMASTERLINK, and the
   primary PINGs no replica (Redis: only with a TIMEOUT), so nothing moves the offset.

Nothing a client was told is written is lost: such a write moved our offset before the
pause began, and the target (without FORCE) is chosen only once it acked that offset.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from cluster.execution import pause
from cluster.execution.client_info import client_info_line
from cluster.replication import replica as repl_replica
from cluster.resp.reply import ReplyError

NO_FAILOVER = "no-failover"
WAIT_FOR_SYNC = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"

SYNC_REFUSED = "NOMASTERLINK Can't SYNC while failing over"
TO_A_PRIMARY = "ERR PSYNC FAILOVER can't be sent to a master."
WRONG_REPLID = "ERR PSYNC FAILOVER replid must match my replid."


# -- effects ---------------------------------------------------------------------------
class Log(NamedTuple):
    text: str
    level: str = "notice"


class PauseWrites(NamedTuple):
    """Pause the clients' writes, with no end (rule 2)."""


class UnpauseWrites(NamedTuple):
    """End the failover's write pause."""


class BecomeReplica(NamedTuple):
    """REPLICAOF host port: our link will send PSYNC ... FAILOVER (rule 4)."""
    host: str
    port: int


class BecomePrimary(NamedTuple):
    """REPLICAOF NO ONE: an aborted failover that had already made us a replica (rule 5)."""


class Candidate(NamedTuple):
    """What the machine needs to know of one attached replica."""
    host: str           # the address it announced (REPLCONF ip-address) or its peer's
    port: int           # its listening port (REPLCONF listening-port)
    online: bool
    acked: int          # the offset it last acked


# -- the state machine -----------------------------------------------------------------
class Failover:
    """`node.failover`: the state Redis keeps in server.failover_* / target_replica_*."""

    def __init__(self):
        self.state = NO_FAILOVER
        # The replica we fail over to: given by TO, or chosen once one caught up.
        self.target_host: str | None = None
        self.target_port = 0
        self.end_ms = 0                 # the TIMEOUT's deadline (unix ms); 0: none
        self.force = False              # FORCE: at the deadline, go ahead anyway

    @property
    def active(self) -> bool:
        return self.state != NO_FAILOVER

    def _target(self) -> str:
        return f"{self.target_host}:{self.target_port}"

    def start(self, host: str | None, port: int, timeout_ms: int, force: bool,
              now_ms: int) -> list:
        """The command was accepted (rule 2); its refusals were checked by the caller."""
        self.target_host, self.target_port = host, port
        self.end_ms = now_ms + timeout_ms if timeout_ms else 0
        self.force = force
        self.state = WAIT_FOR_SYNC
        text = (f"FAILOVER requested to {host}:{port}." if host is not None
                else "FAILOVER requested to any replica.")
        return [Log(text), PauseWrites()]

    def tick(self, now_ms: int, offset: int, replicas: Iterable[Candidate]) -> list:
        """Rule 3: time out, or fail over to a target that caught up."""
        if self.state != WAIT_FOR_SYNC:
            return []
        if self.end_ms and self.end_ms <= now_ms:
            if self.force:
                self.state = IN_PROGRESS
                return [Log(f"FAILOVER to {self._target()} time out exceeded, failing over."),
                        BecomeReplica(self.target_host, self.target_port)]
            return self.abort("Replica never caught up before timeout")
        found = None
        for one in replicas:
            if not one.online:
                continue
            if self.target_host is None:
                if one.acked == offset:
                    self.target_host, self.target_port = one.host, one.port
                    found = one
                    break
            elif one.host.lower() == self.target_host.lower() and one.port == self.target_port:
                found = one
                break
        if found is None or found.acked != offset:
            return []
        self.state = IN_PROGRESS
        return [Log(f"Failover target {self._target()} is synced, failing over."),
                BecomeReplica(self.target_host, self.target_port)]

    def psync_answered(self, reply: str) -> list:
        """Rule 4: the target's answer to PSYNC ... FAILOVER."""
        if self.state != IN_PROGRESS:
            return []
        if reply.startswith(("+CONTINUE", "+FULLRESYNC")):
            return self._clear()
        if reply.startswith(("-NOMASTERLINK", "-LOADING")):
            why = Log(f"Master is currently unable to PSYNC but should be in the future: "
                      f"{reply}")
        elif reply.startswith("-ERR"):
            why = Log(f"Master does not support PSYNC or is in error state (reply: {reply})")
        else:
            why = Log(f"Unexpected reply to PSYNC from master: {reply}", "warning")
        return [why] + self.abort("Failover target rejected psync request")

    def abort(self, reason: str) -> list:
        """Rule 5 (nothing when no failover is on)."""
        if self.state == NO_FAILOVER:
            return []
        target = self._target() if self.target_host is not None else "any replica"
        effects: list = [Log(f"FAILOVER to {target} aborted: {reason}")]
        if self.state == IN_PROGRESS:
            effects.append(BecomePrimary())
        return effects + self._clear()

    def _clear(self) -> list:
        self.state = NO_FAILOVER
        self.target_host, self.target_port = None, 0
        self.end_ms = 0
        self.force = False
        return [UnpauseWrites()]


# -- the node's side -------------------------------------------------------------------
def _perform(node, effects: list) -> None:
    for effect in effects:
        if isinstance(effect, Log):
            node.log.at(effect.level, effect.text)
        elif isinstance(effect, PauseWrites):
            pause.pause(node, "failover", pause.WRITE, pause.MAX_END)
        elif isinstance(effect, UnpauseWrites):
            pause.unpause(node, "failover")
        elif isinstance(effect, BecomeReplica):
            repl_replica.set_master(node, effect.host, effect.port)
        elif isinstance(effect, BecomePrimary):
            repl_replica.unset_master(node)


def find_replica(node, host: str, port: int):
    """The attached replica announced as host:port (findReplica), or None."""
    primary = node.repl.primary
    for link in primary.replicas if primary is not None else ():
        if link.ip.lower() == host.lower() and link.port == port:
            return link
    return None


def start(node, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
    _perform(node, node.failover.start(host, port, timeout_ms, force, node.now_ms))


def cron(node) -> None:
    """From the node's cron, before the primary side's (which must not PING meanwhile)."""
    failover = node.failover
    if failover.state != WAIT_FOR_SYNC:
        return
    primary = node.repl.primary
    links = primary.replicas if primary is not None else ()
    candidates = [Candidate(link.ip, link.port, link.state == "online", link.ack_offset)
                  for link in links]
    _perform(node, failover.tick(node.now_ms, node.repl.master_repl_offset, candidates))


def abort(node, reason: str) -> None:
    _perform(node, node.failover.abort(reason))


def in_progress(node) -> bool:
    """Our link to the target must send PSYNC ... FAILOVER (cluster.replication.link)."""
    return node.failover.state == IN_PROGRESS


def psync_answered(node, reply: str) -> bool:
    """The target answered our PSYNC ... FAILOVER; True if the sync goes on (the failover
    is over), False if it was rejected (aborted: we are a primary again)."""
    _perform(node, node.failover.psync_answered(reply))
    return reply.startswith(("+CONTINUE", "+FULLRESYNC"))


def sync_refusal(node) -> str | None:
    """Rule 6: no replica may SYNC with us while a failover is on."""
    return SYNC_REFUSED if node.failover.active else None


def promote_on_request(client, argv: list[bytes]) -> None:
    """The target's side of rule 4 (`PSYNC <replid> <offset> FAILOVER`): promote ourselves
    when the replid is ours, else refuse (ReplyError); the PSYNC is then served as usual."""
    node = client.node
    replid = argv[1].decode("utf-8", "replace")
    node.log.warning(f"Failover request received for replid {replid}.")
    if node.repl.link is None:
        raise ReplyError(TO_A_PRIMARY)
    if replid.lower() != (node.repl.replid or "").lower():
        raise ReplyError(WRONG_REPLID)
    repl_replica.unset_master(node)
    info = client_info_line(client, "psync", argv)
    node.log.notice(f"MASTER MODE enabled (failover request from '{info}')")
