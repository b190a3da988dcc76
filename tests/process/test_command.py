"""COMMAND and its subcommands over real sockets, side by side with redis-server 7.0.15."""
from __future__ import annotations

import hiredis
import pytest
import redis

from tests.support import assert_same_replies, raw_replies, redis_cli, side_by_side

MINE = ["multi", "exec", "discard", "watch", "unwatch", "ping", "echo", "select", "auth",
        "hello", "quit", "reset", "command|count", "command|info", "command|docs",
        "command|list", "command|getkeys", "command|getkeysandflags", "command|help"]
# Ours carry no argument docs or history for these, so their DOCS are not compared.
DOCS_EXACT = ["multi", "exec", "discard", "watch", "unwatch", "quit", "reset",
              "command|count", "command|docs", "command|getkeys",
              "command|getkeysandflags", "command|help", "command|list"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_info_bytes_match_redis(pair, protocol):
    commands = [["COMMAND", "INFO", name] for name in MINE]
    commands.append(["COMMAND", "INFO", "no-such-command", "Multi", "CLIENT|NOPE"])
    assert_same_replies(pair, commands, protocol)


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_docs_bytes_match_redis(pair, protocol):
    commands = [["COMMAND", "DOCS", name] for name in DOCS_EXACT]
    commands.append(["COMMAND", "DOCS", "no-such-command", "MULTI", "watch"])
    assert_same_replies(pair, commands, protocol)


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_entry_with_subcommands_matches_redis(pair, protocol):
    """COMMAND's own entry; subcommand order is hash order in Redis, so compare by name."""
    ours, real = side_by_side(pair, [["COMMAND", "INFO", "command"]], protocol)

    def parse(raw):
        reader = hiredis.Reader()
        reader.feed(raw[0])
        entry = reader.gets()[0]
        return entry[:9], sorted(entry[9], key=lambda e: e[0])
    assert parse(ours) == parse(real)
    head, subs = parse(ours)
    assert head[0] == b"command" and head[1] == -1
    assert [s[0] for s in subs] == [b"command|count", b"command|docs", b"command|getkeys",
                                    b"command|getkeysandflags", b"command|help",
                                    b"command|info", b"command|list"]


GETKEYS_CASES = [
    ["COMMAND", "GETKEYS"],
    ["COMMAND", "GETKEYS", "get"],
    ["COMMAND", "GETKEYS", "nosuchcommand", "a"],
    ["COMMAND", "GETKEYS", "ping", "a"],
    ["COMMAND", "GETKEYS", "set", "a"],
    ["COMMAND", "GETKEYS", "GET", "a"],
    ["COMMAND", "GETKEYS", "get", "a", "b"],
    ["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"],
    ["COMMAND", "GETKEYS", "mset", "a"],
    ["COMMAND", "GETKEYS", "watch", "a", "b", "c"],
    ["COMMAND", "GETKEYS", "command", "info"],
    ["COMMAND", "GETKEYS", "command", "nope"],
    ["COMMAND", "GETKEYS", "command|info", "x"],
    ["COMMAND", "GETKEYS", "multi", "x"],
    ["COMMAND", "GETKEYSANDFLAGS", "get", "a"],
    ["COMMAND", "GETKEYSANDFLAGS", "mset", "a", "1", "b", "2"],
    ["COMMAND", "GETKEYSANDFLAGS", "watch", "a", "b"],
    ["COMMAND", "GETKEYSANDFLAGS", "echo", "a"],
    ["COMMAND", "GETKEYSANDFLAGS", "nosuch"],
    # the native key finders Redis prefers to variable or incomplete key specs
    ["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1"],
    ["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1", "GET"],
    ["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1", "ex", "get"],
    ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0"],
    ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0", "overflow", "wrap"],
    ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8"],
    ["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "incrby", "u8", "0", "1"],
    ["COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "store", "k2"],
    ["COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "limit", "0", "1", "store", "k2", "get",
     "store", "store", "k3"],
    ["COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "store"],
    ["COMMAND", "GETKEYSANDFLAGS", "sort_ro", "k1", "by", "x"],
    ["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right"],
    ["COMMAND", "GETKEYSANDFLAGS", "migrate", "h", "1", "", "0", "5", "keys", "a", "b"],
    ["COMMAND", "GETKEYSANDFLAGS", "eval", "return 1", "1", "key"],
    ["COMMAND", "GETKEYSANDFLAGS", "georadius", "k", "0", "0", "1", "km", "store", "d"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_getkeys_matches_redis(pair, protocol):
    assert_same_replies(pair, GETKEYS_CASES, protocol)


LIST_CASES = [
    ["COMMAND", "LIST", "x"],
    ["COMMAND", "LIST", "FILTERBY", "pattern"],
    ["COMMAND", "LIST", "FILTERBY", "bad", "x"],
    ["COMMAND", "LIST", "filterby", "PATTERN", "x", "y"],
    ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
    ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nonexist"],
    ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "@transaction"],
    ["COMMAND", "LIST", "FILTERBY", "PATTERN", "ech?"],
    ["COMMAND", "LIST", "FILTERBY", "PATTERN", "COMMAND|L*"],
    ["COMMAND", "LIST", "FILTERBY", "PATTERN", "[d-e]x[a-f]c"],
    ["COMMAND", "COUNT", "x"],
    ["COMMAND", "HELP"],
    ["COMMAND", "HELP", "x"],
    ["COMMAND", "FOO"],
    ["COMMAND", "GETKEYS", "x"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_list_help_and_errors_match_redis(pair, protocol):
    assert_same_replies(pair, LIST_CASES, protocol)


@pytest.mark.parametrize("filterby", [("ACLCAT", "transaction"), ("ACLCAT", "TRANSACTION"),
                                      ("PATTERN", "command*"), ("PATTERN", "*watch")])
def test_command_list_filters_as_sets(pair, filterby):
    ours, real = side_by_side(pair, [["COMMAND", "LIST", "FILTERBY", *filterby]], 2)
    parse = [hiredis.Reader() for _ in range(2)]
    parse[0].feed(ours[0])
    parse[1].feed(real[0])
    mine, theirs = parse[0].gets(), parse[1].gets()
    assert mine and sorted(mine) == sorted(theirs)


def texts(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else v for v in values]


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_reads_the_command_table(pair, protocol):
    r = redis.Redis(port=pair[0].port, protocol=protocol, socket_timeout=10)
    try:
        table = r.command()
        assert r.command_count() == len(table)
        watch = table["watch"]
        assert watch["arity"] == -2
        assert set(watch["flags"]) == {"noscript", "loading", "stale", "fast", "allow_busy"}
        assert (watch["first_key_pos"], watch["last_key_pos"], watch["step_count"]) == \
            (1, -1, 1)
        assert {c if isinstance(c, str) else c.decode() for c in watch["acl_categories"]} \
            == {"@fast", "@transaction"}
        assert texts(r.command_getkeys("WATCH", "a", "b")) == ["a", "b"]
        assert sorted(texts(r.command_list(category="transaction"))) == \
            ["discard", "exec", "multi", "unwatch", "watch"]
        names = texts(r.command_list())
        assert "command|getkeys" in names and "multi" in names
        assert len([n for n in names if "|" not in n]) == len(table)
    finally:
        r.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_every_entry_is_well_formed(pair, protocol):
    """All entries: 10 fields, flags/categories/tips/specs as sets (RESP3), subcommands nest."""
    raw = raw_replies(pair[0].port, [["COMMAND"]], protocol)[0]
    reader = hiredis.Reader()
    reader.feed(raw)
    entries = reader.gets()
    assert len(entries) == int(raw_replies(pair[0].port, [["COMMAND", "COUNT"]])[0][1:-2])

    def check(entry, parent=None):
        assert len(entry) == 10
        name = entry[0].decode()
        assert (parent is None) == ("|" not in name)
        assert isinstance(entry[1], int) and entry[1] != 0
        assert all(c.startswith(b"@") for c in entry[6])
        assert (b"@fast" in entry[6]) != (b"@slow" in entry[6])
        for spec in entry[8]:
            assert isinstance(spec, dict if protocol == 3 else list)
            if protocol == 2:
                spec = dict(zip(spec[::2], spec[1::2]))
            assert set(spec) >= {b"flags", b"begin_search", b"find_keys"}
        for sub in entry[9]:
            check(sub, name)
    for entry in entries:
        check(entry)
    if protocol == 3:
        assert b"\r\n~" in raw and b"\r\n%3\r\n$5\r\nflags\r\n~" in raw


def test_redis_cli_help_matches_redis(pair):
    """redis-cli fetches COMMAND DOCS at start-up and renders `help` from it."""
    script = ("help multi\nhelp exec\nhelp discard\nhelp watch\nhelp unwatch\n"
              "help command info\nhelp command list\nhelp command getkeys\n"
              "help @transactions\nmulti\nping\nexec\n")
    ours = redis_cli(pair[0].port, stdin=script)
    real = redis_cli(pair[1].port, stdin=script)
    assert "Watch the given keys" in ours and "WATCH" in ours
    assert "QUEUED" in ours and "PONG" in ours
    assert ours == real
