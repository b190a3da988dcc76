"""CLIENT: ID, SETNAME, GETNAME, LIST, INFO, KILL, NO-EVICT, NO-TOUCH, SETINFO, HELP ...

The CLIENT LIST / CLIENT INFO line has Redis 7.0.15's fields in its order.
"""
from __future__ import annotations

from cluster.execution import pause, replymode
from cluster.execution.tracking import prefix_collision
from cluster.execution.client_info import client_info_line, client_type
from cluster.commands.args import SYNTAX, string2ll
from cluster.commands.checks import validate_client_name
from cluster.commands.help import help_reply
from cluster.base.cstring import c_text
from cluster.resp.reply import OK, Replies, ReplyError, SetReply, Verbatim
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
    tracking = client.tracking
    return tracking.redirect if tracking is not None else -1


_NOT_INT = "ERR value is not an integer or out of range"
_NO_OVERLAP = "Prefixes for a single client must not overlap."


@subcommand("client", "tracking", -3, "noscript loading stale", acl="@connection",
            since="6.0.0", summary="Enable or disable server assisted client side caching "
                                   "support",
            complexity="O(1). Some options may introduce additional complexity.")
def client_tracking(client, argv):
    """CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT]
    [NOLOOP], checked in clientCommand's order (cluster.execution.tracking has the rules)."""
    node = client.node
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise ReplyError("ERR A client can only redirect to a single other client")
            redirect = string2ll(argv[j])
            if redirect is None:
                raise ReplyError(_NOT_INT)
            if redirect not in node.clients:    # it must exist now (it may leave later)
                raise ReplyError("ERR The client ID you want redirect to does not exist")
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise ReplyError(SYNTAX)
        j += 1
    mode = argv[2].lower()
    if mode == b"off":
        node.tracking.disable(client)
        return OK
    if mode != b"on":
        raise ReplyError(SYNTAX)
    current = client.tracking
    if prefixes and not bcast:
        raise ReplyError("ERR PREFIX option requires BCAST mode to be enabled")
    if current is not None and current.bcast != bcast:
        raise ReplyError("ERR You can't switch BCAST mode on/off before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.")
    if bcast and (optin or optout):
        raise ReplyError("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if optin and optout:
        raise ReplyError("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if current is not None and ((optin and current.optout) or (optout and current.optin)):
        raise ReplyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.")
    reply = OK
    if bcast:
        collision = prefix_collision(current.prefixes if current is not None else (),
                                     prefixes)
        if collision is not None:
            index, other, existing = collision
            error = ReplyError("ERR Prefix '%s' overlaps with %s prefix '%s'. %s" % (
                c_text(prefixes[index]), "an existing" if existing else "another provided",
                c_text(other), _NO_OVERLAP))
            # Redis 7.0.15 returns the index of the colliding new prefix as "no
            # collision" when it is not the first: the error is sent, tracking is
            # enabled all the same and +OK follows (two replies).
            if existing or index == 0:
                raise error
            stats = node.stats
            stats.count_error(error.message)
            stats.command("client|tracking").failed += 1
            reply = Replies([error, OK])
    node.tracking.enable(client, redirect, bcast, optin, optout, noloop, prefixes)
    return reply


@subcommand("client", "caching", 3, "noscript loading stale", acl="@connection",
            since="6.0.0", summary="Instruct the server about tracking or not keys in the "
                                   "next request", complexity="O(1)")
def client_caching(client, argv):
    tracking = client.tracking
    if tracking is None:
        raise ReplyError("ERR CLIENT CACHING can be called only when the client is in "
                         "tracking mode with OPTIN or OPTOUT mode enabled")
    word = argv[2].lower()
    if word == b"yes":
        if not tracking.optin:
            raise ReplyError("ERR CLIENT CACHING YES is only valid when tracking is enabled "
                             "in OPTIN mode.")
    elif word == b"no":
        if not tracking.optout:
            raise ReplyError("ERR CLIENT CACHING NO is only valid when tracking is enabled "
                             "in OPTOUT mode.")
    else:
        raise ReplyError(SYNTAX)
    tracking.caching = True         # for the next command (cluster.execution.tracking)
    return OK


@subcommand("client", "trackinginfo", 2, "noscript loading stale", acl="@connection",
            since="6.2.0", summary="Return information about server assisted client side "
                                   "caching for the current connection", complexity="O(1)")
def client_trackinginfo(client, argv):
    tracking = client.tracking
    if tracking is None:
        return {b"flags": SetReply([b"off"]), b"redirect": -1, b"prefixes": []}
    return {b"flags": SetReply(tracking.flags()), b"redirect": tracking.redirect,
            b"prefixes": sorted(tracking.prefixes)}


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
