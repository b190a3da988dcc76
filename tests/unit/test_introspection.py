"""COMMAND introspection, generated from the command table (no sockets)."""
from __future__ import annotations

from cluster.commands import registry  # noqa: F401
from cluster.commands import introspection as intro
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.resp.reply import ReplyError, SetReply, Status, encode
from cluster.execution.table import TABLE, _categories, _make


def client():
    return Node(clock=lambda: 1_700_000_000.0).new_client()


def make(name="x", arity=-2, flags="", keys=(0, 0, 0), acl="", key_specs=None,
         key_flags="", getkeys=None):
    return _make(name, arity, flags, keys, None, acl, "generic", "", "1.0.0", "", key_specs,
                 key_flags, getkeys, "", "")


def keyword_spec(word, startfrom, kind="range", **fk):
    spec = fk or {"lastkey": -1, "keystep": 1, "limit": 0}
    return {"flags": ["RO", "access"],
            "begin_search": {"type": "keyword", "spec": {"keyword": word,
                                                         "startfrom": startfrom}},
            "find_keys": {"type": kind, "spec": spec}}


def test_entry_has_ten_fields_in_redis_order():
    entry = intro.info_entry(TABLE["watch"])
    assert entry[:2] == [b"watch", -2]
    assert entry[2] == [b"noscript", b"loading", b"stale", b"fast", b"allow_busy"]
    assert entry[3:6] == [1, -1, 1]
    assert entry[6] == [b"@fast", b"@transaction"]
    assert entry[7] == [] and entry[9] == []
    assert all(isinstance(part, SetReply) for part in (entry[2], entry[6], entry[7],
                                                        entry[8], entry[9]))
    assert all(isinstance(f, Status) for f in entry[2] + entry[6])
    assert entry[8] == [{b"flags": [b"RO"],
                         b"begin_search": {b"type": b"index", b"spec": {b"index": 1}},
                         b"find_keys": {b"type": b"range",
                                        b"spec": {b"lastkey": -1, b"keystep": 1,
                                                  b"limit": 0}}}]


def test_resp3_uses_sets_and_maps_resp2_arrays():
    entry = intro.info_entry(TABLE["watch"])
    r3, r2 = encode(entry, True), encode(entry, False)
    assert r3.startswith(b"*10\r\n$5\r\nwatch\r\n:-2\r\n~5\r\n+noscript\r\n")
    assert b"~1\r\n%3\r\n$5\r\nflags\r\n~1\r\n+RO\r\n" in r3
    assert r2.startswith(b"*10\r\n$5\r\nwatch\r\n:-2\r\n*5\r\n+noscript\r\n")
    assert b"*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n" in r2
    assert r3.endswith(b"~0\r\n") and r2.endswith(b"*0\r\n")


def test_hidden_flags_are_not_shown_and_order_is_redis_order():
    cmd = make(flags="fast sentinel may_replicate write noscript", acl="@keyspace")
    assert intro.visible_flags(cmd) == ["write", "noscript", "fast"]
    assert intro.info_entry(cmd)[6] == [b"@keyspace", b"@write", b"@fast"]


def test_implied_categories():
    assert _categories(("write",), ()) == ("write", "slow")
    assert _categories(("readonly", "fast"), ("@string",)) == ("read", "fast", "string")
    assert set(_categories(("admin", "noscript", "loading"), ())) == \
        {"admin", "dangerous", "slow"}
    assert "slow" not in _categories((), ("@fast",))          # explicitly fast
    assert "read" not in _categories(("readonly",), ("@scripting",))
    assert _categories(("blocking", "write"), ("@list",)) == \
        ("write", "blocking", "list", "slow")


def test_key_spec_flags_are_spelled_as_redis():
    assert intro.key_spec_flags(["ACCESS", "RW", "UPDATE", "VARIABLE_FLAGS"]) == \
        ["RW", "access", "update", "variable_flags"]


def test_subcommands_nest_and_count_excludes_them():
    c = client()
    entry = execute(c, [b"COMMAND", b"INFO", b"command"])[0]
    assert isinstance(entry[9], list) and not isinstance(entry[9], SetReply)
    assert {e[0] for e in entry[9]} >= {b"command|info", b"command|getkeys"}
    assert execute(c, [b"COMMAND", b"COUNT"]) == len(TABLE)
    assert len(execute(c, [b"COMMAND"])) == len(TABLE)
    assert execute(c, [b"COMMAND", b"INFO", b"nope", b"COMMAND|Count"])[0] is None
    assert execute(c, [b"COMMAND", b"INFO", b"nope", b"COMMAND|Count"])[1][0] == \
        b"command|count"


