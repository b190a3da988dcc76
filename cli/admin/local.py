"""The node processes of a local cluster (`pyredis-cluster up` / `down`).

Layout of a cluster directory DIR:

    DIR/7000/        the node's data directory (nodes.conf, node.log: its output)
    DIR/7000.pid     the node's pid while it runs (removed when it is stopped)

Nodes run `python -m cli.main server` in their own session, so a Ctrl-C on the terminal
reaches only `up`, which then stops them in order; with `up --detach` they outlive it.
"""
from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redis

BUS_OFFSET = 10000
HOST = "127.0.0.1"
CONF = "nodes.conf"
LOG = "node.log"
STOP_TIMEOUT = 15.0
_PROJECT = str(Path(__file__).resolve().parents[2])     # where the `cli` package lives


class LocalError(Exception):
    """A failure worded as one line for the user."""


@dataclass
class LocalNode:
    port: int
    root: Path                              # DIR
    proc: subprocess.Popen | None = None
    pid: int | None = None

    @property
    def dir(self) -> Path:
        return self.root / str(self.port)

    @property
    def pid_file(self) -> Path:
        return self.root / f"{self.port}.pid"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and pid_alive(self.pid)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = (self.dir / LOG).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


# -- the cluster directory ----------------------------------------------------------------
def saved_ports(root: Path) -> list[int]:
    """Ports of the node directories in DIR that hold a nodes.conf."""
    if not root.is_dir():
        return []
    return sorted(int(d.name) for d in root.iterdir()
                  if d.name.isdigit() and (d / CONF).is_file())


def holds_cluster(root: Path) -> bool:
    """True if a saved nodes.conf in DIR knows other nodes (a cluster was formed); nodes
    that only know themselves are fresh and can be created again."""
    for port in saved_ports(root):
        try:
            text = (root / str(port) / CONF).read_text(errors="replace")
        except OSError:
            continue
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("vars ")]
        if len(lines) > 1:
            return True
    return False


def pid_nodes(root: Path) -> list[LocalNode]:
    """Nodes with a pid file in DIR (whether or not they still run)."""
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.glob("*.pid")):
        if not path.stem.isdigit():
            continue
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            pid = None
        out.append(LocalNode(int(path.stem), root, pid=pid))
    return out


def running_nodes(root: Path) -> list[LocalNode]:
    """Nodes of DIR that run now (stale pid files are removed)."""
    alive = []
    for node in pid_nodes(root):
        if node.pid is not None and pid_alive(node.pid) and _is_our_node(node):
            alive.append(node)
        else:
            unlink_quietly(node.pid_file)
    return alive


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_our_node(node: LocalNode) -> bool:
    """The pid is a node server on that port (not a recycled pid), where /proc says."""
    try:
        with open(f"/proc/{node.pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return True
    return b"server" in argv and str(node.port).encode() in argv


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


# -- ports ----------------------------------------------------------------------------------
def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def check_ports(ports: list[int]) -> None:
    """Every client port and its bus port must be free: LocalError naming the first
    taken one otherwise."""
    for port in ports:
        if not (0 < port and port + BUS_OFFSET <= 65535):
            raise LocalError(f"Port {port} is out of range: client ports must be between 1 "
                             f"and {65535 - BUS_OFFSET} (the bus port is port+{BUS_OFFSET}).")
    span = _span(ports)
    for port in ports:
        for p, what in ((port, ""), (port + BUS_OFFSET, f" (the bus port of {HOST}:{port})")):
            if port_in_use(p):
                raise LocalError(
                    f"Port {p}{what} is already in use: the cluster needs {HOST}:{span} "
                    f"and their bus ports +{BUS_OFFSET}; choose another base with --port.")


def _span(ports: list[int]) -> str:
    return f"{ports[0]}-{ports[-1]}" if len(ports) > 1 else str(ports[0])


# -- starting and stopping ------------------------------------------------------------------
def node_command(node: LocalNode, node_timeout: int, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "cli.main", "server",
            "--port", str(node.port), "--bind", HOST, "--dir", str(node.dir),
            "--daemonize", "no", "--cluster-enabled", "yes", "--cluster-config-file", CONF,
            "--cluster-node-timeout", str(node_timeout), *extra]


def start_nodes(root: Path, ports: list[int], node_timeout: int,
                extra: list[str]) -> list[LocalNode]:
    """Spawn one node per port (its output to DIR/<port>/node.log, a pid file in DIR)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PROJECT, env.get("PYTHONPATH", "")) if p)
    nodes = []
    try:
        for port in ports:
            node = LocalNode(port, root)
            node.dir.mkdir(parents=True, exist_ok=True)
            with open(node.dir / LOG, "ab") as log:
                node.proc = subprocess.Popen(
                    node_command(node, node_timeout, extra), cwd=str(node.dir), env=env,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            node.pid = node.proc.pid
            node.pid_file.write_text(f"{node.pid}\n")
            nodes.append(node)
    except BaseException:
        stop_nodes(nodes)
        raise
    return nodes


def ping(node: LocalNode, password: str | None, user: str | None) -> bool:
    try:
        with redis.Redis(host=HOST, port=node.port, password=password, username=user,
                         socket_timeout=1, socket_connect_timeout=1) as r:
            return bool(r.ping())
    except redis.AuthenticationError:
        return True                     # it answers; create will report the password
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    except redis.ResponseError:
        return True


def wait_for_ping(nodes: list[LocalNode], timeout: float, password: str | None = None,
                  user: str | None = None) -> None:
    """Until every node answers PING; LocalError if one exits or the time runs out."""
    deadline = time.monotonic() + timeout
    pending = list(nodes)
    while pending:
        for node in list(pending):
            if not node.alive():
                tail = node.log_tail()
                raise LocalError(f"Node {node.address} exited at start"
                                 + (f":\n{tail}" if tail else "."))
            if ping(node, password, user):
                pending.remove(node)
        if pending and time.monotonic() > deadline:
            raise LocalError(f"Node {pending[0].address} did not answer PING within "
                             f"{timeout:.0f} s (see {pending[0].dir / LOG}).")
        if pending:
            time.sleep(0.05)


def stop_nodes(nodes: list[LocalNode], timeout: float = STOP_TIMEOUT) -> list[LocalNode]:
    """SIGTERM every node, wait for all, SIGKILL the ones still there after `timeout`.
    Pid files are removed. Returns the nodes that had to be killed."""
    for node in nodes:
        if node.alive():
            _signal(node, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(n.alive() for n in nodes) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = [n for n in nodes if n.alive()]
    for node in killed:
        _signal(node, signal.SIGKILL)
    for node in nodes:
        if node.proc is not None:
            try:
                node.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        elif node.pid is not None:
            end = time.monotonic() + 5
            while pid_alive(node.pid) and time.monotonic() < end:
                time.sleep(0.05)
        unlink_quietly(node.pid_file)
    return killed


def _signal(node: LocalNode, sig: int) -> None:
    try:
        if node.proc is not None:
            node.proc.send_signal(sig)
        elif node.pid is not None:
            os.kill(node.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
