"""The wheel as a user installs it: `pip wheel` of the repository ships every package
(slots, gossip, cluster with all its subpackages, cli, sentinel) and nothing of tests/ or
scripts/; `pip install --no-deps` of it into a fresh virtualenv gives a `pyredis-cluster`
console script that, run from another directory with PYTHONPATH unset, serves `server`,
`sentinel <conf>`, `up --detach`, `check` and `down`, every module coming from that
virtualenv (never from the checkout, nor from the project's editable install).

The fresh virtualenv gets the runtime dependencies through a .pth file naming a directory
of symlinks to the project virtualenv's packages, minus its editable install of
pyredis-cluster (the __editable__ finder, its dist-info and every .pth): no network and no
dependency download, yet nothing of the checkout can be imported."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import redis

from tests.process.test_cluster_up import alive, free_block, kill_leftovers, pids_in
from tests.support import ROOT, free_port, wait_until

pytestmark = pytest.mark.process

PACKAGES = ("cli", "cluster", "gossip", "sentinel", "slots")
DIST = "pyredis-cluster"
STEP = 60            # seconds any one command may take
STOP = 15            # seconds a stopped process may take to exit
# Top-level entries of the checkout that are not part of the source (or are its build
# leftovers: a stale build/lib would put moved modules back into the wheel).
NOT_SOURCE = {".git", ".venv", "build", "dist", ".pytest_cache", ".hypothesis", ".cluster",
              ".run", ".cache", "tmp", "dump.rdb", "appendonlydir"}
# Never linked into the fresh virtualenv: the project's own install (editable finder,
# metadata, path files) and the installer tools the fresh virtualenv does not need.
NOT_DEPENDENCIES = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "__pycache__",
                    *PACKAGES}


@dataclass
class Installed:
    venv: Path
    python: Path
    script: Path
    site: Path          # the fresh virtualenv's site-packages
    wheel: Path
    src: Path           # the source copy the wheel was built from
    env: dict


# -- building and installing ---------------------------------------------------------------

def _copy_source(dest: Path) -> None:
    """The checkout without .git, virtualenvs, build leftovers and caches (files are being
    moved by others at times: a file vanishing mid-copy means copy again)."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        top = Path(directory).resolve() == ROOT
        return {n for n in names
                if n == "__pycache__" or n.endswith((".pyc", ".egg-info"))
                or (top and n in NOT_SOURCE)}

    for attempt in range(3):
        shutil.rmtree(dest, ignore_errors=True)
        try:
            shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
            return
        except (shutil.Error, FileNotFoundError):
            if attempt == 2:
                raise
            time.sleep(0.5)


def _version(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in re.findall(r"\d+", metadata.version(name))[:3])
    except metadata.PackageNotFoundError:
        return ()


def _build_offline() -> bool:
    """The running interpreter's setuptools can build the wheel itself (no download of an
    isolated build environment): setuptools >= 70.1 has bdist_wheel, older needs `wheel`."""
    setuptools = _version("setuptools")
    return setuptools >= (70, 1) or (setuptools >= (64,) and _version("wheel") >= (0, 38))


def run(cmd: list, timeout: float = STEP, **kwargs) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                         timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)
    return res


def _ok(res: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert res.returncode == 0, f"{res.args}\n{res.stdout}\n{res.stderr}"
    return res


def _dependency_dir(dest: Path) -> Path:
    """Symlinks to every package of the running interpreter's site-packages except the
    project's own install (editable finder, dist-info, .pth files)."""
    dest.mkdir()
    dirs = {Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")}
    for site in sorted(dirs):
        for entry in sorted(site.iterdir()):
            name = entry.name
            if (re.split(r"[-.]", name)[0].lower() in NOT_DEPENDENCIES
                    or name.startswith("__editable__")
                    or name.endswith((".pth", ".egg-link"))
                    or re.match(r"pyredis[_-]cluster", name, re.I)
                    or (dest / name).exists()):
                continue
            (dest / name).symlink_to(entry)
    return dest


def _clean_env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                        "PYTHONSAFEPATH", "__PYVENV_LAUNCHER__")}
    env["PYTHONNOUSERSITE"] = "1"
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("install")
    src, out, venv = base / "src", base / "wheel", base / "venv"
    _copy_source(src)

    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, src]
    if _build_offline():
        build.insert(4, "--no-build-isolation")
    _ok(run(build, timeout=180, cwd=base))
    wheels = list(out.glob("*.whl"))
    assert len(wheels) == 1, wheels
    wheel = wheels[0]

    # pip >= 22.3 installs into another interpreter (--python): no pip in the venv needed.
    with_pip = _version("pip") < (22, 3)
    _ok(run([sys.executable, "-m", "venv", *([] if with_pip else ["--without-pip"]), venv]))
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip"] if with_pip else [sys.executable, "-m", "pip", "--python",
                                                 python]
    env = _clean_env(venv)
    _ok(run([*pip, "install", "--no-deps", "--no-index", "-q", wheel], cwd=base, env=env))
    site = Path(_ok(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                       "['purelib'])"], cwd=base, env=env)).stdout.strip())
    deps = _dependency_dir(base / "deps")
    (site / "zz-pyredis-cluster-test-deps.pth").write_text(f"{deps}\n")
    script = venv / "bin" / "pyredis-cluster"
    assert script.is_file(), sorted(p.name for p in (venv / "bin").iterdir())
    return Installed(venv, python, script, site, wheel, src, env)


