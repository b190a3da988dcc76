"""Geo commands (src/geo.c of Redis 7.0): GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their _RO variants.

A geo index is a sorted set whose scores are 52-bit geohashes (cluster.keyspace.geohash).
GEOADD is ZADD with the coordinates turned into scores, and is propagated as that ZADD,
as Redis does (replaceClientCommandVector). A search visits the nine cells Redis picks, in
Redis's order, keeps the points inside the shape, then sorts by distance the way Redis
does: a stable sort (glibc's merge sort behind qsort) when every result is returned, and
Redis's own partial quicksort (pqsort.c) when COUNT cuts the list, so ties come out in the
same order. Distances are written with four decimals, coordinates as `%.17Lf` trimmed.
"""
from __future__ import annotations

from cluster.commands.args import NOT_INT, SYNTAX, string2ll
from cluster.commands.zset_args import parse_score
from cluster.commands.zsets import store_result, zadd, zset_of
from cluster.execution.table import command
from cluster.keyspace import geohash
from cluster.keyspace.geohash import BOX, CIRCLE, Shape
from cluster.keyspace.notify import GENERIC, notify
from cluster.resp.outcomes import Rewritten
from cluster.resp.reply import NULL_ARRAY, Double, ReplyError

ACL = "@geo"
G = "geo"
NOT_DECODED = "ERR could not decode requested zset member"
_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
_SEARCH_CX = ("O(N+log(M)) where N is the number of elements inside the bounding box of the "
              "circular area delimited by center and radius and M is the number of items "
              "inside the index.")
_GEOSEARCH_CX = ("O(N+log(M)) where N is the number of elements in the grid-aligned bounding "
                 "box area around the shape provided as the filter and M is the number of "
                 "items inside the shape")


# -- argument helpers (extract*OrReply) ----------------------------------------------------
def _double(raw: bytes, message: str | None = None) -> float:
    """getDoubleFromObjectOrReply, with its optional custom message."""
    try:
        return parse_score(raw)
    except ReplyError:
        if message is None:
            raise
        raise ReplyError("ERR " + message) from None


