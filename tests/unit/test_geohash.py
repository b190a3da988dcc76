"""cluster.keyspace.geohash: Redis 7.0's geohash arithmetic. Expected values are what
redis-server 7.0.15 replies (GEOADD scores, GEOPOS, GEOHASH, GEODIST) and the cases of
util.c's test_fixedpoint_d2string."""
from __future__ import annotations

import math
import random

import pytest

from cluster.keyspace import geohash as gh

PALERMO = (13.361389, 38.115556)
CATANIA = (15.087269, 37.502669)


def test_interleave_roundtrip():
    rng = random.Random(7)
    for _ in range(500):
        x, y = rng.getrandbits(32), rng.getrandbits(32)
        packed = gh.interleave64(x, y)
        assert gh.deinterleave64(packed) == x | (y << 32)
    assert gh.interleave64(1, 0) == 1 and gh.interleave64(0, 1) == 2
    assert gh.interleave64(0xFFFFFFFF, 0) == 0x5555555555555555


def test_scores_as_redis():
    assert gh.score_of(*PALERMO) == 3479099956230698
    assert gh.score_of(*CATANIA) == 3479447370796909
    assert gh.score_of(10, 20) == 3403951602136190
    assert gh.score_of(-180, -85.05112878) == 0
    # The top corner overflows into bits 52 and 53, as in Redis (ZSCORE 13510798882111488).
    assert gh.score_of(180, 85.05112878) == 13510798882111488
    x, y = gh.decode_score(13510798882111488.0)
    assert (gh.format_coord(x), gh.format_coord(y)) == (b"180", b"85.0511287799999991")
    assert gh.standard_geohash(13510798882111488.0) == b"bp05b5048p0"
    assert gh.encode(181, 0) is None and gh.encode(0, 85.06) is None


def test_decode_as_redis():
    x, y = gh.decode_score(3479099956230698)
    assert (gh.format_coord(x), gh.format_coord(y)) == (b"13.36138933897018433",
                                                        b"38.11555639549629859")
    x, y = gh.decode_score(3403951602136190)
    assert (gh.format_coord(x), gh.format_coord(y)) == (b"10.00000208616256714",
                                                        b"20.00000058910486445")


def test_decode_is_within_one_cell():
    rng = random.Random(3)
    for _ in range(500):
        lon = rng.uniform(-180, 180)
        lat = rng.uniform(gh.LAT_MIN, gh.LAT_MAX)
        x, y = gh.decode_score(float(gh.score_of(lon, lat)))
        assert abs(x - lon) <= 360 / 2**26 and abs(y - lat) <= 171 / 2**26
        assert gh.score_of(x, y) == gh.score_of(lon, lat)


def test_score_bits_is_cvttsd2si():
    assert gh.score_bits(5.0) == 5 and gh.score_bits(1.5) == 1
    assert gh.score_bits(-1.0) == 2**64 - 1
    assert gh.score_bits(math.inf) == 0 and gh.score_bits(-math.inf) == 1 << 63
    assert gh.score_bits(2.0**63) == 1 << 63 and gh.score_bits(2.0**64) == 0


def test_standard_geohash():
    assert gh.standard_geohash(3479099956230698) == b"sqc8b49rny0"
    assert gh.standard_geohash(3479447370796909) == b"sqdtr74hyu0"


def test_neighbors_touch_the_cell():
    bits = gh.encode(10, 20, 10)
    (lo0, lo1), (la0, la1) = gh.decode_area(bits, 10)
    nb = gh.neighbors(bits, 10)
    east, west = gh.decode_area(nb["east"], 10), gh.decode_area(nb["west"], 10)
    north, south = gh.decode_area(nb["north"], 10), gh.decode_area(nb["south"], 10)
    assert east[0][0] == pytest.approx(lo1) and west[0][1] == pytest.approx(lo0)
    assert north[1][0] == pytest.approx(la1) and south[1][1] == pytest.approx(la0)
    assert east[1] == (la0, la1) and north[0] == (lo0, lo1)
    ne = gh.decode_area(nb["north_east"], 10)
    assert ne[0] == east[0] and ne[1] == north[1]
    # Moving east then west comes back.
    assert gh.neighbors(nb["east"], 10)["west"] == bits