# -- processes -----------------------------------------------------------------------------

def venv_processes(venv: Path) -> list[int]:
    """Live processes running the fresh virtualenv's interpreter or script (only this test
    starts any: the path is a new temporary directory)."""
    prefix = str(venv) + "/"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(a.startswith(prefix) for a in argv[:2]) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def stop(proc: subprocess.Popen | None) -> int | None:
    """SIGTERM, then SIGKILL after STOP seconds; the exit status."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


def spawn(cmd: list, cwd: Path, env: dict, stderr: Path) -> subprocess.Popen:
    with open(stderr, "wb") as err:
        return subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)


def answers_ping(port: int) -> bool:
    with redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2) as r:
        return r.ping()


def wait_serving(proc: subprocess.Popen, port: int, what: str, log: Path) -> None:
    """Until `proc` answers PING on `port`; fails at once if it exits."""
    try:
        wait_until(lambda: proc.poll() is not None or answers_ping(port), 20,
                   interval=0.05, message=f"{what} on port {port}")
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{_read(log)}") from None
    assert proc.poll() is None, f"{what} exited with {proc.returncode}:\n{_read(log)}"


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def masters(port: int) -> dict[str, dict[str, str]]:
    """SENTINEL MASTERS as {name: {field: value}}."""
    with redis.Redis(port=port, socket_timeout=2, decode_responses=True) as r:
        reply = r.execute_command("SENTINEL", "MASTERS")
    out = {}
    for flat in reply:
        fields = dict(zip(flat[::2], flat[1::2])) if isinstance(flat, list) else dict(flat)
        out[fields["name"]] = fields
    return out


# -- the tests -----------------------------------------------------------------------------

def test_wheel_ships_every_package_and_nothing_else(installed):
    names = zipfile.ZipFile(installed.wheel).namelist()
    dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert len(dist_info) == 1, dist_info
    assert {n.split("/")[0] for n in names} == set(PACKAGES) | dist_info
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Every module of every package and subpackage of the source, no more (a stale or
    # left-out module shows here).
    source = sorted(str(p.relative_to(installed.src))
                    for pkg in PACKAGES for p in (installed.src / pkg).rglob("*.py")
                    if "__pycache__" not in p.parts)
    shipped = sorted(n for n in names if n.endswith(".py"))
    assert shipped == source
    assert "sentinel/server.py" in shipped and "sentinel/__init__.py" in shipped
    subpackages = {str(p.parent.relative_to(installed.src)) for p in
                   (installed.src / "cluster").rglob("__init__.py")}
    assert subpackages <= {n.rpartition("/")[0] for n in shipped}
    entry_points = zipfile.ZipFile(installed.wheel).read(
        f"{dist_info.pop()}/entry_points.txt").decode()
    assert re.search(r"^pyredis-cluster = cli\.main:main$", entry_points, re.M)


def test_every_module_imports_from_the_fresh_virtualenv(installed, tmp_path):
    code = r"""
import importlib, importlib.metadata as md, json, pkgutil, sys
out = {"path": sys.path, "files": {}, "failed": {},
       "dist": str(md.distribution("pyredis-cluster").locate_file(""))}
for name in sys.argv[1:]:
    pkg = importlib.import_module(name)
    out["files"][name] = pkg.__file__
    for info in pkgutil.walk_packages(pkg.__path__, name + "."):
        try:
            out["files"][info.name] = importlib.import_module(info.name).__file__
        except Exception as exc:
            out["failed"][info.name] = repr(exc)
