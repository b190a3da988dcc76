"""`pyredis-cluster server`: read the configuration, start one node, stop on SIGTERM/SIGINT."""
from __future__ import annotations

import os
import sys

import trio

from cluster import REDIS_VERSION, __version__
from cluster.config import Config, ConfigFileError
from cluster.log import Logger


def load_config(args: list[str]) -> Config:
    config = Config()
    if args and not args[0].startswith("--"):
        path = args.pop(0)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as err:
            raise ConfigFileError(0, path, f"Fatal error, can't open config file '{path}': "
                                           f"{err.strerror}") from None
        config.file = os.path.abspath(path)
        config.load_text(text)
    config.load_args(args)
    return config


def run_server(args: list[str]) -> int:
    try:
        config = load_config(list(args))
    except ConfigFileError as err:
        sys.stderr.write(err.report(REDIS_VERSION))
        return 1
    log = Logger(role="M", level=config["loglevel"], path=config["logfile"])
    log.notice("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.notice(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
               f"pid={os.getpid()}, just started (pyredis-cluster {__version__})")
    log.notice("Configuration loaded" if config.file else
               "Warning: no config file specified, using the default config. In order to "
               "specify a config file use pyredis-cluster server /path/to/redis.conf")
    directory = config["dir"]
    try:
        os.chdir(directory)
    except OSError as err:
        log.warning(f"Can't chdir to '{directory}': {err.strerror}")
        return 1
    from cluster.node import Node
    from cluster.server import run_node
    node = Node(config, log=log)
    mode = "cluster" if config["cluster-enabled"] else "standalone"
    log.notice(f"Running mode={mode}, port={config['port']}.")
    log.notice("Server initialized")
    pidfile = config["pidfile"]
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    try:
        trio.run(run_node, node)
    except OSError as err:
        log.warning(str(err))
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
    return 0
