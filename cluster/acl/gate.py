"""Where a node applies its ACL: the auth and ACL gates, and logging a denial.

processCommand in Redis 7.0 checks, in this order: authRequired (NOAUTH), a NO_MULTI
command inside MULTI, then ACLCheckAllPerm (NOPERM, with an ACL LOG entry). The node
builds these two gates in that place of its gate list (cluster/node.py) and keeps them
on only while they can refuse something (`wanted`): the auth gate while the default user
needs a password or is off, the ACL gate while some user has fewer rights than all.
"""
from __future__ import annotations

from cluster.acl.check import check_channels, check_command, noperm_text
from cluster.execution.client_info import client_info_line

NOAUTH = "NOAUTH Authentication required."


def auth_gate(client, cmd, argv):
    """authRequired: a client that has not authenticated may run only the commands
    flagged no_auth (AUTH, HELLO, QUIT, ...)."""
    if not client.authenticated and not cmd.no_auth:
        return NOAUTH
    return None


def acl_gate(client, cmd, argv):
    """ACLCheckAllPerm: the command, its keys and its channels against the client's user
    (no user: the primary's link, the AOF loader, which Redis runs unrestricted)."""
    user = client.user
    if user is None:
        return None
    denied = check_command(user, cmd, argv)
    if denied is None:
        return None
    log_denial(client, denied, "multi" if client.in_multi else "toplevel", cmd.name)
    return noperm_text(denied, cmd)


def log_denial(client, denied, context: str, current: str | None = None,
               caller=None) -> None:
    """addACLLogEntry for a refused command, key or channel. `current`: the command
    refused before it ran (the entry's client info names it); `caller`: the client whose
    info the entry shows when `client` is a script's (the script's caller)."""
    node = client.node
    node.acl.log.add(denied.reason, context, denied.object, client.user.name,
                     client_info_line(caller or client, current), node.now_ms)


# What a script's redis.call says when the ACL refuses it (getAclErrorMessage).
_SCRIPT_DENIALS = {
    "command": "can't run this command or subcommand",
    "key": "can't access at least one of the keys mentioned in the command arguments",
    "channel": "can't publish to the channel mentioned in the command",
}


def script_denial(denied) -> str:
    return _SCRIPT_DENIALS[denied.reason]


def log_auth_failure(client, command: bytes, username: bytes) -> None:
    """A failed AUTH / HELLO AUTH: the entry names the user tried and the command as
    sent (argv[0])."""
    node = client.node
    context = "multi" if client.in_multi else "toplevel"
    node.acl.log.add("auth", context, command.decode("utf-8", "replace"),
                     username.decode("utf-8", "replace"),
                     client_info_line(client), node.now_ms)


def auth_wanted(acl) -> bool:
    """Does a new connection need AUTH (the default user needs a password or is off)?"""
    default = acl.default
    return not default.nopass or not default.enabled


def acl_wanted(acl) -> bool:
    """Can the ACL refuse anything: is there a user besides an all-powerful default?"""
    return len(acl.users) > 1 or not unrestricted(acl.default)


def unrestricted(user) -> bool:
    """All commands, keys and channels, in the root selector (ACL LIST's `~* &* +@all`)."""
    return user.unrestricted


def disconnect_clients(node, name: str, deleted: bool) -> None:
    """What Redis does to connections when users change: a deleted or replaced user's
    clients are closed (ACLFreeUserAndKillClients: they fall back to the default user,
    unauthenticated, and the one running the command is closed after its reply); a
    changed user's subscribed clients are closed when a subscription is no longer
    allowed (ACLKillPubsubClientsIfNeeded)."""
    acl = node.acl
    for client in list(node.clients.values()):
        user = client.user
        if user is None:
            continue
        if acl.users.get(user.name) is not user:
            client.user = acl.default
            client.authenticated = False
            _close(node, client)
        elif not deleted and user.name == name and _subscriptions_denied(client):
            _close(node, client)


def _subscriptions_denied(client) -> bool:
    user = client.user
    channels = list(client.channels) + list(client.shard_channels)
    if channels and check_channels(user, channels, False) is not None:
        return True
    patterns = list(client.patterns)
    return bool(patterns) and check_channels(user, patterns, True) is not None


def _close(node, client) -> None:
    if client is node.current_client:
        client.close_after_reply = True
    else:
        client.kill()
