"""gossip/nodes_conf.py: CLUSTER NODES lines, nodes.conf text, parse, lock, atomic save.

The *_7015 strings were captured from real redis-server 7.0.15 (3 primaries + 1 replica
with cluster-announce-hostname, an open migrating/importing slot, a killed primary, a
MEET to a dead port) with redis-cli and from the nodes.conf files it wrote.
"""
import os

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import gossip.nodes_conf as nc
from gossip.nodes_conf import (NodesConfError, NodesConfFile, NodesConfLockError,
                               format_config, format_nodes, node_line, parse_config)
from gossip.records import Flag, NodeRecord, SlotBitmap

A = "86ebd15ffed6a347d8468c25ef978b5fa4ef8c80"
B = "fe52fde01cc7138f0131136ec3dd39dbdc6cc7bc"
C = "9d4c14e75cc85a0511e0de5f1080ef9dc8fefd1b"
D = "f82f523fd38ebb44672d7c47dc69dec303364dae"
H = "a9ba4c97b41fc4a94332384458b3666d84a10feb"

NODES_A_7015 = (
    f"{A} 127.0.0.1:46345@56345,host-a myself,master - 0 1795243695000 1 connected 0-5460 "
    f"[100->-{B}] [5461-<-{B}]\n"
    f"{B} 127.0.0.1:35901@45901 master - 0 1795243696955 2 connected 5461-10922\n"
    f"{D} 127.0.0.1:34175@44175,replica-host.example slave {A} 0 1795243696955 1 connected\n"
    f"{C} 127.0.0.1:44725@54725 master,fail - 1795243693038 1795243692035 3 disconnected "
    "10923-16383\n")

NODES_B_7015 = (
    f"{A} 127.0.0.1:46345@56345,host-a master - 0 1795243688925 1 connected 0-5460\n"
    f"{B} 127.0.0.1:35901@45901 myself,master - 0 1795243688000 2 connected 5461-10922 "
    f"[100-<-{A}]\n"
    f"{D} 127.0.0.1:34175@44175,replica-host.example slave {A} 0 1795243689025 1 connected\n"
    f"{C} 127.0.0.1:44725@54725 master - 0 1795243689126 3 connected 10923-16383\n")

# The replica's own view: myself,slave shows its primary's config epoch (1).
NODES_D_7015 = (
    f"{A} 127.0.0.1:46345@56345,host-a master - 0 1795243688918 1 connected 0-5460\n"
    f"{C} 127.0.0.1:44725@54725 master - 0 1795243688517 3 connected 10923-16383\n"
    f"{D} 127.0.0.1:34175@44175,replica-host.example myself,slave {A} 0 1795243688000 1 "
    "connected\n"
    f"{B} 127.0.0.1:35901@45901 master - 0 1795243688517 2 connected 5461-10922\n")

HANDSHAKE_LINE_7015 = f"{H} 127.0.0.1:1@10001 handshake - 0 0 0 disconnected"
FRESH_NODES_7015 = f"{A} :46345@56345 myself,master - 0 0 0 connected\n"
FRESH_CONF_7015 = f"{A} :0@0 myself,master - 0 0 0 connected\nvars currentEpoch 0 lastVoteEpoch 0\n"

CONF_A_7015 = (
    f"{A} 127.0.0.1:46345@56345,host-a myself,master - 0 1795243694000 1 connected 0-5460 "
    f"[100->-{B}] [5461-<-{B}]\n"
    f"{B} 127.0.0.1:35901@45901 master - 0 1795243695950 2 connected 5461-10922\n"
    f"{D} 127.0.0.1:34175@44175,replica-host.example slave {A} 0 1795243695950 1 connected\n"
    f"{C} 127.0.0.1:44725@54725 master,fail - 1795243693038 1795243692035 3 disconnected "
    "10923-16383\n"
    "vars currentEpoch 3 lastVoteEpoch 0\n")

SHARD = "4f2a" + "0" * 36


def bitmap(*ranges):
    bm = SlotBitmap()
    for a, b in ranges:
        for s in range(a, b + 1):
            bm.add(s)
    return bm


