"""Geo commands over real sockets, side by side with a real redis-server 7.0.15: raw reply
bytes equal in RESP2 and RESP3 for every command and error path, keyspace notifications,
ACL DRYRUN of GEORADIUS's STORE/STOREDIST keys, COMMAND GETKEYS, CROSSSLOT in cluster
mode, propagation as ZADD, and a hypothesis test over random points and searches."""
from __future__ import annotations

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import (assert_same_replies, node_process, one_node_clusters,
                           raw_replies, side_by_side, wait_until)

NODE_ARGS = ("--enable-debug-command", "yes")

PLACES = ["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669",
          "Catania", "12.758489", "38.788135", "edge1", "17.241510", "38.222900", "edge2"]

SCRIPT = [
    ["FLUSHALL"], PLACES, ["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"],
    # GEOADD options and errors
    ["GEOADD", "k", "10", "20", "a", "10", "20", "b", "11", "21", "c"],
    ["GEOADD", "k", "-122.27652", "37.805186", "x", "-180", "-85.05112878", "sw",
     "180", "85.05112878", "ne"],
    ["GEOADD", "k", "200", "100", "m"], ["GEOADD", "k", "180.0001", "0", "m"],
    ["GEOADD", "k", "0", "85.06", "m"], ["GEOADD", "k", "-inf", "0", "m"],
    ["GEOADD", "k", "1e400", "1", "m"], ["GEOADD", "k", "nan", "1", "m"],
    ["GEOADD", "k", "1", "x", "m"], ["GEOADD", "k", "1", "2"], ["GEOADD", "k", "1", "2", "m", "3"],
    ["GEOADD", "k", "NX", "XX", "1", "2", "m"], ["GEOADD", "k", "GT", "1", "2", "m"],
    ["GEOADD", "k", "GT", "1", "2"], ["GEOADD", "k", "CH", "XX", "10.5", "20", "a", "1", "1", "zz"],
    ["GEOADD", "k", "NX", "CH", "10.6", "20", "a", "1", "1", "yy"],
    ["GEOADD", "k", "ch", "nx", "xx"], ["GEOADD", "nokey", "XX", "1", "1", "m"],
    ["EXISTS", "nokey"],
    ["GEOADD", "k", "1", "1", "a", "2", "2", "a"],
    # GEOPOS / GEOHASH / GEODIST
    ["GEOPOS", "Sicily", "Palermo", "Catania", "NonExisting"], ["GEOPOS", "nokey", "a", "b"],
    ["GEOPOS", "k"], ["GEOPOS", "k", "sw", "ne", "x"], ["GEOHASH", "Sicily", "Palermo", "Catania"],
    ["GEOHASH", "k", "a", "nope", "x", "sw", "ne"], ["GEOHASH", "nokey", "a"], ["GEOHASH", "k"],
    ["GEODIST", "Sicily", "Palermo", "Catania"], ["GEODIST", "Sicily", "Palermo", "Catania", "km"],
    ["GEODIST", "Sicily", "Palermo", "Catania", "MI"],
    ["GEODIST", "Sicily", "Palermo", "Catania", "Ft"],
    ["GEODIST", "Sicily", "Palermo", "Catania", "m", "x"],
    ["GEODIST", "Sicily", "Palermo", "Catania", "parsec"], ["GEODIST", "nokey", "a", "b"],
    ["GEODIST", "nokey", "a", "b", "bad"], ["GEODIST", "Sicily", "Palermo", "nope"],
    ["GEODIST", "Sicily", "Palermo", "Palermo"], ["GEODIST", "k", "sw", "ne"],
    # GEOSEARCH
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC",
     "WITHCOORD", "WITHDIST", "WITHHASH"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "DESC",
     "WITHDIST"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "COUNT", "2"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "COUNT", "1",
     "ANY", "WITHHASH"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS", "1",
     "m"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m", "BYBOX", "1", "1", "m"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "m", "BYRADIUS", "1", "m"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "300", "km"],
    ["GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "300", "km"],
    ["GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "x", "km"],
    ["GEOSEARCH", "Sicily", "BYRADIUS", "300", "km", "ASC"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "ASC"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km", "ANY"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "-1", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "x", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "lightyear"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "y", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "1", "1", "au"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "0"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "-3"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT", "x"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "COUNT"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "x"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "200", "1", "BYRADIUS", "1", "km"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "BYRADIUS", "1", "km"],
    ["geosearch", "Sicily", "byradius", "1", "km", "fromlonlat"],
    ["GeoSearch", "Sicily", "FROMLONLAT", "1", "1", "count", "1"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "0", "km"],
    ["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "0", "km", "WITHDIST"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "40000", "km", "WITHDIST"],
    ["GEOSEARCH", "Sicily", "FROMLONLAT", "0", "0", "BYBOX", "50000", "50000", "km"],
    ["GEOSEARCH", "k", "FROMLONLAT", "179.9", "85", "BYRADIUS", "500", "km", "WITHCOORD"],
    ["GEOSEARCH", "k", "FROMLONLAT", "-179.9", "-85", "BYBOX", "900", "90", "mi", "WITHCOORD"],
    # GEOSEARCHSTORE
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "dst"],
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km",
     "STOREDIST", "DESC", "COUNT", "2"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "STOREDIST"],
    ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
    ["EXISTS", "dst"],
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km",
     "WITHDIST"],
    ["GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km",
     "STORE", "x"],
    ["SET", "dst", "x"],
    ["GEOSEARCHSTORE", "dst", "nokey", "FROMMEMBER", "a", "BYRADIUS", "1", "km"],
    ["EXISTS", "dst"],
    # GEORADIUS family
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "ASC"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "WITHHASH"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "r1"],
    ["ZRANGE", "r1", "0", "-1", "WITHSCORES"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "r1"],
    ["ZRANGE", "r1", "0", "-1", "WITHSCORES"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "r1", "STOREDIST", "r2"],
    ["ZRANGE", "r2", "0", "-1", "WITHSCORES"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "r1", "WITHDIST"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE"],
    ["GEORADIUS", "Sicily", "15", "37", "200", "km", "FROMMEMBER", "Palermo"],
    ["GEORADIUS", "Sicily", "15", "37", "-200", "km"],
    ["GEORADIUS", "Sicily", "15", "37", "1", "xx"],
    ["GEORADIUS", "Sicily", "15", "370", "1", "km"], ["GEORADIUS", "Sicily", "15", "37", "x", "km"],
    ["GEORADIUS", "nokey", "15", "37", "200", "km"],
    ["GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "r1"], ["EXISTS", "r1"],
    ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "WITHDIST"],
    ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "r1"],
    ["GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STOREDIST", "r1"],
    ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "DESC"],
    ["GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"],
    ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "-1", "km"],
    ["GEORADIUSBYMEMBER", "nokey", "nope", "x", "bad", "STORE", "r1"],
    ["GEORADIUSBYMEMBER", "nokey", "nope", "x", "bad"],
    ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "STORE", "r3"],
    ["ZRANGE", "r3", "0", "-1", "WITHSCORES"],
    ["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "COUNT", "1", "ANY"],
    ["GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "200", "km", "STORE", "r1"],
    # wrong types, odd scores, arity
    ["SET", "s", "v"], ["GEOADD", "s", "1", "1", "a"], ["GEOPOS", "s", "a"], ["GEOHASH", "s", "a"],
    ["GEODIST", "s", "a", "b"], ["GEODIST", "s", "a", "b", "bad"],
    ["GEOSEARCH", "s", "FROMMEMBER", "a", "BYRADIUS", "1", "m"],
    ["GEOSEARCHSTORE", "d", "s", "FROMMEMBER", "a", "BYRADIUS", "1", "m"],
    ["GEORADIUS", "s", "200", "1", "1", "m"], ["GEORADIUSBYMEMBER", "s", "a", "1", "m"],
    ["ZADD", "w", "-1", "neg", "1e20", "big", "inf", "inf", "1.5", "half", "-inf", "ninf"],
    ["GEOPOS", "w", "neg", "big", "inf", "half", "ninf"], ["GEOHASH", "w", "neg", "big", "inf"],
    ["GEODIST", "w", "neg", "big"], ["GEODIST", "w", "inf", "half", "km"],
    ["GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "WITHHASH",
     "WITHCOORD"],
    ["GEOSEARCH", "w", "FROMMEMBER", "neg", "BYRADIUS", "2000", "km", "WITHHASH", "WITHDIST"],
    ["GEOADD", "k"], ["GEOADD", "k", "1", "2"], ["GEODIST", "k", "a"], ["GEOPOS"], ["GEOHASH"],
    ["GEOSEARCH", "k", "FROMLONLAT", "1", "1", "BYRADIUS"],
    ["GEOSEARCHSTORE", "d", "k", "FROMLONLAT", "1", "1", "BYRADIUS"],
    ["GEORADIUS", "k", "1", "1", "1"], ["GEORADIUSBYMEMBER", "k", "a", "1"],
    # from Lua, RESP2 and RESP3 (coordinates are doubles Lua gets from the reply's text)
    ["EVAL", "return redis.call('geopos', KEYS[1], 'Palermo', 'nope')", "1", "Sicily"],
    ["EVAL", "redis.setresp(3) return redis.call('geopos', KEYS[1], 'Palermo', 'nope')", "1",
     "Sicily"],
    ["EVAL", "redis.setresp(3) local p = redis.call('geopos', KEYS[1], 'Palermo')[1] "
             "return {tostring(p[1]['double']), type(p[2]['double'])}", "1", "Sicily"],
    ["EVAL", "return redis.call('geosearch', KEYS[1], 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, "
             "'km', 'WITHCOORD', 'WITHDIST', 'WITHHASH')", "1", "Sicily"],
    ["EVAL", "return redis.call('geoadd', KEYS[1], 1, 2, 'lua')", "1", "Sicily"],
    ["COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "km", "STORE", "a", "STOREDIST", "b"],
    ["COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "km", "store", "a", "withdist"],
    ["COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "2", "3", "km", "STORE"],
    ["COMMAND", "GETKEYS", "GEORADIUSBYMEMBER", "k", "m", "3", "km", "STOREDIST", "d"],
    ["COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "1", "1", "BYRADIUS", "1",
     "m"],
    ["COMMAND", "INFO", "GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUS", "GEORADIUS_RO",
     "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO", "GEOSEARCH", "GEOSEARCHSTORE"],
]


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.mark.parametrize("protocol", [2, 3])
def test_script_same_bytes(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_big_sets_and_encodings(pair):
    """Past zset-max-listpack-entries (skiplist) and with a small listpack limit on the
    result: same replies, same OBJECT ENCODING of stored results."""
    cmds = [["FLUSHALL"]]
    for i in range(300):
        cmds.append(["GEOADD", "big", str(-10 + (i * 7 % 200) / 10), str(40 + (i * 13 % 100) / 20),
                     f"p{i}"])
    cmds += [["OBJECT", "ENCODING", "big"],
             ["GEOSEARCH", "big", "FROMLONLAT", "0", "42", "BYRADIUS", "500", "km", "WITHDIST"],
             ["GEOSEARCH", "big", "FROMLONLAT", "0", "42", "BYBOX", "800", "300", "km", "COUNT",
              "50", "DESC", "WITHCOORD"],
             ["GEOSEARCHSTORE", "out", "big", "FROMLONLAT", "0", "42", "BYRADIUS", "500", "km"],
             ["OBJECT", "ENCODING", "out"],
             ["GEOSEARCHSTORE", "out", "big", "FROMLONLAT", "0", "42", "BYRADIUS", "100", "km",
              "COUNT", "5"],
             ["OBJECT", "ENCODING", "out"], ["ZRANGE", "out", "0", "-1", "WITHSCORES"]]
    assert_same_replies(pair, cmds)


def _events(port: int, commands: list) -> list:
    with redis.Redis(port=port, socket_timeout=10) as r:
        r.flushall()
        r.config_set("notify-keyspace-events", "KEA")
        ps = r.pubsub()
        ps.psubscribe("__key*__:*")
        ps.subscribe("end")
        got = []

        def until(pred):
            def step():
                msg = ps.get_message(timeout=0.05)
                if msg is not None:
                    got.append(msg)
                return got and pred(got[-1])
            wait_until(step, 10)
        until(lambda m: m["type"] == "subscribe")
        got.clear()
        for cmd in commands:
            try:
                r.execute_command(*cmd)
            except redis.ResponseError:
                pass
        r.publish("end", "x")
        until(lambda m: m["channel"] == b"end")
        r.config_set("notify-keyspace-events", "")
        ps.close()
        r.flushall()
    return [(m["channel"], m["data"]) for m in got]


def test_notifications_as_redis(pair):
    ours, real = pair
    cmds = [PLACES, ["GEOADD", "Sicily", "NX", "13.361389", "38.115556", "Palermo"],
            ["GEOADD", "Sicily", "XX", "13", "38", "Palermo"],
            ["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "300", "km"],
            ["GEOSEARCHSTORE", "d", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m",
             "STOREDIST"],
            ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "r"],
            ["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "r"],
            ["GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "r"],
            ["GEORADIUSBYMEMBER", "Sicily", "Palermo", "1", "m", "STORE", "Sicily"],
            ["GEOADD", "Sicily", "1", "1", "a"], ["GEOPOS", "Sicily", "a"]]
    got = _events(ours.port, cmds)
    assert len(got) > 10
    assert got == _events(real.port, cmds)


def test_acl_dryrun_georadius_keys(pair):
    """acl-v2.tcl's GEORADIUS cases (keyword key specs), against the real server."""
    cases = [
        ["read", "1", "2", "3", "M", "STOREDIST", "write"], ["read", "1", "2", "3", "M"],
        ["read1", "1", "2", "3", "M", "STOREDIST", "read2"],
        ["write1", "1", "2", "3", "M", "STOREDIST", "write2"],
        ["read", "1", "2", "3", "M", "STORE", "write"],
        ["read1", "1", "2", "3", "M", "STORE", "read2"],
        ["write1", "1", "2", "3", "M", "STORE", "write2"],
        ["read", "1", "2", "3", "M", "STORE", "write", "STOREDIST", "read2"],
    ]
    setup = ["ACL", "SETUSER", "geo-test", "+@all", "%R~read*", "%W~write*", "%RW~rw*"]
    cmds = [setup] + [["ACL", "DRYRUN", "geo-test", "GEORADIUS", *c] for c in cases]
    cmds += [["ACL", "DRYRUN", "geo-test", "GEORADIUSBYMEMBER", "read", "m", "1", "m", "STORE",
              "write"],
             ["ACL", "DRYRUN", "geo-test", "GEORADIUSBYMEMBER", "read", "m", "1", "m",
              "STOREDIST", "read"],
             ["ACL", "DRYRUN", "geo-test", "GEOSEARCHSTORE", "write", "read", "FROMLONLAT", "1",
              "1", "BYRADIUS", "1", "m"],
             ["ACL", "DRYRUN", "geo-test", "GEOSEARCHSTORE", "read", "read", "FROMLONLAT", "1",
              "1", "BYRADIUS", "1", "m"],
             ["ACL", "DRYRUN", "geo-test", "GEOADD", "read", "1", "1", "m"],
             ["ACL", "DRYRUN", "geo-test", "GEOSEARCH", "write", "FROMLONLAT", "1", "1",
              "BYRADIUS", "1", "m"]]
    ours, real = side_by_side(pair, cmds)
    assert ours == real
    assert b"OK" in ours[1] and b"read2" in ours[3] and b"write1" in ours[4]


def test_geoadd_propagates_as_zadd(pair, tmp_path):
    """GEOADD reaches the append-only file as the ZADD Redis rewrites it into."""
    ours, _ = pair
    with node_process(tmp_path / "aof", "--appendonly", "yes") as node:
        with redis.Redis(port=node.port, socket_timeout=10) as r:
            r.execute_command("GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo")
            r.execute_command("GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo")
            r.execute_command("GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo",
                              "BYRADIUS", "1", "km")

            def aof_text() -> bytes:
                data = b""
                for f in sorted((tmp_path / "aof").rglob("*.aof")):
                    data += f.read_bytes()
                return data
            text = wait_until(lambda: (t := aof_text()) and b"GEOSEARCHSTORE" in t and t)
    assert b"$4\r\nzadd\r\n$1\r\ng\r\n$2\r\nCH\r\n$16\r\n3479099956230698\r\n" in text
    assert text.count(b"zadd") == 1           # the NX no-op is not propagated


def test_crossslot_in_cluster_mode(tmp_path):
    """GEOSEARCHSTORE and GEORADIUS STORE route both keys: CROSSSLOT unless one slot."""
    cmds = [["GEOSEARCHSTORE", "a", "b", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "m"],
            ["GEORADIUS", "a", "1", "1", "1", "m", "STORE", "b"],
            ["GEORADIUS", "a", "1", "1", "1", "m", "STOREDIST", "b"],
            ["GEORADIUSBYMEMBER", "a", "m", "1", "m", "STORE", "b"],
            ["GEOADD", "{t}a", "1", "1", "m"],
            ["GEOSEARCHSTORE", "{t}b", "{t}a", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
            ["GEORADIUS", "{t}a", "1", "1", "1", "km", "STORE", "{t}c"],
            ["GEORADIUS_RO", "{t}a", "1", "1", "1", "km", "STORE", "b"]]
    with one_node_clusters(tmp_path) as (ours, real):
        got, want = raw_replies(ours.port, cmds), raw_replies(real.port, cmds)
    assert got == want
    assert all(g.startswith(b"-CROSSSLOT") for g in got[:4])
    assert got[5:7] == [b":1\r\n", b":1\r\n"]


# -- random points and searches, digit for digit ---------------------------------------------
LAT = 85.05112878
UNITS = ["m", "km", "ft", "mi", "KM", "Mi"]


@st.composite
def scenarios(draw):
    lon0 = draw(st.floats(-180, 180))
    lat0 = draw(st.floats(-LAT, LAT))
    spread = draw(st.sampled_from([0.001, 0.05, 1.0, 10.0, 90.0]))
    n = draw(st.integers(0, 70))
    points = []
    for _ in range(n):
        if points and draw(st.integers(0, 5)) == 0:
            points.append(points[draw(st.integers(0, len(points) - 1))])    # same spot
            continue
        dx = draw(st.floats(-spread, spread))
        dy = draw(st.floats(-spread, spread))
        points.append((min(180.0, max(-180.0, lon0 + dx)), min(LAT, max(-LAT, lat0 + dy))))
    unit = draw(st.sampled_from(UNITS))
    meters = draw(st.sampled_from([0.0, 10.0, 1000.0, 50000.0, 500000.0, 5000000.0,
                                   20000000.0])) * draw(st.floats(0.1, 2.0))
    to_unit = {"m": 1, "km": 1000, "ft": 0.3048, "mi": 1609.34}[unit.lower()]
    size = "%.6f" % (meters / to_unit)
    box = (size, "%.6f" % (meters / to_unit * draw(st.floats(0.2, 3.0))))
    opts = []
    for flag in ("WITHDIST", "WITHHASH", "WITHCOORD"):
        if draw(st.booleans()):
            opts.append(flag)
    opts += draw(st.sampled_from([[], ["ASC"], ["DESC"]]))
    if draw(st.booleans()):
        opts += ["COUNT", str(draw(st.integers(1, 30)))]
        if draw(st.integers(0, 3)) == 0:
            opts.append("ANY")
    center = draw(st.tuples(st.floats(-180, 180), st.floats(-LAT, LAT)))
    if points and draw(st.booleans()):
        center = points[draw(st.integers(0, len(points) - 1))]
    from_member = bool(points) and draw(st.booleans())
    return points, center, unit, size, box, opts, from_member


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios())
def test_random_searches_same_as_redis(pair, scenario):
    points, center, unit, size, box, opts, from_member = scenario
    cmds = [["DEL", "g", "dst"]]
    if points:
        add = ["GEOADD", "g"]
        for i, (x, y) in enumerate(points):
            add += [repr(x), repr(y), f"m{i}"]
        cmds.append(add)
    cx, cy = repr(center[0]), repr(center[1])
    src = ["FROMMEMBER", "m0"] if from_member else ["FROMLONLAT", cx, cy]
    plain = [o for o in opts if not o.startswith("WITH")]
    cmds += [
        ["GEOSEARCH", "g", *src, "BYRADIUS", size, unit, *opts],
        ["GEOSEARCH", "g", *src, "BYBOX", box[0], box[1], unit, *opts],
        ["GEORADIUS", "g", cx, cy, size, unit, *opts],
        ["GEORADIUSBYMEMBER_RO", "g", "m0", size, unit, *opts],
        ["GEOSEARCHSTORE", "dst", "g", *src, "BYBOX", box[0], box[1], unit, *plain, "STOREDIST"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEORADIUS", "g", cx, cy, size, unit, *plain, "STORE", "dst"],
        ["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        ["GEOPOS", "g", "m0", "m1", "m2"], ["GEOHASH", "g", "m0", "m1", "m2"],
        ["GEODIST", "g", "m0", "m1", unit], ["GEODIST", "g", "m1", "m2"],
    ]
    assert_same_replies(pair, cmds, protocol=3 if len(points) % 2 else 2)
