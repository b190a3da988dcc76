"""The sentinel state machine without I/O: SDOWN, ODOWN, votes, replica selection, config."""
from __future__ import annotations

import random

import pytest

from cluster.resp.reply import ReplyError
from sentinel import commands, config
from sentinel.effects import Command, Connect, Event
from sentinel.select import candidates
from sentinel.state import SentinelState

T0 = 1_000_000
MASTER = ("10.0.0.1", 6379)


def make(down_after=1000, quorum=2):
    st = SentinelState(port=26379, rng=random.Random(1), now=T0)
    m = st.monitor("mymaster", *MASTER, quorum, T0)
    m.down_after = down_after
    return st, m


def connect_all(st, now):
    effects = st.tick(now)
    for eff in effects:
        if isinstance(eff, Connect):
            st.on_link(eff.addr, True, now)
    return effects


def events(effects, name):
    return [e.payload for e in effects if isinstance(e, Event) and e.name == name]


def test_connect_then_ping_and_info():
    st, m = make()
    effects = st.tick(T0 + 1000)
    assert Connect(MASTER, True, None) in effects
    effects = st.on_link(MASTER, True, T0 + 1000)
    assert [e.argv for e in effects if isinstance(e, Command)] == [("PING",)]
    effects = st.tick(T0 + 1100)
    argvs = [e.argv[0] for e in effects if isinstance(e, Command)]
    assert "INFO" in argvs and "PUBLISH" in argvs


def test_sdown_after_down_after_ms_without_valid_reply():
    st, m = make(down_after=1000)
    connect_all(st, T0 + 100)
    st.on_reply(MASTER, ("ping", m), b"PONG", T0 + 110)
    assert not events(st.tick(T0 + 1000), "+sdown")
    st.on_link(MASTER, False, T0 + 1050)           # the instance vanished
    assert not events(st.tick(T0 + 1100), "+sdown")   # 990 ms since the last PONG
    assert events(st.tick(T0 + 1200), "+sdown") == ["master mymaster 10.0.0.1 6379"]
    assert "s_down" in m.flags


def test_error_reply_to_ping_is_not_valid():
    st, m = make(down_after=1000)
    connect_all(st, T0 + 100)
    st.on_reply(MASTER, ("ping", m), ReplyError("ERR nope"), T0 + 110)
    link = st.links[MASTER]
    assert link.act_ping_time != 0                  # still waiting for a valid reply


def test_odown_needs_quorum_and_resets_when_replies_stop():
    st, m = make(down_after=1000, quorum=2)
    si = st.add_sentinel(m, "10.0.0.2", 26379, "b" * 40, T0)
    m.flags.add("s_down")
    m.s_down_since = T0
    st._check_odown(m, T0, [])
    assert "o_down" not in m.flags
    st.on_reply(si.addr, ("down", si), [1, b"*", 0], T0 + 10)
    eff = []
    st._check_odown(m, T0 + 20, eff)
    assert "o_down" in m.flags
    assert events(eff, "+odown") == ["master mymaster 10.0.0.1 6379 #quorum 2/2"]
    st._ask_master_state(m, T0 + 6000, False, [])   # no reply for > 5 s: forgotten
    st._check_odown(m, T0 + 6000, eff)
    assert "o_down" not in m.flags


def test_one_vote_per_epoch():
    st, m = make()
    reply, eff = st.is_master_down(*MASTER, 5, "a" * 40, T0)
    assert reply == [0, b"a" * 40, 5]
    assert events(eff, "+vote-for-leader") == ["a" * 40 + " 5"]
    assert st.current_epoch == 5
    reply, eff = st.is_master_down(*MASTER, 5, "c" * 40, T0 + 1)
    assert reply == [0, b"a" * 40, 5] and not events(eff, "+vote-for-leader")
    reply, _ = st.is_master_down(*MASTER, 6, "c" * 40, T0 + 2)
    assert reply == [0, b"c" * 40, 6]
    reply, _ = st.is_master_down("1.2.3.4", 1, 7, "*", T0 + 3)
    assert reply == [0, b"*", 0]


