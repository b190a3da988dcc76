"""SORT / SORT_RO over real sockets: raw replies byte for byte against a real
redis-server 7.0.15 (RESP2 and RESP3), redis-py, and the cluster-mode refusals."""
from __future__ import annotations

import pytest
import redis

from tests.support import assert_same_replies, node_process, wait_until


@pytest.fixture(scope="module")
def node(module_node):
    return module_node


@pytest.fixture
def k(request):
    return lambda name="l": f"{request.node.name}:{name}"


SCRIPT = [
    ["FLUSHALL"], ["RPUSH", "l", "3", "1", "2", "10", "-5", "1.5"], ["SORT", "l"],
    ["SORT", "l", "DESC"], ["SORT", "l", "ALPHA"], ["SORT", "l", "alpha", "desc"],
    ["SORT", "l", "LIMIT", "1", "2"], ["SORT", "l", "limit", "-1", "2"],
    ["SORT", "l", "limit", "2", "-1"], ["SORT", "l", "limit", "10", "2"],
    ["SORT", "l", "limit", "0", "0"], ["SORT", "l", "limit", "a", "1"],
    ["SORT", "l", "limit", "1"], ["SORT", "l", "foo"], ["SORT", "l", "by", "nosort"],
    ["SORT", "l", "by", "nosort", "desc"], ["SORT", "l", "by", "nosort", "desc", "limit", "1", "3"],
    ["SORT", "l", "by", "nosort", "limit", "4", "30"],
    ["MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "w_-5", "abc", "w_1.5", "15"],
    ["SORT", "l", "by", "w_*"], ["DEL", "w_-5"], ["SORT", "l", "by", "w_*"],
    ["SORT", "l", "by", "w_*", "desc"], ["SORT", "l", "by", "w_*", "alpha"],
    ["SORT", "l", "by", "w_*", "alpha", "desc"], ["SORT", "l", "get", "#"],
    ["SORT", "l", "get", "w_*"], ["SORT", "l", "get", "#", "get", "w_*", "get", "nostar"],
    ["SORT", "l", "by", "w_*", "get", "#", "limit", "0", "3"],
    ["HSET", "h_3", "f", "c"], ["HSET", "h_1", "f", "a"], ["HSET", "h_2", "f", "b"],
    ["HSET", "h_10", "g", "z"], ["SORT", "l", "by", "h_*->f", "alpha"],
    ["SORT", "l", "get", "h_*->f"], ["SORT", "l", "get", "h_*->"], ["SORT", "l", "by", "h_*->f"],
    ["SORT", "l", "get", "w_*->f"], ["SORT", "l", "store", "dst"], ["LRANGE", "dst", "0", "-1"],
    ["SORT", "l", "get", "h_*->f", "store", "dst2"], ["LRANGE", "dst2", "0", "-1"],
    ["SET", "dst3", "x"], ["EXPIRE", "dst3", "100"], ["SORT", "nokey", "store", "dst3"],
    ["EXISTS", "dst3"], ["SORT", "l", "store", "dst3"], ["TTL", "dst3"],
    ["SORT_RO", "l", "store", "x"], ["SORT_RO", "l", "desc", "limit", "0", "2"],
    ["SORT", "nokey"], ["SET", "str", "1"], ["SORT", "str"], ["SORT", "str", "foo"],
    ["HSET", "hh", "a", "1"], ["SORT", "hh"], ["RPUSH", "bad", "1", "x"], ["SORT", "bad"],
    ["SORT", "bad", "alpha"], ["SORT", "bad", "store", "bd"], ["EXISTS", "bd"],
    ["SORT", "bad", "by", "nosort"],
    ["RPUSH", "f2", " 1", "0x10", "1e3", "-inf", "+inf", "", "infinity", "0x1p3"],
    ["SORT", "f2"], ["SORT", "f2", "desc"],
    ["ZADD", "z", "3", "a", "1", "b", "2", "c", "1", "d"], ["SORT", "z", "by", "nosort"],
    ["SORT", "z", "by", "nosort", "desc"], ["SORT", "z", "by", "nosort", "limit", "1", "2"],
    ["SORT", "z", "by", "nosort", "desc", "limit", "1", "2"], ["SORT", "z", "alpha"],
    ["OBJECT", "ENCODING", "z"], ["SORT", "z"],
    ["SADD", "s", "5", "3", "9", "1"], ["SORT", "s"], ["SORT", "s", "by", "nosort"],
    ["SORT", "s", "by", "nosort", "store", "sd"], ["LRANGE", "sd", "0", "-1"],
    ["SORT", "s", "desc", "alpha"], ["SADD", "sa", "b", "a", "c"], ["SORT", "sa", "alpha"],
    ["SORT", "sa", "by", "nosort", "store", "sd2", "desc"], ["LRANGE", "sd2", "0", "-1"],
    ["RPUSH", "dup", "b", "a", "b"], ["SORT", "dup", "alpha"], ["SORT", "dup", "by", "x_*"],
    ["SORT", "l", "limit", "0", "-5"], ["SORT", "l", "limit", "-5", "-5"],
    ["SORT", "l", "store"], ["SORT", "l", "by"], ["SORT", "l", "get"],
    ["SORT", "l", "store", "a", "store", "b"], ["EXISTS", "a"], ["LRANGE", "b", "0", "-1"],
    ["COMMAND", "GETKEYS", "SORT", "l", "STORE", "a", "LIMIT", "0", "1", "STORE", "b"],
    ["COMMAND", "GETKEYS", "SORT_RO", "l", "BY", "x"],
]


@pytest.mark.parametrize("protocol", [2, 3])
def test_raw_replies_match_redis(pair, protocol):
    assert_same_replies(pair, SCRIPT, protocol)


def test_sort_redis_py(rr, k):
    rr.rpush(k(), 3, 1, 2)
    assert rr.sort(k()) == [b"1", b"2", b"3"]
    assert rr.sort(k(), desc=True, start=0, num=2) == [b"3", b"2"]
    rr.mset({k("w_1"): 30, k("w_2"): 20, k("w_3"): 10})
    assert rr.sort(k(), by=k("w_*")) == [b"3", b"2", b"1"]
    assert rr.sort(k(), get=["#", k("w_*")]) == [b"1", b"30", b"2", b"20", b"3", b"10"]
    assert rr.sort(k(), store=k("dst")) == 3
    assert rr.lrange(k("dst"), 0, -1) == [b"1", b"2", b"3"]
    assert rr.sort_ro(k(), alpha=True, desc=True) == [b"3", b"2", b"1"]
    rr.rpush(k("x"), "a")
    with pytest.raises(redis.ResponseError, match="scores can't be converted into double"):
        rr.sort(k("x"))


def test_cluster_mode_refuses_patterns(tmp_path):
    with node_process(tmp_path, "--cluster-enabled", "yes") as proc:
        r = redis.Redis(port=proc.port)
        r.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        wait_until(lambda: b"cluster_state:ok" in r.execute_command("CLUSTER", "INFO"))
        assert r.execute_command("SORT", "l", "BY", "nosort") == []
        with pytest.raises(redis.ResponseError,
                           match="^BY option of SORT denied in Cluster mode.$"):
            r.execute_command("SORT", "l", "BY", "w_*")
        with pytest.raises(redis.ResponseError,
                           match="^GET option of SORT denied in Cluster mode.$"):
            r.execute_command("SORT_RO", "l", "GET", "#")
