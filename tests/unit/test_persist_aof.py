"""The append-only file without sockets: manifest, sink, rewrite, loading, truncation."""
from __future__ import annotations

import os

import pytest

import cluster.commands.registry  # noqa: F401
from cluster.persistence import aof_load
from cluster.persistence import aof as persist_aof
from cluster.persistence.aof_manifest import Manifest, ManifestError
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.persistence.rdb_file import LoadError
from cluster.resp.reply import ReplyError

DIR = "appendonlydir"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)      # `dir` is the working directory, as in Redis
    return tmp_path


def make(**directives) -> Node:
    config = Config()
    for name, value in directives.items():
        config.set(name.replace("_", "-"), value, startup=True)
    return Node(config)


def run(node, *argv):
    client = node.new_client()
    return execute(client, [a if isinstance(a, bytes) else str(a).encode() for a in argv])


def dataset(node) -> dict:
    return {(db.id, k): (v if v.__class__ is bytes else list(v), db.expires.get(k))
            for db in node.keyspace.dbs for k, v in db.data.items()}


def manifest_text() -> str:
    with open(os.path.join(DIR, "appendonly.aof.manifest")) as f:
        return f.read()


def fill(node):
    run(node, "SET", "a", "1")
    run(node, "RPUSH", "l", "x", "y", "z")
    c = node.new_client()
    execute(c, [b"SELECT", b"3"])
    execute(c, [b"SET", b"b", b"2"])
    execute(c, [b"PEXPIREAT", b"b", b"99999999999999"])


def reload(**directives) -> Node:
    other = make(appendonly="yes", **directives)
    assert persist_aof.load(other) is True
    return other


def test_manifest_round_trip_and_errors():
    text = ("file appendonly.aof.2.base.rdb seq 2 type b\n"
            "file appendonly.aof.2.incr.aof seq 2 type i\n"
            "file appendonly.aof.3.incr.aof seq 3 type i\n")
    m = Manifest.parse(text)
    assert m.render() == text
    assert m.files() == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof",
                         "appendonly.aof.3.incr.aof"]
    assert m.next_base(True) == ("appendonly.aof.3.base.rdb", 3)
    assert m.next_incr() == ("appendonly.aof.4.incr.aof", 4)
    with pytest.raises(ManifestError):
        Manifest.parse("file x seq 1 type z\n")
    with pytest.raises(ManifestError):
        Manifest.parse("file a seq 1 type b\nfile b seq 2 type b\n")


def test_config_set_appendonly_writes_base_then_incr():
    node = make()
    fill(node)
    assert run(node, "CONFIG", "SET", "appendonly", "yes") == b"OK"
    assert sorted(os.listdir(DIR)) == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof",
                                       "appendonly.aof.manifest"]
    assert manifest_text() == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                               "file appendonly.aof.1.incr.aof seq 1 type i\n")
    with open(os.path.join(DIR, "appendonly.aof.1.base.rdb"), "rb") as f:
        assert f.read(9) == b"REDIS0010"
    run(node, "SET", "c", "3")
    run(node, "INCR", "c")
    node.persist.aof.flush()
    with open(os.path.join(DIR, "appendonly.aof.1.incr.aof"), "rb") as f:
        incr = f.read()
    assert incr == (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n"
                    b"*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n")
    assert dataset(reload()) == dataset(node)
    info = run(node, "INFO", "persistence").decode()
    assert "aof_enabled:1" in info and "aof_rewrites:1" in info
    assert f"aof_current_size:{node.persist.aof.current_size}" in info
    run(node, "CONFIG", "SET", "appendonly", "no")
    assert node.persist.aof is None
    assert "aof_current_size" not in run(node, "INFO", "persistence").decode()


def test_bgrewriteaof_swaps_manifest_and_deletes_old_files():
    node = make()
    run(node, "CONFIG", "SET", "appendonly", "yes")
    fill(node)
    assert run(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    assert sorted(os.listdir(DIR)) == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof",
                                       "appendonly.aof.manifest"]
    assert manifest_text() == ("file appendonly.aof.2.base.rdb seq 2 type b\n"
                               "file appendonly.aof.2.incr.aof seq 2 type i\n")
    run(node, "DEL", "a")
    node.persist.aof.flush()
    assert dataset(reload()) == dataset(node)
    assert not [n for n in os.listdir(".") if n.startswith("temp-")]


def test_bgrewriteaof_with_appendonly_off_writes_a_base_only():
    node = make()
    fill(node)
    assert run(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    assert manifest_text() == "file appendonly.aof.1.base.rdb seq 1 type b\n"
    assert dataset(reload()) == dataset(node)


def test_base_of_commands_without_rdb_preamble():
    node = make(aof_use_rdb_preamble="no")
    fill(node)
    run(node, "SADD", "s", "m1", "m2")
    run(node, "CONFIG", "SET", "appendonly", "yes")
    assert "appendonly.aof.1.base.aof" in os.listdir(DIR)
    with open(os.path.join(DIR, "appendonly.aof.1.base.aof"), "rb") as f:
        assert f.read().startswith(b"*2\r\n$6\r\nSELECT\r\n")
    again = reload(aof_use_rdb_preamble="no")
    assert dataset(again) == dataset(node)
    assert run(again, "SMEMBERS", "s") and sorted(run(again, "SMEMBERS", "s")) == [b"m1", b"m2"]


def test_start_creates_files_and_reopens_last_incr():
    node = make(appendonly="yes")
    assert persist_aof.load(node) is False          # nothing yet: files created
    assert manifest_text() == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                               "file appendonly.aof.1.incr.aof seq 1 type i\n")
    run(node, "SET", "k", "v")
    node.persist.aof.close()
    again = reload()
    assert run(again, "GET", "k") == b"v"
    run(again, "SET", "k2", "v2")
    again.persist.aof.close()
    assert run(reload(), "MGET", "k", "k2") == [b"v", b"v2"]


