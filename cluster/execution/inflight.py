"""Keys held by a MIGRATE in flight, and the commands that must wait for them.

Redis runs MIGRATE blocking: nothing else runs until the target answered. We keep serving
other clients while a MIGRATE waits on the network, so the keys it moves are held from
the moment its handler serialized them until the source copies are deleted. A command
from any other client that names one of them (every queued command for EXEC) does not
run: it waits for the migration to end and is then executed again from the top, routing
included, so it usually gets -ASK (the key left) and never acts on a copy that is about
to disappear. That is what makes an acknowledged write impossible to lose during a
resharding.

Commands that touch keys without naming them (FLUSHALL, FLUSHDB, SWAPDB) are not held
back: they act on the source only and leave the outcome of the migration as if it had
completed first.

While a migration is in flight its node's "migrate" gate is on (`inflight_gate`, the last
gate before the call); a held-back command runs again through `node.execute`. Nothing is
paid per command while nothing migrates.
"""
from __future__ import annotations

import trio

from cluster.resp.outcomes import Await


class Migration:
    """The keys of one MIGRATE in flight; `done` is set when they are released."""

    __slots__ = ("node", "keys", "done")

    def __init__(self, node, keys: list[bytes]):
        self.node = node
        self.keys = keys
        self.done = trio.Event()


def hold(node, keys: list[bytes]) -> Migration:
    """Hold `keys` (all present, none held by another migration: the dispatcher made
    any command naming a held key wait) until `release`."""
    migration = Migration(node, keys)
    held = node.inflight_keys
    for key in keys:
        held.setdefault(key, migration)
    node.gates.hold("migrate")
    return migration


def release(migration: Migration) -> None:
    if migration.done.is_set():
        return
    node = migration.node
    held = node.inflight_keys
    for key in migration.keys:
        if held.get(key) is migration:
            del held[key]
    node.gates.release("migrate")
    migration.done.set()


def _positions(cmd, argv) -> list[int]:
    try:
        return cmd.key_positions(argv)
    except Exception:
        return []


def blocker(client, cmd, argv: list[bytes]) -> Migration | None:
    """The migration holding a key this command names (EXEC: any queued command)."""
    held = client.node.inflight_keys
    if not held:
        return None
    requests = client.multi_queue if cmd.name == "exec" else ((cmd, argv),)
    for one_cmd, one_argv in requests:
        for pos in _positions(one_cmd, one_argv):
            migration = held.get(one_argv[pos])
            if migration is not None:
                return migration
    return None


def wait_then_execute(client, argv: list[bytes], migration: Migration):
    """The coroutine function a held-back command's connection awaits."""
    async def again():
        await migration.done.wait()
        node = client.node
        node.set_time()
        return node.execute(client, argv)
    return again


def inflight_gate(client, cmd, argv: list[bytes]):
    """A command naming a key of a MIGRATE in flight (EXEC: any queued command's key)
    waits for the migration to end, then runs again from the top (routing included)."""
    held_by = blocker(client, cmd, argv)
    if held_by is None:
        return None
    return Await(wait_then_execute(client, argv, held_by))
