"""The `pyredis-cluster` command.

Each subcommand's module is imported only when that subcommand runs (`main` below), so the
admin tools start without loading the node, trio or Lua, and nothing is imported that the
chosen subcommand does not use.
"""
from __future__ import annotations

import importlib
import sys

from cluster import REDIS_VERSION, __version__

USAGE = """\
Usage: pyredis-cluster <command> [arguments]

Commands:
  server [/path/to/redis.conf] [--directive value ...]
        Start one node. Directives are redis.conf's, e.g.
        pyredis-cluster server --port 7000 --requirepass secret
  sentinel sentinel.conf [--port N] [--directive value ...]
        Start a Sentinel (also: server sentinel.conf --sentinel).
  version
        Print the version.
  create HOST:PORT... [--cluster-replicas N] [--cluster-yes]
  check HOST:PORT [--cluster-search-multiple-owners]
  info HOST:PORT
  fix HOST:PORT [--cluster-search-multiple-owners] [--cluster-fix-with-unreachable-masters]
  call HOST:PORT command arg... [--cluster-only-masters|--cluster-only-replicas]
  set-timeout HOST:PORT milliseconds
  reshard HOST:PORT [--cluster-from <id,...|all>] [--cluster-to <id>] [--cluster-slots N]
     [--cluster-yes] [--cluster-timeout MS] [--cluster-pipeline N] [--cluster-replace]
  rebalance HOST:PORT [--cluster-weight <id=w>...] [--cluster-use-empty-masters]
     [--cluster-threshold PCT] [--cluster-simulate] [--cluster-timeout MS]
     [--cluster-pipeline N] [--cluster-replace]
  add-node NEW:PORT EXISTING:PORT [--cluster-slave|--cluster-replica] [--cluster-master-id ID]
  del-node HOST:PORT NODE-ID
        Admin subcommands, as redis-cli --cluster has them (-a PASSWORD, --user NAME).
  up [--nodes 6] [--replicas 1] [--port 7000] [--dir DIR] [--detach]
     [--node-timeout MS] [-- node directives...]
        Start a local cluster on 127.0.0.1 (data in DIR, default ./.cluster); Ctrl-C
        stops it. With --detach it runs in the background.
  down [--dir DIR]
        Stop a local cluster started with up --detach.
"""

# admin subcommand -> module with run(command, argv) -> exit code (one line each)
ADMIN_COMMANDS = {
    "create": "cli.admin.create",
    "check": "cli.admin.check",
    "info": "cli.admin.check",
    "fix": "cli.admin.fix",
    "call": "cli.admin.call",
    "set-timeout": "cli.admin.call",
    "reshard": "cli.admin.reshard",
    "rebalance": "cli.admin.rebalance",
    "add-node": "cli.admin.nodes",
    "del-node": "cli.admin.nodes",
    "up": "cli.admin.up",
    "down": "cli.admin.down",
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 1
    cmd, rest = args[0], args[1:]
    if cmd == "sentinel" or (cmd == "server" and "--sentinel" in rest):
        from sentinel.server import run as run_sentinel     # lazily: see the docstring
        return run_sentinel(rest)
    if cmd == "server":
        from cli.server import run_server                   # lazily: see the docstring
        return run_server(rest)
    if cmd in ("version", "-v", "--version"):
        print(f"pyredis-cluster {__version__} (redis_version {REDIS_VERSION})")
        return 0
    if cmd in ADMIN_COMMANDS:
        return importlib.import_module(ADMIN_COMMANDS[cmd]).run(cmd, rest)
    sys.stderr.write(f"Unknown command '{cmd}'.\n\n{USAGE}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