def view_of_a():
    return [
        NodeRecord(id=A, ip="127.0.0.1", port=46345, cport=56345, hostname="host-a",
                   flags=Flag.MYSELF | Flag.MASTER, pong_received=1795243695000,
                   config_epoch=1, slots=bitmap((0, 5460))),
        NodeRecord(id=B, ip="127.0.0.1", port=35901, cport=45901, flags=Flag.MASTER,
                   pong_received=1795243696955, config_epoch=2, slots=bitmap((5461, 10922)),
                   link=3, link_up=True),
        NodeRecord(id=D, ip="127.0.0.1", port=34175, cport=44175,
                   hostname="replica-host.example", flags=Flag.SLAVE, primary_id=A,
                   pong_received=1795243696955, config_epoch=0, link=4, link_up=True),
        NodeRecord(id=C, ip="127.0.0.1", port=44725, cport=54725,
                   flags=Flag.MASTER | Flag.FAIL, ping_sent=1795243693038,
                   pong_received=1795243692035, config_epoch=3,
                   slots=bitmap((10923, 16383))),
    ]


def with_links(text):
    """Records parsed from a CLUSTER NODES text, with link state as the text shows."""
    records = parse_config(text).records
    states = [line.split()[7] for line in text.splitlines()]
    for i, (r, state) in enumerate(zip(records, states)):
        r.link = i + 1 if state == "connected" else None
    return records


# -- CLUSTER NODES shapes against real 7.0.15 -----------------------------------------

def test_cluster_nodes_matches_real_redis_exactly():
    text = format_nodes(view_of_a(), A, 1795243697000, {100: B}, {5461: B})
    assert text == NODES_A_7015


def test_replica_line_shows_the_primary_epoch():
    records = view_of_a()
    line = node_line(records[2], 0, nodes={r.id: r for r in records})
    assert line.split()[6] == "1"
    assert node_line(records[2], 0).split()[6] == "0"     # primary unknown: its own


@pytest.mark.parametrize("text,myself,migrating,importing", [
    (NODES_A_7015, A, {100: B}, {5461: B}),
    (NODES_B_7015, B, {}, {100: A}),
    (NODES_D_7015, D, {}, {}),
])
def test_parse_then_format_reproduces_real_output(text, myself, migrating, importing):
    cfg = parse_config(text)
    assert cfg.myself_id == myself
    assert (cfg.migrating, cfg.importing) == (migrating, importing)
    assert format_nodes(with_links(text), myself, 0, migrating, importing) == text


def test_fresh_node_and_handshake_lines():
    me = NodeRecord(id=A, port=46345, cport=56345, flags=Flag.MYSELF | Flag.MASTER)
    assert format_nodes([me], A, 0) == FRESH_NODES_7015
    hs = NodeRecord(id=H, ip="127.0.0.1", port=1, cport=10001, flags=Flag.HANDSHAKE)
    assert node_line(hs, 0) == HANDSHAKE_LINE_7015
    assert node_line(NodeRecord(id=H), 0) == f"{H} :0@0 noflags - 0 0 0 disconnected"


def test_myself_by_id_and_open_slots_only_on_myself():
    rec = NodeRecord(id=A, ip="10.0.0.1", port=7000, cport=17000, flags=Flag.MASTER,
                     slots=bitmap((0, 0), (2, 4), (16383, 16383)))
    other = node_line(rec, 0, migrating={3: B}, importing={1: B}, myself_id=B)
    assert other == f"{A} 10.0.0.1:7000@17000 master - 0 0 0 disconnected 0 2-4 16383"
    mine = node_line(rec, 0, migrating={3: B, 9: C}, importing={3: C, 1: B}, myself_id=A)
    assert mine.endswith(f"connected 0 2-4 16383 [1-<-{B}] [3->-{B}] [3-<-{C}] [9->-{C}]")


