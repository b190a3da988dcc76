"""`pyredis-cluster server`: config files, command-line directives, fatal errors, signals.

The fatal error texts are those of redis-server 7.0.15 for the same inputs.
"""
import os
import signal
import subprocess
import sys

import redis

from tests.support import ROOT, NodeProcess, free_port, node_process, running, wait_until


def run_server(*args, timeout=20):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cli.main", "server", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


class FileNode(NodeProcess):
    """A node started as `server <file> --port ... <args>`, the file's `save` lines standing."""

    def command(self):
        cmd = super().command()
        i = cmd.index("--save")
        del cmd[i:i + 2]
        return cmd


def test_bad_line_in_config_file_is_fatal(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 0\n# c\nmaxmemory abc\n")
    res = run_server(str(conf))
    assert res.returncode == 1
    assert res.stderr == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                          "Reading the configuration file, at line 3\n"
                          ">>> 'maxmemory abc'\n"
                          "argument must be a memory value\n")


def test_unknown_directive_on_the_command_line_is_fatal():
    res = run_server("--port", "0", "--foo", "bar")
    assert res.returncode == 1
    assert res.stderr == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                          "Reading the configuration file, at line 3\n"
                          ">>> 'foo \"bar\"'\n"
                          "Bad directive or wrong number of arguments\n")


def test_unbalanced_quotes_and_argument_count(tmp_path):
    conf = tmp_path / "q.conf"
    conf.write_text('port 0\nfoo "bar\n')
    res = run_server(str(conf))
    assert res.returncode == 1
    assert res.stderr.endswith(">>> 'foo \"bar'\nUnbalanced quotes in configuration line\n")
    conf.write_text("port 0\nport 1 2\n")
    res = run_server(str(conf))
    assert res.returncode == 1
    assert res.stderr.endswith("at line 2\n>>> 'port 1 2'\nwrong number of arguments\n")


def test_missing_config_file_is_fatal():
    res = run_server("/nonexistent/redis.conf")
    assert res.returncode == 1
    assert ("# Fatal error, can't open config file '/nonexistent/redis.conf': "
            "No such file or directory") in res.stdout


def test_unwritable_logfile_is_fatal(tmp_path):
    res = run_server("--port", "0", "--logfile", str(tmp_path / "no" / "such" / "x.log"))
    assert res.returncode == 1
    assert res.stderr == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                          "Can't open the log file: No such file or directory\n")


def test_config_file_syntax_include_and_overrides(tmp_path):
    extra = tmp_path / "extra.conf"
    extra.write_text("timeout 42\n")
    conf = tmp_path / "node.conf"
    conf.write_text(
        "# a comment\n"
        "save 900 1\n"
        "save 300 10 60 10000\n"
        'requirepass "p w"\n'
        "maxmemory 2mb\n"
        "slave-read-only no\n"
        f"include {extra}\n"
        "notify-keyspace-events 'KEA'\n")
    with running(FileNode(tmp_path / "n", ["--maxmemory", "3mb"], conf=conf)) as node:
        r = redis.Redis(port=node.port, password="p w", socket_timeout=5,
                        decode_responses=True)
        got = r.config_get("save")
        got.update(r.execute_command("CONFIG", "GET", "maxmemory", "timeout",
                                     "replica-read-only", "notify-keyspace-events"))
        assert got == {"save": "900 1 300 10 60 10000", "maxmemory": "3145728",
                       "timeout": "42", "replica-read-only": "no",
                       "notify-keyspace-events": "AKE"}
        assert r.info("server")["config_file"] == str(conf)
        r.close()
    assert "Configuration loaded" in node.log()


def _stops_cleanly_on(sig, tmp_path):
    with node_process(tmp_path / "n") as node:
        r = redis.Redis(port=node.port, socket_timeout=5)
        r.set("k", "v")
        r.close()
        node.proc.send_signal(sig)
        node.proc.wait(10)
    assert node.proc.returncode == 0
    log = node.log()
    name = "SIGTERM" if sig == signal.SIGTERM else "SIGINT"
    assert f"Received {name} scheduling shutdown..." in log
    assert log.rstrip().endswith("Redis is now ready to exit, bye bye...")


def test_sigterm_stops_cleanly(tmp_path):
    _stops_cleanly_on(signal.SIGTERM, tmp_path)


def test_sigint_stops_cleanly(tmp_path):
    _stops_cleanly_on(signal.SIGINT, tmp_path)


def test_startup_log_lines_and_pidfile(tmp_path):
    pidfile = tmp_path / "node.pid"
    with node_process(tmp_path / "n", "--pidfile", str(pidfile)) as node:
        assert pidfile.read_text() == f"{node.proc.pid}\n"
        log = node.log()
        for line in ("# oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
                     "# Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=",
                     "# Configuration loaded", "# Server initialized",
                     f"* Running mode=standalone, port={node.port}."):
            assert line in log
    wait_until(lambda: not pidfile.exists(), message="pid file removed")


def test_help_and_version():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "cli.main", "version"], env=env,
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and "redis_version 7.0.15" in out.stdout
    assert free_port() > 0
