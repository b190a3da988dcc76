"""Our command table against a real redis-server 7.0.15, command by command.

For every command and subcommand in `cluster.execution.table.TABLE`, COMMAND INFO on our node must
agree with the real server on: name, arity, flags (as a set), first/last/step, ACL
categories (as a set), and key specs where the real ones are simple (index + range).
Every mismatch is reported at once.
"""
from __future__ import annotations

import redis

import cluster.commands.registry  # noqa: F401  (registers every command in TABLE)
from cluster.execution.table import TABLE
from tests.support import raw_replies, real_redis

# Commands we implement that Redis 7.0.15 does not have, each with the reason.
NOT_IN_REDIS_7_0 = {
    "client|setinfo": "added in Redis 7.2 (redis-py sends it on connect)",
    "client|no-touch": "added in Redis 7.2",
    "cluster|myshardid": "added in Redis 7.2 (issue 3 asks for it)",
}


def raw_conn(port: int, protocol: int = 2):
    """A redis-py connection whose replies are not post-processed by command callbacks."""
    conn = redis.Connection(port=port, protocol=protocol, socket_timeout=10)
    conn.connect()
    return conn


def query(conn, *args):
    conn.send_command(*args)
    return conn.read_response()


def _pairs(value) -> dict:
    if isinstance(value, dict):
        return value
    return dict(zip(value[::2], value[1::2]))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def simple_specs(specs: list) -> list | None:
    """Key specs as comparable tuples, or None if any is not index + range."""
    out = []
    for spec in specs:
        spec = _pairs(spec)
        bs, fk = _pairs(spec[b"begin_search"]), _pairs(spec[b"find_keys"])
        if bs[b"type"] != b"index" or fk[b"type"] != b"range":
            return None
        fks = _pairs(fk[b"spec"])
        out.append((frozenset(_text(f) for f in spec[b"flags"]),
                    _pairs(bs[b"spec"])[b"index"],
                    fks[b"lastkey"], fks[b"keystep"], fks[b"limit"]))
    return out


def compare(name: str, ours: list, real: list) -> list[str]:
    problems = []

    def check(field, a, b):
        if a != b:
            problems.append(f"{name}: {field} ours={a!r} redis={b!r}")

    check("name", _text(ours[0]), _text(real[0]))
    check("arity", ours[1], real[1])
    check("flags", sorted(_text(f) for f in ours[2]), sorted(_text(f) for f in real[2]))
    check("first/last/step", tuple(ours[3:6]), tuple(real[3:6]))
    check("acl categories", sorted(_text(c) for c in ours[6]),
          sorted(_text(c) for c in real[6]))
    real_specs = simple_specs(real[8])
    if real_specs is not None:
        ours_specs = simple_specs(ours[8])
        check("key specs", ours_specs, real_specs)
    return problems


def all_names() -> list[str]:
    names = []
    for cmd in TABLE.values():
        names.append(cmd.name)
        names.extend(sub.name for sub in cmd.subcommands.values())
    return names


def test_every_command_matches_redis_7_0_15(node):
    with real_redis() as real_server:
        ours_conn, real_conn = raw_conn(node.port), raw_conn(real_server.port)
        try:
            version = _pairs(query(real_conn, "HELLO"))[b"version"]
            assert version == b"7.0.15", f"the yardstick must be 7.0.15, got {version!r}"
            names = all_names()
            listed = query(ours_conn, "COMMAND", "LIST")
            ours_info = query(ours_conn, "COMMAND", "INFO", *names)
            real_info = query(real_conn, "COMMAND", "INFO", *names)
        finally:
            ours_conn.disconnect()
            real_conn.disconnect()
    assert sorted(_text(n) for n in listed) == sorted(names)
    problems = []
    for name, ours, real in zip(names, ours_info, real_info):
        if ours is None:
            problems.append(f"{name}: our node does not describe it (COMMAND INFO nil)")
        elif real is None:
            if name not in NOT_IN_REDIS_7_0:
                problems.append(f"{name}: not a Redis 7.0.15 command (add it to "
                                f"NOT_IN_REDIS_7_0 with a reason, or remove it)")
        else:
            problems.extend(compare(name, ours, real))
    assert len(ours_info) == len(names) == len(real_info)
    assert not problems, f"{len(problems)} mismatches with Redis 7.0.15:\n" + \
        "\n".join(problems)


def test_compare_reports_every_field():
    """The comparison itself: each differing field is named (so failures are useful)."""
    spec = [b"flags", [b"RO"], b"begin_search", [b"type", b"index", b"spec", [b"index", 1]],
            b"find_keys", [b"type", b"range", b"spec",
                           [b"lastkey", 0, b"keystep", 1, b"limit", 0]]]
    real = [b"get", 2, [b"readonly", b"fast"], 1, 1, 1, [b"@read", b"@fast"], [], [spec], []]
    assert compare("get", list(real), real) == []
    bad_spec = [x if x != [b"RO"] else [b"RW"] for x in spec]
    ours = [b"get", -2, [b"readonly"], 1, -1, 1, [b"@read", b"@slow"], [], [bad_spec], []]
    fields = [p.split(":")[1].split(" ours=")[0].strip() for p in compare("get", ours, real)]
    assert fields == ["arity", "flags", "first/last/step", "acl categories", "key specs"]


def getkeys_probes() -> list[tuple[str, list[str]]]:
    """(command name, COMMAND GETKEYS call) for every command with keys, at its minimum
    length and beyond."""
    probes = []
    for cmd in TABLE.values():
        for one in (cmd, *cmd.subcommands.values()):
            if (one.first_key == 0 and not one.movablekeys) or one.name in NOT_IN_REDIS_7_0:
                continue
            words = one.name.split("|")
            need = abs(one.arity)
            lengths = (need,) if one.arity > 0 else (need, need + 1, need + 3)
            for n in lengths:
                args = words + [f"a{i}" for i in range(len(words), n)]
                probes.append((one.name, ["COMMAND", "GETKEYS", *args]))
    return probes


def test_getkeys_agrees_with_redis_for_every_keyed_command(node):
    probes = [call for _, call in getkeys_probes()]
    assert probes, "no keyed commands in the table"
    with real_redis() as real_server:
        real = raw_replies(real_server.port, probes)
    ours = raw_replies(node.port, probes)
    problems = [f"{' '.join(p[2:])}: ours={a!r} redis={b!r}"
                for p, a, b in zip(probes, ours, real) if a != b]
    assert not problems, f"{len(problems)} COMMAND GETKEYS mismatches:\n" + "\n".join(problems)


def test_getkeysandflags_agrees_with_redis_for_every_keyed_command(node):
    """The flags too: key specs where they say it all, the native key finders (SET's GET,
    BITFIELD's subcommands, SORT's STORE, MIGRATE's KEYS) where Redis uses them."""
    probes = [["COMMAND", "GETKEYSANDFLAGS", *call[2:]] for _, call in getkeys_probes()]
    with real_redis() as real_server:
        real = raw_replies(real_server.port, probes)
    ours = raw_replies(node.port, probes)
    problems = [f"{' '.join(p[2:])}: ours={a!r} redis={b!r}"
                for p, a, b in zip(probes, ours, real) if a != b]
    assert not problems, (f"{len(problems)} COMMAND GETKEYSANDFLAGS mismatches:\n"
                          + "\n".join(problems))
