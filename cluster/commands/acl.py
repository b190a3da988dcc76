"""ACL and its subcommands (Redis 7.0.15 aclCommand): users, rules, CAT, LOG, DRYRUN,
GENPASS, LOAD / SAVE of the aclfile.

The model lives in cluster.acl; this module only reads arguments and shapes replies.
"""
from __future__ import annotations

import os

from cluster.commands.args import NOT_INT
from cluster.acl import categories, check
from cluster.acl.file import load_file, save_file
from cluster.acl.users import AclError, selector_fields
from cluster.base.numbers import string2ll
from cluster.commands.help import help_reply
from cluster.execution.table import TABLE, container, subcommand
from cluster.resp.reply import OK, ReplyError, SetReply

container("acl", -2, group="server", since="6.0.0",
          summary="A container for Access List Control commands ",
          complexity="Depends on subcommand.")

_ADMIN = "admin noscript loading stale"
_PLAIN = "noscript loading stale"
GENPASS_MAX_BITS = 4096
NO_ACLFILE = ("ERR This Redis instance is not configured to use an ACL file. You may want "
              "to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
              "(assuming you have a Redis configuration file set) in order to store users "
              "in the Redis configuration.")

_HELP = [
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the "
    "command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
]


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _syntax(argv: list[bytes]) -> ReplyError:
    """addReplySubcommandSyntaxError."""
    return ReplyError("ERR unknown subcommand or wrong number of arguments for '%s'. "
                      "Try %s HELP." % (_name(argv[1])[:128], _name(argv[0]).upper()))


def _reply_error(exc: AclError) -> ReplyError:
    return ReplyError(exc.message)


@subcommand("acl", "cat", -2, _PLAIN, summary="List the ACL categories or the commands "
            "inside a category", since="6.0.0",
            complexity="O(1) since the categories and commands are a fixed set.")
def acl_cat(client, argv):
    if len(argv) == 2:
        return [c.encode() for c in categories.CATEGORIES]
    if len(argv) != 3:
        raise _syntax(argv)
    cat = categories.category(argv[2])
    if cat is None:
        raise ReplyError("ERR Unknown category '%s'" % _name(argv[2])[:128])
    return [n.encode() for n in categories.commands_in(cat)]


@subcommand("acl", "deluser", -3, _ADMIN, summary="Remove the specified ACL users and the "
            "associated rules", since="6.0.0",
            complexity="O(1) amortized time considering the typical user.")
def acl_deluser(client, argv):
    try:
        return client.node.acl.deluser([_name(a) for a in argv[2:]])
    except AclError as exc:
        raise _reply_error(exc) from None