def test_replica_selection_order_and_exclusions():
    st, m = make()
    now = T0 + 1000
    specs = [(6380, 100, 10, "b"), (6381, 100, 50, "c"), (6382, 10, 1, "z"),
             (6383, 0, 999, "a"), (6384, 100, 50, "a")]
    for port, prio, offset, rid in specs:
        r = st.add_replica(m, "10.0.0.1", port, now)
        r.slave_priority, r.slave_repl_offset, r.runid = prio, offset, rid * 40
        r.info_refresh = now
        st.link_of(r).connected = True
        st.link_of(r).last_avail_time = now
    st.link_of(m.replicas["10.0.0.1:6380"]).connected = False
    order = [r.port for r in candidates(st, m, now)]
    assert order == [6382, 6384, 6381]      # priority asc, offset desc, runid asc; 0 never


def test_config_roundtrip(tmp_path):
    path = tmp_path / "sentinel.conf"
    path.write_text("port 26390\nsentinel monitor mymaster 127.0.0.1 6380 2\n"
                    "sentinel down-after-milliseconds mymaster 5000\n"
                    "sentinel auth-pass mymaster a_strong_password\n")
    st = SentinelState()
    opts = config.load(str(path), st, T0)
    m = st.masters["mymaster"]
    assert (opts.port, m.quorum, m.down_after, m.auth_pass) == (26390, 2, 5000,
                                                                 "a_strong_password")
    st.add_replica(m, "127.0.0.1", 6381, T0)
    st.add_sentinel(m, "127.0.0.1", 26391, "d" * 40, T0)
    st.current_epoch = 3
    config.rewrite(str(path), st, opts)
    text = path.read_text()
    assert "sentinel known-replica mymaster 127.0.0.1 6381" in text
    assert f"sentinel known-sentinel mymaster 127.0.0.1 26391 {'d' * 40}" in text
    assert "sentinel current-epoch 3" in text and f"sentinel myid {st.myid}" in text
    again = SentinelState()
    config.load(str(path), again, T0)
    assert again.myid == st.myid and again.current_epoch == 3
    assert list(again.masters["mymaster"].replicas) == ["127.0.0.1:6381"]


def test_bad_config_lines(tmp_path):
    path = tmp_path / "s.conf"
    path.write_text("sentinel monitor m 127.0.0.1 6380 0\n")
    with pytest.raises(config.SentinelConfigError, match="Quorum must be 1 or greater"):
        config.load(str(path), SentinelState(), T0)


class _Srv:
    def __init__(self, st):
        self.state = st
        self.submitted = []

    def now(self):
        return T0

    def submit(self, effects):
        self.submitted.extend(effects)


def test_sentinel_commands_replies():
    st, m = make()
    srv = _Srv(st)
    run = lambda *a: commands.sentinel_cmd(srv, None, [b"SENTINEL", *a])  # noqa: E731
    assert run(b"get-master-addr-by-name", b"mymaster") == [b"10.0.0.1", b"6379"]
    assert run(b"get-master-addr-by-name", b"nope") is None
    with pytest.raises(ReplyError, match="No such master with that name"):
        run(b"master", b"nope")
    masters = run(b"masters")
    assert masters[0][b"name"] == b"mymaster" and masters[0][b"flags"] == \
        b"master,disconnected"
    with pytest.raises(ReplyError, match="NOGOODSLAVE"):
        run(b"failover", b"mymaster")
    with pytest.raises(ReplyError, match="Duplicate master name."):
        run(b"monitor", b"mymaster", b"10.0.0.9", b"6379", b"2")
    with pytest.raises(ReplyError, match="Quorum must be 1 or greater."):
        run(b"monitor", b"m2", b"10.0.0.9", b"6379", b"0")
    assert run(b"reset", b"my*") == 1
    assert run(b"myid") == st.myid.encode()