def test_ipv6_address_unbracketed():
    rec = NodeRecord(id=A, ip="::1", port=7000, cport=17000, flags=Flag.MYSELF | Flag.MASTER)
    line = node_line(rec, 0)
    assert line.split()[1] == "::1:7000@17000"
    back = parse_config(line + "\n").records[0]
    assert (back.ip, back.port, back.cport) == ("::1", 7000, 17000)


# -- nodes.conf text --------------------------------------------------------------------

def test_format_config_like_real_file_plus_shard_id():
    records = view_of_a()
    records[0].pong_received = 1795243694000
    records[1].pong_received = records[2].pong_received = 1795243695950
    assert format_config(records, A, 3, 0, {100: B}, {5461: B}) == CONF_A_7015
    records[0].shard_id = SHARD
    records[1].shard_id = SHARD.replace("4", "5")
    lines = format_config(records, A, 3, 0).splitlines()
    assert lines[0].split()[1] == f"127.0.0.1:46345@56345,host-a,shard-id={SHARD}"
    assert lines[1].split()[1] == f"127.0.0.1:35901@45901,,shard-id={SHARD.replace('4', '5')}"
    assert lines[2].split()[1] == "127.0.0.1:34175@44175,replica-host.example"
    # CLUSTER NODES never shows the aux fields
    assert "shard-id" not in format_nodes(records, A, 0)


def test_format_config_skips_handshake_nodes_and_ends_with_vars():
    records = view_of_a() + [NodeRecord(id=H, ip="127.0.0.1", port=1, cport=10001,
                                        flags=Flag.HANDSHAKE)]
    text = format_config(records, A, 7, 5)
    assert H not in text
    assert text.endswith("\nvars currentEpoch 7 lastVoteEpoch 5\n")
    assert H in format_nodes(records, A, 0)


def test_real_config_files_parse():
    cfg = parse_config(CONF_A_7015)
    assert cfg.myself_id == A and cfg.current_epoch == 3 and cfg.last_vote_epoch == 0
    assert cfg.migrating == {100: B} and cfg.importing == {5461: B}
    by_id = {r.id: r for r in cfg.records}
    assert [r.id for r in cfg.records] == [A, B, D, C]
    assert by_id[A].flags == Flag.MYSELF | Flag.MASTER and by_id[A].hostname == "host-a"
    assert len(by_id[A].slots) == 5461 and 5460 in by_id[A].slots
    assert by_id[D].primary_id == A and by_id[D].flags == Flag.SLAVE
    assert by_id[C].flags == Flag.MASTER | Flag.FAIL and by_id[C].ping_sent == 1795243693038
    assert by_id[C].config_epoch == 3 and len(by_id[C].slots) == 16384 - 10923
    fresh = parse_config(FRESH_CONF_7015)
    assert fresh.myself_id == A and (fresh.records[0].ip, fresh.records[0].port) == ("", 0)


def test_redis_72_style_aux_fields_parse():
    line = (f"{A} 127.0.0.1:30001@40001,,tls-port=0,shard-id={SHARD} myself,master - 0 0 1 "
            "connected 0-5460\nvars currentEpoch 6 lastVoteEpoch 0\n")
    cfg = parse_config(line)
    assert cfg.records[0].shard_id == SHARD and cfg.records[0].hostname == ""
    assert cfg.current_epoch == 6


def test_old_format_without_bus_port_and_blank_lines():
    cfg = parse_config(f"\n{A} 127.0.0.1:7000 myself,master - 0 0 0 connected\n\n")
    assert cfg.records[0].cport == 17000
    assert cfg.current_epoch == 0


