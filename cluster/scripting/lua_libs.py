"""Python halves of the libraries Redis links into its Lua 5.1: bit, cmsgpack, and
Redis's own math.random (redisLrand48). cjson is cluster.scripting.lua_cjson, struct
cluster.scripting.lua_struct.

lupa's bundled Lua 5.1 has none of them, so the Lua side (cluster.scripting.runtime's prelude)
builds the tables from these callbacks. Values cross as lupa gives them: Lua strings are
bytes, numbers int/float, tables lupa tables.
"""
from __future__ import annotations

import math
import struct

from cluster.scripting.lua_struct import LuaLibError

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


# --- cmsgpack (lua_cmsgpack.c 0.4, as Redis 7.0 links it) ---------------------------

MAX_NESTING = 16            # LUACMSGPACK_MAX_NESTING: deeper tables encode as nil
LUAI_MAXCSTACK = 8000       # the Lua stack slots a C function may use
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")


def _is_table(v) -> bool:
    return type(v).__name__ == "_LuaTable"


def _mp_int(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + n.to_bytes(1, "big")
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    else:
        if n >= -32:
            out.append(n & 0xFF)
        elif n >= -128:
            out += b"\xd0" + n.to_bytes(1, "big", signed=True)
        elif n >= -32768:
            out += b"\xd1" + n.to_bytes(2, "big", signed=True)
        elif n >= -2147483648:
            out += b"\xd2" + n.to_bytes(4, "big", signed=True)
        else:
            out += b"\xd3" + n.to_bytes(8, "big", signed=True)


def _mp_number(n, out: bytearray) -> None:
    # IS_INT64_EQUIVALENT: a finite double that survives (int64_t) unchanged
    if isinstance(n, int) or (math.isfinite(n) and n == int(n) and -2.0 ** 63 <= n < 2.0 ** 63):
        _mp_int(int(n), out)
        return
    try:
        f = _F32.pack(n)
        exact = _F32.unpack(f)[0] == n
    except OverflowError:
        exact = False
    if exact or n != n:
        out += b"\xca" + _F32.pack(n)
    else:
        out += b"\xcb" + _F64.pack(n)


def _mp_len(n: int, fix: int, fixmax: int, b16: int, out: bytearray) -> None:
    if n <= fixmax:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out += bytes((b16,)) + n.to_bytes(2, "big")
    else:
        out += bytes((b16 + 1,)) + n.to_bytes(4, "big")


def _mp_encode(v, level: int, out: bytearray) -> None:
    if v.__class__ is bytes:
        n = len(v)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += b"\xd9" + bytes((n,))
        elif n <= 0xFFFF:
            out += b"\xda" + n.to_bytes(2, "big")
        else:
            out += b"\xdb" + n.to_bytes(4, "big")
        out += v
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, (int, float)):
        _mp_number(v, out)
    elif _is_table(v) and level < MAX_NESTING:
        items = list(v.items())
        count, top, is_array = 0, 0, True
        for k, _ in items:
            if not isinstance(k, (int, float)) or isinstance(k, bool) or k <= 0 \
                    or k != int(k):
                is_array = False
                break
            top = max(top, int(k))
            count += 1
        if is_array and top == count:
            _mp_len(count, 0x90, 15, 0xDC, out)
            for i in range(1, count + 1):
                _mp_encode(v[i], level + 1, out)
        else:
            _mp_len(len(items), 0x80, 15, 0xDE, out)
            for k, x in items:
                _mp_encode(k, level + 1, out)
                _mp_encode(x, level + 1, out)
    else:
        out.append(0xC0)        # nil, functions, userdata, tables past MAX_NESTING


def msgpack_pack(*values) -> bytes:
    """cmsgpack.pack: every argument encoded, concatenated."""
    if not values:
        raise LuaLibError("", (0, "MessagePack pack needs input."))
    out = bytearray()
    for v in values:
        _mp_encode(v, 0, out)
    return bytes(out)


class _Missing(Exception):
    pass


class _Bad(Exception):
    pass


