"""Redis 7.0's geohash arithmetic (src/geohash.c, src/geohash_helper.c), pure and exact.

A geo point is stored as a sorted-set score: its longitude and latitude, each cut into
2**26 steps over [-180, 180] and [-85.05112878, 85.05112878], interleaved into 52 bits
(latitude bits in the even positions, longitude bits in the odd ones). Every operation
here repeats the C code's floating-point steps in the same order with the same libm
functions (Python's math module calls the same glibc), so decoded coordinates and
distances come out bit for bit as Redis computes them on x86-64. Integer steps mask to
the C widths (uint32 / uint64) where the C code wraps.

A hash is an (bits, step) pair; (0, 0) is the "zero" hash Redis uses for a dropped
neighbour (GZERO / HASHISZERO).
"""
from __future__ import annotations

import functools
import math

STEP_MAX = 26                       # GEO_STEP_MAX: 26*2 = 52 bits
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
LONG_MIN, LONG_MAX = -180.0, 180.0
WGS84 = ((LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
STANDARD = ((-180.0, 180.0), (-90.0, 90.0))     # GEOHASH's re-encoding ranges

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

CIRCLE, BOX = 1, 2                  # CIRCULAR_TYPE, RECTANGLE_TYPE

_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_TWO63 = 9223372036854775808.0


def _spread(v: int) -> int:
    """The low 32 bits of v moved to the even bit positions (interleave64's half)."""
    v &= _U32
    v = (v | (v << 16)) & 0x0000FFFF0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v << 2)) & 0x3333333333333333
    return (v | (v << 1)) & _EVEN


def _squash(v: int) -> int:
    """The even bits of v packed into 32 bits (deinterleave64's half)."""
    v &= _EVEN
    v = (v | (v >> 1)) & 0x3333333333333333
    v = (v | (v >> 2)) & 0x0F0F0F0F0F0F0F0F
    v = (v | (v >> 4)) & 0x00FF00FF00FF00FF
    v = (v | (v >> 8)) & 0x0000FFFF0000FFFF
    return (v | (v >> 16)) & _U32


def interleave64(xlo: int, ylo: int) -> int:
    """x's bits in the even positions, y's in the odd ones."""
    return _spread(xlo) | (_spread(ylo) << 1)


def deinterleave64(interleaved: int) -> int:
    """The inverse: x (even bits) in the low 32 bits, y (odd bits) in the high 32."""
    interleaved &= _U64
    return _squash(interleaved) | (_squash(interleaved >> 1) << 32)


def encode(longitude: float, latitude: float, step: int = STEP_MAX,
           ranges=WGS84) -> int | None:
    """geohashEncode: the `step`*2-bit hash of a point; None when out of range."""
    (long_min, long_max), (lat_min, lat_max) = ranges
    if step > 32 or step == 0:
        return None
    if (longitude > LONG_MAX or longitude < LONG_MIN
            or latitude > LAT_MAX or latitude < LAT_MIN):
        return None
    if (latitude < lat_min or latitude > lat_max
            or longitude < long_min or longitude > long_max):
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - long_min) / (long_max - long_min)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    return interleave64(int(lat_offset), int(long_offset))


def align52(bits: int, step: int) -> int:
    """geohashAlign52Bits: the hash shifted up to a 52-bit score."""
    return (bits << (52 - step * 2)) & _U64


def score_of(longitude: float, latitude: float) -> int:
    """The sorted-set score GEOADD stores for a (valid) point."""
    return align52(encode(longitude, latitude), STEP_MAX)


def decode_area(bits: int, step: int, ranges=WGS84):
    """geohashDecode: ((long_min, long_max), (lat_min, lat_max)) of the hash's cell, or
    None for the zero hash."""
    if bits == 0 and step == 0:
        return None
    (long_rmin, long_rmax), (lat_rmin, lat_rmax) = ranges
    sep = deinterleave64(bits)
    lat_scale = lat_rmax - lat_rmin
    long_scale = long_rmax - long_rmin
    ilato = sep & _U32
    ilono = (sep >> 32) & _U32
    div = float(1 << step)
    return ((long_rmin + (ilono * 1.0 / div) * long_scale,
             long_rmin + (((ilono + 1) & _U32) * 1.0 / div) * long_scale),
            (lat_rmin + (ilato * 1.0 / div) * lat_scale,
             lat_rmin + (((ilato + 1) & _U32) * 1.0 / div) * lat_scale))


