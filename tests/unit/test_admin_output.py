"""Redis-shaped printing and parsing for the admin subcommands (no sockets)."""
from __future__ import annotations

import pytest

from cli.admin.args import UsageError, parse_args
from cli.admin import output
from cli.admin.call import format_raw
from cli.admin.connection import AdminError, AdminNode, ClusterView, parse_address, \
    parse_nodes_line, host_from_args

ID1 = "e7d1eecc" + "0" * 32
ID2 = "07c37dfe" + "1" * 32


@pytest.fixture(autouse=True)
def no_colour():
    output.set_colour(False)
    yield
    output.set_colour(None)


def master(slots, replicas=0):
    n = AdminNode("127.0.0.1", 30001)
    n.id, n.flags, n.slots, n.replicas_count = ID1, ["myself", "master"], set(slots), replicas
    return n


def test_slots_string():
    assert output.slots_string(range(0, 5461)) == "[0-5460]"
    assert output.slots_string([5, 7, 8, 9, 100]) == "[5],[7-9],[100]"
    assert output.slots_string([]) == ""


def test_master_line_with_replicas():
    assert output.node_info(master(range(0, 5461), 1)) == (
        f"M: {ID1} 127.0.0.1:30001\n   slots:[0-5460] (5461 slots) master\n"
        "   1 additional replica(s)")


def test_replica_line_and_planned_replica():
    n = AdminNode("127.0.0.1", 30004)
    n.id, n.flags, n.state, n.replicate = ID2, ["slave"], {"slave"}, ID1
    assert output.node_info(n) == (f"S: {ID2} 127.0.0.1:30004\n   slots: (0 slots) slave\n"
                                   f"   replicates {ID1}")
    n.dirty = True                      # the create plan: no slots line
    assert output.node_info(n) == f"S: {ID2} 127.0.0.1:30004\n   replicates {ID1}"


def test_empty_master_and_indent():
    n = master([])
    assert output.node_info(n, 2) == f"  M: {ID1} 127.0.0.1:30001\n     slots: (0 slots) master"


def test_colours_only_when_asked(capsys):
    output.ok("[OK] All 16384 slots covered.\n")
    output.set_colour(True)
    output.err("[ERR] x\n")
    output.info(">>> y\n")
    assert capsys.readouterr().out == ("[OK] All 16384 slots covered.\n"
                                       "\033[31;1m[ERR] x\n\033[0m\033[29;1m>>> y\n\033[0m")


def test_not_a_tty_means_no_colour(capsys):
    output.set_colour(None)
    assert output.use_colour() is False      # pytest captures stdout: not a terminal
    output.warn("[WARNING] w\n")
    assert capsys.readouterr().out == "[WARNING] w\n"


def test_parse_nodes_line():
    e = parse_nodes_line(f"{ID1} 127.0.0.1:30001@40001,host myself,master - 0 0 1 connected "
                         f"0-2 7 [8->-{ID2}] [9-<-{ID2}]")
    assert (e.id, e.ip, e.port, e.bus_port) == (ID1, "127.0.0.1", 30001, 40001)
    assert e.flags == ["myself", "master"] and e.master_id == "-"
    assert e.slots == [0, 1, 2, 7]
    assert e.migrating == {8: ID2} and e.importing == {9: ID2}
    assert parse_nodes_line("garbage") is None


def test_parse_address():
    assert parse_address("n1:7000") == ("n1", 7000)
    assert parse_address("::1:7000") == ("::1", 7000)
    assert host_from_args(["127.0.0.1", "7000"]) == ("127.0.0.1", 7000)
    with pytest.raises(AdminError) as exc:
        parse_address("n1")
    assert exc.value.message.startswith("[ERR] Invalid arguments: you need to pass either")


def test_parse_args():
    a = parse_args(["h:1", "h:2", "--cluster-replicas", "1", "--cluster-yes", "--user", "u",
                    "-a", "p", "--no-auth-warning"], "create")
    assert a.positional == ["h:1", "h:2"] and a.yes and a.int_value("--cluster-replicas", 0) == 1
    assert (a.user, a.password) == ("u", "p")
    w = parse_args(["h:1", "--cluster-weight", "a=1", "b=2", "--cluster-simulate"], "rebalance")
    assert w.weights == ["a=1", "b=2"] and w.flag("--cluster-simulate")
    c = parse_args(["h:1", "LRANGE", "l", "0", "-1"], "call", raw_tail_after=1)
    assert c.positional == ["h:1", "LRANGE", "l", "0", "-1"]
    with pytest.raises(UsageError) as exc:
        parse_args(["h:1", "--bogus"], "check")
    assert str(exc.value) == "Unrecognized option or bad number of args for: '--bogus'"


def test_auth_warning(capsys):
    parse_args(["h:1", "-a", "p"], "check")
    assert "may not be safe" in capsys.readouterr().err


def test_format_raw_like_redis_cli():
    import redis
    assert format_raw("OK") == "OK"
    assert format_raw(5) == "5"
    assert format_raw(None) == ""
    assert format_raw([b"a", ["b", 1]]) == "a\nb\n1"
    err = redis.ResponseError("unknown command", status_code="ERR")
    assert format_raw(err) == "ERR unknown command\n"


def test_view_lookups():
    a, b = master(range(0, 10)), AdminNode("127.0.0.1", 30002)
    b.id, b.flags, b.state, b.replicate = ID2, ["slave"], {"slave"}, ID1
    view = ClusterView([a, b])
    view.count_replicas()
    assert a.replicas_count == 1
    assert view.by_id(ID1.upper()) is a and view.by_prefix("07c3") is b
    assert view.masters() == [a] and view.replicas_of(ID1) == [b]
    assert view.owner_of(5) is a and view.owner_of(11) is None
    assert len(view.covered_slots()) == 10
    a.migrating = {3: ID2}
    assert view.open_slots() == {3: ID2}
