"""`pyredis-cluster down [--dir DIR]`: stop a local cluster started by `up` (usually with
--detach): SIGTERM to every node named by a pid file in DIR, wait, report. The data
directories stay (the next `up --dir DIR` restarts that cluster)."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.admin import local, output
from cli.admin.local import LocalError
from cli.admin.up import DEFAULT_DIR, ArgParser


def run(command: str, argv: list[str]) -> int:
    try:
        parser = ArgParser(prog="pyredis-cluster down", add_help=False)
        parser.add_argument("--dir", default=DEFAULT_DIR)
        opts: argparse.Namespace = parser.parse_args(argv)
    except LocalError as exc:
        output.err(f"[ERR] {exc}\n")
        return 1
    return down(Path(opts.dir).expanduser().resolve())


def down(root: Path) -> int:
    had_pid_files = bool(local.pid_nodes(root))
    nodes = local.running_nodes(root)
    if not nodes:
        if had_pid_files:
            output.ok(f"[OK] No node of the cluster in {root} was running (stale pid files "
                      "removed).\n")
            return 0
        output.err(f"[ERR] No running cluster found in {root} (no pid files).\n")
        return 1
    output.info(f">>> Stopping {len(nodes)} nodes of the cluster in {root}\n")
    killed = local.stop_nodes(nodes)
    for node in nodes:
        fate = "killed (did not stop in time)" if node in killed else "stopped"
        output.plain(f"{node.address} (pid {node.pid}) {fate}\n")
    if killed:
        output.warn(f"[WARNING] {len(killed)} node(s) had to be killed.\n")
    output.ok(f"[OK] {len(nodes)} nodes stopped.\n")
    return 0
