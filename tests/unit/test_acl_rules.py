"""The ACL rule model: parsing, atomic SETUSER, describe, the aclfile, ACL LOG grouping."""
from __future__ import annotations

import pytest

import cluster.commands.registry  # noqa: F401  (the command table ACL reads)
from cluster.acl import categories, rules
from cluster.acl.file import file_text, load_lines
from cluster.acl.log import AclLog
from cluster.acl.users import Acl, AclError, hash_password

HASH = "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"


def user_line(*ops: str, acl: Acl | None = None) -> str:
    acl = acl or Acl()
    return acl.setuser("u", [o.encode() for o in ops]).describe()


def setuser_error(*ops: str) -> str:
    with pytest.raises(AclError) as err:
        Acl().setuser("u", [o.encode() for o in ops])
    return err.value.message


def test_default_user_and_new_user():
    acl = Acl()
    assert acl.default.describe() == "on nopass ~* &* +@all"
    assert acl.default.unrestricted
    assert user_line() == "off resetchannels -@all"
    assert user_line(acl=Acl("allchannels")) == "off &* -@all"
    assert user_line("reset") == "off sanitize-payload resetchannels -@all"


def test_passwords():
    line = user_line("on", ">p", "#" + HASH, ">p")
    assert line == f"on #{hash_password(b'p')} #{HASH} resetchannels -@all"
    assert user_line(">p", "<p", "nopass") == "off nopass resetchannels -@all"
    assert setuser_error("<x") == ("ERR Error in ACL SETUSER modifier '<x': The password you "
                                   "are trying to remove from the user does not exist")
    assert "must be exactly 64 characters" in setuser_error("#" + HASH.upper())
    acl = Acl()
    acl.setuser("u", [b"on", b">secret"])
    assert acl.authenticate(b"u", b"secret") is acl.users["u"]
    assert acl.authenticate(b"u", b"nope") is None
    acl.setuser("u", [b"off"])
    assert acl.authenticate(b"u", b"secret") is None
    acl.set_requirepass("pw")
    assert not acl.default.nopass and acl.default.check_password(b"pw")
    acl.set_requirepass("")
    assert acl.default.nopass


def test_keys_and_channels():
    assert user_line("%R~foo", "%W~foo", "%RW~bar", "%R~baz") == \
        "off ~foo ~bar %R~baz resetchannels -@all"
    assert user_line("~a", "allkeys") == "off ~* resetchannels -@all"
    assert "Try 'resetkeys'" in setuser_error("allkeys", "~foo")
    assert "Try 'resetchannels'" in setuser_error("&*", "&foo")
    assert user_line("&a", "&b", "&a") == "off resetchannels &a &b -@all"
    for bad in ("%X~foo", "%RR~a", "~a b", "&a\x00b", "%~a"):
        assert setuser_error(bad).endswith("Syntax error"), bad


def test_command_rules_describe():
    assert user_line("+@all", "-@string", "+incr") == "off resetchannels +@all -@string +incr"
    assert user_line("-@all", "+select|0", "+SELECT|0") == "off resetchannels -@all +select|0"
    assert user_line("+select|0", "-select") == "off resetchannels -@all"
    assert user_line("+@all", "-config|set") == "off resetchannels +@all -config|set"
    assert user_line("+memory|doctor", "+memory") == "off resetchannels -@all +memory"
    assert user_line("+@all", "-get", "+get") == "off resetchannels +@all"
    for cat in categories.CATEGORIES:
        if categories.commands_in(cat):
            assert user_line("+@all", f"-@{cat}").endswith(f"+@all -@{cat}"), cat


def test_command_rule_errors():
    unknown = "Unknown command or category name in ACL"
    assert setuser_error("+nosuch") == \
        f"ERR Error in ACL SETUSER modifier '+nosuch': {unknown}"
    for op in ("+@nosuch", "+config|asdf", "-config|asdf", "+get|a|b", "-select|0"):
        assert setuser_error(op).endswith(unknown), op
    assert setuser_error("+config|get|appendonly").endswith(
        "Allowing first-arg of a subcommand is not supported")
    assert setuser_error("+select|").endswith("Syntax error")
    assert setuser_error("foo").endswith("Syntax error")