def _command_for(argv: list[bytes]):
    """lookupCommand (not strict): the container itself without a subcommand word."""
    cmd = TABLE.get(_name(argv[0]).lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(_name(argv[1]).lower())
    return cmd


@subcommand("acl", "dryrun", -4, _ADMIN, summary="Returns whether the user can execute the "
            "given command without executing the command.", since="7.0.0",
            complexity="O(1).")
def acl_dryrun(client, argv):
    user = client.node.acl.users.get(_name(argv[2]))
    if user is None:
        raise ReplyError("ERR User '%s' not found" % _name(argv[2]))
    args = argv[3:]
    cmd = _command_for(args)
    if cmd is None:
        raise ReplyError("ERR Command '%s' not found" % _name(argv[3]))
    if (cmd.arity > 0 and cmd.arity != len(args)) or len(args) < -cmd.arity:
        raise ReplyError("ERR wrong number of arguments for '%s' command" % cmd.name)
    denied = check.check_command(user, cmd, args)
    if denied is None:
        return OK
    return check.dryrun_text(denied, cmd).encode("utf-8", "surrogateescape")


@subcommand("acl", "genpass", -2, _PLAIN, summary="Generate a pseudorandom secure password "
            "to use for ACL users", since="6.0.0", complexity="O(1)")
def acl_genpass(client, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    bits = 256
    if len(argv) == 3:
        bits = string2ll(argv[2])
        if bits is None:
            raise ReplyError(NOT_INT)
    if bits <= 0 or bits > GENPASS_MAX_BITS:
        raise ReplyError("ERR ACL GENPASS argument must be the number of bits for the "
                         "output password, a positive number up to %d" % GENPASS_MAX_BITS)
    chars = (bits + 3) // 4
    return os.urandom((chars + 1) // 2).hex()[:chars].encode()


@subcommand("acl", "getuser", 3, _ADMIN, summary="Get the rules for a specific ACL user",
            since="6.0.0", complexity="O(N). Where N is the number of password, command "
            "and pattern rules that the user has.")
def acl_getuser(client, argv):
    user = client.node.acl.users.get(_name(argv[2]))
    if user is None:
        return None
    reply = {b"flags": SetReply(f.encode() for f in user.flags()),
             b"passwords": [p.encode() for p in user.passwords]}
    reply.update(selector_fields(user.root))
    reply[b"selectors"] = [selector_fields(s) for s in user.selectors[1:]]
    return reply


@subcommand("acl", "help", 2, "loading stale", summary="Show helpful text about the "
            "different subcommands", since="6.0.0", complexity="O(1)")
def acl_help(client, argv):
    return help_reply("ACL", _HELP)


@subcommand("acl", "list", 2, _ADMIN, summary="List the current ACL rules in ACL config "
            "file format", since="6.0.0",
            complexity="O(N). Where N is the number of configured users.")
def acl_list(client, argv):
    return [u.list_line() for u in client.node.acl.sorted_users()]


def _aclfile(client) -> str:
    path = client.node.config["aclfile"]
    if not path:
        raise ReplyError(NO_ACLFILE)
    return path


@subcommand("acl", "load", 2, _ADMIN, summary="Reload the ACLs from the configured ACL file",
            since="6.0.0", complexity="O(N). Where N is the number of configured users.")
def acl_load(client, argv):
    try:
        load_file(client.node.acl, _aclfile(client))
    except AclError as exc:
        raise _reply_error(exc) from None
    return OK


@subcommand("acl", "log", -2, _ADMIN, summary="List latest events denied because of ACLs "
            "in place", since="6.0.0",
            complexity="O(N) with N being the number of entries shown.")
def acl_log(client, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    log = client.node.acl.log
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            log.reset()
            return OK
        count = string2ll(argv[2])
        if count is None:
            raise ReplyError(NOT_INT)
    return log.entries(max(count, 0), client.node.now_ms)


@subcommand("acl", "save", 2, _ADMIN, summary="Save the current ACL rules in the configured "
            "ACL file", since="6.0.0",
            complexity="O(N). Where N is the number of configured users.")
def acl_save(client, argv):
    try:
        save_file(client.node.acl, _aclfile(client))
    except AclError as exc:
        raise _reply_error(exc) from None
    return OK


@subcommand("acl", "setuser", -3, _ADMIN, summary="Modify or create the rules for a "
            "specific ACL user", since="6.0.0",
            complexity="O(N). Where N is the number of rules provided.")
def acl_setuser(client, argv):
    try:
        client.node.acl.setuser(_name(argv[2]), list(argv[3:]))
    except AclError as exc:
        raise _reply_error(exc) from None
    return OK


@subcommand("acl", "users", 2, _ADMIN, summary="List the username of all the configured "
            "ACL rules", since="6.0.0",
            complexity="O(N). Where N is the number of configured users.")
def acl_users(client, argv):
    return [u.name.encode("utf-8", "surrogateescape")
            for u in client.node.acl.sorted_users()]


@subcommand("acl", "whoami", 2, _PLAIN, summary="Return the name of the user associated to "
            "the current connection", since="6.0.0", complexity="O(1)")
def acl_whoami(client, argv):
    user = client.user
    return None if user is None else user.name.encode("utf-8", "surrogateescape")