@pytest.mark.parametrize("text,lineno,reason", [
    (f"{A} 127.0.0.1:1@2 myself,master,bogus - 0 0 1 connected\n", 1, "unknown node flag"),
    (f"{A[:-1]} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n", 1, "bad node id"),
    (f"{A.upper()} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n", 1, "bad node id"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 0-99999\n", 1, "bad slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 16384\n", 1, "bad slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 10-5\n", 1, "bad slot range"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected -5\n", 1, "bad slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 1-2-3\n", 1, "bad slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 1-5 3\n", 1, "already assigned"),
    (f"{A} 127.0.0.1:1@2 master - 0 0 1 connected\n", 0, "no myself line"),
    ("vars currentEpoch 1 lastVoteEpoch 0\n", 0, "no myself line"),
    ("garbage\n", 1, "expected at least 8 fields"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n"
     f"{A} 127.0.0.1:3@4 master - 0 0 1 connected\n", 2, "duplicate node id"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n"
     f"{B} 127.0.0.1:3@4 myself,master - 0 0 1 connected\n", 2, "more than one myself"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 0\n"
     f"{B} 127.0.0.1:3@4 master - 0 0 1 connected 0\n", 2, "already assigned"),
    (f"{A} 127.0.0.1:1@2 myself,master - x 0 1 connected\n", 1, "bad ping-sent"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 -1 1 connected\n", 1, "bad pong-received"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 18446744073709551616 connected\n", 1,
     "bad config epoch"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 maybe\n", 1, "bad link state"),
    (f"{A} 127.0.0.1:70000@2 myself,master - 0 0 1 connected\n", 1, "bad port"),
    (f"{A} 127.0.0.1:1@x myself,master - 0 0 1 connected\n", 1, "bad bus port"),
    (f"{A} 300.0.0.1:1@2 myself,master - 0 0 1 connected\n", 1, "bad ip address"),
    (f"{A} localhost-1@2 myself,master - 0 0 1 connected\n", 1, "bad address"),
    (f"{A} 127.0.0.1:1@2,h!st myself,master - 0 0 1 connected\n", 1, "bad hostname"),
    (f"{A} 127.0.0.1:1@2,,color=red myself,master - 0 0 1 connected\n", 1, "unknown aux"),
    (f"{A} 127.0.0.1:1@2,,shard-id=xyz myself,master - 0 0 1 connected\n", 1, "bad shard id"),
    (f"{A} 127.0.0.1:1@2 myself,slave zzz 0 0 1 connected\n", 1, "bad primary id"),
    (f"{A} 127.0.0.1:1@2 myself,slave {A} 0 0 1 connected\n", 1, "cannot replicate itself"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected [5->-{B}\n", 1, "bad open slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected [16384->-{B}]\n", 1, "bad slot"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected [5->-{B}] [5->-{C}]\n", 1,
     "opened twice"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n"
     f"{B} 127.0.0.1:3@4 master - 0 0 1 connected [5-<-{A}]\n", 2, "not myself"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\nvars currentEpoch\n", 2,
     "name/value pairs"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\nvars foo 1\n", 2, "unknown variable"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\nvars currentEpoch -1\n", 2,
     "bad currentEpoch"),
    (f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\nvars currentEpoch 1\n"
     "vars lastVoteEpoch 1\n", 3, "more than one vars"),
])
def test_corrupt_configs(text, lineno, reason):
    with pytest.raises(NodesConfError) as info:
        parse_config(text)
    err = info.value
    assert err.lineno == lineno
    assert reason in err.reason
    if lineno:
        assert err.line == text.splitlines()[lineno - 1]
        assert f"line {lineno}: " in err.report("/data/nodes.conf")
    assert err.report("/data/nodes.conf").startswith(
        'Unrecoverable error: corrupted cluster config file "/data/nodes.conf"')


def test_invalid_utf8_names_the_line():
    data = f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n".encode() + b"\xff\xfe x\n"
    with pytest.raises(NodesConfError) as info:
        parse_config(data)
    assert info.value.lineno == 2 and "UTF-8" in info.value.reason


def test_error_report_text():
    err = NodesConfError(4, "bad line here", "unknown node flag 'bogus'")
    assert err.report("nodes-7000.conf") == (
        'Unrecoverable error: corrupted cluster config file "nodes-7000.conf" line 4: '
        "unknown node flag 'bogus' (line: 'bad line here')")
    assert NodesConfError(0, "", "no myself line").report("n.conf") == (
        'Unrecoverable error: corrupted cluster config file "n.conf": no myself line')


# -- round trips ----------------------------------------------------------------------

HEX = "0123456789abcdef"
node_ids = st.text(alphabet=HEX, min_size=40, max_size=40)
FLAG_CHOICES = [Flag.MASTER, Flag.SLAVE, Flag.MASTER | Flag.PFAIL, Flag.MASTER | Flag.FAIL,
                Flag.SLAVE | Flag.FAIL | Flag.NOFAILOVER, Flag.NOADDR | Flag.MASTER, Flag(0)]


@st.composite
def configs(draw):
    ids = draw(st.lists(node_ids, min_size=1, max_size=6, unique=True))
    free = list(range(16384))
    records = []
    for i, node_id in enumerate(ids):
        flags = draw(st.sampled_from(FLAG_CHOICES))
        if i == 0:
            flags = (flags & ~Flag.SLAVE) | Flag.MYSELF | Flag.MASTER
        slots = SlotBitmap()
        if not flags & Flag.SLAVE:
            for slot in draw(st.sets(st.sampled_from(free[:400] + free[-50:]), max_size=30)):
                if slot in free:
                    free.remove(slot)
                    slots.add(slot)
        records.append(NodeRecord(
            id=node_id,
            ip=draw(st.sampled_from(["", "127.0.0.1", "10.1.2.3", "::1", "fe80::1"])),
            port=draw(st.integers(0, 55535)), cport=draw(st.integers(0, 65535)),
            hostname=draw(st.from_regex(r"[a-z0-9.\-]{0,12}", fullmatch=True)),
            flags=flags, ping_sent=draw(st.integers(0, 2**63)),
            pong_received=draw(st.integers(0, 2**63)),
            config_epoch=draw(st.integers(0, 2**64 - 1)), slots=slots,
            shard_id=draw(st.one_of(st.just(""), node_ids))))
    primaries = [r for r in records if not r.flags & Flag.SLAVE]
    for r in records:
        if r.flags & Flag.SLAVE and draw(st.booleans()):
            primary = draw(st.sampled_from(primaries))
            r.primary_id = primary.id
            r.config_epoch = primary.config_epoch
    order = draw(st.permutations(records))
    open_ids = st.sampled_from(ids)
    migrating = draw(st.dictionaries(st.integers(0, 16383), open_ids, max_size=3))
    importing = draw(st.dictionaries(st.integers(0, 16383), open_ids, max_size=3))
    return (order, ids[0], draw(st.integers(0, 2**64 - 1)), draw(st.integers(0, 2**64 - 1)),
            migrating, importing)


FIELDS = ("id", "ip", "port", "cport", "hostname", "flags", "primary_id", "ping_sent",
          "pong_received", "config_epoch", "shard_id")


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_config_round_trip(cfg):
    records, myself, current, last_vote, migrating, importing = cfg
    text = format_config(records, myself, current, last_vote, migrating, importing)
    saved = parse_config(text)
    assert saved.myself_id == myself
    assert (saved.current_epoch, saved.last_vote_epoch) == (current, last_vote)
    assert (saved.migrating, saved.importing) == (migrating, importing)
    assert len(saved.records) == len(records)
    for before, after in zip(records, saved.records):
        for field in FIELDS:
            assert getattr(before, field) == getattr(after, field), field
        assert list(before.slots) == list(after.slots)
    assert format_config(saved.records, myself, current, last_vote, migrating,
                         importing) == text


@settings(max_examples=200)
@given(st.text(max_size=300))
def test_random_text_parses_or_raises_nodesconferror(text):
    try:
        parse_config(text)
    except NodesConfError as err:
        assert err.report("x").startswith("Unrecoverable error")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_file_parses_or_raises_nodesconferror(data):
    text = list(CONF_A_7015)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(text) - 1))
        text[i] = data.draw(st.sampled_from(list(" \n,-:@[]<>x0123456789abcdefz")))
    try:
        parse_config("".join(text))
    except NodesConfError:
        pass


