"""The users a node starts with (ACLLoadUsersAtStartup): the config file's `user` lines
or the `aclfile`, never both. Any error stops the start, as in Redis."""
from __future__ import annotations

from cluster.acl.file import load_configured_users, load_file
from cluster.acl.users import AclError

BOTH = ("Configuring Redis with users defined in redis.conf and at the same setting an "
        "ACL file path is invalid. This setup is very likely to lead to configuration "
        "errors and security holes, please define either an ACL file or declare users "
        "directly in your redis.conf, but not both.")


class AclStartupError(Exception):
    """The node must not start; the message is Redis's log line."""


def load_at_startup(acl, config, log) -> None:
    aclfile = config["aclfile"]
    if aclfile and config.users:
        raise AclStartupError(BOTH)
    try:
        load_configured_users(acl, config.users)
    except AclError as err:
        log.warning(err.message)
        raise AclStartupError("Critical error while loading ACLs. Exiting.") from None
    for words in config.users:
        if not acl.users[words[0]].enabled:
            log.notice(f"The user '{words[0]}' is disabled (there is no 'on' modifier in "
                       f"the user description). Make sure this is not a configuration "
                       f"error.")
    if aclfile:
        try:
            load_file(acl, aclfile)
        except AclError as err:
            raise AclStartupError(
                "Aborting Redis startup because of ACL errors: "
                + err.message.removeprefix("ERR ")) from None


def rewrite_lines(acl, config) -> list[str] | None:
    """CONFIG REWRITE's `user` lines: every user, by name, unless an aclfile holds them."""
    if config["aclfile"]:
        return None
    return [user.list_line().decode("utf-8", "surrogateescape")
            for user in acl.sorted_users()]
