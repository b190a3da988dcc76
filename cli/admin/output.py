"""Redis-shaped printing for the admin subcommands (redis-cli --cluster's look).

Every message carries its own trailing newline(s), as redis-cli's format strings do.
Colours (bold info, yellow warning, red error, green ok) only when stdout is a terminal.
Node lines follow redis-cli's layout:

    M: <id> <ip>:<port>
       slots:[0-5460] (5461 slots) master
       1 additional replica(s)
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Protocol


class Node(Protocol):
    """What printing needs of a node (connection.AdminNode has it; this module imports
    no other admin module, so every one of them can print)."""
    id: str
    ip: str
    port: int
    slots: set[int]
    flags: list[str]
    replicate: str | None
    replicas_count: int
    dirty: bool

    @property
    def is_replica(self) -> bool: ...

INFO, WARN, ERR, OK = "29;1m", "33;1m", "31;1m", "32;1m"
RESET = "0m"

_force_colour: bool | None = None


def set_colour(enabled: bool | None) -> None:
    """Force colours on/off (None: decide from stdout)."""
    global _force_colour
    _force_colour = enabled


def use_colour() -> bool:
    if _force_colour is not None:
        return _force_colour
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def log(level: str, text: str) -> None:
    out = sys.stdout
    if use_colour():
        out.write(f"\033[{level}{text}\033[{RESET}")
    else:
        out.write(text)
    out.flush()


def info(text: str) -> None:
    log(INFO, text)


def warn(text: str) -> None:
    log(WARN, text)


def err(text: str) -> None:
    log(ERR, text)


def ok(text: str) -> None:
    log(OK, text)


def plain(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def reply_error(node: Node, error: str) -> None:
    """redis-cli's CLUSTER_MANAGER_PRINT_REPLY_ERROR."""
    err(f"Node {node.ip}:{node.port} replied with error:\n{error}\n")


def slots_string(slots: Iterable[int]) -> str:
    """`[0-5460],[5462],[6000-6001]` as redis-cli prints a node's slots."""
    parts = []
    for start, end in slot_ranges(slots):
        parts.append(f"[{start}]" if start == end else f"[{start}-{end}]")
    return ",".join(parts)


def slot_ranges(slots: Iterable[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for s in sorted(set(slots)):
        if ranges and ranges[-1][1] == s - 1:
            ranges[-1] = (ranges[-1][0], s)
        else:
            ranges.append((s, s))
    return ranges


def flag_string(flags: Iterable[str]) -> str:
    return ",".join(f for f in flags if f != "myself")


def node_info(node: Node, indent: int = 0) -> str:
    """redis-cli's clusterManagerNodeInfo (no trailing newline)."""
    spaces = " " * indent
    if node.dirty and node.replicate:
        text = f"{spaces}S: {node.id} {node.ip}:{node.port}"
    else:
        role = "S" if node.is_replica else "M"
        text = (f"{spaces}{role}: {node.id} {node.ip}:{node.port}\n"
                f"{spaces}   slots:{slots_string(node.slots)} ({len(node.slots)} slots) "
                f"{flag_string(node.flags)}")
    if node.replicate:
        text += f"\n{spaces}   replicates {node.replicate}"
    elif node.replicas_count:
        text += f"\n{spaces}   {node.replicas_count} additional replica(s)"
    return text


def show_nodes(nodes: Iterable[Node], indent: int = 0) -> None:
    """redis-cli's clusterManagerShowNodes: one node_info block per node."""
    for node in nodes:
        plain(node_info(node, indent) + "\n")