def score_bits(score: float) -> int:
    """`(uint64_t)score` as gcc compiles it on x86-64 (cvttsd2si, with the 2**63 split)."""
    if not score < _TWO63:                  # also NaN? no: comisd sets CF for NaN
        if score != score:
            return 0x8000000000000000
        high = score - _TWO63
        if high < _TWO63:
            return int(high) ^ 0x8000000000000000
        return 0                            # 0x8000... ^ 0x8000...
    if score > -_TWO63:
        return int(score) & _U64
    return 0x8000000000000000


def _chunk_table() -> list[int]:
    """For each 16-bit piece of a hash: its even bits packed (low byte) and its odd bits
    packed (high byte); four lookups deinterleave a 64-bit hash."""
    return [_squash(v) | (_squash(v >> 1) << 8) for v in range(65536)]


_T16 = _chunk_table()
_CELLS = float(1 << STEP_MAX)
_LAT_SCALE = LAT_MAX - LAT_MIN
_LONG_SCALE = LONG_MAX - LONG_MIN


@functools.lru_cache(maxsize=1 << 17)
def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash: the (longitude, latitude) a score stands for (a cell's centre,
    clamped to the valid ranges). decode_area's arithmetic for step 26 over WGS84, with
    the deinterleave done by table. This is the hot loop of every search, and searches
    visit the same points again and again: a pure function, so the last 128 Ki scores'
    answers are kept (about 25 MB at most)."""
    if 0.0 <= score < _TWO63:
        bits = int(score)
    else:
        bits = score_bits(score)
    t = _T16
    a = t[bits & 0xFFFF]
    b = t[(bits >> 16) & 0xFFFF]
    c = t[(bits >> 32) & 0xFFFF]
    d = t[(bits >> 48) & 0xFFFF]
    ilato = (a & 0xFF) | ((b & 0xFF) << 8) | ((c & 0xFF) << 16) | ((d & 0xFF) << 24)
    ilono = (a >> 8) | ((b >> 8) << 8) | ((c >> 8) << 16) | ((d >> 8) << 24)
    x = ((LONG_MIN + (ilono * 1.0 / _CELLS) * _LONG_SCALE)
         + (LONG_MIN + (((ilono + 1) & _U32) * 1.0 / _CELLS) * _LONG_SCALE)) / 2
    if x > LONG_MAX:
        x = LONG_MAX
    if x < LONG_MIN:
        x = LONG_MIN
    y = ((LAT_MIN + (ilato * 1.0 / _CELLS) * _LAT_SCALE)
         + (LAT_MIN + (((ilato + 1) & _U32) * 1.0 / _CELLS) * _LAT_SCALE)) / 2
    if y > LAT_MAX:
        y = LAT_MAX
    if y < LAT_MIN:
        y = LAT_MIN
    return x, y


def decode_score_slow(score: float) -> tuple[float, float]:
    """decode_score the long way, through decode_area (the unit tests compare them)."""
    (lo_min, lo_max), (la_min, la_max) = decode_area(score_bits(score), STEP_MAX)
    x = (lo_min + lo_max) / 2
    x = min(max(x, LONG_MIN), LONG_MAX)
    y = (la_min + la_max) / 2
    y = min(max(y, LAT_MIN), LAT_MAX)
    return x, y


def _move_x(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _U64
    else:
        x = ((x | zz) - (zz + 1)) & _U64
    x &= _ODD >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _U64
    else:
        y = ((y | zz) - (zz + 1)) & _U64
    y &= _EVEN >> (64 - step * 2)
    return x | y


# Neighbour directions in geohashNeighbors' terms: name -> (dx, dy).
_DIRS = {"north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0),
         "north_east": (1, 1), "north_west": (-1, 1), "south_east": (1, -1),
         "south_west": (-1, -1)}


def neighbors(bits: int, step: int) -> dict[str, int]:
    """geohashNeighbors: the bits of the eight cells around a hash (same step)."""
    return {name: _move_y(_move_x(bits, step, dx), step, dy)
            for name, (dx, dy) in _DIRS.items()}


def deg_rad(ang: float) -> float:
    return ang * D_R


def rad_deg(ang: float) -> float:
    return ang / D_R


def estimate_steps(range_meters: float, lat: float) -> int:
    """geohashEstimateStepsByRadius."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