def write_incr(payload: bytes):
    node = make(appendonly="yes")
    persist_aof.load(node)
    node.persist.aof.close()
    with open(os.path.join(DIR, "appendonly.aof.1.incr.aof"), "wb") as f:
        f.write(payload)


def frames(*commands) -> bytes:
    from cluster.replication.propagate import encode_command
    return b"".join(encode_command([a.encode() for a in c.split()]) for c in commands)


def test_truncated_tail_is_trimmed_and_logged(capsys):
    good = frames("SELECT 0", "SET a 1", "SET b 2")
    write_incr(good + b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nab")
    node = reload()
    assert run(node, "MGET", "a", "b", "c") == [b"1", b"2", None]
    assert os.path.getsize(os.path.join(DIR, "appendonly.aof.1.incr.aof")) == len(good)
    out = capsys.readouterr().out
    assert ("!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"
            in out)
    assert f"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {len(good)} !!!" in out
    assert ("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"
            in out)


def test_truncated_refused_when_aof_load_truncated_is_off():
    write_incr(frames("SET a 1") + b"*2\r\n$3\r\nGET")
    node = make(appendonly="yes", aof_load_truncated="no")
    with pytest.raises(LoadError) as err:
        persist_aof.load(node)
    assert "Unexpected end of file reading the append only file" in err.value.lines[0]


def test_unfinished_transaction_is_cut_at_its_multi():
    before = frames("SELECT 0", "SET a 1")
    write_incr(before + frames("MULTI", "SET b 2") + b"*1\r\n$4\r\nEX")
    node = reload()
    assert run(node, "MGET", "a", "b") == [b"1", None]
    assert os.path.getsize(os.path.join(DIR, "appendonly.aof.1.incr.aof")) == len(before)
    write_incr(before + frames("MULTI", "SET b 2", "EXEC"))
    assert run(reload(), "MGET", "a", "b") == [b"1", b"2"]


def test_corrupt_middle_refuses_to_start_naming_file_and_offset():
    data = bytearray(frames("SELECT 0", "SET a 1", "SET b 2", "SET c 3"))
    offset = len(frames("SELECT 0", "SET a 1"))
    data[offset] = ord("x")             # the '*' of the second SET
    write_incr(bytes(data))
    node = make(appendonly="yes")
    with pytest.raises(LoadError) as err:
        persist_aof.load(node)
    assert err.value.lines[0] == (
        "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a "
        "backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
    assert f"at offset {offset}" in err.value.lines[1]


def test_parser_reports_offsets():
    good = frames("SET a 1")
    assert [argv for argv, _, _ in aof_load.parse(good)] == [[b"SET", b"a", b"1"]]
    with pytest.raises(aof_load.Truncated) as t:
        list(aof_load.parse(good + b"*1\r\n"))
    assert t.value.valid_up_to == len(good)
    with pytest.raises(aof_load.BadFormat):
        list(aof_load.parse(good + b"$1\r\nx\r\n"))


def test_bgrewriteaof_in_progress_error():
    node = make()
    run(node, "CONFIG", "SET", "appendonly", "yes")

    class Busy:
        rewrite = object()
    node.persist.aof_offline = Busy()
    reply = run(node, "BGREWRITEAOF")
    assert isinstance(reply, ReplyError)
    assert reply.message == "ERR Background append only file rewriting already in progress"


def test_auto_rewrite_on_growth():
    node = make(auto_aof_rewrite_min_size="1", auto_aof_rewrite_percentage="100")
    run(node, "CONFIG", "SET", "appendonly", "yes")
    base = node.persist.aof.base_size
    for i in range(50):
        run(node, "SET", f"k{i}", "x" * 20)
    node.cron()
    assert node.persist.aof.manifest.base[1] == 2 and node.persist.aof.base_size > base
    assert dataset(reload()) == dataset(node)


def test_new_incr_on_a_replica_selects_the_stream_db():
    node = make()
    run(node, "CONFIG", "SET", "appendonly", "yes")

    class Link:
        client = node.new_client()
    Link.client.db = node.keyspace[4]
    node.repl.link = Link()
    try:
        node.persist.aof.start_rewrite()
        assert bytes(node.persist.aof.buf) == b"*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n"
    finally:
        node.repl.link = None


def test_clients_get_loading_while_the_aof_is_replayed(monkeypatch):
    """The start-up replay runs in steps (cluster.persistence.loading drives aof_load's generators):
    between them the loop answers -LOADING, never a half-loaded dataset."""
    import trio

    from cluster.persistence import loading
    write_incr(b"".join(frames(f"SET k{i} v{i}") for i in range(5000)))
    monkeypatch.setattr(aof_load, "STEP", 500)
    node = make(appendonly="yes")
    client = node.new_client(fd=99)
    seen = []

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(loading.load_at_start, node)
            while True:
                await trio.sleep(0)
                n = len(node.keyspace[0].data)
                seen.append((n, execute(client, [b"GET", b"k1"])))
                if node.persist.loading is None and n == 5000:
                    break
    trio.run(main)
    partial = [reply for n, reply in seen if 0 < n < 5000]
    assert len(partial) >= 5
    assert all(isinstance(r, ReplyError) and str(r) == loading.LOADING for r in partial)
    assert execute(client, [b"GET", b"k4999"]) == b"v4999"
    node.persist.aof.close()
