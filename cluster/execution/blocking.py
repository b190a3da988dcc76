"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...): who waits on what, and wake-up.

A blocking handler that finds nothing to pop calls `block(...)`: a `Waiter` is queued, in
arrival order, on each of its keys in `Database.blocking` (a `Waiting` dict), and the
handler returns a `Block` (cluster.resp.outcomes) whose `ready` is the waiter. `Database.store` signals a
waited-on key when it is created (Redis 7.0 signals from dbAdd only); `dispatch.execute`
calls `serve_ready()` after every top-level command (so a push inside MULTI/EXEC is served
once, after EXEC, and a push from the primary's stream too). Serving runs the waiter's
`serve(waiter, key)` (the pop for that client, which calls `propagate`) in the order
the clients blocked; a waiter whose value type does not match stays blocked (7.0). The
connection task (`cluster.server.edge`) awaits `Waiter.wait`: the served reply, the timeout
reply, CLIENT UNBLOCK, or in cluster mode a redirect when a key's slot leaves this node
(clusterRedirectBlockedClientIfNeeded). Nothing here reads the clock but `wait`.

Streams (XREAD/XREADGROUP BLOCK) wait with kind None: their `serve` decides alone and
returns STAY to keep waiting. XADD and XGROUP DESTROY signal an existing key
(`signal_key`); deleting, overwriting, flushing or swapping away a stream signals it too
(Database), so XREADGROUP waiters fail as in 7.0. A wait ended with an error counts as a
failed call and an error reply (updateStatsOnUnblock).
"""
from __future__ import annotations

import math
import socket as pysocket
import time
from collections import deque
from fractions import Fraction

import trio

from slots import keyslot

from cluster.base import longdouble
from cluster.execution import routing
from cluster.resp.outcomes import Block
from cluster.resp.reply import ReplyError

READY: list = []          # (db, key) created while clients wait on them
STAY = object()           # what a kind-less serve returns to leave its client blocked
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
LLONG_MAX = 2**63 - 1
_REDIRECT_POLL_S = 0.1    # cluster mode: how often a blocked client re-checks its slots


class Waiting(dict):
    """Database.blocking: key -> deque of Waiters, first blocked first."""

    __slots__ = ()

    def signal(self, db, key: bytes) -> None:
        READY.append((db, key))


class Blocked:
    """A parked client CLIENT UNBLOCK can find in WAITERS (a Waiter on keys, or WAIT's
    cluster.replication.wait_block.WaitBlock): subclasses have client, reply, done and
    _event, and say how they park (`_park`). `logged`: what the slow log gets when the
    wait ends (dispatch sets it: Redis logs a blocked command once, as it unblocks, with
    the time it waited)."""

    __slots__ = ("logged",)

    async def wait(self, timeout_ms: int | None):
        """The connection's side: park until finished or timed out (None: forever) while
        watching for a hang-up; return the reply."""
        client = self.client
        node = client.node
        deadline = math.inf if timeout_ms is None else trio.current_time() + timeout_ms / 1000
        client.blocked = True
        try:
            async with trio.open_nursery() as nursery:
                if client.fd >= 0:
                    nursery.start_soon(watch_hangup, client)
                await self._park(node, deadline)
                nursery.cancel_scope.cancel()
        finally:
            client.blocked = False
            if not self.done:               # the connection went away: leave no trace
                self.done = True
                self.unregister()
        node.set_time()
        return self.reply

    async def _park(self, node, deadline: float) -> None:
        """Until `finish` ran (served, timed out, unblocked, redirected)."""
        raise NotImplementedError

    def finish(self, reply) -> None:
        """End the wait with `reply` (served, timed out, unblocked, redirected)."""
        if self.done:
            return
        self.done = True
        self.reply = reply
        logged, self.logged = self.logged, None
        if logged is not None:                  # updateStatsOnUnblock: the slow log
            node = self.client.node
            argv, start_ns = logged
            duration = (time.perf_counter_ns() - start_ns) // 1000
            if duration >= node.slowlog_threshold >= 0:
                node.slowlog.add(argv, duration, node.now_ms // 1000, self.client.addr,
                                 self.client.name, node.config["slowlog-max-len"])
        if reply.__class__ is ReplyError:       # updateStatsOnUnblock: a failed call
            stats = self.client.node.stats
            stats.count_error(reply.message)
            cs = stats.commands.get(self.client.last_cmd)
            if cs is not None:
                cs.failed += 1
        self.unregister()
        if self._event is not None:
            self._event.set()

    def unregister(self) -> None:
        self._unlist()

    def _unlist(self) -> None:
        node = self.client.node
        per_node = WAITERS.get(node)
        if per_node is not None and per_node.get(self.client.id) is self:
            del per_node[self.client.id]
            if not per_node:
                del WAITERS[node]


class Waiter(Blocked):
    __slots__ = ("client", "db", "keys", "kind", "serve", "timeout_reply", "reply", "done",
                 "_event")

    def __init__(self, client, keys, kind, serve, timeout_reply):
        self.client = client
        self.db = client.db
        self.keys = list(dict.fromkeys(keys))
        self.kind = kind                  # the value class that can serve it; None:
                                          # `serve` decides (streams), STAY to wait on
        self.serve = serve                # serve(waiter, key) -> reply
        self.timeout_reply = timeout_reply
        self.reply = None
        self.done = False
        self._event = None
        self.logged = None

    def register(self) -> None:
        db = self.db
        if db.blocking is None:
            db.blocking = Waiting()
        for key in self.keys:
            queue = db.blocking.get(key)
            if queue is None:
                queue = db.blocking[key] = deque()
            queue.append(self)
        WAITERS.setdefault(self.client.node, {})[self.client.id] = self

    def unregister(self) -> None:
        blocking = self.db.blocking
        for key in self.keys:
            queue = blocking.get(key) if blocking is not None else None
            if queue is None:
                continue
            try:
                queue.remove(self)
            except ValueError:
                pass
            if not queue:
                del blocking[key]
        self._unlist()

    async def _park(self, node, deadline: float) -> None:
        self._event = trio.Event()
        while not self.done:
            step = deadline
            if node.cluster is not None:
                step = min(deadline, trio.current_time() + _REDIRECT_POLL_S)
            with trio.move_on_at(step):
                await self._event.wait()
            if self.done:
                break
            if trio.current_time() >= deadline:
                self.finish(self.timeout_reply)
            elif node.cluster is not None:
                redirect = redirect_for(self)
                if redirect is not None:
                    self.finish(ReplyError(redirect))


async def watch_hangup(client) -> None:
    """Redis keeps reading a blocked client's socket, so a client that hangs up while
    blocked is freed at once: peek at the socket and kill the client on end of file
    (pipelined bytes stay for the connection to read after the wait)."""
    fd = client.fd
    while True:
        await trio.lowlevel.wait_readable(fd)
        sock = pysocket.socket(fileno=fd)
        try:
            data = sock.recv(1, pysocket.MSG_PEEK | pysocket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            data = b""
        finally:
            sock.detach()
        if data == b"":
            client.kill()
            return
        if data:
            await trio.sleep(0.05)      # a request waits its turn: look again later


# node -> {client id: Waiter}: CLIENT UNBLOCK and the cluster redirect check.
WAITERS: dict = {}


def block(client, keys, kind, serve, timeout_ms: int | None, timeout_reply):
    """Queue `client` on `keys`; the handler returns what this returns."""
    waiter = Waiter(client, keys, kind, serve, timeout_reply)
    waiter.register()
    return Block(timeout_ms, timeout_reply, waiter)


def serve_ready(node) -> None:
    """handleClientsBlockedOnKeys: serve clients waiting on keys created since the last
    call, first blocked first, until no key is left ready (a served BLMOVE may create
    another waited-on key). Keys expire against the time now (updateCachedTime), not the
    time the command started: a key given a short TTL in a long EXEC serves no one."""
    if READY:
        node.set_time()
    while READY:
        batch = READY[:]
        READY.clear()
        for db, key in batch:
            blocking = db.blocking
            queue = blocking.get(key) if blocking else None
            if not queue:
                continue
            for waiter in list(queue):
                if waiter.done:
                    continue
                value = db.peek(key)
                if waiter.kind is not None:
                    if value is None:
                        continue
                    if value.__class__ is not waiter.kind:
                        continue               # 7.0: a client of another type stays blocked
                served_client = waiter.client
                served_client.db = waiter.db
                try:
                    reply = waiter.serve(waiter, key)
                except ReplyError as err:
                    reply = err
                if reply is STAY:
                    continue
                waiter.finish(reply)


def signal_key(db, key: bytes) -> None:
    """signalKeyAsReady for a key that changed without being created (XADD, XGROUP
    DESTROY): its waiters are looked at after the command."""
    if db.blocking and key in db.blocking:
        READY.append((db, key))


def propagate_all(waiter, argvs: list) -> None:
    """`propagate` for several commands: one MULTI/EXEC unit when more than one (the
    also-propagate of a served XREADGROUP)."""
    if not argvs:
        return
    client = waiter.client
    node = client.node
    node.keyspace.dirty += 1
    if node.repl.link is None:
        node.propagator.feed_all(waiter.db.id, argvs)
        client.woff = node.repl.master_repl_offset


def propagate(waiter, argv: list) -> None:
    """What a served client's pop writes to the replication stream (a replica serving
    its own blocked clients propagates nothing: its stream is its primary's)."""
    client = waiter.client
    node = client.node
    if node.repl.link is None:
        node.propagator.feed(waiter.db.id, argv)
        client.woff = node.repl.master_repl_offset


def unblock(node, client_id: int, error: bool) -> bool:
    """CLIENT UNBLOCK: end a key wait with its timeout reply or the UNBLOCKED error."""
    waiter = WAITERS.get(node, {}).get(client_id)
    if waiter is None or waiter.done:
        return False
    waiter.finish(ReplyError(UNBLOCKED) if error else waiter.timeout_reply)
    return True


def parse_timeout(raw: bytes, now_ms: int = 0) -> int | None:
    """getTimeoutFromObjectOrReply(UNIT_SECONDS), 7.0.15: seconds as a long double, in ms
    rounded up and cast to long long (what does not fit, +-inf included, becomes LLONG_MIN:
    "negative"); None for 0 (wait forever)."""
    value = longdouble.parse(raw)
    if value is None:
        raise ReplyError("ERR timeout is not a float or out of range")
    if isinstance(value, float):        # +-inf
        ms = -LLONG_MAX - 1
    else:
        product = longdouble.round_ld(Fraction(value) * 1000)     # ftval *= 1000.0
        ms = -LLONG_MAX - 1 if product is None else math.ceil(product)
        if not -LLONG_MAX - 1 <= ms <= LLONG_MAX:
            ms = -LLONG_MAX - 1
    if ms < 0:
        raise ReplyError("ERR timeout is negative")
    if ms > LLONG_MAX - now_ms:
        raise ReplyError("ERR timeout is out of range")
    return ms or None


def redirect_for(waiter) -> str | None:
    """clusterRedirectBlockedClientIfNeeded (7.0): the cluster is down -> CLUSTERDOWN; a
    key whose slot another node serves (and is not importing here) -> MOVED, or the
    unbound variant when nobody serves it."""
    node = waiter.client.node
    state = node.cluster.state
    if not state.state_ok:
        return routing.DOWN
    me = state.myself.id
    for key in waiter.keys:
        slot = keyslot(key)
        owner = state.slot_owner[slot]
        if owner != me and slot not in state.importing:
            if owner is None:
                return routing.UNBOUND
            return routing.redirect(waiter.client, "MOVED", slot, state.nodes.get(owner))
    return None
