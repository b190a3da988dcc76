"""CLIENT: ID, SETNAME, GETNAME, LIST, INFO, KILL, NO-EVICT, NO-TOUCH, SETINFO, HELP ...

The CLIENT LIST / CLIENT INFO line has Redis 7.0.15's fields in its order.
"""
from __future__ import annotations

from cluster.execution import pause, replymode
from cluster.execution.client_info import client_info_line, client_type
from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.checks import validate_client_name
from cluster.commands.help import help_reply
from cluster.resp.reply import OK, ReplyError, Verbatim
from cluster.execution.table import container, subcommand

container("client", -2, acl="@connection", group="connection", since="2.4.0",
          summary="A container for client connection commands")

_HELP = [
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
]

CLIENT_TYPES = {"normal": "normal", "slave": "replica", "replica": "replica",
                "pubsub": "pubsub", "master": "master"}



def _lines(caller, clients, current: str, argv) -> Verbatim:
    text = "".join(client_info_line(c, current if c is caller else None,
                                    argv if c is caller else None) + "\n" for c in clients)
    return Verbatim(text.encode("utf-8", "replace"))


@subcommand("client", "list", -2, "admin noscript loading stale", acl="@connection",
            since="2.4.0", summary="Get the list of client connections",
            tips="nondeterministic_output")
def client_list(client, argv):
    clients = list(client.node.clients.values())
    if len(argv) == 4 and argv[2].lower() == b"type":
        wanted = CLIENT_TYPES.get(argv[3].decode("utf-8", "replace").lower())
        if wanted is None:
            raise ReplyError("ERR Unknown client type '%s'" % argv[3].decode("utf-8", "replace"))
        clients = [c for c in clients if client_type(c) == wanted]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        picked = []
        for raw in argv[3:]:
            cid = string2ll(raw)
            if cid is None:
                raise ReplyError("ERR Invalid client ID")
            one = client.node.clients.get(cid)
            if one is not None:
                picked.append(one)
        clients = picked
    elif len(argv) != 2:
        raise ReplyError(SYNTAX)
    return _lines(client, clients, "client|list", argv)


@subcommand("client", "info", 2, "noscript loading stale", acl="@connection", since="6.2.0",
            summary="Get information about the current connection",
            tips="nondeterministic_output")
def client_info(client, argv):
    return _lines(client, [client], "client|info", argv)


@subcommand("client", "id", 2, "noscript loading stale", acl="@connection", since="5.0.0",
            summary="Get the current connection id")
def client_id(client, argv):
    return client.id


@subcommand("client", "setname", 3, "noscript loading stale", acl="@connection",
            since="2.6.9", summary="Set the current connection name")
def client_setname(client, argv):
    validate_client_name(argv[2])
    client.name = argv[2]
    return OK


@subcommand("client", "getname", 2, "noscript loading stale", acl="@connection",
            since="2.6.9", summary="Get the current connection name")
def client_getname(client, argv):
    return client.name or None


@subcommand("client", "reply", 3, "noscript loading stale sentinel", acl="@connection",
            since="3.2.0", summary="Instruct the server whether to reply to commands",
            complexity="O(1)")
def client_reply(client, argv):
    reply = replymode.set_mode(client, argv[2])     # ON|OFF|SKIP (cluster.execution.replymode)
    if reply is None:
        raise ReplyError(SYNTAX)
    return reply


def _on_off(raw: bytes) -> bool:
    word = raw.lower()
    if word not in (b"on", b"off"):
        raise ReplyError(SYNTAX)
    return word == b"on"


@subcommand("client", "no-evict", 3, "admin noscript loading stale", acl="@connection",
            since="7.0.0", summary="Set client eviction mode for the current connection")
def client_no_evict(client, argv):
    client.no_evict = _on_off(argv[2])
    return OK


@subcommand("client", "no-touch", 3, "noscript loading stale", acl="@connection",
            since="7.2.0", summary="Controls whether commands sent by the client will alter "
                                   "the LRU/LFU of the keys they access")
def client_no_touch(client, argv):
    client.no_touch = _on_off(argv[2])
    return OK


