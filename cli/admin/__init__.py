"""`pyredis-cluster` admin subcommands: a client of the nodes, like redis-cli --cluster.

A subcommand module exposes `run(command: str, argv: list[str]) -> int` (cli/main.py's
ADMIN_COMMANDS maps names to modules). Shared modules, lowest first:

    output.py      Redis-shaped printing (imports no other admin module)
    connection.py  AdminNode, ClusterView, AdminError, Auth (-> output)
    args.py        parse_args / AdminArgs, UsageError, admin_main, wrong_arity
                   (-> connection, output)
    allocate.py, progress.py, move.py, local.py   planning, progress lines, slot moves,
                   local node processes
    check.py       the cluster check; fix.py gives it its repairs (fix -> check)

This package __init__ imports nothing, so importing a submodule never runs into it
half-initialised; import names from their modules (e.g. `from cli.admin.args import
parse_args`).
"""
