"""cluster.persistence.rdb_file / cluster.persistence.loading / SAVE, BGSAVE: pure, no sockets (files in tmp)."""
from __future__ import annotations

import os

import pytest
import trio

from cluster.commands import registry  # noqa: F401  (registers the command table)
from cluster.persistence import loading
from cluster.persistence import rdb_file as persist_rdb
from cluster.commands.server_debug import dataset_digest
from cluster.config.live import Config
from cluster.execution.dispatch import execute
from cluster.node import Node
from cluster.persistence.rdb_file import LoadError
from cluster.resp.reply import ReplyError


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)         # `dir`: the working directory holds dump.rdb


def _err(reply) -> str:
    assert isinstance(reply, ReplyError)
    return str(reply)


def _node(**directives) -> Node:
    config = Config()
    if directives:
        for name, value in directives.items():
            config.set(name.replace("_", "-"), value, startup=True)
    return Node(config)


def _fill(node, n=50):
    c = node.new_client()
    for i in range(n):
        execute(c, [b"SET", b"k%d" % i, b"v%d" % i])
        execute(c, [b"RPUSH", b"l%d" % (i % 5), b"x%d" % i])
    execute(c, [b"HSET", b"h", b"f", b"1"])
    execute(c, [b"SADD", b"s", b"a", b"b"])
    execute(c, [b"ZADD", b"z", b"1", b"m"])
    execute(c, [b"PEXPIRE", b"k1", b"100000000"])
    execute(c, [b"SELECT", b"3"])
    execute(c, [b"SET", b"db3", b"x"])
    return c


def _reload(path="dump.rdb", **directives) -> Node:
    other = _node(**directives)
    assert persist_rdb.load_file(other, path)
    return other


def test_save_writes_dump_that_loads_back_equal():
    node = _node()
    _fill(node)
    c = node.new_client()
    assert execute(c, [b"SAVE"]) == b"OK"
    assert execute(c, [b"LASTSAVE"]) >= node.now_ms // 1000 - 1
    assert os.path.exists("dump.rdb")
    assert not [f for f in os.listdir(".") if f.startswith("temp-")]
    other = _reload()
    assert dataset_digest(other.keyspace) == dataset_digest(node.keyspace)
    assert other.keyspace[0].expires.keys() == {b"k1"}
    assert other.persist.rdb_last_load_keys_loaded == sum(len(db.data) for db in node.keyspace.dbs)
    assert node.keyspace.dirty - node.persist.dirty_at_last_save == 0
    assert node.persist.rdb_saves == 1


def test_rdbchecksum_no_writes_a_zero_checksum_and_loads():
    node = _node(rdbchecksum="no")
    _fill(node, 5)
    assert persist_rdb.save(node)
    data = open("dump.rdb", "rb").read()
    assert data[-8:] == b"\0" * 8 and data[-9] == 0xFF
    assert dataset_digest(_reload().keyspace) == dataset_digest(node.keyspace)


def test_bgsave_writes_the_dataset_as_it_was_when_it_started():
    node = _node()
    c = _fill(node)
    execute(c, [b"SELECT", b"0"])
    before = dataset_digest(node.keyspace)
    job = persist_rdb.start_bgsave(node)
    # writes after the command: in-place list change (copy-on-write), new key, delete
    for argv in ([b"RPUSH", b"l1", b"late"], [b"SET", b"new", b"1"], [b"DEL", b"k2"],
                 [b"HSET", b"h", b"g", b"2"], [b"FLUSHDB"]):
        execute(c, argv)
    assert _err(execute(c, [b"BGSAVE"])) == "ERR Background save already in progress"
    trio.run(job.run)
    assert node.persist.bgsave_in_progress is None and node.persist.last_bgsave_status == "ok"
    assert dataset_digest(_reload().keyspace) == before != dataset_digest(node.keyspace)


def test_bgsave_replies():
    node = _node()
    c = node.new_client()
    assert _err(execute(c, [b"BGSAVE", b"foo"])) == "ERR syntax error"
    node.persist.aof_rewrite_in_progress = True
    assert _err(execute(c, [b"BGSAVE"])).startswith("ERR Another child process is active")
    assert execute(c, [b"BGSAVE", b"SCHEDULE"]) == b"Background saving scheduled"
    node.persist.aof_rewrite_in_progress = False
    persist_rdb.cron(node)                       # the scheduled BGSAVE starts now
    assert node.persist.bgsave_in_progress is not None
    assert _err(execute(c, [b"SAVE"])) == "ERR Background save already in progress"
    trio.run(node.persist.bgsave_in_progress.run)
    assert execute(c, [b"BGSAVE"]) == b"Background saving started"
    node.persist.bgsave_in_progress.abort()


