"""The aclfile (ACL LOAD / ACL SAVE) and redis.conf `user` lines (Redis 7.0 acl.c).

ACLLoadFromFile rules: lines are split on "\\n", trimmed of " \\t\\r\\n", blank lines
skipped, then split on single spaces; each must be `user <name> rules...`. Every problem
is collected (with the file name as configured and the line number) and if there is any,
nothing changes. `default` keeps its identity; without a `default` line it gets the
built-in rules back. ACL SAVE writes every user (byte order of names) to a temp file and
renames it over the aclfile.

`user` lines of redis.conf (ACLAppendUserForLoading, ACLLoadConfiguredUsers) are checked
when the config is read and applied at start-up, `default` being reset first.
"""
from __future__ import annotations

import os
import time

from cluster.acl import rules
from cluster.acl.rules import RuleError
from cluster.acl.users import Acl, AclError, User


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def load_lines(acl: Acl, lines: list[str], source: str) -> None:
    """Replace every user by the `user ...` lines (ACL LOAD); raise AclError listing every
    problem ("ERR <source>:<line>: ...") and change nothing when there is one."""
    errors = ""
    users: dict[str, User] = {}
    for number, line in enumerate(lines, 1):
        raw = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
        raw = raw.strip(b" \t\r\n")
        if not raw:
            continue
        argv = raw.split(b" ")
        if argv[0] != b"user" or len(argv) < 2:
            errors += "%s:%d should start with user keyword followed by the username. " \
                % (source, number)
            continue
        name = _text(argv[1])
        if rules.has_spaces(argv[1]):
            errors += "'%s:%d: username '%s' contains invalid characters. " \
                % (source, number, name)
            continue
        if name in users:
            errors += "WARNING: Duplicate user '%s' found on line %d. " % (name, number)
            continue
        user = users[name] = User(name, acl.pubsub_all)
        try:
            ops = rules.merge_selector_args(argv[2:])
        except ValueError:
            errors += "%s:%d: Unmatched parenthesis in selector definition." % (source, number)
            continue
        syntax_error = False
        for op in ops:
            op = op.strip(b"\t\r\n")
            try:
                user.apply(op, acl.pubsub_all)
            except RuleError as exc:
                if exc.reason == rules.E_UNKNOWN:
                    errors += "%s:%d: Error in applying operation '%s': %s. " \
                        % (source, number, _text(op), exc.reason)
                elif not syntax_error:
                    errors += "%s:%d: %s. " % (source, number, exc.reason)
                    syntax_error = True
    if errors:
        raise AclError("ERR " + errors + "WARNING: ACL errors detected, no change to the "
                       "previously active ACL rules was performed")
    acl.replace_all(users)


def load_file(acl: Acl, path: str) -> None:
    """ACL LOAD from `path` (as configured: relative paths are to the working dir)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise AclError("ERR Error loading ACLs, opening file '%s': %s"
                       % (path, os.strerror(exc.errno or 0))) from None
    nul = data.find(b"\x00")           # Redis reads the file as C strings
    if nul >= 0:
        data = data[:nul]
    load_lines(acl, [_text(x) for x in data.split(b"\n")], path)


def file_text(acl: Acl) -> bytes:
    return b"".join(u.list_line() + b"\n" for u in acl.sorted_users())


def save_file(acl: Acl, path: str) -> None:
    """ACL SAVE: temp file + rename; AclError with Redis's text if it cannot."""
    tmp = "%s.tmp-%d-%d" % (path, os.getpid(), int(time.time() * 1000))
    try:
        with open(tmp, "wb") as f:
            f.write(file_text(acl))
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise AclError("ERR There was an error trying to save the ACLs. Please check the "
                       "server logs for more information") from None


# -- redis.conf `user` lines ------------------------------------------------------------------
def check_user_directive(acl: Acl, args: list[str], seen: set[str] = frozenset()) -> None:
    """ACLAppendUserForLoading for `user <name> rules...` (`args` without "user"): raise
    AclError("Error in user declaration '<arg>': <reason>") on a bad rule (an unknown
    command is tolerated here, as Redis defers it) or a duplicate name in `seen`.

    Redis names the argument by the failing rule's index among the merged rules, applied
    to the line's words (`user` counted): `user foo on bad` names 'foo', as it prints."""
    if not args:
        raise AclError("Error in user declaration 'user': Wrong format")
    words = ["user", *args]
    if args[0] in seen:
        raise AclError("Error in user declaration '%s': %s" % (words[1], rules.E_DUPLICATE))
    raw = [a.encode("utf-8", "surrogateescape") for a in args[1:]]
    try:
        ops = rules.merge_selector_args(raw)
    except ValueError as exc:
        raise AclError("Error in user declaration '%s': Wrong format"
                       % _text(exc.args[0])) from None
    fake = User("__fakeuser:0__", acl.pubsub_all)
    for index, op in enumerate(ops):
        try:
            fake.apply(op, acl.pubsub_all)
        except RuleError as exc:
            if exc.reason != rules.E_UNKNOWN:
                raise AclError("Error in user declaration '%s': %s"
                               % (words[index], exc.reason)) from None


def load_configured_users(acl: Acl, declarations: list[list[str]]) -> None:
    """ACLLoadConfiguredUsers: apply the config's `user` lines at start-up (each as its
    words after `user`); raise AclError naming the first rule that fails."""
    for args in declarations:
        name = args[0]
        if rules.has_spaces(name.encode("utf-8", "surrogateescape")):
            raise AclError("Spaces not allowed in ACL usernames")
        user = acl.users.get(name)
        if user is None:
            user = acl.users[name] = User(name, acl.pubsub_all)
        else:
            user.apply(b"reset", acl.pubsub_all)
        raw = [a.encode("utf-8", "surrogateescape") for a in args[1:]]
        for op in rules.merge_selector_args(raw):
            try:
                user.apply(op, acl.pubsub_all)
            except RuleError as exc:
                raise AclError("Error loading ACL rule '%s' for the user named '%s': %s"
                               % (_text(op), name, exc.reason)) from None
