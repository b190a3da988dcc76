"""Users from the configuration, side by side with a real redis-server 7.0.15: `user`
lines in the config file, an `aclfile`, both at once (the start is refused), a bad rule
(the start is refused), and CONFIG REWRITE writing the users back."""
from __future__ import annotations

import subprocess
import sys

import pytest
import redis

from tests.support import NodeProcess, RealRedis, free_port, running

USER_LINES = ["user default on nopass ~* &* +@all",
              "user alice on >alice-pw ~app:* &app:* +@string +@hash -append",
              "user bob off #" + "a" * 64 + " ~* +get (+set ~w:*)"]


def _list(server) -> list[bytes]:
    with redis.Redis(port=server.port, socket_timeout=10) as r:
        return r.execute_command("ACL", "LIST")


def _pair(tmp_path, text: str, name: str, extra: list[str] = ()):
    conf = tmp_path / f"{name}.conf"
    conf.write_text(text)
    return (NodeProcess(tmp_path / f"{name}-ours", list(extra), conf=conf),
            RealRedis(["--dir", str(tmp_path), *extra], conf=conf))


def test_user_lines_in_the_config_file(tmp_path):
    ours, real = _pair(tmp_path, "\n".join(USER_LINES) + "\n", "users")
    with running(ours), running(real):
        assert _list(ours) == _list(real)
        for server in (ours, real):
            with redis.Redis(port=server.port, username="alice", password="alice-pw",
                             socket_timeout=10) as r:
                assert r.set("app:1", "x")
                with pytest.raises(redis.exceptions.NoPermissionError):
                    r.get("other")


def test_an_aclfile_is_loaded_at_start(tmp_path):
    acl = tmp_path / "users.acl"
    acl.write_text("\n".join(USER_LINES) + "\n")
    ours, real = _pair(tmp_path, f"aclfile {acl}\n", "aclfile")
    with running(ours), running(real):
        assert _list(ours) == _list(real)


@pytest.mark.parametrize("text", ["user alice on >pw ~* +@all\naclfile {acl}\n",
                                  "aclfile {acl}\n"], ids=["both", "bad-file"])
def test_a_bad_acl_setup_stops_the_start_as_redis_does(tmp_path, text):
    acl = tmp_path / "users.acl"
    acl.write_text("user carol on nosuchrule\n")
    conf = tmp_path / "bad.conf"
    conf.write_text(text.format(acl=acl))
    real = subprocess.run(["redis-server", str(conf), "--port", str(free_port())],
                          capture_output=True, text=True, timeout=20)
    assert real.returncode == 1
    said = [line.split(" # ", 1)[1] for line in real.stdout.splitlines() if " # " in line]
    node = NodeProcess(tmp_path / "ours", conf=conf)
    proc = node._popen()
    try:
        assert proc.wait(timeout=20) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
    assert said and said[-1] in node.log()


def test_config_rewrite_writes_the_users(tmp_path):
    ours, real = _pair(tmp_path, "\n".join(USER_LINES[:2]) + "\n", "rewrite")
    with running(ours), running(real):
        files = []
        for server in (ours, real):
            with redis.Redis(port=server.port, socket_timeout=10) as r:
                r.execute_command("ACL", "SETUSER", "zed", "on", ">z", "~z*", "+get")
                r.execute_command("ACL", "DELUSER", "alice")
                assert r.config_rewrite()
            files.append(server.conf.read_text())
            server.conf.write_text("\n".join(USER_LINES[:2]) + "\n")   # the next one's
        users = [[line for line in text.splitlines() if line.startswith("user ")]
                 for text in files]
        assert users[0] == users[1]
        assert users[0][1].startswith("user zed on #")


@pytest.mark.parametrize("args", [["--user", "foo", "--user", "foo"],
                                  ["--user", "default", "--user", "default"],
                                  ["--user", "foo", "on", "badrule"],
                                  ["--user", "foo", "on", "(", "~x", "badrule)"],
                                  ["--user", "foo", "on", "#abc"]])
def test_a_bad_user_line_is_a_fatal_config_error_as_in_redis(args):
    def report(argv):
        res = subprocess.run(argv + ["--port", "0", *args], capture_output=True, text=True,
                             timeout=20)
        assert res.returncode == 1
        text = res.stdout + res.stderr
        return text[text.index("*** FATAL CONFIG FILE ERROR"):].strip()
    ours = report([sys.executable, "-m", "cli.main", "server"])
    assert ours == report(["redis-server"])