def test_bgsave_inside_exec_is_scheduled_while_an_aof_rewrite_runs():
    """bgsaveCommand: with an AOF rewrite running, BGSAVE inside EXEC is scheduled as
    BGSAVE SCHEDULE is (server.in_exec), not refused."""
    node = _node()
    c = node.new_client()
    node.persist.aof_rewrite_in_progress = True
    assert execute(c, [b"MULTI"]) == b"OK"
    execute(c, [b"BGSAVE"])
    assert execute(c, [b"EXEC"]) == [b"Background saving scheduled"]
    node.persist.aof_rewrite_in_progress = False
    persist_rdb.cron(node)
    assert node.persist.bgsave_in_progress is not None
    node.persist.bgsave_in_progress.abort()


def test_save_points_ask_for_a_bgsave():
    node = _node(save="10 3")
    c = node.new_client()
    now = node.now_ms // 1000
    node.persist.last_save_s = now - 11
    execute(c, [b"SET", b"a", b"1"])
    assert persist_rdb.due_save_point(node, now) is None       # 1 change < 3
    execute(c, [b"SET", b"a", b"2"])
    execute(c, [b"SET", b"a", b"3"])
    assert persist_rdb.due_save_point(node, now) == (10, 3)
    node.persist.last_save_s = now - 5
    assert persist_rdb.due_save_point(node, now) is None       # not 10 seconds yet
    node.persist.last_save_s = now - 11
    persist_rdb.cron(node)
    assert node.persist.bgsave_in_progress is not None
    node.persist.bgsave_in_progress.abort()
    assert persist_rdb.save_points(_node(save="")) == []


@pytest.mark.parametrize("content, first", [
    (b"garbage garbage garbage\n", "Wrong signature trying to load DB from file"),
    (b"REDIS0010\xfa\x09redis-ver\x067.0.15", "Short read or OOM loading DB. "
                                              "Unrecoverable error, aborting now."),
])
def test_bad_files_are_refused_in_redis_words(content, first):
    with open("dump.rdb", "wb") as f:
        f.write(content)
    node = _node()
    with pytest.raises(LoadError) as err:
        persist_rdb.load_file(node)
    assert err.value.lines[0] == first
    assert node.keyspace[0].data == {}


def test_wrong_checksum_is_refused_and_nothing_is_loaded():
    node = _node()
    _fill(node, 5)
    persist_rdb.save(node)
    data = bytearray(open("dump.rdb", "rb").read())
    data[-3] ^= 0xFF
    open("dump.rdb", "wb").write(bytes(data))
    other = _node()
    with pytest.raises(LoadError) as err:
        persist_rdb.load_file(other)
    assert err.value.lines[0].startswith("Wrong RDB checksum")
    assert dataset_digest(other.keyspace) == b"0" * 40
    assert dataset_digest(_reload(rdbchecksum="no").keyspace) == dataset_digest(node.keyspace)


def test_expired_keys_are_not_loaded_by_a_primary():
    node = _node()
    c = node.new_client()
    execute(c, [b"SET", b"gone", b"1", b"PXAT", b"%d" % (node.now_ms + 50)])
    execute(c, [b"SET", b"kept", b"1"])
    persist_rdb.save(node)
    other = _node()
    other.set_time(node.now_ms + 1000)
    persist_rdb.load_file(other)
    assert list(other.keyspace[0].data) == [b"kept"]
    st = other.persist
    assert (st.rdb_last_load_keys_loaded, st.rdb_last_load_keys_expired) == (1, 1)


def test_replication_aux_restores_a_replicas_history():
    node = _node()
    persist_rdb.save(node)          # no backlog, no link: no replication info
    assert b"repl-id" not in persist_rdb.read_rdb(open("dump.rdb", "rb").read()).aux

    class Link:
        replid, offset, client = "ab" * 20, 1234, None
    node.repl.link = Link()
    persist_rdb.save(node)
    node.repl.link = None
    replica = _node(replicaof="127.0.0.1 1")
    persist_rdb.load_file(replica)
    assert (replica.repl.replid, replica.repl.master_repl_offset) == ("ab" * 20, 1234)
    primary = _node()
    persist_rdb.load_file(primary)
    assert primary.repl.replid != "ab" * 20


