"""redis.set_repl as Redis 7.0: a script's writes go to the AOF and the replicas, to one
of them, or nowhere, command by command (checked on a replica and by reloading the AOF)."""
from __future__ import annotations

import redis

from tests.support import NodeProcess, running, wait_until

SCRIPT = """
redis.call('set','a','1');
redis.set_repl(redis.REPL_NONE);
redis.call('set','b','2');
redis.set_repl(redis.REPL_AOF);
redis.call('set','c','3');
redis.set_repl(redis.REPL_SLAVE);
redis.call('set','e','5');
redis.set_repl(redis.REPL_ALL);
redis.call('set','d','4');
"""


def test_set_repl_sends_each_write_where_the_script_says(tmp_path):
    primary = NodeProcess(tmp_path / "p", ["--appendonly", "yes",
                                           "--enable-debug-command", "yes"])
    with running(primary):
        replica = NodeProcess(tmp_path / "r", ["--replicaof", "127.0.0.1", str(primary.port)])
        with running(replica), redis.Redis(port=primary.port, socket_timeout=10) as p, \
                redis.Redis(port=replica.port, socket_timeout=10) as r:
            wait_until(lambda: r.info("replication")["master_link_status"] == "up",
                       timeout=20, message="the replica's link up")
            p.eval(SCRIPT, 0)
            keys = ["a", "b", "c", "d", "e"]
            wait_until(lambda: r.mget(keys) == [b"1", None, None, b"4", b"5"], timeout=20,
                       message="a, d and e replicated, b and c not")
            assert p.mget(keys) == [b"1", b"2", b"3", b"4", b"5"]
            p.execute_command("DEBUG", "LOADAOF")
            assert p.mget(keys) == [b"1", None, b"3", b"4", None]
