"""The sentinel process (trio): its listening port, its outbound links, the 100 ms timer.

It performs the state machine's effects (sentinel.effects) and reports what the network
does; commands on its port run through sentinel.commands.
"""
from __future__ import annotations

import itertools
import os
import signal
import time

import trio

from cluster import REDIS_VERSION
from cluster.resp.parser import RequestParser
from cluster.base.log import Logger
from cluster.resp.reply import NO_REPLY, OK, Replies, ReplyError, encode
from sentinel import commands, config
from sentinel.effects import Command, Connect, Disconnect, Event, Log, RunScript, SaveConfig
from sentinel.links import OutLink
from sentinel.pubsub import PubSub
from sentinel.scripts import ScriptQueue, ScriptRunner, notification_argv
from sentinel.state import SentinelState

TICK = 0.1


def now_ms() -> int:
    return int(time.time() * 1000)


class Client:
    def __init__(self, cid: int, wake):
        self.id = cid
        self.resp = 2
        self.channels: set[str] = set()
        self.patterns: set[str] = set()
        self.out: list[bytes] = []
        self.wake = wake
        self.close = False

    def subscribed(self) -> bool:
        return bool(self.channels or self.patterns)

    def push(self, value) -> None:
        self.out.append(encode(value, self.resp == 3))
        self.wake()


