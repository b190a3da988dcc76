"""sentinel.conf: read it into a SentinelState, and rewrite it atomically with what the
sentinel learnt (myid, epochs, known replicas and sentinels)."""
from __future__ import annotations

import os
import shlex

from sentinel.instance import Instance

MASTER_OPTIONS = {"down-after-milliseconds", "failover-timeout", "parallel-syncs",
                  "auth-pass", "auth-user", "notification-script", "client-reconfig-script",
                  "master-reboot-down-after-period", "quorum"}


class SentinelConfigError(Exception):
    pass


class ServerOptions:
    """The non-sentinel directives a sentinel process honours."""

    def __init__(self):
        self.port = 26379
        self.bind = "127.0.0.1"
        self.logfile = ""
        self.dir = ""
        self.pidfile = ""
        self.loglevel = "notice"
        self.requirepass = ""
        self.other: list[str] = []          # kept verbatim on rewrite


def set_master_option(master: Instance, option: str, value: str) -> None:
    option = option.lower()
    try:
        if option == "down-after-milliseconds":
            n = int(value)
            if n <= 0:
                raise ValueError
            master.down_after = n
        elif option == "failover-timeout":
            n = int(value)
            if n <= 0:
                raise ValueError
            master.failover_timeout = n
        elif option == "parallel-syncs":
            n = int(value)
            if n <= 0:
                raise ValueError
            master.parallel_syncs = n
        elif option == "quorum":
            n = int(value)
            if n <= 0:
                raise ValueError
            master.quorum = n
        elif option == "master-reboot-down-after-period":
            n = int(value)
            if n < 0:
                raise ValueError
            master.reboot_down_after = n
        elif option == "auth-pass":
            master.auth_pass = value or None
        elif option == "auth-user":
            master.auth_user = value or None
        elif option == "notification-script":
            master.notification_script = value or None
        elif option == "client-reconfig-script":
            master.client_reconfig_script = value or None
        else:
            raise KeyError(option)
    except ValueError:
        raise SentinelConfigError(f"Invalid value for {option}") from None


def apply_lines(text: str, state, opts: ServerOptions, now: int) -> None:
    pending: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            raise SentinelConfigError(f"line {lineno}: Unbalanced quotes") from None
        key = words[0].lower()
        if key != "sentinel":
            _server_directive(key, words, opts, raw)
            continue
        if len(words) < 2:
            raise SentinelConfigError(f"line {lineno}: Wrong number of arguments")
        sub = words[1].lower()
        if sub == "monitor":
            if len(words) != 6:
                raise SentinelConfigError(f"line {lineno}: Wrong number of arguments")
            quorum = int(words[5])
            if quorum <= 0:
                raise SentinelConfigError(f"line {lineno}: Quorum must be 1 or greater.")
            state.monitor(words[2], words[3], int(words[4]), quorum, now)
        else:
            pending.append((lineno, words))
    for lineno, words in pending:     # a master's options may come before its monitor line
        try:
            _sentinel_directive(words, state, now)
        except (ValueError, IndexError, KeyError, SentinelConfigError) as err:
            raise SentinelConfigError(f"line {lineno}: {err}") from None


def _server_directive(key: str, words: list[str], opts: ServerOptions, raw: str) -> None:
    if key == "port":
        opts.port = int(words[1])
    elif key == "bind":
        opts.bind = " ".join(words[1:])
    elif key == "logfile":
        opts.logfile = words[1] if len(words) > 1 else ""
    elif key == "dir":
        opts.dir = words[1]
    elif key == "pidfile":
        opts.pidfile = words[1]
    elif key == "loglevel":
        opts.loglevel = words[1]
    elif key == "requirepass":
        opts.requirepass = words[1]
    else:
        opts.other.append(raw.strip())


def _master(state, name: str) -> Instance:
    master = state.masters.get(name)
    if master is None:
        raise SentinelConfigError("No such master with specified name.")
    return master


SCRIPT_NOT_EXECUTABLE = {
    "notification-script": "Notification script seems non existing or non executable",
    "client-reconfig-script": "Client reconfiguration script seems non existing or non "
                              "executable"}


def script_usable(path: str) -> bool:
    return os.access(path, os.X_OK)


