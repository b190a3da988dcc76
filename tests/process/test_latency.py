"""LATENCY and INFO latencystats side by side with a real redis-server 7.0.15.

Both servers get the same commands; replies are compared whole, but for what only a clock
decides (a sample's second, a histogram's microseconds)."""
from __future__ import annotations

import re

import pytest
import redis

from tests.support import node_process, raw_replies, real_redis

DEBUG = ("--enable-debug-command", "yes")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    with node_process(tmp_path_factory.mktemp("latency"), *DEBUG) as ours, \
            real_redis(*DEBUG) as real:
        yield ours, real


def clients(both, protocol=2):
    return [redis.Redis(port=s.port, protocol=protocol, socket_timeout=10) for s in both]


def each(both, *args, protocol=2):
    out = []
    for r in clients(both, protocol):
        with r:
            out.append(r.execute_command(*args))
    return out


def run(both, *commands):
    for r in clients(both):
        with r:
            for args in commands:
                r.execute_command(*args)


def test_latest_history_after_debug_sleep(both):
    run(both, ("LATENCY", "RESET"), ("CONFIG", "SET", "latency-monitor-threshold", "100"),
        ("DEBUG", "SLEEP", "0.2"), ("SET", "k", "v"))
    ours, real = each(both, "LATENCY", "LATEST")
    assert len(ours) == len(real) == 1
    # [event, second, latency, max]: the second is each server's own clock, and a loaded
    # machine may oversleep a millisecond or two
    for latest in (ours[0], real[0]):
        assert latest[0] == b"command" and 200 <= latest[2] == latest[3] <= 220
    ours, real = each(both, "LATENCY", "HISTORY", "command")
    assert len(ours) == len(real) == 1
    assert 200 <= ours[0][1] <= 220 and 200 <= real[0][1] <= 220
    assert each(both, "LATENCY", "HISTORY", "blabla") == [[], []]


def test_graph_and_doctor_texts(both):
    run(both, ("LATENCY", "RESET"), ("CONFIG", "SET", "latency-monitor-threshold", "100"),
        ("DEBUG", "SLEEP", "0.15"))
    for protocol in (2, 3):
        ours, real = each(both, "LATENCY", "GRAPH", "command", protocol=protocol)
        # header, dashes, the 4 rows of bars, the margin, then the labels (vertical: how
        # many seconds ago, which depends on when each server was asked)
        for graph in (ours, real):
            lines = graph.split(b"\n")
            assert lines[2:7] == [b" ", b" ", b" ", b"_", b" "]
            assert re.fullmatch(rb"(\d+\n)+s\n", b"\n".join(lines[7:]))
        assert ours.startswith(b"command - high 15")
        ours, real = each(both, "LATENCY", "DOCTOR", protocol=protocol)
        assert re.sub(rb"\d+ms", b"Nms", ours) == re.sub(rb"\d+ms", b"Nms", real)
    for r in clients(both):
        with r, pytest.raises(redis.ResponseError,
                              match="No samples available for event 'nope'"):
            r.execute_command("LATENCY", "GRAPH", "nope")


def test_reset_counts_and_doctor_when_off(both):
    run(both, ("LATENCY", "RESET"), ("CONFIG", "SET", "latency-monitor-threshold", "100"),
        ("DEBUG", "SLEEP", "0.11"))
    assert each(both, "LATENCY", "RESET", "blabla") == [0, 0]
    assert each(both, "LATENCY", "RESET", "COMMAND", "command") == [1, 1]
    run(both, ("DEBUG", "SLEEP", "0.11"))
    assert each(both, "LATENCY", "RESET") == [1, 1]
    assert each(both, "LATENCY", "LATEST") == [[], []]
    run(both, ("CONFIG", "SET", "latency-monitor-threshold", "0"))
    ours, real = each(both, "LATENCY", "DOCTOR")
    assert ours == real and ours.startswith(b"I'm sorry, Dave")


def _shape(histogram: dict) -> dict:
    # redis-py sends CLIENT SETINFO on connect: a 7.2 command we run and 7.0 refuses
    return {name: (h[b"calls"], type(h[b"histogram_usec"]).__name__)
            for name, h in histogram.items() if name != b"client|setinfo"}


def test_histogram_shapes(both):
    for protocol in (2, 3):
        run(both, ("CONFIG", "RESETSTAT"), ("SET", "a", "b"), ("SET", "c", "d"), ("GET", "a"),
            ("CLIENT", "ID"), ("HSET", "h", "f", "v"))
        for args in (("LATENCY", "HISTOGRAM"), ("LATENCY", "HISTOGRAM", "set", "client"),
                     ("LATENCY", "HISTOGRAM", "blabla", "client|id", "GET"),
                     ("LATENCY", "HISTOGRAM", "blabla")):
            ours, real = each(both, *args, protocol=protocol)
            if protocol == 2:
                ours, real = (_resp2_map(x) for x in (ours, real))
            assert _shape(ours) == _shape(real), args
            for h in ours.values():
                rows = h[b"histogram_usec"]
                rows = _resp2_map(rows) if isinstance(rows, list) else rows
                assert list(rows.values()) == sorted(rows.values())
                assert list(rows.values())[-1] == h[b"calls"]


def _resp2_map(flat):
    if isinstance(flat, dict):
        return flat
    out = {}
    for k, v in zip(flat[::2], flat[1::2]):
        out[k] = _resp2_map(v) if isinstance(v, list) and k != b"histogram_usec" else v
        if k == b"histogram_usec":
            out[k] = dict(zip(v[::2], v[1::2]))
    return out


def _info_latencystats(server) -> str:
    raw = raw_replies(server.port, [("INFO", "latencystats")])[0]
    return raw.split(b"\r\n", 1)[1].decode()


def _latencystats(server) -> dict:
    text = _info_latencystats(server)
    return dict(line.split(":", 1) for line in text.splitlines()[1:] if line)


def test_info_latencystats(both):
    run(both, ("CONFIG", "RESETSTAT"), ("CONFIG", "SET", "latency-tracking", "yes"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50 99.9 100"),
        ("SET", "a", "b"), ("CLIENT", "ID"), ("DEBUG", "SLEEP", "0.05"))
    ours, real = (_latencystats(server) for server in both)
    ours.pop("latency_percentiles_usec_client|setinfo", None)    # see _shape
    assert sorted(ours) == sorted(real)
    pattern = re.compile(r"^p0=\d+\.\d{3},p50=\d+\.\d{3},p99\.9=\d+\.\d{3},p100=\d+\.\d{3}$")
    for key, line in ours.items():
        assert pattern.match(line), line
        assert pattern.match(real[key])
    assert float(ours["latency_percentiles_usec_debug"].split(",")[1][4:]) >= 50000
    # latency-tracking no: the section stays, empty
    run(both, ("CONFIG", "SET", "latency-tracking", "no"),
        ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"))
    assert [_info_latencystats(server) for server in both] == ["# Latencystats\r\n\r\n"] * 2
    run(both, ("CONFIG", "SET", "latency-tracking", "yes"))


def test_latency_help_and_errors(both):
    assert each(both, "LATENCY", "HELP")[0] == each(both, "LATENCY", "HELP")[1]
    for r in clients(both):
        with r:
            with pytest.raises(redis.ResponseError,
                               match="wrong number of arguments for 'latency|help' command"):
                r.execute_command("LATENCY", "HELP", "xxx")
            with pytest.raises(redis.ResponseError, match="unknown subcommand 'FOO'"):
                r.execute_command("LATENCY", "FOO")