class SentinelServer:
    def __init__(self, state, opts, conf_path: str | None, log):
        self.state = state
        self.opts = opts
        self.conf_path = conf_path
        self.log_ = log
        self.pubsub = PubSub()
        self.links: dict = {}
        self._nursery = None
        self._shutdown = trio.Event()
        self._ids = itertools.count(1)
        self.started = time.time()
        self.connections_received = 0
        self.commands_processed = 0
        self.clients: set[Client] = set()
        self.scripts = ScriptQueue()
        self.script_runner = ScriptRunner(self.scripts, now_ms, self.perform)

    # -- helpers used by commands ---------------------------------------------------------
    def now(self) -> int:
        return now_ms()

    def log(self, level: str, text: str) -> None:
        self.log_.at(level, text)

    def shutdown(self) -> None:
        self._shutdown.set()

    def hello(self, client, argv):
        if len(argv) > 1:
            try:
                proto = int(argv[1])
            except ValueError:
                raise ReplyError("ERR Protocol version is not an integer or out of range")
            if proto not in (2, 3):
                raise ReplyError("NOPROTO unsupported protocol version")
            client.resp = proto
        return {b"server": b"redis", b"version": REDIS_VERSION.encode(),
                b"proto": client.resp, b"id": client.id, b"mode": b"sentinel",
                b"role": b"master", b"modules": []}

    def auth(self, client, argv):
        if not self.opts.requirepass:
            raise ReplyError("ERR AUTH <password> called without any password configured "
                             "for the default user. Are you sure your configuration is "
                             "correct?")
        if argv[-1].decode() != self.opts.requirepass:
            raise ReplyError("WRONGPASS invalid username-password pair or user is disabled.")
        return OK

    def info(self, section: str) -> str:
        st = self.state
        parts = []
        every = section in ("default", "all", "everything")
        if every or section == "server":
            parts.append("# Server\r\n" + "".join(f"{k}:{v}\r\n" for k, v in (
                ("redis_version", REDIS_VERSION), ("redis_mode", "sentinel"),
                ("process_id", os.getpid()), ("run_id", st.myid),
                ("tcp_port", self.opts.port),
                ("uptime_in_seconds", int(time.time() - self.started)),
                ("config_file", self.conf_path or ""))))
        if every or section == "clients":
            parts.append(f"# Clients\r\nconnected_clients:{len(self.clients)}\r\n")
        if every or section == "stats":
            parts.append("# Stats\r\n"
                         f"total_connections_received:{self.connections_received}\r\n"
                         f"total_commands_processed:{self.commands_processed}\r\n"
                         f"pubsub_channels:{sum(1 for v in self.pubsub.channels.values() if v)}"
                         "\r\n")
        if every or section == "sentinel":
            lines = [f"sentinel_masters:{len(st.masters)}", f"sentinel_tilt:{int(st.tilt)}",
                     f"sentinel_running_scripts:{self.scripts.running}",
                     f"sentinel_scripts_queue_length:{len(self.scripts.jobs)}",
                     "sentinel_simulate_failure_flags:0"]
            for i, m in enumerate(st.masters.values()):
                status = ("odown" if "o_down" in m.flags else
                          "sdown" if "s_down" in m.flags else "ok")
                lines.append(f"master{i}:name={m.name},status={status},address={m.ip}:"
                             f"{m.port},slaves={len(m.replicas)},"
                             f"sentinels={len(m.sentinels) + 1}")
            parts.append("# Sentinel\r\n" + "".join(line + "\r\n" for line in lines))
        return "\r\n".join(parts)

    # -- effects ------------------------------------------------------------------------------
    def submit(self, effects) -> None:
        self.perform(effects)

    def perform(self, effects) -> None:
        save = False
        for eff in effects:
            cls = eff.__class__
            if cls is Command:
                link = self.links.get(eff.addr)
                if link is not None:
                    link.send(eff.argv, eff.tag)
                else:
                    self.perform(self.state.on_reply(eff.addr, eff.tag, None, now_ms()))
            elif cls is Event:
                self.log(eff.level, f"{eff.name} {eff.payload}")
                if eff.level != "debug":
                    self.pubsub.publish(eff.name, eff.payload.encode())
                argv = notification_argv(self.state, eff)
                if argv is not None:
                    self.scripts.schedule(argv)
            elif cls is RunScript:
                self.scripts.schedule(eff.argv)
            elif cls is Connect:
                old = self.links.pop(eff.addr, None)
                if old is not None:
                    old.close()
                link = OutLink(self, eff.addr, eff.pubsub, eff.auth,
                               f"sentinel-{self.state.myid[:8]}-")
                self.links[eff.addr] = link
                self._nursery.start_soon(link.run)
            elif cls is Disconnect:
                link = self.links.pop(eff.addr, None)
                if link is not None:
                    link.down_reported = True
                    link.close()
            elif cls is SaveConfig:
                save = True
            elif cls is Log:
                self.log(eff.level, eff.text)
        if save:
            self.save()

    def save(self) -> None:
        if self.conf_path:
            try:
                config.rewrite(self.conf_path, self.state, self.opts)
            except OSError as err:
                self.log("warning", f"WARNING: Sentinel was not able to save the new "
                                    f"configuration on disk!!!: {err.strerror}")

    # -- link events -------------------------------------------------------------------------
    def link_event(self, addr, up: bool, local_ip=None) -> None:
        self.perform(self.state.on_link(addr, up, now_ms(), local_ip))

    def link_gone(self, link: OutLink, was_up: bool) -> None:
        if self.links.get(link.addr) is link:
            del self.links[link.addr]
        if not link.down_reported:
            link.down_reported = True
            self.perform(self.state.on_link(link.addr, False, now_ms()))

    def reply_event(self, addr, tag, reply) -> None:
        self.perform(self.state.on_reply(addr, tag, reply, now_ms()))

    def hello_event(self, payload: bytes) -> None:
        self.perform(self.state.on_hello(payload, now_ms()))

    # -- serving -----------------------------------------------------------------------------
    async def serve(self, task_status=trio.TASK_STATUS_IGNORED) -> None:
        hosts = self.opts.bind.split() or ["0.0.0.0"]
        listeners = []
        for host in hosts:
            host = host.lstrip("-")
            listeners.extend(await trio.open_tcp_listeners(self.opts.port, host=host))
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener)
            nursery.start_soon(self._tick_loop)
            nursery.start_soon(self._signal_loop)
            self.log("notice", f"Sentinel ID is {self.state.myid}")
            for m in self.state.masters.values():
                self.log("warning", f"+monitor {m.describe()} quorum {m.quorum}")
            self.save()
            task_status.started(self)
            await self._shutdown.wait()
            self.log("warning", "User requested shutdown...")
            self.save()
            nursery.cancel_scope.cancel()

    async def _signal_loop(self) -> None:
        try:
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    self._shutdown.set()
        except RuntimeError:
            await trio.sleep_forever()

    async def _tick_loop(self) -> None:
        while True:
            self.perform(self.state.tick(now_ms()))
            self.script_runner.start_due(self._nursery)
            await trio.sleep(TICK)

    async def _accept_loop(self, listener) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError:
                await trio.sleep(0.1)
                continue
            self._nursery.start_soon(self._serve_client, stream)

    async def _serve_client(self, stream) -> None:
        self.connections_received += 1
        wake = trio.Event()
        holder = {"ev": wake}

        def do_wake():
            holder["ev"].set()
        client = Client(next(self._ids), do_wake)
        self.clients.add(client)
        parser = RequestParser()
        try:
            async with stream, trio.open_nursery() as nursery:
                nursery.start_soon(self._writer, stream, client, holder)
                while not client.close:
                    data = await stream.receive_some(65536)
                    if not data:
                        break
                    cmds, error = parser.feed(data)
                    for argv in cmds:
                        if not argv:
                            continue
                        self.commands_processed += 1
                        try:
                            reply = commands.execute(self, client, argv)
                        except ReplyError as err:
                            reply = err
                        if reply is NO_REPLY:
                            continue
                        if isinstance(reply, (Replies,)):
                            for item in reply:
                                client.out.append(encode(item, client.resp == 3))
                        else:
                            client.out.append(encode(reply, client.resp == 3))
                    if error is not None:
                        if error.reply:
                            client.out.append(encode(ReplyError(error.reply), False))
                        client.close = True
                    do_wake()
                do_wake()
                await trio.sleep(0)
                nursery.cancel_scope.cancel()
        except Exception:       # the client went away (errors come grouped by trio)
            pass
        finally:
            self.pubsub.drop(client)
            self.clients.discard(client)

    async def _writer(self, stream, client: Client, holder) -> None:
        while True:
            await holder["ev"].wait()
            holder["ev"] = trio.Event()
            if client.out:
                data = b"".join(client.out)
                client.out.clear()
                await stream.send_all(data)


