"""`pyredis-cluster server [file.conf] [--directive value ...]`: start one node.

As redis-server: the configuration file (or `-` for stdin) comes first, then `--name value`
options, which are appended to the file's text as extra lines; a bad line is a fatal error
printed to stderr in Redis's words (exit status 1). SIGTERM/SIGINT stop the node cleanly
(exit status 0).
"""
from __future__ import annotations

import cProfile
import os
import sys

import trio

from cluster import REDIS_VERSION, __version__
from cluster.config.live import Config, ConfigFileError, ConfigOpenError
from cluster.config.values import ConfigError
from cluster.config.file import options_text, read_config_file
from cluster.acl.file import check_user_directive
from cluster.execution.rename import rename_command
from cluster.acl.startup import AclStartupError
from cluster.acl.users import Acl, AclError
from cluster.base.log import Logger
from cluster.bus.cluster_node import ClusterStartError, attach
from cluster.node import Node
from cluster.server.edge import run_node


def _user_line_checker():
    """Each `user` line checked as Redis checks it while reading the file: its rules on a
    throwaway user, and one line per user name."""
    scratch, seen = Acl(), set()

    def check(args: list[str]) -> None:
        try:
            check_user_directive(scratch, args, seen)
        except AclError as err:
            raise ConfigError(err.message) from None
        seen.add(args[0])
    return check


def load_config(args: list[str], stdin=None) -> Config:
    """Build the configuration exactly as redis-server's main() does."""
    config = Config()
    config.check_user = _user_line_checker()
    config.rename_command = rename_command        # rename-command lines
    args = list(args)
    text = ""
    if args and not args[0].startswith("-"):
        path = args.pop(0)
        config.file = os.path.abspath(path)
        text = read_config_file(path)
    if args and (args[0] == "-" or args[-1] == "-"):
        args.remove("-")
        text += (stdin or sys.stdin).read()
    if args or config.file is None:
        text += "\n" + options_text(args)
    config.load_text(text)
    logfile = config["logfile"]
    if logfile:
        try:
            with open(logfile, "a"):
                pass
        except OSError as err:
            raise ConfigFileError(None, "", f"Can't open the log file: {err.strerror}") from None
    if config["cluster-enabled"] and config["replicaof"]:
        raise ConfigFileError(None, "", "replicaof directive not allowed in cluster mode")
    return config


def banner(mode: str, port: int) -> str:
    """What Redis's ASCII logo tells (version, mode, port, PID; test harnesses wait for
    its ` PID: <pid>`), in a plain box of our own."""
    lines = [f"pyredis-cluster {__version__}, compatible with Redis {REDIS_VERSION} (64 bit)",
             f"Running in {mode} mode",
             f"Port: {port}",
             f"PID: {os.getpid()}"]
    width = max(len(line) for line in lines) + 2
    rule = "+" + "-" * width + "+"
    return "\n".join([rule] + [f"| {line.ljust(width - 1)}|" for line in lines] + [rule]) + "\n\n"


def _run(node: Node) -> None:
    """trio.run(run_node, node); with PYREDIS_PROFILE=<file> set (scripts/bench --profile),
    under cProfile, its stats dumped to <file> when the node exits (SHUTDOWN, SIGTERM)."""
    path = os.environ.get("PYREDIS_PROFILE")
    if not path:
        return trio.run(run_node, node)
    profiler = cProfile.Profile()
    try:
        profiler.runcall(trio.run, run_node, node)
    finally:
        profiler.dump_stats(path)


def run_server(args: list[str]) -> int:
    try:
        config = load_config(list(args))
    except ConfigOpenError as err:
        Logger(role="C").warning(str(err))
        return 1
    except ConfigFileError as err:
        sys.stderr.write(err.report(REDIS_VERSION))
        sys.stderr.flush()
        return 1
    log = Logger(role="C", level=config["loglevel"], path=config["logfile"])
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.warning(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
                f"pid={os.getpid()}, just started (pyredis-cluster {__version__})")
    if not args:
        log.warning("Warning: no config file specified, using the default config. In order "
                    "to specify a config file use pyredis-cluster server /path/to/redis.conf")
    else:
        log.warning("Configuration loaded")
    if config["daemonize"]:
        log.warning("daemonize is not supported: running in the foreground")
    log.role = "M"
    try:
        node = Node(config, log=log)
    except AclStartupError as err:
        log.warning(str(err))
        return 1
    if config["cluster-enabled"]:
        try:
            attach(node, config["cluster-config-file"])
        except ClusterStartError as err:
            log.warning(str(err))
            return 1
    mode = "cluster" if config["cluster-enabled"] else "standalone"
    if config["always-show-logo"] or (not config["logfile"] and sys.stdout.isatty()):
        log.raw(banner(mode, config["port"]))
    else:
        log.notice(f"Running mode={mode}, port={config['port']}.")
    log.warning("Server initialized")
    pidfile = config["pidfile"]
    if pidfile:
        try:
            with open(pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as err:
            log.warning(f"Failed to write PID file: {err.strerror}")
            pidfile = ""
    try:
        _run(node)
    except OSError as err:
        log.warning(str(err))
        # the line Redis's test harness looks for to retry on another port
        log.warning(f"Failed listening on port {config['port']} (TCP), aborting.")
        return 1
    except KeyboardInterrupt:
        log.warning("Redis is now ready to exit, bye bye...")
    finally:
        if pidfile:
            log.notice("Removing the pid file.")
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    return 0
