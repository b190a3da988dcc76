"""`rename-command <name> <new-name>` (config.c, Redis 7.0.15): a command of the table
under another name, or under none.

Rules:
- The rename happens as the configuration line is read, before the node serves anyone
  (the table's lookups cache what they found, so it must come before the first lookup).
- The name must be a command of the table (not a subcommand): "No such command in
  rename-command" otherwise.
- An empty new name removes the command: it is unknown from then on.
- Otherwise the command is known by the new name only; a new name already taken is
  "Target command name already exists" (the command stays removed, as in Redis: the
  error is fatal anyway).
- The lines are kept as they are by CONFIG REWRITE (cluster.config.file).
"""
from __future__ import annotations

from cluster.config.values import ConfigError
from cluster.execution.table import TABLE


def rename_command(name: str, new_name: str) -> None:
    old = name.lower()
    cmd = TABLE.get(old)
    if cmd is None:
        raise ConfigError("No such command in rename-command")
    del TABLE[old]
    if not new_name:
        return
    new = new_name.lower()
    if new in TABLE:
        raise ConfigError("Target command name already exists")
    TABLE[new] = cmd
