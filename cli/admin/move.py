"""Moving one hash slot between two primaries, as redis-cli --cluster does it.

Per slot (facts 1.10): `dst: CLUSTER SETSLOT s IMPORTING src-id`, `src: CLUSTER SETSLOT s
MIGRATING dst-id`, then `src: CLUSTER GETKEYSINSLOT s <pipeline>` + `src: MIGRATE dst-ip
dst-port "" 0 <timeout> [REPLACE] [AUTH pw | AUTH2 user pw] KEYS k...` until the slot is
empty, then `SETSLOT s NODE dst-id` on dst first, then on src (whose "ERR Please use
SETSLOT only with masters." is tolerated: it may have just become a replica), then on
every other primary.

A BUSYKEY reply (the key already exists on dst) is handled like redis-cli: with
--cluster-replace the batch is sent again with REPLACE; without it the values are
compared (`DEBUG DIGEST-VALUE` on both sides) and the batch is replaced only if they are
equal, else the differing keys are listed and the move stops.

    mover = Mover(view.nodes, MoveOptions(timeout=60000, pipeline=10), progress)
    keys = mover.move_slot(source, target, slot)     # MoveError on failure

The mover talks over its own binary-safe connection per node (keys are bytes; the
admin connections decode replies to str). Progress events go to a Progress (progress.py)
or anything with the same methods.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import redis

from cli.admin import output
from cli.admin.connection import AdminError, AdminNode, Auth, full_error

ACCEPTABLE_SRC_ERROR = "ERR Please use SETSLOT only with masters."
ZERO_DIGEST = b"0" * 40


@dataclass
class MoveOptions:
    timeout: int = 60000          # --cluster-timeout, MIGRATE's timeout in ms
    pipeline: int = 10            # --cluster-pipeline, keys per GETKEYSINSLOT/MIGRATE
    replace: bool = False         # --cluster-replace
    fix: bool = False             # fix semantics: an unserved slot is given to the target
    auth: Auth = field(default_factory=Auth)   # sent on with MIGRATE (AUTH / AUTH2)


class MoveError(Exception):
    """A move failed. `error` is the text redis-cli shows after "clusterManagerMoveSlot
    failed: " (None when the reason was printed already). `node` is set when the error
    is a CLUSTER SETSLOT reply from that node that nothing has printed yet."""

    def __init__(self, error: str | None, node: AdminNode | None = None):
        super().__init__(error or "slot move failed")
        self.error = error
        self.node = node


class Link:
    """A binary-safe connection to one node (bytes keys, raw replies)."""

    def __init__(self, node: AdminNode):
        self.node = node
        self.conn = redis.Redis(host=node.ip, port=node.port, protocol=2,
                                decode_responses=False, socket_timeout=None,
                                single_connection_client=True)
        self.conn.response_callbacks.clear()
        auth = node.auth
        if auth is not None and auth.password is not None:
            self.call("AUTH", *([auth.user] if auth.user else []), auth.password)

    def call(self, *args):
        """The reply; redis.ResponseError passes through; a lost link is an AdminError."""
        try:
            return self.conn.execute_command(*args)
        except redis.AuthenticationError as exc:
            raise redis.ResponseError(full_error(exc)) from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise AdminError(f"[ERR] Connection to {self.node.ip}:{self.node.port} "
                             f"lost: {exc}") from None

    def try_call(self, *args):
        """(reply, None) or (None, the error reply in the server's words)."""
        try:
            return self.call(*args), None
        except redis.ResponseError as exc:
            return None, full_error(exc)

    def close(self) -> None:
        self.conn.close()


class _Quiet:
    """A progress sink that shows nothing (fix's cold moves, tests)."""

    tty = False

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class Mover:
    """Moves slots between the primaries of one loaded cluster view."""

    def __init__(self, nodes: list[AdminNode], options: MoveOptions | None = None,
                 progress=None, link_factory=Link):
        self.nodes = nodes
        self.options = options or MoveOptions()
        self.progress = progress if progress is not None else _Quiet()
        self.link_factory = link_factory
        self.links: dict[int, Link] = {}
        self.keys_moved = 0
        self.current: int | None = None     # the slot being moved, if any

    def link(self, node: AdminNode) -> Link:
        key = id(node)
        if key not in self.links:
            self.links[key] = self.link_factory(node)
        return self.links[key]

    def close(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()

    # -- one slot --------------------------------------------------------------------
    def move_slot(self, source: AdminNode, target: AdminNode, slot: int,
                  cold: bool = False, update: bool = True) -> int:
        """Move `slot` with its keys from source to target; the number of keys moved.
        cold: only move keys (no SETSLOT), as fix does for a slot it opened itself."""
        progress = self.progress
        self.current = slot
        progress.slot_started(slot, source.address, target.address)
        if not cold:
            self._set_slot(target, slot, "IMPORTING", source.id)
            self._set_slot(source, slot, "MIGRATING", target.id)
        try:
            moved = self._migrate_keys(source, target, slot)
        finally:
            progress.keys_phase_done()
        if not cold:
            self._set_slot(target, slot, "NODE", target.id)
            error = self._set_slot(source, slot, "NODE", target.id, raise_error=False)
            if error is not None and not error.startswith(ACCEPTABLE_SRC_ERROR):
                raise MoveError(error, source)
            for node in self.nodes:
                if node is source or node is target or node.is_replica:
                    continue
                self._set_slot(node, slot, "NODE", target.id)
        if update:
            source.slots.discard(slot)
            target.slots.add(slot)
        self.current = None
        progress.slot_done()
        return moved

    def interrupted(self, entry: str) -> None:
        """Ctrl-C: say which slot may be left open and how to close it."""
        self.progress.break_line(newline=False)
        if self.current is not None:
            output.warn(f"\n*** Interrupted while moving slot {self.current}: if it is left "
                        f"open, `pyredis-cluster fix {entry}` closes it.\n")

    def _set_slot(self, node: AdminNode, slot: int, state: str, node_id: str,
                  raise_error: bool = True) -> str | None:
        _, error = self.link(node).try_call("CLUSTER", "SETSLOT", slot, state, node_id)
        if error is not None and raise_error:
            raise MoveError(error, node)
        return error

    def _migrate_keys(self, source: AdminNode, target: AdminNode, slot: int) -> int:
        """redis-cli's clusterManagerMigrateKeysInSlot; keys moved."""
        src = self.link(source)
        moved = 0
        while True:
            keys, error = src.try_call("CLUSTER", "GETKEYSINSLOT", slot, self.options.pipeline)
            if error is not None:
                self._print_error(source, error)
                raise MoveError(error)
            if not keys:
                return moved
            reply, error = self._migrate(source, target, keys, replace=False)
            if error is not None:
                self._recover(source, target, slot, keys, error)
            moved += len(keys)
            self.keys_moved += len(keys)
            self.progress.keys_moved(len(keys))

    def _recover(self, source: AdminNode, target: AdminNode, slot: int, keys: list,
                 error: str) -> None:
        """A MIGRATE batch failed: retry (with REPLACE on BUSYKEY) or raise MoveError."""
        busy = "BUSYKEY" in error
        not_served = False
        if not busy:
            owner, owner_error = self._slot_owner(source, slot)
            if owner_error is not None:
                self._print_error(source, owner_error)
            elif owner is None:
                not_served = True
        if not (busy or not_served):
            self._fail_migrate(source, error)
        if self.options.fix and not_served:
            self.progress.break_line(newline=False)
            output.warn(f"*** Slot was not served, setting owner to node "
                        f"{target.ip}:{target.port}.\n")
            self._set_slot(source, slot, "NODE", target.id, raise_error=False)
        if busy:
            self.progress.break_line(newline=False)
            output.warn("*** Target key exists\n" if self.progress_tty() else
                        "\n*** Target key exists\n")
            if not self.options.replace:
                output.warn("*** Checking key values on both nodes...\n")
                self._check_same_values(source, target, keys)
            output.warn("*** Replacing target keys...\n")
        _, error = self._migrate(source, target, keys, replace=busy)
        if error is not None:
            self._fail_migrate(source, error)

    def progress_tty(self) -> bool:
        return bool(getattr(self.progress, "tty", False))

    def _fail_migrate(self, source: AdminNode, error: str):
        self.progress.break_line(newline=True)
        self._print_error(source, error)
        raise MoveError(error)

    def _print_error(self, node: AdminNode, error: str) -> None:
        self.progress.break_line(newline=False)
        output.reply_error(node, error)

    def _migrate(self, source: AdminNode, target: AdminNode, keys: list, replace: bool):
        args = ["MIGRATE", target.ip, target.port, "", 0, self.options.timeout]
        if replace:
            args.append("REPLACE")
        auth = self.options.auth
        if auth is not None and auth.password is not None:
            if auth.user:
                args += ["AUTH2", auth.user, auth.password]
            else:
                args += ["AUTH", auth.password]
        args.append("KEYS")
        args.extend(keys)
        return self.link(source).try_call(*args)

    def _slot_owner(self, node: AdminNode, slot: int):
        """(owner AdminNode | None, error) from the node's CLUSTER SLOTS."""
        reply, error = self.link(node).try_call("CLUSTER", "SLOTS")
        if error is not None:
            return None, error
        for entry in reply or []:
            start, end, primary = entry[0], entry[1], entry[2]
            if not start <= slot <= end:
                continue
            if len(primary) >= 3:
                node_id = _text(primary[2])
                found = next((n for n in self.nodes if n.id == node_id), None)
            else:
                ip, port = _text(primary[0]), int(primary[1])
                found = next((n for n in self.nodes if n.ip == ip and n.port == port), None)
            if found is not None:
                return found, None
        return None, None

    def _check_same_values(self, source: AdminNode, target: AdminNode, keys: list) -> None:
        """No --cluster-replace: replace only keys whose values are equal on both sides."""
        digests = []
        failed = False
        for node in (source, target):
            reply, error = self.link(node).try_call("DEBUG", "DIGEST-VALUE", *keys)
            if error is not None:
                output.reply_error(node, error)
                failed = True
            digests.append(reply)
        if failed:
            output.err("*** Value check failed!\n")
            raise MoveError(None)
        diffs = [key for key, d1, d2 in zip(keys, digests[0], digests[1])
                 if d1 != ZERO_DIGEST and d2 != ZERO_DIGEST and d1 != d2]
        if diffs:
            listing = "".join(f"    - {_text(k)}\n" for k in diffs)
            output.err(f"*** Found {len(diffs)} key(s) in both source node and target node "
                       f"having different values.\n"
                       f"    Source node: {source.ip}:{source.port}\n"
                       f"    Target node: {target.ip}:{target.port}\n"
                       f"    Keys(s):\n{listing}"
                       "Please fix the above key(s) manually and try again or relaunch "
                       "the command \nwith --cluster-replace option to force key "
                       "overriding.\n")
            raise MoveError(None)


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
