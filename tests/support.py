"""Helpers for process tests: start/stop nodes on free ports, poll with deadlines."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

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


class NodeProcess:
    """One `pyredis-cluster server` subprocess on 127.0.0.1 with a fresh directory."""

    def __init__(self, directory: Path, args: list[str] | None = None, port: int | None = None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.args = list(args or [])
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "node.log"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "cli.main", "server", "--port", str(self.port),
                "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
                "--logfile", str(self.log_path), *self.args]

    def start(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(self.command(), cwd=str(self.dir), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: self.proc.poll() is not None or _can_connect(self.port),
                       START_TIMEOUT, message=f"node on port {self.port}")
        except TimeoutError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError(f"node exited with {self.proc.returncode}: {err}\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

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


def redis_cli(port: int, *args: str, stdin: str | None = None, timeout: float = 20) -> str:
    res = subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin,
                         capture_output=True, text=True, timeout=timeout)
    return res.stdout


@contextlib.contextmanager
def real_redis(*args: str):
    """A real redis-server (the yardstick) on a free port, stopped in every outcome.

    Yields a NodeProcess-like handle: `.port`, `.raw(...)`.
    """
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    handle = NodeProcess.__new__(NodeProcess)
    handle.port = free_port()
    handle.proc = subprocess.Popen(
        ["redis-server", "--port", str(handle.port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--dir", "/tmp", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: handle.proc.poll() is not None or _can_connect(handle.port),
                   START_TIMEOUT, message=f"redis-server on port {handle.port}")
        if handle.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {handle.proc.returncode}")
        yield handle
    finally:
        if handle.proc.poll() is None:
            handle.proc.terminate()
            try:
                handle.proc.wait(10)
            except subprocess.TimeoutExpired:
                handle.proc.kill()
                handle.proc.wait(5)
