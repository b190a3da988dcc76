"""`pyredis-cluster up [--nodes 6] [--replicas 1] [--port 7000] [--dir DIR] [--detach]
[--node-timeout ms] [-a PASSWORD] [--user NAME] [-- extra node directives...]`

Starts a local cluster on 127.0.0.1: one node process per port (base port upwards), each
with its data directory under DIR (default ./.cluster where the command runs); waits
until every node answers PING; creates the cluster with the `create` subcommand's code
(cli/admin/create.py: slots split, replicas placed, joined, checked); prints how to
connect. It then stays in the foreground and stops every node cleanly on Ctrl-C (SIGINT)
or SIGTERM; with --detach it returns and leaves the nodes running (pid files in DIR; stop
them with `pyredis-cluster down --dir DIR`).

If DIR already holds a cluster (saved nodes.conf files that know other nodes), `up`
restarts those nodes instead and waits for cluster_state:ok. Errors (port in use, a node
that does not start, a failed create) are one line and exit status 1, with every node
this run started stopped again.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import time
from pathlib import Path

import redis

from cli.admin import check, create, local, output
from cli.admin.local import HOST, LocalError, LocalNode

DEFAULT_DIR = ".cluster"
DEFAULT_NODE_TIMEOUT = 5000
PING_TIMEOUT = 30.0
POLL = 0.5
# Ctrl-C, kill, and the terminal closing: each stops the nodes (they run in their own
# session, so only `up` hears the terminal).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """SIGINT / SIGTERM / SIGHUP arrived (BaseException: no `except Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class ArgParser(argparse.ArgumentParser):
    def error(self, message):
        raise LocalError(message)


def parse(argv: list[str]) -> argparse.Namespace:
    """Options, then `--` and directives passed to every node verbatim."""
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = ArgParser(prog="pyredis-cluster up", add_help=False)
    parser.add_argument("--nodes", type=int, default=6)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--port", type=int, default=7000)
    parser.add_argument("--dir", default=DEFAULT_DIR)
    parser.add_argument("--detach", action="store_true")
    parser.add_argument("--node-timeout", type=int, default=DEFAULT_NODE_TIMEOUT)
    parser.add_argument("-a", "--pass", dest="password")
    parser.add_argument("--user")
    opts = parser.parse_args(argv)
    opts.extra = extra
    if opts.nodes < 1 or opts.replicas < 0:
        raise LocalError("--nodes must be at least 1 and --replicas at least 0.")
    if opts.node_timeout <= 0:
        raise LocalError("--node-timeout must be a positive number of milliseconds.")
    return opts


def _password(opts) -> str | None:
    """-a, else a --requirepass among the node directives."""
    if opts.password is not None:
        return opts.password
    extra = opts.extra
    for i, word in enumerate(extra[:-1]):
        if word == "--requirepass":
            return extra[i + 1]
    return None


def node_directives(opts) -> list[str]:
    """The extra directives; with -a, the nodes require that password (and replicas use
    it to reach their primary)."""
    extra = list(opts.extra)
    if opts.password is not None and "--requirepass" not in extra:
        extra += ["--requirepass", opts.password]
    if _password(opts) is not None and "--masterauth" not in extra:
        extra += ["--masterauth", _password(opts)]
    return extra


def auth_args(opts) -> list[str]:
    password = _password(opts)
    out = ["-a", password, "--no-auth-warning"] if password is not None else []
    return out + (["--user", opts.user] if opts.user else [])


def run(command: str, argv: list[str]) -> int:
    def interrupt(signum, frame):
        raise Interrupted(signum)

    old = {s: signal.signal(s, interrupt) for s in STOP_SIGNALS}
    try:
        return up(parse(argv))
    except LocalError as exc:
        output.err(f"[ERR] {exc}\n")
        return 1
    except Interrupted as exc:
        output.plain("\n")
        return 128 + exc.signum
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def up(opts) -> int:
    root = Path(opts.dir).expanduser().resolve()
    running = local.running_nodes(root)
    if running:
        first = running[0]
        raise LocalError(f"A cluster is already running from {root} ({len(running)} "
                         f"node(s), {first.address} is pid {first.pid}); stop it with: "
                         f"pyredis-cluster down --dir {root}")
    restart = local.holds_cluster(root)
    if restart:
        ports = local.saved_ports(root)
    else:
        masters = opts.nodes // (opts.replicas + 1)
        if masters < 3:
            raise LocalError(f"{opts.nodes} nodes with {opts.replicas} replica(s) each make "
                             f"{masters} primaries; a cluster needs at least 3 (use --nodes "
                             f"{3 * (opts.replicas + 1)} or more).")
        ports = list(range(opts.port, opts.port + opts.nodes))
    local.check_ports(ports)
    span = f"{HOST}:{ports[0]}-{ports[-1]}"
    new_dirs = [] if restart else [p for p in ports if not (root / str(p)).exists()]
    root_existed = root.exists()
    if restart:
        output.info(f">>> Restarting the cluster saved in {root}: {len(ports)} nodes on "
                    f"{span}\n")
    else:
        output.info(f">>> Starting {len(ports)} nodes on {span} (data in {root})\n")
    nodes: list[LocalNode] = []
    try:
        root.mkdir(parents=True, exist_ok=True)
        nodes = local.start_nodes(root, ports, opts.node_timeout, node_directives(opts))
        local.wait_for_ping(nodes, PING_TIMEOUT, _password(opts), opts.user)
        addrs = [n.address for n in nodes]
        if restart:
            wait_cluster_ok(nodes, opts)
            check.run("check", [addrs[0], *auth_args(opts)])
        else:
            code = create.run("create", [*addrs, "--cluster-replicas", str(opts.replicas),
                                         "--cluster-yes", *auth_args(opts)])
            if code != 0:
                raise LocalError("Creating the cluster failed (see above); every node "
                                 "was stopped.")
    except BaseException:
        _ignore_signals()
        local.stop_nodes(nodes)
        if not restart:         # leave no half-made cluster for the next `up` to restart
            for port in ports:
                if port in new_dirs:
                    shutil.rmtree(root / str(port), ignore_errors=True)
                else:
                    local.unlink_quietly(root / str(port) / local.CONF)
        if not root_existed:
            shutil.rmtree(root, ignore_errors=True)
        raise
    announce(nodes, opts, root, span)
    if opts.detach:
        output.plain(f"Stop it with:  pyredis-cluster down --dir {root}\n")
        return 0
    output.plain("Stop it with Ctrl-C.\n")
    return foreground(nodes)


def wait_cluster_ok(nodes: list[LocalNode], opts) -> None:
    """Restarted nodes: until each says cluster_state:ok (a dot per second)."""
    timeout = 30 + 3 * opts.node_timeout / 1000
    deadline = time.monotonic() + timeout
    output.plain("Waiting for cluster_state:ok\n")
    next_dot = time.monotonic() + 1

    def ok(node: LocalNode) -> bool:
        try:
            with redis.Redis(host=HOST, port=node.port, password=_password(opts),
                             username=opts.user, socket_timeout=2) as r:
                return "cluster_state:ok" in r.execute_command("CLUSTER", "INFO").decode()
        except (redis.RedisError, OSError):
            return False

    while not all(ok(n) for n in nodes):
        for node in nodes:
            if not node.alive():
                raise LocalError(f"Node {node.address} exited (see "
                                 f"{node.dir / local.LOG}).")
        if time.monotonic() > deadline:
            raise LocalError(f"The restarted cluster did not reach cluster_state:ok within "
                             f"{timeout:.0f} s (node logs: {nodes[0].root}/<port>/"
                             f"{local.LOG}).")
        if time.monotonic() >= next_dot:
            output.plain(".")
            next_dot += 1
        time.sleep(0.1)
    output.plain("\n")


def announce(nodes: list[LocalNode], opts, root: Path, span: str) -> None:
    port = nodes[0].port
    password = _password(opts)
    cli_auth = " -a <password>" if password is not None else ""
    py_auth = ", password=...)" if password is not None else ")"
    output.ok(f"[OK] The cluster is up: {len(nodes)} nodes on {span}, data and logs in "
              f"{root}\n")
    output.plain(f"Connect with:  redis-cli -c -p {port}{cli_auth}\n"
                 f"   or Python:  RedisCluster(host=\"{HOST}\", port={port}{py_auth}\n")


def foreground(nodes: list[LocalNode]) -> int:
    """Until SIGINT/SIGTERM/SIGHUP: report nodes that exit; then stop them all."""
    reported: set[int] = set()
    try:
        while True:
            time.sleep(POLL)
            for node in nodes:
                if node.port not in reported and not node.alive():
                    reported.add(node.port)
                    local.unlink_quietly(node.pid_file)
                    output.warn(f"[WARNING] Node {node.address} exited with status "
                                f"{node.proc.returncode} (see {node.dir / local.LOG})\n")
            if len(reported) == len(nodes):
                output.err("[ERR] Every node has exited.\n")
                return 1
    except Interrupted:
        _ignore_signals()
        output.plain("\n")
        output.info(f">>> Stopping {len(nodes)} nodes\n")
        killed = local.stop_nodes(nodes)
        if killed:
            output.warn(f"[WARNING] {len(killed)} node(s) did not stop within "
                        f"{local.STOP_TIMEOUT:.0f} s and were killed: "
                        + ", ".join(n.address for n in killed) + "\n")
        output.ok("[OK] Every node stopped.\n")
        return 0


def _ignore_signals() -> None:
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