class _Decoder:
    """mp_decode_to_lua_type over bytes; depth and results bounded like the Lua stack."""

    def __init__(self, lua, data: bytes):
        self.lua = lua
        self.data = data
        self.pos = 0
        self.slots = 0          # Lua stack slots the C decoder would hold right now

    def need(self, n: int) -> bytes:
        if len(self.data) - self.pos < n:
            raise _Missing()
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def push(self, what: str) -> None:
        self.slots += 1
        if self.slots > LUAI_MAXCSTACK - 10:
            raise LuaLibError("stack overflow (%s)" % what)

    def value(self):
        c = self.need(1)[0]
        if c <= 0x7F:
            return c
        if c >= 0xE0:
            return c - 0x100
        if 0x80 <= c <= 0x8F:
            return self.map(c & 0x0F)
        if 0x90 <= c <= 0x9F:
            return self.array(c & 0x0F)
        if 0xA0 <= c <= 0xBF:
            return self.need(c & 0x1F)
        if c == 0xC0:
            return None
        if c in (0xC2, 0xC3):
            return c == 0xC3
        if c == 0xCA:
            return _F32.unpack(self.need(4))[0]
        if c == 0xCB:
            return _F64.unpack(self.need(8))[0]
        if 0xCC <= c <= 0xCF:
            n = int.from_bytes(self.need(1 << (c - 0xCC)), "big")
            return n if n < 1 << 63 else float(n)
        if 0xD0 <= c <= 0xD3:
            return int.from_bytes(self.need(1 << (c - 0xD0)), "big", signed=True)
        if c in (0xD9, 0xDA, 0xDB):
            n = int.from_bytes(self.need(1 << (c - 0xD9)), "big")
            return self.need(n)
        if c in (0xDC, 0xDD):
            return self.array(int.from_bytes(self.need(2 if c == 0xDC else 4), "big"))
        if c in (0xDE, 0xDF):
            return self.map(int.from_bytes(self.need(2 if c == 0xDE else 4), "big"))
        raise _Bad()

    def array(self, n: int):
        # a declared length is never trusted: each element must be present in the input
        self.push("in function mp_decode_to_lua_array")
        self.push("in function mp_decode_to_lua_array")
        t = self.lua.table()
        for i in range(1, n + 1):
            v = self.value()
            if v is not None:
                t[i] = v
        self.slots -= 2
        return t

    def map(self, n: int):
        self.push("in function mp_decode_to_lua_hash")
        t = self.lua.table()
        for _ in range(n):
            k = self.value()
            v = self.value()
            if k is None:
                raise LuaLibError("table index is nil")
            if v is not None:
                t[k] = v
        self.slots -= 1
        return t


def msgpack_unpack(lua, *args):
    """cmsgpack.unpack: every object in the string, as multiple results."""
    return _unpack_full(lua, _packed(args), 0, 0)


def msgpack_unpack_one(lua, *args):
    """cmsgpack.unpack_one(s [, offset]): the next offset (-1 at the end), one object."""
    data = _packed(args)
    offset = _opt_integer(args, 2, 0)
    return _unpack_full(lua, data, 1, offset)


def msgpack_unpack_limit(lua, *args):
    """cmsgpack.unpack_limit(s, limit [, offset]): the next offset (-1 at the end), then
    up to `limit` objects."""
    data = _packed(args)
    limit = _opt_integer(args, 2, None)
    offset = _opt_integer(args, 3, 0)
    return _unpack_full(lua, data, limit, offset)


def _packed(args) -> bytes:
    data = args[0] if args else None
    if not isinstance(data, bytes):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = ("%.14g" % data).encode()
        else:
            raise LuaLibError("", (1, "string expected, got %s" % (
                "no value" if not args else "nil" if data is None else _lua_type_name(data))))
    return data


def _opt_integer(args, n: int, default):
    """luaL_optinteger / luaL_checkinteger (default None) of argument n (1-based)."""
    value = args[n - 1] if len(args) >= n else None
    if value is None:
        if default is None:
            raise LuaLibError("", (n, "number expected, got %s"
                                   % ("no value" if len(args) < n else "nil")))
        return default
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            raise LuaLibError("", (n, "number expected, got string")) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LuaLibError("", (n, "number expected, got %s" % _lua_type_name(value)))
    if value != value or abs(value) >= 2 ** 63:
        return -(2 ** 31)
    return ((int(value) + 2 ** 31) & 0xFFFFFFFF) - 2 ** 31      # to a C int, as Redis


def _unpack_full(lua, data: bytes, limit: int, offset: int):
    """mp_unpack_full: `limit` objects from `offset` (both 0: all, no offset returned)."""
    decode_all = not limit and not offset
    if offset < 0 or limit < 0:
        raise LuaLibError("Invalid request to unpack with offset of %d and limit of %d."
                          % (offset, len(data)))          # (Redis prints the length)
    if offset > len(data):
        raise LuaLibError("Start offset %d greater than input length %d."
                          % (offset, len(data)))
    if decode_all:
        limit = 2 ** 31 - 1
    d = _Decoder(lua, data)
    d.pos = offset
    out = []
    try:
        while d.pos < len(data) and len(out) < limit:
            d.slots = len(out)
            if len(out) >= LUAI_MAXCSTACK - 20:
                raise LuaLibError("stack overflow (too many return values at once; use "
                                  "unpack_one or unpack_limit instead.)")
            out.append(d.value())
    except RecursionError:
        raise LuaLibError("stack overflow (in function mp_decode_to_lua_array)") from None
    except _Missing:
        raise LuaLibError("Missing bytes in input.") from None
    except _Bad:
        raise LuaLibError("Bad data format in input.") from None
    if not decode_all:
        out.insert(0, -1 if d.pos >= len(data) else d.pos)
    return tuple(out)


def _lua_type_name(v) -> str:
    if isinstance(v, bool):
        return "boolean"
    if _is_table(v):
        return "table"
    return "userdata" if not callable(v) else "function"