def test_distance():
    p = gh.score_of(*PALERMO)
    c = gh.score_of(*CATANIA)
    d = gh.distance_m(*gh.decode_score(p), *gh.decode_score(c))
    assert gh.format_distance(d) == b"166274.1516"
    assert gh.format_distance(d / 1000) == b"166.2742"
    assert gh.distance_m(1, 2, 1, 2) == 0
    assert gh.distance_m(0, 0, 0, 1) == pytest.approx(gh.EARTH_RADIUS_IN_METERS * math.pi / 180)


def test_format_distance_as_fixedpoint_d2string():
    cases = {0.0: b"0.0000", 0.0001: b"0.0001", 6.0642951598391699e-05: b"0.0001",
             0.01: b"0.0100", -0.01: b"-0.0100", 10.01: b"10.0100", -0.00001: b"0.0000",
             123456.78905: b"123456.7890", math.nan: b"-922337203685477.5808"}
    for value, text in cases.items():
        assert gh.format_distance(value) == text, value


def test_format_coord_as_ld2string_human():
    assert gh.format_coord(1.0) == b"1"
    assert gh.format_coord(-0.0) == b"0"
    assert gh.format_coord(-1e-20) == b"0"
    assert gh.format_coord(0.5) == b"0.5"
    assert gh.format_coord(0.1) == b"0.10000000000000001"


def test_steps_and_areas():
    assert gh.estimate_steps(0, 0) == 26
    assert gh.estimate_steps(1000, 0) > gh.estimate_steps(1000000, 0)
    assert gh.estimate_steps(1000, 70) == gh.estimate_steps(1000, 0) - 1
    assert gh.estimate_steps(1000, -85) == gh.estimate_steps(1000, 0) - 2
    shape = gh.Shape(gh.CIRCLE, 10, 20, 1000.0, radius=100)
    cells = gh.search_areas(shape)
    assert len(cells) == 9
    lo_lon, lo_lat, hi_lon, hi_lat = gh.bounding_box(shape)
    assert lo_lon < 10 < hi_lon and lo_lat < 20 < hi_lat
    # Every point inside the circle falls in one of the cells' score ranges.
    rng = random.Random(5)
    ranges = [gh.score_range(b, s) for b, s in cells if (b, s) != (0, 0)]
    for _ in range(300):
        lon, lat = rng.uniform(8.5, 11.5), rng.uniform(18.5, 21.5)
        score = gh.score_of(lon, lat)
        if shape.contains(*gh.decode_score(score)) is not None:
            assert any(lo <= score < hi for lo, hi in ranges)


def test_box_contains():
    box = gh.Shape(gh.BOX, 0, 0, 1000.0, width=200, height=100)
    assert box.contains(0.5, 0.2) is not None
    assert box.contains(0.5, 0.5) is None        # 55 km north: outside the 50 km half
    assert box.contains(0.95, 0) is None          # 105 km east: outside the 100 km half


def test_fast_paths_equal_the_reference():
    """decode_score (table deinterleave) and Shape.tester (centre terms computed once)
    give the same bits as the straight ports of the C functions."""
    rng = random.Random(11)
    scores = [float(rng.getrandbits(52)) for _ in range(2000)]
    scores += [0.0, -1.0, 1.5, 1e20, math.inf, -math.inf, 2.0**63, 2.0**64, 13510798882111488.0]
    for score in scores:
        assert gh.decode_score(score) == gh.decode_score_slow(score), score
    for _ in range(300):
        cx, cy = rng.uniform(-180, 180), rng.uniform(gh.LAT_MIN, gh.LAT_MAX)
        conv = rng.choice([1.0, 1000.0, 0.3048, 1609.34])
        circle = gh.Shape(gh.CIRCLE, cx, cy, conv, radius=rng.uniform(0, 5e6) / conv)
        box = gh.Shape(gh.BOX, cx, cy, conv, width=rng.uniform(0, 5e6) / conv,
                       height=rng.uniform(0, 5e6) / conv)
        tc, tb = circle.tester(), box.tester()
        for _ in range(20):
            x = rng.choice([cx, rng.uniform(-180, 180), cx + rng.uniform(-1, 1)])
            y = rng.choice([cy, rng.uniform(gh.LAT_MIN, gh.LAT_MAX)])
            d = gh.distance_m(cx, cy, x, y)
            assert tc(x, y) == (None if d > circle.radius * conv else d)
            assert tb(x, y) == gh.distance_in_rectangle(box.width * conv, box.height * conv,
                                                        cx, cy, x, y)
