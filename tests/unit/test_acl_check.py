"""The permission check: commands, first args, key R/W flags, selectors, channels."""
from __future__ import annotations

import cluster.commands.registry  # noqa: F401  (the command table ACL reads)
from cluster.acl.check import (Denied, check_channels, check_command, check_key, dryrun_text,
                               noperm_text, unrestricted_key_access)
from cluster.acl.users import Acl
from cluster.execution.table import lookup


def user(*ops: str):
    return Acl().setuser("u", [o.encode() for o in ops])


def check(u, *args: str):
    argv = [a.encode() for a in args]
    return check_command(u, lookup(argv), argv)


def test_commands_and_first_args():
    u = user("+get", "~*", "+select|0", "+config|get")
    assert check(u, "GET", "k") is None
    assert check(u, "SET", "k", "v") == Denied("command", "set", 0)
    assert check(u, "SELECT", "0") is None
    assert check(u, "select", "1") == Denied("command", "select", 0)
    assert check(u, "CONFIG", "GET", "x") is None
    assert check(u, "CONFIG", "SET", "x", "y") == Denied("command", "config|set", 0)
    assert check(u, "AUTH", "a", "b") is None                  # no_auth commands
    d = check(u, "SET", "k", "v")
    assert noperm_text(d, lookup([b"set"])) == \
        "NOPERM this user has no permissions to run the 'set' command"


def test_key_read_write_flags():
    u = user("+@all", "%R~read*", "%W~write*", "~rw*")
    assert check(u, "GET", "read1") is None
    assert check(u, "GET", "write1") == Denied("key", "write1", 1)
    assert check(u, "SET", "write1", "v") is None
    assert check(u, "SET", "read1", "v") == Denied("key", "read1", 1)
    assert check(u, "SET", "write1", "v", "GET") == Denied("key", "write1", 1)
    assert check(u, "SET", "rw1", "v", "GET") is None
    assert check(u, "EXISTS", "write1") is None                 # no access flag
    assert check(u, "SORT", "read", "STORE", "write") is None
    assert check(u, "SORT", "write", "STORE", "write") == Denied("key", "write", 1)
    assert check(u, "BITFIELD", "read", "GET", "u4", "0") is None
    assert check(u, "BITFIELD", "read", "SET", "u4", "0", "1") == Denied("key", "read", 1)
    assert check(u, "MSET", "write1", "a", "nope", "b") == Denied("key", "nope", 3)
    d = check(u, "GET", "x")
    assert noperm_text(d, None).endswith("to access one of the keys used as arguments")
    assert dryrun_text(d, None) == "This user has no permissions to access the 'x' key"
    assert check_key(u, b"read9", True, False) and not check_key(u, b"read9", False, True)


def test_selectors_pick_the_most_relevant_denial():
    u = user("+get", "~a*", "(+set ~b*)")
    assert check(u, "GET", "a1") is None
    assert check(u, "SET", "b1", "v") is None
    assert check(u, "SET", "a1", "v") == Denied("key", "a1", 1)  # key beats command
    assert check(u, "DEL", "a1") == Denied("command", "del", 0)
    u = user("+mset", "~a", "(+mset ~b)")
    assert check(u, "MSET", "a", "1", "b", "2") == Denied("key", "b", 3)  # later arg wins


def test_channels():
    u = user("+@all", "~*", "resetchannels", "&foo:*", "&lit*")
    assert check(u, "PUBLISH", "foo:1", "m") is None
    assert check(u, "PUBLISH", "bar", "m") == Denied("channel", "bar", 1)
    assert check(u, "SUBSCRIBE", "foo:1", "bar") == Denied("channel", "bar", 2)
    assert check(u, "PSUBSCRIBE", "foo:1") == Denied("channel", "foo:1", 1)
    assert check(u, "PSUBSCRIBE", "lit*") is None
    assert check(u, "UNSUBSCRIBE", "zzz") is None
    assert check(u, "SPUBLISH", "zzz", "m") == Denied("channel", "zzz", 1)
    assert check_channels(u, [b"foo:x", b"nope"], False) == Denied("channel", "nope", 1)
    assert check_channels(u, [b"foo:*"], True) is None                 # literally allowed
    assert check_channels(u, [b"foo:?"], True) == Denied("channel", "foo:?", 0)
    assert check_channels(user("allchannels"), [b"x"], True) is None


def test_unrestricted_key_access():
    argv = [b"SORT", b"mylist"]
    cmd = lookup(argv)
    assert not unrestricted_key_access(user("(+sort ~mylist ~v*)"), cmd, argv, True, False)
    assert unrestricted_key_access(user("(+sort ~mylist %R~*)"), cmd, argv, True, False)
    assert not unrestricted_key_access(user("(+sort ~mylist %W~*)"), cmd, argv, True, False)