def test_docs_map():
    c = client()
    docs = execute(c, [b"COMMAND", b"DOCS", b"nope", b"watch", b"command"])
    assert list(docs) == [b"watch", b"command"]
    assert docs[b"watch"] == {
        b"summary": b"Watch the given keys to determine execution of the MULTI/EXEC block",
        b"since": b"2.2.0", b"group": b"transactions", b"complexity": b"O(1) for every key.",
        b"arguments": [{b"name": b"key", b"type": b"key", b"key_spec_index": 0,
                        b"flags": [b"multiple"]}]}
    assert set(docs[b"command"][b"subcommands"]) >= {b"command|docs", b"command|list"}
    everything = execute(c, [b"COMMAND", b"DOCS"])
    assert len(everything) == len(TABLE)


def test_list_filters():
    c = client()
    names = execute(c, [b"COMMAND", b"LIST"])
    assert b"command|help" in names and b"multi" in names
    assert sorted(execute(c, [b"COMMAND", b"LIST", b"FILTERBY", b"ACLCAT", b"Transaction"])) \
        == [b"discard", b"exec", b"multi", b"unwatch", b"watch"]
    assert execute(c, [b"COMMAND", b"LIST", b"FILTERBY", b"MODULE", b"m"]) == []
    assert execute(c, [b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"Multi"]) == [b"multi"]
    assert execute(c, [b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", b"COMMAND|[c-d]*"]) \
        == [b"command|count", b"command|docs"]
    err = execute(c, [b"COMMAND", b"LIST", b"FILTER", b"PATTERN", b"x"])
    assert isinstance(err, ReplyError) and err.message == "ERR syntax error"


def test_getkeys_errors_in_redis_words():
    c = client()

    def gk(*args):
        reply = execute(c, [b"COMMAND", b"GETKEYS", *args])
        return reply.message if isinstance(reply, ReplyError) else reply
    assert gk(b"nope", b"a") == "ERR Invalid command specified"
    assert gk(b"echo", b"a") == "ERR The command has no key arguments"
    assert gk(b"get", b"a", b"b") == "ERR Invalid number of arguments specified for command"
    assert gk(b"command", b"nope") == "ERR Invalid command specified"
    assert gk(b"get") == "ERR wrong number of arguments for 'command|getkeys' command"
    assert gk(b"WATCH", b"a", b"b") == [b"a", b"b"]
    assert execute(c, [b"COMMAND", b"GETKEYSANDFLAGS", b"watch", b"k"]) == [[b"k", [b"RO"]]]


def test_keys_from_specs_keyword_and_keynum():
    streams = make(arity=-4, key_specs=(keyword_spec("STREAMS", 1, limit=2, lastkey=-1,
                                                     keystep=1),))
    argv = [b"xread", b"COUNT", b"2", b"streams", b"a", b"b", b"0", b"0"]
    assert [p for p, _ in intro.keys_from_specs(streams, argv)] == [4, 5]
    assert intro.keys_from_specs(streams, [b"xread", b"x", b"y"]) == []
    numkeys = make(arity=-4, key_specs=(
        {"flags": ["OW", "update"], "begin_search": {"type": "index", "spec": {"index": 1}},
         "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
        {"flags": ["RO", "access"], "begin_search": {"type": "index", "spec": {"index": 2}},
         "find_keys": {"type": "keynum", "spec": {"keynumidx": 0, "firstkey": 1,
                                                  "keystep": 1}}}))
    found = intro.keys_from_specs(numkeys, [b"zunionstore", b"d", b"2", b"a", b"b", b"x"])
    assert found == [(1, ["OW", "update"]), (3, ["RO", "access"]), (4, ["RO", "access"])]
    assert intro.keys_from_specs(numkeys, [b"z", b"d", b"5", b"a"]) is None
    assert intro.keys_from_specs(numkeys, [b"z", b"d", b"x", b"a"]) is None
    assert intro.keys_from_specs(numkeys, [b"z", b"d", b"0", b"a"]) is None   # no keys
    assert intro.keys_from_specs(numkeys, [b"z", b"d", b"-1", b"a"]) is None
    backwards = make(key_specs=(keyword_spec("STORE", -2, lastkey=0, keystep=1, limit=0),))
    argv = [b"sort", b"k", b"STORE", b"dst"]
    assert [p for p, _ in intro.keys_from_specs(backwards, argv)] == [3]


def test_getkeys_falls_back_to_the_command_getkeys_function():
    cmd = make(arity=-3, keys=(0, 0, 0), getkeys=lambda argv: [2])
    assert "movablekeys" in intro.visible_flags(cmd)
    assert intro.has_keys(cmd)
    assert intro.keys_and_flags(cmd, [b"x", b"a", b"b"]) == [(2, [])]
    no_keys = make(key_specs=({"flags": ["not_key"],
                               "begin_search": {"type": "index", "spec": {"index": 1}},
                               "find_keys": {"type": "range", "spec": {
                                   "lastkey": 0, "keystep": 1, "limit": 0}}},))
    assert not intro.has_keys(no_keys)


def test_help_lines():
    lines = execute(client(), [b"COMMAND", b"HELP"])
    assert lines[0].startswith(b"COMMAND <subcommand>") and lines[-1] == b"    Prints this help."
    assert all(isinstance(line, Status) for line in lines)