def run(args: list[str]) -> int:
    """`pyredis-cluster sentinel sentinel.conf [--port N] [--directive value ...]`."""
    args = [a for a in args if a != "--sentinel"]
    path = None
    if args and not args[0].startswith("--"):
        path = os.path.abspath(args.pop(0))
    extra = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            words = [args[i][2:]]
            i += 1
            while i < len(args) and not args[i].startswith("--"):
                words.append(args[i])
                i += 1
            extra.append(" ".join(_q(w) for w in words))
        else:
            i += 1
    if path is None:
        Logger(role="X").warning("Sentinel started without a config file. Exiting...")
        return 1
    state = SentinelState()
    try:
        opts = config.load(path, state, now_ms(), "\n".join(extra))
    except (OSError, ValueError, config.SentinelConfigError) as err:
        Logger(role="X").warning(f"Fatal error in sentinel config: {err}")
        return 1
    state.port = opts.port
    state.loglevel = opts.loglevel
    if not os.access(path, os.W_OK):
        Logger(role="X").warning(f"Sentinel config file {path} is not writable. Exiting...")
        return 1
    log = Logger(role="X", level=opts.loglevel, path=opts.logfile)
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.notice(f"Running mode=sentinel, port={opts.port}.")
    if opts.dir:
        os.chdir(opts.dir)
    state.previous_time = now_ms()
    srv = SentinelServer(state, opts, path, log)
    try:
        trio.run(srv.serve)
    except OSError as err:
        log.warning(str(err))
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _q(word: str) -> str:
    if word == "" or any(c in word for c in " \"'"):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word
