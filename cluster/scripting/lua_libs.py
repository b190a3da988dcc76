"""Python halves of the libraries Redis links into its Lua 5.1: bit, cmsgpack, and
Redis's own math.random (redisLrand48). cjson is cluster.scripting.lua_cjson, struct
cluster.scripting.lua_struct.

lupa's bundled Lua 5.1 has none of them, so the Lua side (cluster.scripting.runtime's prelude)
builds the tables from these callbacks. Values cross as lupa gives them: Lua strings are
bytes, numbers int/float, tables lupa tables.
"""
from __future__ import annotations

import math

import msgpack

_M32 = 0xFFFFFFFF


# --- math.random: redisLrand48, the 48-bit linear congruential generator -------------

class Rand48:
    MAX = 2147483647            # REDIS_LRAND48_MAX (INT32_MAX)
    DEFAULT = 0x1234ABCD330E    # lrand48's state before any seeding (Redis never seeds)

    def __init__(self, seed: int | None = None):
        if seed is None:
            self.x = self.DEFAULT
        else:
            self.seed(seed)

    def seed(self, value) -> None:
        self.x = ((int(value) & _M32) << 16 | 0x330E) & 0xFFFFFFFFFFFF

    def next(self) -> int:
        self.x = (0x5DEECE66D * self.x + 0xB) & 0xFFFFFFFFFFFF
        return self.x >> 17

    def random(self) -> float:
        return (self.next() % self.MAX) / self.MAX


# --- bit (LuaBitOp) ------------------------------------------------------------------

def tobit(x) -> int:
    n = int(math.fmod(x, 2 ** 32)) if isinstance(x, float) else int(x)
    n &= _M32
    return n - (1 << 32) if n & 0x80000000 else n


def _fold(op, args) -> int:
    acc = tobit(args[0])
    for a in args[1:]:
        acc = op(acc & _M32, tobit(a) & _M32)
    return tobit(acc)


def bit_band(*a): return _fold(lambda x, y: x & y, a)
def bit_bor(*a): return _fold(lambda x, y: x | y, a)
def bit_bxor(*a): return _fold(lambda x, y: x ^ y, a)
def bit_bnot(x): return tobit(~tobit(x))
def bit_lshift(x, n): return tobit((tobit(x) & _M32) << (int(n) & 31))
def bit_rshift(x, n): return tobit((tobit(x) & _M32) >> (int(n) & 31))
def bit_arshift(x, n): return tobit(tobit(x) >> (int(n) & 31))


def bit_rol(x, n):
    v, n = tobit(x) & _M32, int(n) & 31
    return tobit((v << n) | (v >> (32 - n)))


def bit_ror(x, n):
    v, n = tobit(x) & _M32, int(n) & 31
    return tobit((v >> n) | (v << (32 - n)))


def bit_bswap(x):
    return tobit(int.from_bytes((tobit(x) & _M32).to_bytes(4, "big"), "little"))


def bit_tohex(x, n=8):
    n = int(n)
    digits = "0123456789ABCDEF" if n < 0 else "0123456789abcdef"
    n = min(abs(n), 8)
    v = tobit(x) & _M32
    return "".join(digits[(v >> (4 * i)) & 15] for i in reversed(range(n))).encode()


BIT = {"tobit": tobit, "band": bit_band, "bor": bit_bor, "bxor": bit_bxor, "bnot": bit_bnot,
       "lshift": bit_lshift, "rshift": bit_rshift, "arshift": bit_arshift, "rol": bit_rol,
       "ror": bit_ror, "bswap": bit_bswap, "tohex": bit_tohex}


# --- Lua table <-> Python, for cmsgpack ----------------------------------------

def _is_table(v) -> bool:
    return type(v).__name__ == "_LuaTable"


def lua_to_py(v, depth: int = 0):
    if depth > 1000:
        raise ValueError("Cannot serialise, excessive nesting (1001)")
    if _is_table(v):
        items = list(v.items())
        n = len(items)
        if n and all(isinstance(k, (int, float)) and k == int(k) and k >= 1 for k, _ in items) \
                and max(int(k) for k, _ in items) == n:
            arr = [None] * n
            for k, val in items:
                arr[int(k) - 1] = lua_to_py(val, depth + 1)
            return arr
        if n == 0:
            return {}
        return {(k.decode("utf-8", "surrogateescape") if isinstance(k, bytes) else
                 _num_text(k)): lua_to_py(val, depth + 1) for k, val in items}
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    return v


def _num_text(k) -> str:
    return ("%.14g" % k) if isinstance(k, float) else str(k)


def msgpack_pack(*values) -> bytes:
    return b"".join(msgpack.packb(lua_to_py_bytes(v), use_bin_type=False) for v in values)


def lua_to_py_bytes(v):
    """Like lua_to_py, but strings stay bytes (msgpack raw)."""
    if _is_table(v):
        conv = lua_to_py(v)
        return _strings_to_bytes(conv)
    return v


def _strings_to_bytes(o):
    if isinstance(o, str):
        return o.encode("utf-8", "surrogateescape")
    if isinstance(o, list):
        return [_strings_to_bytes(x) for x in o]
    if isinstance(o, dict):
        return {_strings_to_bytes(k): _strings_to_bytes(x) for k, x in o.items()}
    return o


def msgpack_unpack(lua, data):
    unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
    unpacker.feed(data)
    return tuple(_py_bytes_to_lua(lua, v) for v in unpacker)


def _py_bytes_to_lua(lua, v):
    if isinstance(v, (list, tuple)):
        return lua.table_from([_py_bytes_to_lua(lua, x) for x in v])
    if isinstance(v, dict):
        t = lua.table()
        for k, x in v.items():
            t[_py_bytes_to_lua(lua, k)] = _py_bytes_to_lua(lua, x)
        return t
    return v