# -- the file: lock, load, save ---------------------------------------------------------

def test_lock_excludes_a_second_user(tmp_path):
    path = str(tmp_path / "nodes.conf")
    first, second = NodesConfFile(path), NodesConfFile(path)
    first.lock()
    with pytest.raises(NodesConfLockError) as info:
        second.lock()
    assert str(info.value) == (
        f"Sorry, the cluster configuration file {path} is already used by a different "
        "Redis Cluster node. Please make sure that different nodes use different cluster "
        "configuration files.")
    first.close()
    second.lock()
    assert second.locked
    second.close()


def test_lock_survives_save(tmp_path):
    path = str(tmp_path / "nodes.conf")
    with NodesConfFile(path) as owner:
        owner.lock()
        owner.save(FRESH_CONF_7015, fsync=False)
        owner.save(CONF_A_7015, fsync=True)
        with pytest.raises(NodesConfLockError):
            NodesConfFile(path).lock()
        assert NodesConfFile(path).load().myself_id == A
    other = NodesConfFile(path)
    other.lock()
    other.close()


def test_load_missing_and_empty(tmp_path):
    path = tmp_path / "nodes.conf"
    f = NodesConfFile(str(path))
    assert f.load() is None
    f.lock()                                   # creates an empty file, like Redis
    assert path.exists() and f.load() is None
    f.close()


