"""Function libraries without sockets: the `#!lua name=` header, registration in the
load-time sandbox, the all-or-nothing rules of LOAD / RESTORE, the codes the snapshots
carry (RDB FUNCTION2 records, old FUNCTION records, AOF commands)."""
from __future__ import annotations

import pytest

from cluster.encoding.rdb import OP_FUNCTION, read_rdb, write_rdb
from cluster.encoding.dump import encode_len, encode_string
from cluster.execution.client import Client
from cluster.node import Node
from cluster.persistence.aof_base import command_chunks
from cluster.keyspace import snapshot
from cluster.resp.reply import ReplyError
from cluster.scripting.functions import parse_metadata, valid_name


def code(name: str, body: str) -> bytes:
    return f"#!lua name={name}\n{body}".encode()


F1 = "redis.register_function('f1', function(keys, args) return keys[1] end)"


@pytest.fixture
def node():
    return Node()


def test_metadata():
    assert parse_metadata(b"#!lua name=lib\nbody") == (b"lua", b"lib", b"\nbody")
    assert parse_metadata(b'#!LUA  name="q"\n') == (b"LUA", b"q", b"\n")
    for bad, msg in [(b"x", "Missing library metadata"), (b"#!lua name=x", "Invalid library"),
                     (b"#!lua name=a\0\n", "Invalid library metadata"),
                     (b"#!lua\n", "Library name was not given"),
                     (b"#!lua name=a name=b\n", "given multiple times"),
                     (b"#!lua a=b\n", "Invalid metadata value given: a=b")]:
        with pytest.raises(ReplyError, match=msg):
            parse_metadata(bad)
    assert valid_name(b"a_1") and not valid_name(b"") and not valid_name(b"a-b")


def test_register_positional_and_named(node):
    libs = node.functions
    assert libs.create(code("lib", F1 + "\nredis.register_function{function_name='F2', "
                            "callback=function() return 2 end, description='two', "
                            "flags={'allow-stale', 'NO-WRITES'}}")) == b"lib"
    fns = libs.ctx.libraries[b"lib"].functions
    assert list(fns) == [b"f1", b"F2"]
    assert fns[b"F2"].desc == b"two" and fns[b"F2"].flags == ("no-writes", "allow-stale")
    assert libs.find(b"f2") is fns[b"F2"] and libs.find(b"F1") is fns[b"f1"]
    assert node.keyspace.functions == (code("lib", F1 + "\nredis.register_function{"
                                            "function_name='F2', callback=function() return 2 "
                                            "end, description='two', flags={'allow-stale', "
                                            "'NO-WRITES'}}"),)


@pytest.mark.parametrize("body, msg", [
    ("return 1", "No functions registered"),
    ("x = 1", "user_function:2: Attempt to modify a readonly table"),
    ("math.random()", "nonexistent global variable 'math'"),
    ("redis.call('ping')", "nonexistent global variable 'call'"),
    ("redis.register_function('f1')", "only applicable to Lua table"),
    ("redis.register_function('a b', function() end)", "Library names can only contain"),
    ("redis.register_function{function_name='x', callback=function() end, flags={'bad'}}",
     "unknown flag given"),
    (F1 + "\n" + F1, "Function already exists in the library"),
    ("bad code", "Error compiling function: user_function:2:"),
    ("while true do end", "FUNCTION LOAD timeout"),
])
def test_load_errors_change_nothing(node, body, msg):
    libs = node.functions
    libs.create(code("keep", F1))
    with pytest.raises(ReplyError, match=msg):
        libs.create(code("keep", body), replace=True, timeout=0.05)
    assert list(libs.ctx.libraries) == [b"keep"] and libs.find(b"f1") is not None


def test_collisions(node):
    libs = node.functions
    libs.create(code("a", F1))
    with pytest.raises(ReplyError, match="Library 'a' already exists"):
        libs.create(code("a", F1))
    with pytest.raises(ReplyError, match="Function f1 already exists"):
        libs.create(code("b", F1))
    side = libs.load_side([code("a", "redis.register_function('g', function() end)")])
    with pytest.raises(ReplyError, match="Library a already exists"):
        libs.join(side, replace=False)
    libs.join(side, replace=True)
    assert libs.find(b"f1") is None and libs.find(b"g") is not None


def test_snapshots_carry_the_codes(node):
    libs = node.functions
    libs.create(code("a", F1))
    view = snapshot.take(node.keyspace)
    libs.create(code("b", "redis.register_function('g', function() end)"))
    snap = read_rdb(write_rdb(view))             # the view: the libraries at take time
    assert snap.functions == [code("a", F1)]
    assert read_rdb(write_rdb(node.keyspace)).functions == [code("a", F1), code(
        "b", "redis.register_function('g', function() end)")]
    aof = b"".join(command_chunks(view))
    assert aof.startswith(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n")
    view.release()
    assert node.functions.replace_all(snap.functions) is None
    assert list(libs.ctx.libraries) == [b"a"]


def test_old_function_record_is_read(node):
    body = bytes((OP_FUNCTION,)) + encode_string(b"old") + encode_string(b"lua") + \
        encode_len(0) + encode_string(b"\n" + F1.encode())
    rdb = write_rdb(node.keyspace)
    rdb = rdb[:9] + body + rdb[9:-9] + b"\xff" + b"\0" * 8        # no checksum
    snap = read_rdb(rdb)
    assert snap.functions == [b"#!lua name=old\n\n" + F1.encode()]


def test_function_run_keys_args(node):
    node.functions.create(code("a", F1))
    from cluster.commands.functions import fcall
    client = Client(node, 7)
    assert fcall(client, [b"FCALL", b"F1", b"1", b"key"]) == b"key"
    with pytest.raises(ReplyError, match="Function not found"):
        fcall(client, [b"FCALL", b"nosuch", b"0"])
