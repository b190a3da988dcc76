"""Connection commands: PING, ECHO, SELECT, AUTH, HELLO, QUIT, RESET."""
from __future__ import annotations

from cluster.acl.gate import log_auth_failure
from cluster.commands.args import parse_int
from cluster.commands.checks import validate_client_name
from cluster.resp.reply import OK, PONG, ReplyError, Status
from cluster.execution import monitor, replymode
from cluster.execution.table import command

_HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, "
                 "otherwise the HELLO AUTH <user> <pass> option can be used to "
                 "authenticate the client and select the RESP protocol version at the "
                 "same time")
_WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
_NO_PASSWORD = ("ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?")


@command("ping", -1, "fast sentinel", group="connection", acl="@connection",
         summary="Ping the server", complexity="O(1)",
         tips="request_policy:all_shards response_policy:all_succeeded")
def ping(client, argv):
    if len(argv) > 2:
        raise ReplyError("ERR wrong number of arguments for 'ping' command")
    if client.resp == 2 and client.flags_extra == "pubsub":
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "loading stale fast", group="connection", acl="@connection",
         summary="Echo the given string", complexity="O(1)")
def echo(client, argv):
    return argv[1]


@command("select", 2, "loading stale fast", group="connection", acl="@connection",
         summary="Change the selected database for the current connection", since="1.0.0",
         complexity="O(1)")
def select(client, argv):
    index = parse_int(argv[1], "ERR value is not an integer or out of range")
    node = client.node
    if node.config["cluster-enabled"] and index != 0:
        raise ReplyError("ERR SELECT is not allowed in cluster mode")
    if not 0 <= index < len(node.keyspace):
        raise ReplyError("ERR DB index is out of range")
    client.db = node.keyspace[index]
    return OK


def _authenticate(client, command: bytes, user: bytes, password: bytes) -> None:
    """ACLAuthenticateUser: log in as `user`, or log the failure and refuse."""
    found = client.node.acl.authenticate(user, password)
    if found is None:
        log_auth_failure(client, command, user)
        raise ReplyError(_WRONGPASS)
    client.authenticated = True
    client.user = found


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         acl="@connection", summary="Authenticate to the server",
         complexity="O(N) where N is the number of passwords defined for the user")
def auth(client, argv):
    if len(argv) > 3:
        raise ReplyError("ERR syntax error")
    if len(argv) == 2:
        if client.node.acl.default.nopass:
            raise ReplyError(_NO_PASSWORD)
        user, password = b"default", argv[1]
    else:
        user, password = argv[1], argv[2]
    _authenticate(client, argv[0], user, password)
    return OK


def hello_map(client) -> dict:
    node = client.node
    return {
        b"server": b"redis",
        b"version": node.redis_version.encode(),
        b"proto": client.resp,
        b"id": client.id,
        b"mode": b"cluster" if node.config["cluster-enabled"] else b"standalone",
        b"role": b"master",
        b"modules": [],
    }


@command("hello", -1, "noscript loading stale fast no_auth sentinel allow_busy",
         group="connection", acl="@connection", since="6.0.0",
         summary="Handshake with Redis", complexity="O(1)")
def hello(client, argv):
    version = None
    if len(argv) >= 2:
        version = parse_int(argv[1], "ERR Protocol version is not an integer or out of range")
        if version < 2 or version > 3:
            raise ReplyError("NOPROTO unsupported protocol version")
    i = 2
    auth_pair = setname = None
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - i - 1
        if opt == b"auth" and more >= 2:
            auth_pair = (argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            setname = argv[i + 1]
            i += 2
        else:
            raise ReplyError("ERR Syntax error in HELLO option '%s'" %
                             argv[i].decode("utf-8", "replace"))
    if auth_pair is not None:
        _authenticate(client, argv[0], *auth_pair)
    if not client.authenticated:
        raise ReplyError(_HELLO_NOAUTH)
    if setname is not None:
        validate_client_name(setname)
        client.name = setname
    if version is not None:
        client.resp = version
    return hello_map(client)


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         acl="@connection", summary="Close the connection", complexity="O(1)")
def quit_(client, argv):
    client.close_after_reply = True
    return OK


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         acl="@connection", since="6.2.0",
         summary="Reset the connection", complexity="O(1)")
def reset(client, argv):
    monitor.stop(client)                # clearClientConnectionState: no longer a monitor
    replymode.reset(client)             # CLIENT REPLY OFF / SKIP_NEXT end
    client.reset_multi()
    client.unwatch_all()
    client.node.pubsub.forget_client(client)
    client.node.tracking.disable(client)     # CLIENT TRACKING off
    client.db = client.node.keyspace[0]
    client.resp = 2
    client.name = b""
    client.readonly = False
    client.asking = False
    client.no_evict = False
    client.no_touch = False
    client.user = client.node.acl.default      # clientSetDefaultAuth
    client.authenticated = client.user.nopass and client.user.enabled
    return Status(b"RESET")