class Shape:
    """GeoShape: a centre, a circle (radius) or a box (width, height), in the unit
    `conversion` meters."""

    __slots__ = ("kind", "x", "y", "conversion", "radius", "width", "height")

    def __init__(self, kind: int, x: float, y: float, conversion: float,
                 radius: float = 0.0, width: float = 0.0, height: float = 0.0):
        self.kind, self.x, self.y, self.conversion = kind, x, y, conversion
        self.radius, self.width, self.height = radius, width, height

    def contains(self, lon: float, lat: float) -> float | None:
        """geoWithinShape after the decode: the distance in meters from the centre, or
        None when the point is outside."""
        return self.tester()(lon, lat)

    def tester(self):
        """`contains` as a function with the centre's terms computed once: the same
        floating-point operations as geohashGetDistance / ...IfInRectangle, in order."""
        x1, y1 = self.x, self.y
        sin, cos, asin, sqrt = math.sin, math.cos, math.asin, math.sqrt
        radius_m = EARTH_RADIUS_IN_METERS
        lon1r = x1 * D_R
        lat1r = y1 * D_R
        cos1 = cos(lat1r)
        nan = math.nan
        d_r = D_R

        def distance_from_centre(x2: float, y2: float) -> float:
            v = sin((x2 * d_r - lon1r) / 2)
            lat2r = y2 * d_r
            if v == 0.0:
                return radius_m * abs(lat2r - lat1r)
            u = sin((lat2r - lat1r) / 2)
            root = sqrt(u * u + cos1 * cos(lat2r) * v * v)
            return nan if root > 1.0 else 2.0 * radius_m * asin(root)

        if self.kind == CIRCLE:
            limit = self.radius * self.conversion

            def in_circle(x2: float, y2: float) -> float | None:    # inlined: hot
                v = sin((x2 * d_r - lon1r) / 2)
                lat2r = y2 * d_r
                if v == 0.0:
                    distance = radius_m * abs(lat2r - lat1r)
                else:
                    u = sin((lat2r - lat1r) / 2)
                    root = sqrt(u * u + cos1 * cos(lat2r) * v * v)
                    distance = nan if root > 1.0 else 2.0 * radius_m * asin(root)
                return None if distance > limit else distance
            return in_circle
        half_w = self.width * self.conversion / 2
        half_h = self.height * self.conversion / 2

        def in_box(x2: float, y2: float) -> float | None:
            lat2r = y2 * d_r
            if radius_m * abs(lat1r - lat2r) > half_h:
                return None
            if distance_m(x2, y2, x1, y2) > half_w:
                return None
            return distance_from_centre(x2, y2)
        return in_box


def bounding_box(shape: Shape) -> tuple[float, float, float, float]:
    """geohashBoundingBox: (min_lon, min_lat, max_lon, max_lat)."""
    longitude, latitude = shape.x, shape.y
    circle = shape.kind == CIRCLE
    height = shape.conversion * (shape.radius if circle else shape.height / 2)
    width = shape.conversion * (shape.radius if circle else shape.width / 2)
    lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS)
    long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS
                             / math.cos(deg_rad(latitude + lat_delta)))
    long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS
                                / math.cos(deg_rad(latitude - lat_delta)))
    south = latitude < 0
    return (longitude - long_delta_bottom if south else longitude - long_delta_top,
            latitude - lat_delta,
            longitude + long_delta_bottom if south else longitude + long_delta_top,
            latitude + lat_delta)


