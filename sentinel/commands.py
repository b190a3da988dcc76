"""Commands a sentinel answers on its port: SENTINEL <sub>, PING, INFO, ROLE, HELLO, ...

`execute(srv, client, argv)` returns a reply value (cluster.resp.reply); `srv` is the driver
(sentinel.server.SentinelServer): its `state`, `opts`, `now()`, `submit(effects)`,
`pubsub` and `info()`.
"""
from __future__ import annotations

import fnmatch
import ipaddress

from cluster.resp.reply import OK, Push, Replies, ReplyError, Status, Verbatim
from sentinel.config import (MASTER_OPTIONS, SCRIPT_NOT_EXECUTABLE, SentinelConfigError,
                             script_usable, set_master_option)
from sentinel.effects import Event, SaveConfig
from sentinel.instance import state_map
from sentinel.select import select_replica


def _s(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _master(state, name: bytes):
    m = state.masters.get(_s(name))
    if m is None:
        raise ReplyError("ERR No such master with that name")
    return m


def _arity(argv, n, exact=True):
    if (len(argv) != n) if exact else (len(argv) < n):
        sub = _s(argv[1]).lower() if len(argv) > 1 else ""
        raise ReplyError(f"ERR wrong number of arguments for 'sentinel|{sub}' command")


def sentinel_cmd(srv, client, argv):
    state = srv.state
    now = srv.now()
    if len(argv) < 2:
        raise ReplyError("ERR wrong number of arguments for 'sentinel' command")
    sub = _s(argv[1]).lower()
    link = lambda ri: state.links.get(ri.addr)   # noqa: E731
    if sub == "masters":
        _arity(argv, 2)
        return [state_map(m, link(m), now) for m in state.masters.values()]
    if sub == "master":
        _arity(argv, 3)
        m = _master(state, argv[2])
        return state_map(m, link(m), now)
    if sub in ("replicas", "slaves"):
        _arity(argv, 3)
        m = _master(state, argv[2])
        return [state_map(r, link(r), now) for r in m.replicas.values()]
    if sub == "sentinels":
        _arity(argv, 3)
        m = _master(state, argv[2])
        return [state_map(s, link(s), now) for s in m.sentinels.values()]
    if sub in ("get-master-addr-by-name",):
        _arity(argv, 3)
        m = state.masters.get(_s(argv[2]))
        if m is None:
            return None
        ip, port = state.current_master_addr(m)
        return [ip.encode(), str(port).encode()]
    if sub == "myid":
        _arity(argv, 2)
        return state.myid.encode()
    if sub == "is-master-down-by-addr":
        _arity(argv, 6)
        try:
            port, epoch = int(argv[3]), int(argv[4])
        except ValueError:
            raise ReplyError("ERR value is not an integer or out of range") from None
        reply, effects = state.is_master_down(_s(argv[2]), port, epoch, _s(argv[5]), now)
        srv.submit(effects)
        return reply
    if sub == "failover":
        _arity(argv, 3)
        m = _master(state, argv[2])
        if "failover_in_progress" in m.flags:
            raise ReplyError("INPROG Failover already in progress")
        if select_replica(state, m, now) is None:
            raise ReplyError("NOGOODSLAVE No suitable replica to promote")
        srv.log("warning", f"Executing user requested FAILOVER of '{m.name}'")
        srv.submit(state.force_failover(m, now))
        return OK
    if sub == "monitor":
        _arity(argv, 6)
        name, ip = _s(argv[2]), _s(argv[3])
        try:
            port, quorum = int(argv[4]), int(argv[5])
        except ValueError:
            raise ReplyError("ERR value is not an integer or out of range") from None
        if quorum <= 0:
            raise ReplyError("ERR Quorum must be 1 or greater.")
        if not 0 < port < 65536:
            raise ReplyError("ERR Invalid port number")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ReplyError("ERR Invalid IP address or hostname specified") from None
        if name in state.masters:
            raise ReplyError("ERR Duplicate master name.")
        m = state.monitor(name, ip, port, quorum, now)
        srv.submit([Event("warning", "+monitor", m.describe() + f" quorum {quorum}"),
                    SaveConfig()])
        return OK
    if sub == "remove":
        _arity(argv, 3)
        m = _master(state, argv[2])
        state.remove_master(m.name)
        srv.submit([Event("warning", "-monitor", m.describe()), SaveConfig()])
        return OK
    if sub == "set":
        _arity(argv, 5, exact=False)
        m = _master(state, argv[2])
        if len(argv) % 2 == 0:
            raise ReplyError("ERR wrong number of arguments for 'sentinel|set' command")
        effects = []
        for i in range(3, len(argv), 2):
            opt, val = _s(argv[i]).lower(), _s(argv[i + 1])
            if opt == "rename-command":
                raise ReplyError("ERR rename-command needs two arguments")
            if opt not in MASTER_OPTIONS:
                raise ReplyError(f"ERR Invalid argument '{opt}' for SENTINEL SET '{m.name}'")
            if opt in SCRIPT_NOT_EXECUTABLE:
                if state.deny_scripts_reconfig:
                    raise ReplyError("ERR Reconfiguration of scripts path is denied for "
                                     "security reasons. Check the deny-scripts-reconfig "
                                     "configuration directive in your Sentinel "
                                     "configuration")
                if val and not script_usable(val):
                    raise ReplyError("ERR " + SCRIPT_NOT_EXECUTABLE[opt])
            try:
                set_master_option(m, opt, val)
            except SentinelConfigError:
                raise ReplyError(f"ERR Invalid argument '{val}' for SENTINEL SET "
                                 f"'{opt}'") from None
            effects.append(Event("warning", "+set", m.describe() + f" {opt} {val}"))
        effects.append(SaveConfig())
        srv.submit(effects)
        return OK
    if sub == "reset":
        _arity(argv, 3)
        pattern = _s(argv[2])
        effects, count = [], 0
        for m in list(state.masters.values()):
            if fnmatch.fnmatchcase(m.name, pattern):
                state.reset_master(m, now, True, effects, event=True)
                count += 1
        effects.append(SaveConfig())
        srv.submit(effects)
        return count
    if sub == "ckquorum":
        _arity(argv, 3)
        m = _master(state, argv[2])
        usable = 1 + sum(1 for s in m.sentinels.values()
                         if not s.flags & {"s_down", "o_down"})
        voters = len(m.sentinels) + 1
        text = f"{usable} usable Sentinels."
        if usable < m.quorum:
            text += " Not enough available Sentinels to reach the specified quorum for this master"
        if usable < voters // 2 + 1:
            text += ". Not enough available Sentinels to reach the majority and authorize a failover" \
                if usable < m.quorum else \
                " Not enough available Sentinels to reach the majority and authorize a failover"
        if usable < m.quorum or usable < voters // 2 + 1:
            raise ReplyError("NOQUORUM " + text)
        return Status(("OK " + text + " Quorum and failover authorization can be reached")
                      .encode())
    if sub == "flushconfig":
        _arity(argv, 2)
        srv.submit([SaveConfig()])
        return OK
    if sub == "config":
        return _config(srv, argv)
    if sub == "pending-scripts":
        _arity(argv, 2)
        return srv.scripts.pending(now)
    if sub == "info-cache":
        return []
    if sub == "simulate-failure":
        return OK
    raise ReplyError(f"ERR Unknown sentinel subcommand '{_s(argv[1])}'")


_CONFIG_FIELDS = ("resolve-hostnames", "announce-hostnames", "announce-ip", "announce-port",
                  "sentinel-user", "sentinel-pass", "loglevel")


def _config_value(state, key: str) -> str:
    return {
        "resolve-hostnames": "yes" if state.resolve_hostnames else "no",
        "announce-hostnames": "yes" if state.announce_hostnames else "no",
        "announce-ip": state.announce_ip or "",
        "announce-port": str(state.announce_port),
        "sentinel-user": state.sentinel_user or "",
        "sentinel-pass": state.sentinel_pass or "",
        "loglevel": state.loglevel,
    }[key]


def _config(srv, argv):
    state = srv.state
    if len(argv) < 3:
        raise ReplyError("ERR wrong number of arguments for 'sentinel|config' command")
    action = _s(argv[2]).lower()
    if action == "get" and len(argv) == 4:
        pattern = _s(argv[3])
        out = {}
        for key in _CONFIG_FIELDS:
            if fnmatch.fnmatchcase(key, pattern):
                out[key.encode()] = _config_value(state, key).encode()
        return out
    if action == "set" and len(argv) == 5:
        key, val = _s(argv[3]).lower(), _s(argv[4])
        if key in ("resolve-hostnames", "announce-hostnames"):
            setattr(state, key.replace("-", "_"), val.lower() == "yes")
        elif key == "announce-ip":
            state.announce_ip = val or None
        elif key == "announce-port":
            try:
                state.announce_port = int(val)
            except ValueError:
                raise ReplyError("ERR Invalid value for announce-port") from None
        elif key == "sentinel-user":
            state.sentinel_user = val or None
        elif key == "sentinel-pass":
            state.sentinel_pass = val or None
        elif key == "loglevel":
            state.loglevel = val
        else:
            raise ReplyError(f"ERR Invalid argument '{key}' to SENTINEL CONFIG SET")
        srv.submit([SaveConfig()])
        return OK
    raise ReplyError("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> "
                     "are supported.")


def execute(srv, client, argv: list[bytes]):
    name = _s(argv[0]).lower()
    if name == "ping":
        if client.subscribed():
            return Push([b"pong", argv[1] if len(argv) > 1 else b""])
        return argv[1] if len(argv) > 1 else Status(b"PONG")
    if name == "sentinel":
        return sentinel_cmd(srv, client, argv)
    if name == "info":
        section = _s(argv[1]).lower() if len(argv) > 1 else "default"
        return Verbatim(srv.info(section).encode())
    if name == "role":
        return [b"sentinel", [m.name.encode() for m in srv.state.masters.values()]]
    if name in ("subscribe", "psubscribe", "unsubscribe", "punsubscribe"):
        return srv.pubsub.command(client, name, argv[1:])
    if name == "publish":
        if len(argv) != 3:
            raise ReplyError("ERR wrong number of arguments for 'publish' command")
        if argv[1] == b"__sentinel__:hello":
            srv.submit(srv.state.on_hello(argv[2], srv.now()))
            return 1
        return srv.pubsub.publish(_s(argv[1]), argv[2])
    if name == "hello":
        return srv.hello(client, argv)
    if name == "auth":
        return srv.auth(client, argv)
    if name == "client":
        sub = _s(argv[1]).lower() if len(argv) > 1 else ""
        if sub in ("setname", "setinfo"):
            return OK
        if sub == "getname":
            return None
        if sub == "id":
            return client.id
        if sub == "kill":
            return 0
        raise ReplyError(f"ERR unknown subcommand '{sub}'. Try CLIENT HELP.")
    if name == "command":
        return []
    if name == "shutdown":
        srv.shutdown()
        return None
    if name == "reset":
        srv.pubsub.drop(client)
        client.resp = 2
        return Status(b"RESET")
    if name == "quit":
        client.close = True
        return OK
    raise ReplyError(f"ERR unknown command '{_s(argv[0])}', with args beginning with: "
                     + "".join(f"'{_s(a)}' " for a in argv[1:]))


__all__ = ["execute", "Replies"]