def test_save_then_load(tmp_path):
    path = str(tmp_path / "nodes.conf")
    f = NodesConfFile(path)
    text = format_config(view_of_a(), A, 3, 1, {100: B}, {5461: B})
    f.save(text, fsync=True)
    with open(path) as fh:
        assert fh.read() == text
    cfg = f.load()
    assert cfg.myself_id == A and cfg.last_vote_epoch == 1 and cfg.migrating == {100: B}
    assert sorted(os.listdir(tmp_path)) == ["nodes.conf"]


def test_load_corrupt_names_the_file(tmp_path):
    path = tmp_path / "nodes.conf"
    path.write_text(CONF_A_7015.replace("master,fail", "master,bogus"))
    with pytest.raises(NodesConfError) as info:
        NodesConfFile(str(path)).load()
    assert info.value.lineno == 4
    assert info.value.report().startswith(
        f'Unrecoverable error: corrupted cluster config file "{path}" line 4: '
        "unknown node flag 'bogus'")


def test_save_failure_leaves_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / "nodes.conf")
    f = NodesConfFile(path)
    f.lock()
    f.save(CONF_A_7015, fsync=False)
    real_write = os.write
    calls = []

    def failing_write(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))        # a short write...
        raise OSError(28, "No space left on device")     # ...then the disk is full

    monkeypatch.setattr(nc.os, "write", failing_write)
    with pytest.raises(OSError):
        f.save(FRESH_CONF_7015 * 50, fsync=True)
    monkeypatch.undo()
    assert len(calls) == 2
    with open(path) as fh:
        assert fh.read() == CONF_A_7015
    assert sorted(os.listdir(tmp_path)) == ["nodes.conf"]      # temp file removed
    with pytest.raises(NodesConfLockError):                    # still ours
        NodesConfFile(path).lock()
    f.save(FRESH_CONF_7015, fsync=False)
    assert f.load().current_epoch == 0
    f.close()


def test_save_failure_at_rename(tmp_path, monkeypatch):
    path = str(tmp_path / "nodes.conf")
    f = NodesConfFile(path)
    f.save(CONF_A_7015, fsync=False)

    def no_rename(src, dst):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(nc.os, "replace", no_rename)
    with pytest.raises(OSError):
        f.save(FRESH_CONF_7015, fsync=False)
    monkeypatch.undo()
    assert open(path).read() == CONF_A_7015
    assert sorted(os.listdir(tmp_path)) == ["nodes.conf"]


def test_fsync_of_file_and_directory_only_when_asked(tmp_path, monkeypatch):
    path = str(tmp_path / "nodes.conf")
    f = NodesConfFile(path)
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(nc.os, "fsync", spy)
    f.save(FRESH_CONF_7015, fsync=False)
    assert synced == []
    f.save(FRESH_CONF_7015, fsync=True)
    assert synced == [False, True]          # the file, then its directory