def search_areas(shape: Shape) -> list[tuple[int, int]]:
    """geohashCalculateAreasByShapeWGS84: the nine (bits, step) cells to search, in
    membersOfAllNeighbors' order (self, N, S, E, W, NE, NW, SE, SW); dropped ones are
    (0, 0)."""
    min_lon, min_lat, max_lon, max_lat = bounding_box(shape)
    longitude, latitude = shape.x, shape.y
    if shape.kind == CIRCLE:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2)
                                  + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion
    steps = estimate_steps(radius_meters, latitude)
    bits = encode(longitude, latitude, steps)
    nb = neighbors(bits, steps)
    north = decode_area(nb["north"], steps)
    south = decode_area(nb["south"], steps)
    east = decode_area(nb["east"], steps)
    west = decode_area(nb["west"], steps)
    decrease = (north[1][1] < max_lat or south[1][0] > min_lat
                or east[0][1] < max_lon or west[0][0] > min_lon)
    if steps > 1 and decrease:
        steps -= 1
        bits = encode(longitude, latitude, steps)
        nb = neighbors(bits, steps)
    area = decode_area(bits, steps)
    cells = {name: (b, steps) for name, b in nb.items()}
    if steps >= 2:
        (a_lon_min, a_lon_max), (a_lat_min, a_lat_max) = area
        zero = (0, 0)
        if a_lat_min < min_lat:
            cells["south"] = cells["south_west"] = cells["south_east"] = zero
        if a_lat_max > max_lat:
            cells["north"] = cells["north_east"] = cells["north_west"] = zero
        if a_lon_min < min_lon:
            cells["west"] = cells["south_west"] = cells["north_west"] = zero
        if a_lon_max > max_lon:
            cells["east"] = cells["south_east"] = cells["north_east"] = zero
    return [(bits, steps)] + [cells[n] for n in ("north", "south", "east", "west",
                                                  "north_east", "north_west",
                                                  "south_east", "south_west")]


def score_range(bits: int, step: int) -> tuple[int, int]:
    """scoresOfGeoHashBox: scores [min, max) of every point inside a cell."""
    return align52(bits, step), align52(bits + 1, step)


def lat_distance(lat1d: float, lat2d: float) -> float:
    """geohashGetLatDistance."""
    return EARTH_RADIUS_IN_METERS * abs(deg_rad(lat2d) - deg_rad(lat1d))


def distance_m(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """geohashGetDistance: the haversine distance in meters."""
    lon1r = deg_rad(lon1d)
    lon2r = deg_rad(lon2d)
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1d, lat2d)
    lat1r = deg_rad(lat1d)
    lat2r = deg_rad(lat2d)
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    root = math.sqrt(a)
    if root > 1.0:                          # C's asin gives NaN here; Python raises
        return math.nan
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(root)


def distance_in_rectangle(width_m: float, height_m: float, x1: float, y1: float,
                          x2: float, y2: float) -> float | None:
    """geohashGetDistanceIfInRectangle: the distance from the box's centre (x1, y1), or
    None when (x2, y2) is outside."""
    if lat_distance(y2, y1) > height_m / 2:
        return None
    if distance_m(x2, y2, x1, y2) > width_m / 2:
        return None
    return distance_m(x1, y1, x2, y2)


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def standard_geohash(score: float) -> bytes:
    """GEOHASH's 11-character string: the point decoded, re-encoded over the standard
    latitude range [-90, 90], base-32, the eleventh character always '0'."""
    x, y = decode_score(score)
    bits = encode(x, y, 26, STANDARD) or 0
    out = bytearray(11)
    for i in range(10):
        out[i] = _ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F]
    out[10] = _ALPHABET[0]
    return bytes(out)


def format_distance(d: float) -> bytes:
    """fixedpoint_d2string(d, 4): llrint(d * 10000) written with four decimals."""
    if d == 0:
        return b"0.0000"
    scaled = d * 10000.0
    if scaled != scaled or not -_TWO63 <= scaled < _TWO63:
        sv = -(1 << 63)                     # llrint's "invalid" result on x86-64
    else:
        sv = round(scaled)                  # ties to even, as llrint in the default mode
    neg = sv < 0
    digits = b"%d" % abs(sv)
    if len(digits) < 5:
        digits = b"0" * (5 - len(digits)) + digits
    text = digits[:-4] + b"." + digits[-4:]
    return b"-" + text if neg else text


def format_coord(d: float) -> bytes:
    """ld2string(d, LD_STR_HUMAN): `%.17Lf` of the (exactly widened) double, trailing
    zeros and a bare '.' removed, "-0" written "0"."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    text = (b"%.17f" % d).rstrip(b"0")
    if text.endswith(b"."):
        text = text[:-1]
    return b"0" if text == b"-0" else text
