"""`call HOST:PORT command arg... [--cluster-only-masters|--cluster-only-replicas]` and
`set-timeout HOST:PORT milliseconds`, as redis-cli --cluster runs them.

call: `>>> Calling <command args>` then `ip:port: <reply>` per node, replies in
redis-cli's raw format (arrays one element per line, errors followed by a blank line).
set-timeout: CONFIG SET cluster-node-timeout + CONFIG REWRITE on every node.
"""
from __future__ import annotations

import redis

from cli.admin import output
from cli.admin.args import admin_main, parse_args, wrong_arity
from cli.admin.connection import AdminError, full_error, host_from_args, load_cluster

ONLY_FLAGS = ("--cluster-only-masters", "--cluster-only-replicas")


def run(command: str, argv: list[str]) -> int:
    if command == "set-timeout":
        return admin_main(lambda: set_timeout(argv))
    return admin_main(lambda: call(argv))


def format_raw(reply) -> str:
    """redis-cli's cliFormatReplyRaw (error replies arrive as exceptions)."""
    if reply is None:
        return ""
    if isinstance(reply, BaseException):
        return (full_error(reply) if isinstance(reply, redis.ResponseError) else str(reply)) + "\n"
    if isinstance(reply, bool):
        return "(true)" if reply else "(false)"
    if isinstance(reply, (list, tuple, set)):
        return "\n".join(format_raw(r) for r in reply)
    if isinstance(reply, dict):
        return "\n".join(f"{format_raw(k)} {format_raw(v)}" for k, v in reply.items())
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "surrogateescape")
    return str(reply)


def _write(text: str) -> None:
    output.plain(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def call(argv: list[str]) -> int:
    # the node filters are recognised anywhere (redis-cli reads options anywhere); the
    # rest after HOST:PORT is the command verbatim, so `call h:p LRANGE l 0 -1` works
    flags = [a for a in argv if a in ONLY_FLAGS]
    args = parse_args(flags + [a for a in argv if a not in ONLY_FLAGS], "call",
                      raw_tail_after=1)
    if len(args.positional) < 2:
        return wrong_arity()
    view = load_cluster(args.positional[:1], args.auth)
    cmd = args.positional[1:]
    only_masters = args.flag("--cluster-only-masters")
    only_replicas = args.flag("--cluster-only-replicas")
    try:
        output.info(">>> Calling")
        output.plain("".join(f" {a}" for a in cmd) + "\n")
        for n in view.nodes:
            if only_masters and n.replicate:
                continue
            if only_replicas and not n.replicate:
                continue
            try:
                if n.conn is None:
                    n.connect()
                reply = n.conn.execute_command(*cmd)
            except AdminError as exc:
                exc.report()
                continue
            except redis.AuthenticationError as exc:
                reply = redis.ResponseError(full_error(exc))
            except redis.ResponseError as exc:
                reply = exc
            except (redis.ConnectionError, redis.TimeoutError):
                output.plain(f"{n.ip}:{n.port}: Failed!\n")
                continue
            _write(f"{n.ip}:{n.port}: {format_raw(reply)}\n")
    finally:
        view.close()
    return 0


def set_timeout(argv: list[str]) -> int:
    args = parse_args(argv, "set-timeout")
    if len(args.positional) != 2:
        return wrong_arity()
    host, port = host_from_args(args.positional[:1])
    try:
        timeout = int(args.positional[1])
    except ValueError:
        timeout = 0
    if timeout < 100:
        output.stderr("Setting a node timeout of less than 100 milliseconds is a bad idea.\n")
        return 1
    view = load_cluster([f"{host}:{port}"], args.auth)
    ok = errors = 0
    try:
        output.info(">>> Reconfiguring node timeout in every cluster node...\n")
        for n in view.nodes:
            _, error = n.try_call("CONFIG", "SET", "cluster-node-timeout", timeout)
            if error is None:
                _, error = n.try_call("CONFIG", "REWRITE")
            if error is not None:
                output.err(f"ERR setting node-timeout for {n.ip}:{n.port}: {error}\n")
                errors += 1
                continue
            output.warn(f"*** New timeout set for {n.ip}:{n.port}\n")
            ok += 1
        output.info(f">>> New node timeout set. {ok} OK, {errors} ERR.\n")
    finally:
        view.close()
    return 0