@subcommand("client", "setinfo", 4, "noscript loading stale", acl="@connection",
            since="7.2.0", summary="Set client or connection specific info")
def client_setinfo(client, argv):
    # A Redis 7.2 command, accepted because redis-py sends it on connect.
    attr = argv[2].lower()
    if attr not in (b"lib-name", b"lib-ver"):
        raise ReplyError("ERR Unrecognized option '%s'" % argv[2].decode("utf-8", "replace"))
    if any(c < 33 or c > 126 for c in argv[3]):
        raise ReplyError("ERR %s cannot contain spaces, newlines or special characters." %
                         attr.decode())
    if attr == b"lib-name":
        client.lib_name = argv[3]
    else:
        client.lib_ver = argv[3]
    return OK


@subcommand("client", "getredir", 2, "noscript loading stale", acl="@connection",
            since="6.0.0", summary="Get tracking notifications redirection client ID if any")
def client_getredir(client, argv):
    return -1


@subcommand("client", "unpause", 2, "admin noscript loading stale", acl="@connection",
            since="6.2.0", summary="Resume processing of clients that were paused")
def client_unpause(client, argv):
    pause.unpause(client.node, "client")
    return OK


@subcommand("client", "pause", -3, "admin noscript loading stale", acl="@connection",
            since="2.9.50", summary="Stop processing commands from clients for some time")
def client_pause(client, argv):
    if len(argv) > 4:
        raise ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                         "Try CLIENT HELP." % argv[1].decode("utf-8", "replace"))
    kind = pause.ALL
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            kind = pause.WRITE
        elif mode != b"all":
            raise ReplyError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    timeout = string2ll(argv[2])
    if timeout is None:
        raise ReplyError("ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise ReplyError("ERR timeout is negative")
    if timeout > 0:
        pause.pause(client.node, "client", kind, client.node.now_ms + timeout)
    return OK


@subcommand("client", "help", 2, "loading stale", acl="@connection", since="5.0.0",
            summary="Show helpful text about the different subcommands")
def client_help(client, argv):
    return help_reply("CLIENT", _HELP)


@subcommand("client", "kill", -3, "admin noscript loading stale", acl="@connection",
            since="2.4.0", summary="Kill open connections")
def client_kill(client, argv):
    node = client.node
    addr = laddr = user = wanted_type = None
    cid = 0
    skipme = True
    old_form = len(argv) == 3
    if old_form:
        addr, skipme = argv[2].decode("utf-8", "replace"), False
    else:
        i = 2
        while i < len(argv):
            opt = argv[i].lower()
            if i + 1 >= len(argv):
                raise ReplyError(SYNTAX)
            value = argv[i + 1]
            text = value.decode("utf-8", "replace")
            if opt == b"id":
                cid = string2ll(value)
                if cid is None or cid < 1:
                    raise ReplyError("ERR client-id should be greater than 0")
            elif opt == b"type":
                wanted_type = CLIENT_TYPES.get(text.lower())
                if wanted_type is None:
                    raise ReplyError(f"ERR Unknown client type '{text}'")
            elif opt == b"addr":
                addr = text
            elif opt == b"laddr":
                laddr = text
            elif opt == b"user":
                user = node.acl.users.get(text)
                if user is None:
                    raise ReplyError(f"ERR No such user '{text}'")
            elif opt == b"skipme":
                if value.lower() not in (b"yes", b"no"):
                    raise ReplyError(SYNTAX)
                skipme = value.lower() == b"yes"
            else:
                raise ReplyError(SYNTAX)
            i += 2
    killed = 0
    kill_self = False
    for other in list(node.clients.values()):
        if addr is not None and other.addr != addr:
            continue
        if laddr is not None and other.laddr != laddr:
            continue
        if wanted_type is not None and client_type(other) != wanted_type:
            continue
        if cid and other.id != cid:
            continue
        if user is not None and other.user is not user:
            continue
        if other is client and skipme:
            continue
        if other is client:
            kill_self = True
        else:
            other.kill()
        killed += 1
    if kill_self:
        client.close_after_reply = True
    if old_form:
        if not killed:
            raise ReplyError("ERR No such client")
        return OK
    return killed
