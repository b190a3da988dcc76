"""scripts/bench_cluster.py's pure parts: redis-benchmark --cluster CSV parsing and the table."""
import importlib.util

from tests.support import ROOT

_spec = importlib.util.spec_from_file_location("bench_cluster",
                                               ROOT / "scripts" / "bench_cluster.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# What redis-benchmark 7.0.15 --cluster -q --csv prints (banner on stdout, then CSV).
CLUSTER_CSV = (
    "Cluster has 3 master nodes:\n\n"
    "Master 0: e76c136ebbcd2387542c78452e9c6f4f7aa4d299 127.0.0.1:39757\n"
    "Master 1: dc8e5dfcae1d6ac1db3a4b8a9d4fb38201368a58 127.0.0.1:36611\n\n"
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
    '"p99_latency_ms","max_latency_ms"\n'
    '"SET","19685.04","0.691","0.056","0.543","2.423","3.439","4.015"\n'
    '"GET","19920.32","0.695","0.056","0.655","0.975","1.479","10.607"\n')


def test_parse_csv_skips_banner_and_header():
    assert bench.parse_csv(CLUSTER_CSV) == {"SET": "19685.04", "GET": "19920.32"}


def test_parse_csv_keeps_test_names_with_spaces():
    assert bench.parse_csv('"MSET (10 keys)","123.00","1"\n') == {"MSET (10 keys)": "123.00"}


def test_ratio():
    assert bench.ratio("50", "100") == "0.500"
    assert bench.ratio(None, "100") == "-"
    assert bench.ratio("50", "0") == "-"


def test_table_rows_ratios_and_notes():
    redis_res = {1: {"SET": "100000.00", "GET": "200000.00", "cpu SET": "5.5"},
                 16: {"SET": "500000.00", "GET": "400000.00"}}
    ours_res = {1: {"SET": "50000.00", "GET": "100000.00", "cpu SET": "46.0"},
                16: {"SET": "250000.00"}}
    lines = bench.table(redis_res, ours_res, 100000, 500000, routed=True).splitlines()
    assert lines[0].split() == ["cluster", "test", "pipe", "redis", "req/s", "ours", "req/s",
                                "ratio", "redis", "us/req", "ours", "us/req"]
    assert lines[1].split() == ["SET", "P1", "100000.00", "50000.00", "0.500", "5.5", "46.0"]
    assert lines[2].split() == ["GET", "P1", "200000.00", "100000.00", "0.500", "-", "-"]
    assert lines[3].split() == ["SET", "P16", "500000.00", "250000.00", "0.500", "-", "-"]
    assert lines[4].split() == ["GET", "P16", "400000.00", "-", "-", "-", "-"]
    text = "\n".join(lines)
    assert "N=100000 without pipelining, N=500000 with -P 16" in text
    assert "six server processes" in text
    # shortest run: GET P1 on redis, 100000 / 200000 = 0.5 s -> up to 50% low
    assert "the shortest run took 0.50 s, so its req/s may read up to 50% low" in text
    assert "do not route" not in text


def test_table_says_when_routing_is_missing():
    text = bench.table({}, {}, 10, 10, routed=False)
    assert "our nodes do not route yet" in text
    assert "shortest run" not in text
