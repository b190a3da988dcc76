"""ACL categories and command names, derived from the one command table.

Rules of Redis 7.0 (acl.c) kept here:

* the category list and its order are ACLCommandCategories; ACL CAT lists them so, and
  the describe algorithm tries them in this order;
* a command (or subcommand) is in a category when its `acl_categories` names it;
* allowing or blocking a container command (CONFIG, CLIENT ...) also allows or blocks
  every one of its subcommands (ACLChangeSelectorPerm), so a category "affects" its
  member commands plus the subcommands of its member containers;
* names are looked up as ACLLookupCommand does: case-insensitively, `cmd` or
  `container|sub`, never deeper, and `cmd|x` of a command without subcommands is no name.

Everything is computed from `cluster.execution.table.TABLE` on first use after the table
changed size (commands register when `cluster.commands.registry` is imported). Tests may
put another table in its place with `use_table` (e.g. Redis's own, read from COMMAND
INFO, to check the describe algorithm against a real server command for command).
"""
from __future__ import annotations

import contextlib

from cluster.execution.table import TABLE, Command

CATEGORIES = (
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
    "dangerous", "connection", "transaction", "scripting",
)
_BY_LOWER = {c: c for c in CATEGORIES}


class _Catalog:
    """The table seen the way ACL sees it, rebuilt when the table grows."""

    __slots__ = ("table", "size", "ordered", "all_names", "members", "affected")

    def __init__(self, table: dict) -> None:
        self.table = table
        self.size = -1

    def refresh(self) -> "_Catalog":
        size = sum(1 + len(c.subcommands) for c in self.table.values())
        if size == self.size:
            return self
        ordered: list[Command] = []          # parents first, each followed by its subs
        for cmd in self.table.values():
            ordered.append(cmd)
            ordered.extend(cmd.subcommands.values())
        self.ordered = tuple(ordered)
        self.all_names = frozenset(c.name for c in ordered)
        members: dict[str, list[str]] = {c: [] for c in CATEGORIES}
        affected: dict[str, set[str]] = {c: set() for c in CATEGORIES}
        for cmd in ordered:
            for cat in cmd.acl_categories:
                if cat in members:
                    members[cat].append(cmd.name)
                    affected[cat].update(change_set(cmd))
        self.members = {c: frozenset(v) for c, v in members.items()}
        self.affected = {c: frozenset(v) for c, v in affected.items()}
        self.size = size
        return self


_CATALOG = _Catalog(TABLE)


def catalog() -> _Catalog:
    return _CATALOG.refresh()


@contextlib.contextmanager
def use_table(table: dict):
    """Tests: ACL sees `table` (name -> object with name, acl_categories, subcommands)."""
    global _CATALOG
    saved = _CATALOG
    _CATALOG = _Catalog(table)
    try:
        yield
    finally:
        _CATALOG = saved


def change_set(cmd: Command) -> tuple[str, ...]:
    """The command bits ACLChangeSelectorPerm flips for `cmd`: itself and its subs."""
    return (cmd.name, *(s.name for s in cmd.subcommands.values()))


def category(name: bytes | str) -> str | None:
    """The category called `name` (any case), or None (ACLGetCommandCategoryFlagByName)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return _BY_LOWER.get(name.lower())


def lookup(name: bytes) -> Command | None:
    """ACLLookupCommand: `get`, `config|get` (any case); None if no such command."""
    text = name.decode("utf-8", "surrogateescape").lower()
    parts = text.split("|")
    if len(parts) > 2:
        return None
    cmd = _CATALOG.table.get(parts[0])
    if cmd is None:
        return None
    if len(parts) == 1:
        return cmd
    if not cmd.subcommands:
        return None
    return cmd.subcommands.get(parts[1])


def is_subcommand(cmd: Command) -> bool:
    return "|" in cmd.name


def commands_in(cat: str) -> list[str]:
    """ACL CAT <category>: the names of its commands and subcommands, table order."""
    members = catalog().members[cat]
    return [c.name for c in catalog().ordered if c.name in members]