def test_a_primary_rebases_its_history_on_the_dump_and_feeds_expired_keys():
    node = _node()
    client = node.new_client()
    execute(client, [b"SET", b"stays", b"1"])
    execute(client, [b"SELECT", b"3"])
    execute(client, [b"SET", b"gone", b"1"])
    node.keyspace.dbs[3].set_expire(b"gone", node.now_ms - 10)   # due while we were down

    class Link:
        replid, offset, client = "cd" * 20, 5000, None
    node.repl.link = Link()
    persist_rdb.save(node)
    primary = _node()
    persist_rdb.load_file(primary)
    assert primary.repl.replid != "cd" * 20 and primary.repl.replid2 == "cd" * 20
    assert primary.repl.second_repl_offset == 5001
    fed = b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n"
    assert primary.repl.master_repl_offset == 5000 + len(fed)
    rp = primary.repl.primary
    assert bytes(rp.backlog) == fed and rp.backlog_off == 5001
    assert rp.try_partial("cd" * 20, 5001) == fed
    assert rp.try_partial("cd" * 20, 5002) is None      # past the old history's end
    assert rp.try_partial(primary.repl.replid, 5002) == fed[1:]
    assert rp.try_partial("cd" * 20, 5000) is None
    assert rp.try_partial("ef" * 20, 5001) is None
    again = _node()                               # DEBUG RELOAD: no rebase
    persist_rdb.load_file(again, repl=False)
    assert again.repl.replid2 == "0" * 40


def test_loading_state_refuses_commands_without_the_loading_flag():
    node = _node()
    client = node.new_client(fd=99)
    loading.begin(node, 100)
    try:
        assert _err(execute(client, [b"GET", b"a"])) == loading.LOADING
        assert _err(execute(client, [b"PING"])) == loading.LOADING
        text = str(execute(client, [b"INFO", b"persistence"]))
        assert "loading_total_bytes:100" in text and "loading:1" in text
        assert execute(node.new_client(), [b"SET", b"a", b"1"]) == b"OK"   # internal
    finally:
        loading.end(node)
    assert execute(client, [b"GET", b"a"]) == b"1"


def test_load_at_start_loads_the_dump(tmp_path):
    node = _node()
    _fill(node, 20)
    persist_rdb.save(node)
    other = _node()
    trio.run(loading.load_at_start, other)
    assert dataset_digest(other.keyspace) == dataset_digest(node.keyspace)
    assert other.persist.loading is None and not other.keyspace.loading
    trio.run(loading.load_at_start, _node())      # the same file again: fine
    os.unlink("dump.rdb")
    empty = _node()
    trio.run(loading.load_at_start, empty)         # no file: start empty
    assert dataset_digest(empty.keyspace) == b"0" * 40


def test_clients_get_loading_while_the_keys_are_put_in_place(monkeypatch):
    node = _node()
    _fill(node, 5000)
    persist_rdb.save(node)
    monkeypatch.setattr(persist_rdb, "LOAD_BATCH", 500)
    total = len(node.keyspace[0].data)
    other = _node()
    client = other.new_client(fd=99)
    seen: list[tuple[int, object]] = []

    async def main():
        async with trio.open_nursery() as nursery:
            nursery.start_soon(loading.load_at_start, other)
            while True:                 # the loop runs between batches: ask meanwhile
                await trio.sleep(0)
                n = len(other.keyspace[0].data)
                seen.append((n, execute(client, [b"GET", b"k1"])))
                if other.persist.loading is None and n == total:
                    break
    trio.run(main)
    partial = [reply for n, reply in seen if 0 < n < total]
    assert len(partial) >= 5
    assert all(isinstance(r, ReplyError) and str(r) == loading.LOADING for r in partial)
    assert execute(client, [b"GET", b"k1"]) == b"v1"


def test_shutdown_saves_as_configured():
    node = _node(save="")
    _fill(node, 3)
    assert persist_rdb.on_shutdown(node) and not os.path.exists("dump.rdb")
    node.persist.shutdown_save = True               # SHUTDOWN SAVE
    assert persist_rdb.on_shutdown(node) and os.path.exists("dump.rdb")
    os.unlink("dump.rdb")
    node = _node(save="3600 1")
    assert persist_rdb.on_shutdown(node) and os.path.exists("dump.rdb")
    os.unlink("dump.rdb")
    node.persist.shutdown_save = False              # SHUTDOWN NOSAVE
    assert persist_rdb.on_shutdown(node) and not os.path.exists("dump.rdb")


def test_debug_reload_keeps_the_data():
    node = _node(enable_debug_command="yes")
    c = _fill(node, 10)
    before = dataset_digest(node.keyspace)
    assert execute(c, [b"DEBUG", b"RELOAD"]) == b"OK"
    assert dataset_digest(node.keyspace) == before


def test_no_shutdown_save_while_loading():
    node = _node(save="3600 1")
    node.persist.shutdown_save = True
    loading.begin(node, 0)
    assert persist_rdb.on_shutdown(node) and not os.path.exists("dump.rdb")
