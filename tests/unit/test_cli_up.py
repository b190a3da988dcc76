"""`pyredis-cluster up` / `down` pieces that need no process: option parsing, the node
directives, what a cluster directory holds, pid files."""
from __future__ import annotations

import os
import sys

import pytest

from cli.admin import local, up
from cli.admin.local import LocalError, LocalNode


def test_defaults():
    opts = up.parse([])
    assert (opts.nodes, opts.replicas, opts.port, opts.dir, opts.detach) == \
        (6, 1, 7000, ".cluster", False)
    assert opts.node_timeout == up.DEFAULT_NODE_TIMEOUT and opts.extra == []


def test_options_and_extra_directives_after_double_dash():
    opts = up.parse(["--nodes", "9", "--replicas", "2", "--port", "8000", "--dir", "x",
                     "--detach", "--node-timeout", "2000", "--", "--loglevel", "verbose"])
    assert (opts.nodes, opts.replicas, opts.port, opts.dir, opts.detach,
            opts.node_timeout) == (9, 2, 8000, "x", True, 2000)
    assert opts.extra == ["--loglevel", "verbose"]
    assert up.node_directives(opts) == ["--loglevel", "verbose"]
    assert up.auth_args(opts) == []


@pytest.mark.parametrize("argv", [["--nodes", "x"], ["--bogus"], ["--nodes", "0"],
                                  ["--replicas", "-1"], ["--node-timeout", "0"]])
def test_bad_options_are_local_errors(argv):
    with pytest.raises(LocalError):
        up.parse(argv)


def test_password_from_a_or_requirepass():
    opts = up.parse(["-a", "pw"])
    assert up.node_directives(opts) == ["--requirepass", "pw", "--masterauth", "pw"]
    assert up.auth_args(opts) == ["-a", "pw", "--no-auth-warning"]
    opts = up.parse(["--user", "u", "--", "--requirepass", "s"])
    assert up.node_directives(opts) == ["--requirepass", "s", "--masterauth", "s"]
    assert up.auth_args(opts) == ["-a", "s", "--no-auth-warning", "--user", "u"]


def test_node_command_is_a_cluster_node_in_its_directory(tmp_path):
    node = LocalNode(7003, tmp_path)
    cmd = local.node_command(node, 3000, ["--loglevel", "debug"])
    assert cmd[:4] == [sys.executable, "-m", "cli.main", "server"]
    pairs = dict(zip(cmd[4::2], cmd[5::2]))
    assert pairs["--port"] == "7003" and pairs["--dir"] == str(tmp_path / "7003")
    assert pairs["--cluster-enabled"] == "yes" and pairs["--cluster-node-timeout"] == "3000"
    assert pairs["--bind"] == "127.0.0.1" and cmd[-2:] == ["--loglevel", "debug"]
    assert node.pid_file == tmp_path / "7003.pid"


def test_holds_cluster_only_when_a_saved_config_knows_other_nodes(tmp_path):
    assert not local.holds_cluster(tmp_path / "missing")
    me = "a" * 40
    lone = (f"{me} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n"
            "vars currentEpoch 0 lastVoteEpoch 0\n")
    (tmp_path / "7000").mkdir()
    (tmp_path / "7000" / "nodes.conf").write_text(lone)
    (tmp_path / "notaport").mkdir()
    (tmp_path / "7009").mkdir()                           # no nodes.conf: ignored
    assert local.saved_ports(tmp_path) == [7000]
    assert not local.holds_cluster(tmp_path)
    (tmp_path / "7001").mkdir()
    (tmp_path / "7001" / "nodes.conf").write_text(
        lone + f"{'b' * 40} 127.0.0.1:7001@17001 master - 0 0 1 connected 0-5460\n")
    assert local.saved_ports(tmp_path) == [7000, 7001]
    assert local.holds_cluster(tmp_path)


def test_stale_pid_files_are_dropped(tmp_path):
    (tmp_path / "7000.pid").write_text(f"{os.getpid()}\n")     # alive but not a node
    (tmp_path / "7001.pid").write_text("999999999\n")          # no such process
    (tmp_path / "7002.pid").write_text("garbage\n")
    assert [n.port for n in local.pid_nodes(tmp_path)] == [7000, 7001, 7002]
    assert local.running_nodes(tmp_path) == []
    assert list(tmp_path.glob("*.pid")) == []


def test_pid_alive():
    assert local.pid_alive(os.getpid())
    assert not local.pid_alive(999999999)