def lon_lat(lon: bytes, lat: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    x, y = _double(lon), _double(lat)
    if (x < geohash.LONG_MIN or x > geohash.LONG_MAX
            or y < geohash.LAT_MIN or y > geohash.LAT_MAX):
        raise ReplyError("ERR invalid longitude,latitude pair %f,%f" % (x, y))
    return x, y


def unit(raw: bytes) -> float:
    """extractUnitOrReply: meters per unit."""
    to_meters = _UNITS.get(raw.lower())
    if to_meters is None:
        raise ReplyError("ERR unsupported unit provided. please use M, KM, FT, MI")
    return to_meters


def _distance_arg(argv, at: int) -> tuple[float, float]:
    """extractDistanceOrReply: (radius, conversion)."""
    radius = _double(argv[at], "need numeric radius")
    if radius < 0:
        raise ReplyError("ERR radius cannot be negative")
    return radius, unit(argv[at + 1])


def _box_arg(argv, at: int) -> tuple[float, float, float]:
    """extractBoxOrReply: (width, height, conversion)."""
    width = _double(argv[at], "need numeric width")
    height = _double(argv[at + 1], "need numeric height")
    if height < 0 or width < 0:
        raise ReplyError("ERR height or width cannot be negative")
    return width, height, unit(argv[at + 2])


def _member_xy(zs, member: bytes) -> tuple[float, float]:
    """longLatFromMember."""
    score = zs.scores.get(member)
    if score is None:
        raise ReplyError(NOT_DECODED)
    return geohash.decode_score(score)


def _as_long_long(score: float) -> int:
    """(long long)score as cvttsd2si does it."""
    if score != score or not -9223372036854775808.0 <= score < 9223372036854775808.0:
        return -(1 << 63)
    return int(score)


def coords(x: float, y: float) -> list:
    return [Double(geohash.format_coord(x)), Double(geohash.format_coord(y))]


def _read(client, key: bytes):
    return zset_of(client.db.lookup_read(key, not client.no_touch))


# -- GEOADD --------------------------------------------------------------------------------
@command("geoadd", -5, "write denyoom", keys=(1, 1, 1), acl=ACL, group=G,
         key_flags="RW UPDATE", since="3.2.0",
         summary="Add one or more geospatial items in the geospatial index represented "
                 "using a sorted set",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.")
def geoadd(client, argv):
    argc = len(argv)
    xx = nx = False
    longidx = 2
    while longidx < argc:
        opt = argv[longidx].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt != b"ch":
            break
        longidx += 1
    if (argc - longidx) % 3 or (xx and nx):
        raise ReplyError(SYNTAX)
    zargv = [b"zadd", *argv[1:longidx]]
    for i in range(longidx, argc, 3):
        x, y = lon_lat(argv[i], argv[i + 1])
        zargv.append(b"%d" % geohash.score_of(x, y))
        zargv.append(argv[i + 2])
    return Rewritten(zadd(client, zargv), [zargv])


# -- GEOHASH / GEOPOS / GEODIST ------------------------------------------------------------
@command("geohash", -2, "readonly", keys=(1, 1, 1), acl=ACL, group=G, key_flags="RO ACCESS",
         since="3.2.0",
         summary="Returns members of a geospatial index as standard geohash strings",
         complexity="O(log(N)) for each member requested, where N is the number of elements "
                    "in the sorted set.")
def geohash_(client, argv):
    zs = _read(client, argv[1])
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        out.append(None if score is None else geohash.standard_geohash(score))
    return out


@command("geopos", -2, "readonly", keys=(1, 1, 1), acl=ACL, group=G, key_flags="RO ACCESS",
         since="3.2.0",
         summary="Returns longitude and latitude of members of a geospatial index",
         complexity="O(N) where N is the number of members requested.")
def geopos(client, argv):
    zs = _read(client, argv[1])
    out = []
    for member in argv[2:]:
        score = None if zs is None else zs.scores.get(member)
        out.append(NULL_ARRAY if score is None else coords(*geohash.decode_score(score)))
    return out


@command("geodist", -4, "readonly", keys=(1, 1, 1), acl=ACL, group=G, key_flags="RO ACCESS",
         since="3.2.0",
         summary="Returns the distance between two members of a geospatial index",
         complexity="O(log(N))")
def geodist(client, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = unit(argv[4])
    elif len(argv) > 5:
        raise ReplyError(SYNTAX)
    zs = _read(client, argv[1])
    if zs is None:
        return None
    s1 = zs.scores.get(argv[2])
    s2 = zs.scores.get(argv[3])
    if s1 is None or s2 is None:
        return None
    x1, y1 = geohash.decode_score(s1)
    x2, y2 = geohash.decode_score(s2)
    return geohash.format_distance(geohash.distance_m(x1, y1, x2, y2) / to_meter)


# -- the search (georadiusGeneric) -----------------------------------------------------------
RADIUS_COORDS, RADIUS_MEMBER, NOSTORE, GEOSEARCH, GEOSEARCHSTORE = 1, 2, 4, 8, 16
SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


def points_in_shape(zs, shape: Shape, limit: int) -> list:
    """membersOfAllNeighbors: [dist_m, score, member, lon, lat] of the points inside the
    shape, cell by cell in Redis's order; with `limit` (ANY), stop once that many."""
    found: list = []
    cells = geohash.search_areas(shape)
    last = 0
    irange = zs.sl.irange
    decode = geohash.decode_score
    contains = shape.tester()
    for i, (bits, step) in enumerate(cells):
        if bits == 0 and step == 0:
            continue
        if last and bits == cells[last][0] and step == cells[last][1]:
            continue
        if found and limit and len(found) >= limit:
            break
        lo, hi = geohash.score_range(bits, step)
        for score, member in irange((float(lo),), (float(hi),), inclusive=(True, False)):
            x, y = decode(score)
            dist = contains(x, y)
            if dist is not None:
                found.append([dist, score, member, x, y])
            if found and limit and len(found) >= limit:
                break
        last = i
    return found


def _asc(a, b) -> int:
    """sort_gp_asc."""
    if a[0] > b[0]:
        return 1
    if a[0] == b[0]:
        return 0
    return -1


def _desc(a, b) -> int:
    return -_asc(a, b)


def pqsort(arr: list, cmp, lrange: int, rrange: int) -> None:
    """Redis's pqsort.c (Bentley-McIlroy quicksort that only sorts what overlaps
    [lrange, rrange]), in place, element for element as the C code moves them."""
    def med3(a, b, c):
        if cmp(arr[a], arr[b]) < 0:
            if cmp(arr[b], arr[c]) < 0:
                return b
            return c if cmp(arr[a], arr[c]) < 0 else a
        if cmp(arr[b], arr[c]) > 0:
            return b
        return a if cmp(arr[a], arr[c]) < 0 else c

    def swap(i, j):
        arr[i], arr[j] = arr[j], arr[i]

    def vecswap(i, j, n):
        for k in range(n):
            swap(i + k, j + k)

    def sort(a: int, n: int) -> None:
        while True:
            if n < 7:
                for pm in range(a + 1, a + n):
                    pl = pm
                    while pl > a and cmp(arr[pl - 1], arr[pl]) > 0:
                        swap(pl, pl - 1)
                        pl -= 1
                return
            pm = a + n // 2
            if n > 7:
                pl = a
                pn = a + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(a, pm)
            pa = pb = a + 1
            pc = pd = a + n - 1
            while True:
                while pb <= pc:
                    r = cmp(arr[pb], arr[a])
                    if r > 0:
                        break
                    if r == 0:
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    r = cmp(arr[pc], arr[a])
                    if r < 0:
                        break
                    if r == 0:
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                pb += 1
                pc -= 1
            pn = a + n
            r = min(pa - a, pb - pa)
            vecswap(a, pb - r, r)
            r = min(pd - pc, pn - pd - 1)
            vecswap(pb, pn - r, r)
            r = pb - pa
            if r > 1:
                if not ((lrange < a and rrange < a)
                        or (lrange >= a + r and rrange >= a + r)):
                    sort(a, r)
            r = pd - pc
            if r > 1:
                a = pn - r
                n = r
                if not ((lrange < a and rrange < a)
                        or (lrange >= a + n and rrange >= a + n)):
                    continue
            return

    sort(0, len(arr))


def _generic(client, argv, src: int, flags: int):
    zs = _read(client, argv[src])
    argc = len(argv)
    storekey = None
    storedist = False
    shape = Shape(CIRCLE, 0.0, 0.0, 0.0)
    if flags & RADIUS_COORDS:
        base = 6
        shape.x, shape.y = lon_lat(argv[2], argv[3])
        shape.radius, shape.conversion = _distance_arg(argv, 4)
    elif flags & RADIUS_MEMBER and zs is None:
        base = 5
    elif flags & RADIUS_MEMBER:
        base = 5
        shape.x, shape.y = _member_xy(zs, argv[2])
        shape.radius, shape.conversion = _distance_arg(argv, 3)
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    remaining = argc - base
    i = 0
    while i < remaining:
        arg = argv[base + i].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            count = string2ll(argv[base + i + 1])
            if count is None:
                raise ReplyError(NOT_INT)
            if count <= 0:
                raise ReplyError("ERR COUNT must be > 0")
            i += 1
        elif (arg in (b"store", b"storedist") and i + 1 < remaining
              and not flags & NOSTORE and not flags & GEOSEARCH):
            storekey = argv[base + i + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and flags & GEOSEARCH and flags & GEOSEARCHSTORE:
            storedist = True
        elif (arg == b"frommember" and i + 1 < remaining and flags & GEOSEARCH
              and not fromloc):
            if zs is not None:
                shape.x, shape.y = _member_xy(zs, argv[base + i + 1])
            frommember = True
            i += 1
        elif (arg == b"fromlonlat" and i + 2 < remaining and flags & GEOSEARCH
              and not frommember):
            shape.x, shape.y = lon_lat(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and flags & GEOSEARCH and not bybox:
            shape.radius, shape.conversion = _distance_arg(argv, base + i + 1)
            shape.kind = CIRCLE
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and flags & GEOSEARCH and not byradius:
            shape.width, shape.height, shape.conversion = _box_arg(argv, base + i + 1)
            shape.kind = BOX
            bybox = True
            i += 3
        else:
            raise ReplyError(SYNTAX)
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        raise ReplyError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD "
                         "options" % ("GEOSEARCHSTORE" if flags & GEOSEARCHSTORE
                                      else "STORE option in GEORADIUS"))
    name = argv[0].decode("utf-8", "surrogateescape")
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise ReplyError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for "
                         + name)
    if flags & GEOSEARCH and not (byradius or bybox):
        raise ReplyError("ERR exactly one of BYRADIUS and BYBOX can be specified for " + name)
    if any_ and not count:
        raise ReplyError("ERR the ANY argument requires COUNT argument")

    if zs is None:
        if storekey is not None:
            if client.db.delete(storekey):
                notify(client, GENERIC, b"del", storekey)
            return 0
        return []

    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC
    found = points_in_shape(zs, shape, count if any_ else 0)
    if not found and storekey is None:
        return []
    total = len(found)
    returned = total if (count == 0 or total < count) else count
    if sort != SORT_NONE:
        if returned == total:
            found.sort(key=_dist, reverse=sort == SORT_DESC)     # stable, as glibc's qsort
        else:
            pqsort(found, _asc if sort == SORT_ASC else _desc, 0, returned - 1)
    conversion = shape.conversion

    if storekey is None:
        plain = not (withdist or withhash or withcoords)
        out = []
        for dist, score, member, x, y in found[:returned]:
            if plain:
                out.append(member)
                continue
            item = [member]
            if withdist:
                item.append(geohash.format_distance(dist / conversion))
            if withhash:
                item.append(_as_long_long(score))
            if withcoords:
                item.append(coords(x, y))
            out.append(item)
        return out
    pairs = [((dist / conversion) if storedist else score, member)
             for dist, score, member, _, _ in found[:returned]]
    return store_result(client, storekey, pairs,
                        b"geosearchstore" if flags & GEOSEARCH else b"georadiusstore")


def _dist(point) -> float:
    return point[0]


def georadius_keys(argv: list[bytes]) -> list[int]:
    """georadiusGetKeys: the source key, and the last STORE/STOREDIST key."""
    stored = -1
    i = 5
    argc = len(argv)
    while i < argc:
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < argc:
            stored = i + 1
            i += 1
        i += 1
    return [1] if stored == -1 else [1, stored]


def _source_spec(index: int = 1) -> dict:
    return {"flags": ["RO", "ACCESS"], "begin_search": {"type": "index", "spec": {"index": index}},
            "find_keys": {"type": "range", "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}}


def _store_specs(startfrom: int) -> tuple:
    return tuple({"flags": ["OW", "UPDATE"],
                  "begin_search": {"type": "keyword",
                                   "spec": {"keyword": word, "startfrom": startfrom}},
                  "find_keys": {"type": "range",
                                "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}}
                 for word in ("STORE", "STOREDIST"))


@command("georadius", -6, "write denyoom", keys=(1, 1, 1), acl=ACL, group=G, since="3.2.0",
         key_specs=(_source_spec(),) + _store_specs(6), getkeys=georadius_keys,
         doc_flags="deprecated", complexity=_SEARCH_CX,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "matching a given maximum distance from a point")
def georadius(client, argv):
    return _generic(client, argv, 1, RADIUS_COORDS)


@command("georadiusbymember", -5, "write denyoom", keys=(1, 1, 1), acl=ACL, group=G, since="3.2.0",
         key_specs=(_source_spec(),) + _store_specs(5), getkeys=georadius_keys,
         doc_flags="deprecated", complexity=_SEARCH_CX,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "matching a given maximum distance from a member")
def georadiusbymember(client, argv):
    return _generic(client, argv, 1, RADIUS_MEMBER)


@command("georadius_ro", -6, "readonly", keys=(1, 1, 1), acl=ACL, group=G, since="3.2.10",
         key_flags="RO ACCESS", doc_flags="deprecated", complexity=_SEARCH_CX,
         summary="A read-only variant for GEORADIUS")
def georadius_ro(client, argv):
    return _generic(client, argv, 1, RADIUS_COORDS | NOSTORE)


@command("georadiusbymember_ro", -5, "readonly", keys=(1, 1, 1), acl=ACL, group=G,
         since="3.2.10", key_flags="RO ACCESS", doc_flags="deprecated",
         complexity=_SEARCH_CX, summary="A read-only variant for GEORADIUSBYMEMBER")
def georadiusbymember_ro(client, argv):
    return _generic(client, argv, 1, RADIUS_MEMBER | NOSTORE)


@command("geosearch", -7, "readonly", keys=(1, 1, 1), acl=ACL, group=G, since="6.2.0",
         key_flags="RO ACCESS", complexity=_GEOSEARCH_CX,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "inside an area of a box or a circle.")
def geosearch(client, argv):
    return _generic(client, argv, 1, GEOSEARCH)


@command("geosearchstore", -8, "write denyoom", keys=(1, 2, 1), acl=ACL, group=G,
         since="6.2.0",
         key_specs=({"flags": ["OW", "UPDATE"],
                     "begin_search": {"type": "index", "spec": {"index": 1}},
                     "find_keys": {"type": "range",
                                   "spec": {"lastkey": 0, "keystep": 1, "limit": 0}}},
                    _source_spec(2)),
         complexity=_GEOSEARCH_CX,
         summary="Query a sorted set representing a geospatial index to fetch members "
                 "inside an area of a box or a circle, and store the result in another key.")
def geosearchstore(client, argv):
    return _generic(client, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
