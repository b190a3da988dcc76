"""The `pyredis-cluster` command."""
from __future__ import annotations

import sys

USAGE = """\
Usage: pyredis-cluster <command> [arguments]

Commands:
  server [/path/to/redis.conf] [--directive value ...]
        Start one node. Directives are redis.conf's, e.g.
        pyredis-cluster server --port 7000 --requirepass secret
  version
        Print the version.
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if args else 1
    cmd, rest = args[0], args[1:]
    if cmd == "server":
        from cli.server import run_server
        return run_server(rest)
    if cmd in ("version", "-v", "--version"):
        from cluster import REDIS_VERSION, __version__
        print(f"pyredis-cluster {__version__} (redis_version {REDIS_VERSION})")
        return 0
    sys.stderr.write(f"Unknown command '{cmd}'.\n\n{USAGE}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
