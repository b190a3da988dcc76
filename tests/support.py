"""Helpers for process tests: start/stop our nodes and real redis-servers on free ports
(stopped in every outcome), poll with deadlines, talk raw RESP and compare raw replies."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import time
from pathlib import Path
from typing import Callable

import hiredis

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 15.0


def free_port() -> int:
    """A port free for both the client port and its +10000 bus port."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair found")


def wait_until(predicate: Callable[[], object], timeout: float = 10.0,
               interval: float = 0.02, message: str = "condition") -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing polled may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {message}"
                       + (f" (last error: {last_exc!r})" if last_exc else ""))


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = s.recv(100)
            return data.startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class ServerProcess:
    """A server subprocess on 127.0.0.1, up once it answers PING: `.port`, `.raw(...)`.

    Subclasses say how to launch it (`_popen`) and what to report if it exits at start.
    """

    what = "server"
    port: int
    proc: subprocess.Popen | None = None

    def _popen(self) -> subprocess.Popen:
        raise NotImplementedError

    def _exit_report(self) -> str:
        return f"{self.what} exited with {self.proc.returncode}"

    def start(self) -> None:
        self.proc = self._popen()
        try:
            wait_until(lambda: self.proc.poll() is not None or _can_connect(self.port),
                       START_TIMEOUT, message=f"{self.what} on port {self.port}")
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            raise RuntimeError(self._exit_report())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stderr:
            self.proc.stderr.close()
        return self.proc.returncode

    def raw(self, payload: bytes, timeout: float = 2.0, until_close: bool = False,
            expect: int | None = None) -> bytes:
        """Send raw bytes; read the reply (until `expect` bytes, close, or a quiet pause)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(payload)
            out = b""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                s.settimeout(max(0.01, min(0.3 if not until_close else timeout,
                                           deadline - time.monotonic())))
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    if until_close or (expect is not None and len(out) < expect):
                        continue
                    break
                if not chunk:
                    break
                out += chunk
                if expect is not None and len(out) >= expect and not until_close:
                    break
            return out


class NodeProcess(ServerProcess):
    """One `pyredis-cluster server` subprocess on 127.0.0.1 with a fresh directory."""

    what = "node"

    def __init__(self, directory: Path, args: list[str] | None = None, port: int | None = None,
                 conf: Path | None = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.args = list(args or [])
        self.conf = conf                 # started as `server <conf> --port ...` if given
        self.log_path = self.dir / "node.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "cli.main", "server",
                *([str(self.conf)] if self.conf is not None else []), "--port", str(self.port),
                "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
                "--logfile", str(self.log_path), *self.args]

    def _popen(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.Popen(self.command(), cwd=str(self.dir), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _exit_report(self) -> str:
        err = self.proc.stderr.read().decode(errors="replace")
        return f"{super()._exit_report()}: {err}\n{self.log()}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class RealRedis(ServerProcess):
    """A real redis-server (the yardstick) on a free port."""

    what = "redis-server"

    def __init__(self, args: list[str], conf: Path | None = None):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.port = free_port()
        self.args = list(args)
        self.conf = conf                 # started as `redis-server <conf> --port ...` if given
        # A directory of its own: a dump.rdb or nodes.conf left by one server must never
        # be loaded by the next (a later `--dir` in args still wins).
        self.workdir = tempfile.mkdtemp(prefix=f"real-redis-{self.port}-")

    def _popen(self) -> subprocess.Popen:
        os.makedirs(self.workdir, exist_ok=True)     # a restart after stop() removed it
        return subprocess.Popen(
            ["redis-server", *([str(self.conf)] if self.conf is not None else []),
             "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", self.workdir, *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, timeout: float = 10.0) -> int | None:
        code = super().stop(timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code


@contextlib.contextmanager
def running(server: ServerProcess):
    """Start `server`, yield it, and stop it in every outcome."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def node_process(directory: Path, *args: str):
    """Context manager: one of our nodes in `directory`, started with `args`."""
    return running(NodeProcess(directory, list(args)))


def real_redis(*args: str):
    """Context manager: a real redis-server started with `args` (`.port`, `.raw(...)`)."""
    return running(RealRedis(list(args)))


@contextlib.contextmanager
def one_node_clusters(directory: Path):
    """(our node, a real redis-server), each a cluster-enabled node owning every slot
    (cluster_state:ok): cluster-mode replies compared side by side."""
    with node_process(directory / "c", "--cluster-enabled", "yes") as ours, \
            real_redis("--cluster-enabled", "yes", "--dir", str(directory),
                       "--cluster-config-file", str(directory / "real-nodes.conf")) as real:
        for server in (ours, real):
            raw_replies(server.port, [["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]])
            wait_until(lambda: b"cluster_state:ok" in raw_replies(
                server.port, [["CLUSTER", "INFO"]])[0])
        yield ours, real


def redis_cli(port: int, *args: str, stdin: str | None = None, timeout: float = 20) -> str:
    res = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin,
                         capture_output=True, text=True, timeout=timeout)
    return res.stdout


# -- raw RESP over a socket ---------------------------------------------------------------

def mb(*args) -> bytes:
    """A command as a RESP multibulk frame (str/int arguments are encoded)."""
    args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def read_one(sock) -> bytes:
    """Bytes of exactly one reply (the peer sends nothing unasked)."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
        reader = hiredis.Reader(notEnoughData=Ellipsis)
        reader.feed(data)
        if reader.gets() is not Ellipsis:
            return data


def raw_replies(port: int, commands: list, protocol: int = 2) -> list[bytes]:
    """The raw reply bytes of each command, sent one at a time on one connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if protocol == 3:
            sock.sendall(mb("HELLO", 3))
            read_one(sock)
        out = []
        for args in commands:
            sock.sendall(mb(*args))
            out.append(read_one(sock))
        return out


def side_by_side(pair, commands: list, protocol: int = 2) -> tuple[list[bytes], list[bytes]]:
    """raw_replies of the same commands from (our node, the real redis-server)."""
    ours, real = pair
    return raw_replies(ours.port, commands, protocol), raw_replies(real.port, commands, protocol)


def assert_same_replies(pair, commands: list, protocol: int = 2) -> None:
    """Each command's raw reply bytes from our node equal the real redis-server's."""
    ours, real = side_by_side(pair, commands, protocol)
    for args, got, want in zip(commands, ours, real):
        assert got == want, args