def test_setuser_is_atomic_and_keeps_identity():
    acl = Acl()
    user = acl.setuser("u", [b"on", b"+get"])
    with pytest.raises(AclError):
        acl.setuser("u", [b"+set", b"+nosuch"])
    assert acl.users["u"] is user and user.describe() == "on resetchannels -@all +get"
    seen = []
    acl.listeners.append(lambda name, deleted: seen.append((name, deleted)))
    acl.setuser("u", [b"+set"])
    assert acl.users["u"] is user
    assert acl.deluser(["u", "nosuch"]) == 1
    assert seen == [("u", False), ("u", True)]
    with pytest.raises(AclError, match="The 'default' user cannot be removed"):
        acl.deluser(["default"])
    with pytest.raises(AclError, match="Usernames can't contain spaces"):
        acl.setuser("a b", [])


def test_selectors():
    line = user_line("(~key1", "+get)", "(%R~key2 +set)")
    assert line == ("off resetchannels -@all (~key1 resetchannels -@all +get) "
                    "(%R~key2 resetchannels -@all +set)")
    assert user_line("(~a)", "clearselectors") == "off resetchannels -@all"
    assert setuser_error("(~x", "+get") == \
        "ERR Unmatched parenthesis in acl selector starting at '(~x'."
    assert setuser_error("(on)") == "ERR Error in ACL SETUSER modifier '(on)': Syntax error"
    assert setuser_error('("~a b" +get)').endswith("Syntax error")   # quoted, still spaces
    assert user_line("(\"~a\" '+get')").endswith("(~a resetchannels -@all +get)")


def test_split_args_and_merge():
    assert rules.split_args(b'a "b c" \'d\'') == [b"a", b"b c", b"d"]
    assert rules.split_args(b'"x\\x41\\n"') == [b"xA\n"]
    assert rules.split_args(b'"open') is None
    assert rules.merge_selector_args([b"(a", b"b)", b"c"]) == [b"(a b)", b"c"]
    with pytest.raises(ValueError):
        rules.merge_selector_args([b"(a", b"b"])


def test_aclfile_lines():
    acl = Acl()
    load_lines(acl, ["user alice on nopass ~* +@all", "", "  user bob off  "], "f.acl")
    assert sorted(acl.users) == ["alice", "bob", "default"]
    assert acl.default.describe() == "on nopass ~* &* +@all"
    assert file_text(acl).decode().splitlines()[0] == "user alice on nopass ~* resetchannels +@all"
    with pytest.raises(AclError) as err:
        load_lines(acl, ["user carol on", "user carol off", "nope", "user x +nosuch %X~a"],
                   "f.acl")
    assert err.value.message == (
        "ERR WARNING: Duplicate user 'carol' found on line 2. f.acl:3 should start with "
        "user keyword followed by the username. f.acl:4: Error in applying operation "
        "'+nosuch': Unknown command or category name in ACL. f.acl:4: Syntax error. "
        "WARNING: ACL errors detected, no change to the previously active ACL rules was "
        "performed")
    assert sorted(acl.users) == ["alice", "bob", "default"]


def test_log_groups_similar_events():
    log = AclLog(max_len=3)
    log.add("command", "toplevel", "get", "u", "id=1", 1000)
    log.add("command", "toplevel", "get", "u", "id=2", 2000)
    log.add("key", "toplevel", "k", "u", "id=3", 3000)
    log.add("command", "toplevel", "get", "u", "id=4", 4000)
    first = log.entries(None, 5000)[0]
    assert list(first) == [b"count", b"reason", b"context", b"object", b"username",
                           b"age-seconds", b"client-info"]
    assert (first[b"count"], first[b"client-info"], first[b"age-seconds"]) == (3, b"id=4", 1.0)
    log.add("command", "toplevel", "get", "u", "id=5", 64001)   # > 60 s later: new entry
    log.add("command", "multi", "get", "u", "id=6", 64001)
    log.add("auth", "toplevel", "AUTH", "x", "id=7", 64001)
    assert [e[b"reason"] for e in log.entries(None, 64001)] == [b"auth", b"command",
                                                               b"command"]
    assert len(log.entries(1, 0)) == 1
    log.reset()
    assert log.entries(10, 0) == []