print(json.dumps(out))
"""
    res = _ok(run([installed.python, "-c", code, *PACKAGES], cwd=tmp_path,
                  env=installed.env))
    seen = json.loads(res.stdout)
    assert seen["failed"] == {}
    site = installed.site.resolve()
    assert Path(seen["dist"]).resolve() == site
    for name, path in seen["files"].items():
        assert Path(path).resolve().is_relative_to(site), (name, path)
    assert "sentinel.server" in seen["files"] and "cli.admin.up" in seen["files"]
    assert not [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    # The console script runs the virtualenv's interpreter.
    assert installed.script.read_text().splitlines()[0] == f"#!{installed.python}"


def test_console_script_runs_server_sentinel_up_check_down(installed, tmp_path):
    work = tmp_path / "elsewhere"                 # cwd: neither the checkout nor the venv
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    env = installed.env
    script = installed.script
    server = sentinel = None
    pids: dict[int, int] = {}
    try:
        # server: a standalone node answering PING.
        port = free_port()
        (work / "node").mkdir()
        node_log = work / "node" / "node.log"
        server = spawn([script, "server", "--port", port, "--bind", "127.0.0.1",
                        "--dir", work / "node", "--save", "", "--logfile", node_log],
                       work, env, work / "node" / "stderr.txt")
        wait_serving(server, port, "server", work / "node" / "stderr.txt")
        with redis.Redis(port=port, socket_timeout=5) as r:
            assert r.set("k", "v") and r.get("k") == b"v"
            assert r.info("server")["redis_mode"] == "standalone"

        # sentinel <conf>: monitors that node.
        s_port = free_port()
        (work / "sentinel").mkdir()
        conf = work / "sentinel" / "sentinel.conf"
        conf.write_text(f"port {s_port}\nbind 127.0.0.1\n"
                        f"logfile {work / 'sentinel' / 'sentinel.log'}\n"
                        f"sentinel monitor mymaster 127.0.0.1 {port} 1\n"
                        "sentinel down-after-milliseconds mymaster 5000\n")
        sentinel = spawn([script, "sentinel", conf], work, env,
                         work / "sentinel" / "stderr.txt")
        wait_serving(sentinel, s_port, "sentinel", work / "sentinel" / "stderr.txt")
        wait_until(lambda: masters(s_port).get("mymaster", {}).get("flags") == "master"
                   and masters(s_port)["mymaster"].get("role-reported") == "master", 15,
                   interval=0.1, message="SENTINEL MASTERS to show mymaster up")
        assert masters(s_port)["mymaster"]["port"] == str(port)
        with redis.Redis(port=s_port, socket_timeout=2, decode_responses=True) as r:
            assert r.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster") \
                == ["127.0.0.1", str(port)]
        assert stop(sentinel) is not None and sentinel.poll() is not None
        assert stop(server) is not None and server.poll() is not None

        # up --detach: six nodes on a free block, running the installed modules.
        base = free_block()
        data = work / "c"
        up = run([script, "up", "--port", base, "--dir", data, "--detach",
                  "--node-timeout", "3000"], timeout=120, cwd=work, env=env)
        pids = pids_in(data)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "[OK] All 16384 slots covered." in up.stdout
        assert sorted(pids) == list(range(base, base + 6))
        for pid in pids.values():
            assert alive(pid)
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert argv[0].decode() == str(installed.python), argv
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            pythonpath = [e for e in environ if e.startswith(b"PYTHONPATH=")]
            assert str(ROOT).encode() not in b"".join(pythonpath), pythonpath

        # check host:port
        check = run([script, "check", f"127.0.0.1:{base}"], cwd=work, env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "[OK] All 16384 slots covered." in check.stdout

        # down: every node stops, nothing of the virtualenv is left running.
        down = run([script, "down", "--dir", data], cwd=work, env=env)
        assert down.returncode == 0, down.stdout + down.stderr
        assert "[OK] 6 nodes stopped." in down.stdout
        assert not [pid for pid in pids.values() if alive(pid)]
        assert list(data.glob("*.pid")) == []
        wait_until(lambda: not venv_processes(installed.venv), 5,
                   message="no process of the virtualenv left")
    finally:
        stop(sentinel)
        stop(server)
        kill_leftovers(pids.values())
        for pid in venv_processes(installed.venv):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