def _sentinel_directive(words: list[str], state, now: int) -> None:
    sub = words[1].lower()
    if sub in SCRIPT_NOT_EXECUTABLE and len(words) > 3 and not script_usable(words[3]):
        raise SentinelConfigError(SCRIPT_NOT_EXECUTABLE[sub] + ".")
    if sub in MASTER_OPTIONS:
        set_master_option(_master(state, words[2]), sub, words[3] if len(words) > 3 else "")
    elif sub == "myid":
        if len(words[2]) != 40:
            raise SentinelConfigError("Malformed Sentinel id in myid option.")
        state.myid = words[2]
    elif sub == "current-epoch":
        state.current_epoch = max(state.current_epoch, int(words[2]))
    elif sub == "config-epoch":
        _master(state, words[2]).config_epoch = int(words[3])
    elif sub == "leader-epoch":
        _master(state, words[2]).leader_epoch = int(words[3])
    elif sub in ("known-replica", "known-slave"):
        state.add_replica(_master(state, words[2]), words[3], int(words[4]), now)
    elif sub == "known-sentinel":
        master = _master(state, words[2])
        if len(words) > 5 and words[5] != state.myid:
            state.add_sentinel(master, words[3], int(words[4]), words[5], now)
    elif sub == "rename-command":
        _master(state, words[2]).renamed[words[3].lower()] = words[4]
    elif sub == "announce-ip":
        state.announce_ip = words[2] or None
    elif sub == "announce-port":
        state.announce_port = int(words[2])
    elif sub == "deny-scripts-reconfig":
        state.deny_scripts_reconfig = words[2].lower() == "yes"
    elif sub == "resolve-hostnames":
        state.resolve_hostnames = words[2].lower() == "yes"
    elif sub == "announce-hostnames":
        state.announce_hostnames = words[2].lower() == "yes"
    elif sub == "sentinel-user":
        state.sentinel_user = words[2]
    elif sub == "sentinel-pass":
        state.sentinel_pass = words[2]
    elif sub in ("known-down-sentinel", "simulate-failure"):
        pass
    else:
        raise SentinelConfigError("Unrecognized sentinel configuration statement.")


def load(path: str | None, state, now: int, extra: str = "") -> ServerOptions:
    opts = ServerOptions()
    text = ""
    if path is not None:
        with open(path) as f:
            text = f.read()
    apply_lines(text + "\n" + extra, state, opts, now)
    return opts


def render(state, opts: ServerOptions) -> str:
    q = _quote
    lines = [f"port {opts.port}"]
    if opts.bind:
        lines.append(f"bind {opts.bind}")
    if opts.dir:
        lines.append(f"dir {q(opts.dir)}")
    if opts.logfile:
        lines.append(f"logfile {q(opts.logfile)}")
    if opts.pidfile:
        lines.append(f"pidfile {q(opts.pidfile)}")
    if opts.requirepass:
        lines.append(f"requirepass {q(opts.requirepass)}")
    lines.extend(opts.other)
    lines.append(f"sentinel myid {state.myid}")
    lines.append(f"sentinel deny-scripts-reconfig "
                 f"{'yes' if state.deny_scripts_reconfig else 'no'}")
    if state.announce_ip:
        lines.append(f"sentinel announce-ip {q(state.announce_ip)}")
    if state.announce_port:
        lines.append(f"sentinel announce-port {state.announce_port}")
    if state.sentinel_user:
        lines.append(f"sentinel sentinel-user {q(state.sentinel_user)}")
    if state.sentinel_pass:
        lines.append(f"sentinel sentinel-pass {q(state.sentinel_pass)}")
    for m in state.masters.values():
        lines.append(f"sentinel monitor {m.name} {m.ip} {m.port} {m.quorum}")
        if m.down_after != 30000:
            lines.append(f"sentinel down-after-milliseconds {m.name} {m.down_after}")
        if m.failover_timeout != 180000:
            lines.append(f"sentinel failover-timeout {m.name} {m.failover_timeout}")
        if m.parallel_syncs != 1:
            lines.append(f"sentinel parallel-syncs {m.name} {m.parallel_syncs}")
        for opt, value in (("auth-pass", m.auth_pass), ("auth-user", m.auth_user),
                           ("notification-script", m.notification_script),
                           ("client-reconfig-script", m.client_reconfig_script)):
            if value:
                lines.append(f"sentinel {opt} {m.name} {q(value)}")
        if m.reboot_down_after:
            lines.append(f"sentinel master-reboot-down-after-period {m.name} "
                         f"{m.reboot_down_after}")
        for cmd, renamed in m.renamed.items():
            lines.append(f"sentinel rename-command {m.name} {cmd} {renamed}")
        lines.append(f"sentinel config-epoch {m.name} {m.config_epoch}")
        lines.append(f"sentinel leader-epoch {m.name} {m.leader_epoch}")
        for r in m.replicas.values():
            lines.append(f"sentinel known-replica {m.name} {r.ip} {r.port}")
        for s in m.sentinels.values():
            if s.port:
                lines.append(f"sentinel known-sentinel {m.name} {s.ip} {s.port} {s.runid}")
    lines.append(f"sentinel current-epoch {state.current_epoch}")
    return "\n".join(lines) + "\n"


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "/._-:@" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rewrite(path: str, state, opts: ServerOptions) -> None:
    """Write the whole file to a temporary name, fsync it, rename it over the old one."""
    text = render(state, opts)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
