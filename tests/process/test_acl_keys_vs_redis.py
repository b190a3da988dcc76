"""Key permissions for every command's key positions, against a real redis-server 7.0.15.

A user may read keys starting with R and write keys starting with W (`%R~R*`, `%W~W*`).
For every command and subcommand of our table that takes keys, a call is built with each
key position filled, first with read-only names, then with write-only names, then with
names that need both; ACL DRYRUN on both servers must give the same answer (OK, or which
key is refused). That checks at once where each command's keys are and what access each
key needs (read, write or both), as Redis's key specs say.
"""
from __future__ import annotations

import pytest
import redis

import cluster.commands.registry  # noqa: F401  (registers every command in TABLE)
from cluster.execution.table import TABLE
from tests.support import real_redis

USER = ["reset", "on", "nopass", "+@all", "%R~R*", "%W~W*", "~B*"]

# Calls for commands whose keys move with their arguments (a count, a keyword).
MOVABLE = {
    "sort": [["sort", "{k}", "store", "{k}"], ["sort", "{k}"]],
    "sort_ro": [["sort_ro", "{k}"]],
    "eval": [["eval", "return 1", "2", "{k}", "{k}", "a"]],
    "evalsha": [["evalsha", "a" * 40, "1", "{k}"]],
    "eval_ro": [["eval_ro", "return 1", "1", "{k}"]],
    "evalsha_ro": [["evalsha_ro", "a" * 40, "1", "{k}"]],
    "zunionstore": [["zunionstore", "{k}", "2", "{k}", "{k}"]],
    "zinterstore": [["zinterstore", "{k}", "2", "{k}", "{k}"]],
    "zdiffstore": [["zdiffstore", "{k}", "2", "{k}", "{k}"]],
    "zunion": [["zunion", "2", "{k}", "{k}"]],
    "zinter": [["zinter", "2", "{k}", "{k}"]],
    "zdiff": [["zdiff", "2", "{k}", "{k}"]],
    "zintercard": [["zintercard", "2", "{k}", "{k}"]],
    "sintercard": [["sintercard", "2", "{k}", "{k}"]],
    "lmpop": [["lmpop", "2", "{k}", "{k}", "left"]],
    "blmpop": [["blmpop", "0", "2", "{k}", "{k}", "left"]],
    "zmpop": [["zmpop", "2", "{k}", "{k}", "min"]],
    "bzmpop": [["bzmpop", "0", "2", "{k}", "{k}", "min"]],
    "migrate": [["migrate", "h", "1", "", "0", "5", "keys", "{k}", "{k}"],
                ["migrate", "h", "1", "{k}", "0", "5"]],
}


def _dryrun(conn, argv) -> bytes | str:
    try:
        return conn.execute_command("ACL", "DRYRUN", "keys", *argv)
    except redis.ResponseError as err:
        return f"error: {err}"


def _calls():
    """(command name, argv template with {k} at key positions) for every keyed command."""
    out = []
    commands = []
    for cmd in TABLE.values():
        commands.extend(cmd.subcommands.values() if cmd.subcommands else [cmd])
    for cmd in sorted(commands, key=lambda c: c.name):
        if cmd.first_key <= 0 and not cmd.movablekeys:
            continue
        if cmd.name in MOVABLE:
            out.extend((cmd.name, call) for call in MOVABLE[cmd.name])
            continue
        if cmd.movablekeys:
            continue
        words = cmd.name.split("|")
        length = max(abs(cmd.arity), len(words) + 1)
        argv = words + [f"arg{i}" for i in range(len(words), length)]
        if cmd.last_key < 0 and cmd.step > 0:       # a key list: give it two keys
            argv += [f"arg{i}" for i in range(length, length + cmd.step)]
        for pos in cmd.key_positions(argv):
            argv[pos] = "{k}"
        out.append((cmd.name, argv))
    return out


@pytest.fixture(scope="module")
def conns(module_node):
    with real_redis() as real:
        conns = [redis.Redis(port=s.port, socket_timeout=10) for s in (module_node, real)]
        try:
            for conn in conns:
                conn.execute_command("ACL", "SETUSER", "keys", *USER)
            yield conns
        finally:
            for conn in conns:
                conn.close()


@pytest.mark.parametrize("prefix", ["R", "W", "B"])
def test_every_keyed_command_needs_the_access_redis_needs(conns, prefix):
    problems = []
    calls = _calls()
    assert len(calls) > 100                          # every keyed command is here
    for name, template in calls:
        names = iter(f"{prefix}key{i}" for i in range(100))
        argv = [next(names) if a == "{k}" else a for a in template]
        ours, real = (_dryrun(conn, argv) for conn in conns)
        if ours != real:
            problems.append(f"{' '.join(argv)}: ours={ours!r} redis={real!r}")
    assert not problems, f"{len(problems)} differ:\n" + "\n".join(problems)
