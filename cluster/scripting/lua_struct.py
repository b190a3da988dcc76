"""The `struct` library Redis links into its Lua (lua_struct.c): pack, unpack and size.

Format: '>' big endian, '<' little endian, '!n' max alignment (power of 2, default 8),
' ' ignored, 'x' one zero byte, 'b'/'B' char, 'h'/'H' short, 'l'/'L' long (8), 'T'
size_t (8), 'i'/'I' + n int of n bytes (default 4, at most 32), 'f' float, 'd' double,
's' zero-terminated string, 'c' + n fixed-size string (c0: the whole string in pack,
the size read just before in unpack). Lowercase integer letters are signed.

Errors are raised as LuaLibError with Lua's own wording; the Lua side re-raises them at
the script's position. Lua numbers are doubles, so integers come back as floats when
they do not fit 2^53 exactly (Lua would round them the same way).
"""
from __future__ import annotations

import struct as _struct

MAXINTSIZE = 32
MAXALIGN = 8
_U64 = (1 << 64) - 1
_FIXED = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INTS = "bBhHlLTiI"


class LuaLibError(Exception):
    """An error a library function raises to the script (a plain Lua error string).

    `arg` is (argument number, text) for luaL_argerror's "bad argument #n to 'name'
    (text)": the name is the one the script called the function by (filled in by the
    caller, cluster.scripting.runtime, which can see the Lua stack)."""

    def __init__(self, message, arg: tuple | None = None):
        super().__init__(message)
        self.arg = arg


def _arg_error(fn: str, n: int, msg: str) -> LuaLibError:
    return LuaLibError("bad argument #%d to '%s' (%s)" % (n, fn, msg), (n, msg))


def _type_name(v) -> str:
    if v is None:
        return "no value"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, bytes):
        return "string"
    name = type(v).__name__
    return {"_LuaTable": "table", "_LuaFunction": "function"}.get(name, "userdata")


def _check_string(fn: str, n: int, v) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, int) and abs(v) < 10 ** 14:
            return b"%d" % v
        return b"%.14g" % v
    raise _arg_error(fn, n, "string expected, got %s" % _type_name(v))


def check_number(fn: str, n: int, v, missing: str = "no value") -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    if isinstance(v, bytes):
        try:
            s = v.strip()
            return int(s, 16) if s.lower().startswith((b"0x", b"-0x")) else float(s)
        except ValueError:
            pass
    raise _arg_error(fn, n, "number expected, got %s" % (
        missing if v is None else _type_name(v)))


class _Fmt:
    """Walks a format string the way lua_struct.c does."""

    def __init__(self, fmt: bytes, fn: str):
        self.fmt = fmt.decode("latin-1")
        self.i = 0
        self.fn = fn
        self.little = True          # native order (x86-64)
        self.align = 1

    def getnum(self, default: int) -> int:
        s, i = self.fmt, self.i
        if i >= len(s) or not s[i].isdigit():
            return default
        a = 0
        while i < len(s) and s[i].isdigit():
            a = a * 10 + ord(s[i]) - 48
            if a > 0x7FFFFFFF:
                raise LuaLibError("integral size overflow")
            i += 1
        self.i = i
        return a

    def next(self):
        """(option, size) of the next item, or None at the end."""
        if self.i >= len(self.fmt):
            return None
        opt = self.fmt[self.i]
        self.i += 1
        if opt in _FIXED:
            return opt, _FIXED[opt]
        if opt == "c":
            return opt, self.getnum(1)
        if opt in "iI":
            size = self.getnum(4)
            if size > MAXINTSIZE:
                raise LuaLibError("integral size %d is larger than limit of %d"
                                  % (size, MAXINTSIZE))
            return opt, size
        return opt, 0

    def toalign(self, length: int, opt: str, size: int) -> int:
        if size == 0 or opt == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, opt: str) -> None:
        if opt == " ":
            return
        if opt == ">":
            self.little = False
        elif opt == "<":
            self.little = True
        elif opt == "!":
            a = self.getnum(MAXALIGN)
            if a <= 0 or a & (a - 1):
                raise LuaLibError("alignment %d is not a power of 2" % a)
            self.align = a
        else:
            raise _arg_error(self.fn, 1, "invalid format option '%s'" % opt)


def pack(fmt=None, *args) -> bytes:
    f = _Fmt(_check_string("pack", 1, fmt), "pack")
    out = bytearray()
    arg = 0
    while True:
        item = f.next()
        if item is None:
            return bytes(out)
        opt, size = item
        out += b"\0" * f.toalign(len(out), opt, size)
        if opt in _INTS:
            n = check_number("pack", arg + 2, args[arg] if arg < len(args) else None, "nil")
            arg += 1
            value = int(n) & _U64 if n == n and abs(n) < 2.0 ** 64 else 0
            raw = value.to_bytes(max(size, 8), "little")[:size] if size else b""
            out += raw if f.little else raw[::-1]
        elif opt == "x":
            out += b"\0"
        elif opt in "fd":
            n = check_number("pack", arg + 2, args[arg] if arg < len(args) else None, "nil")
            arg += 1
            if opt == "f":
                try:
                    raw = _struct.pack("<f", n)
                except OverflowError:
                    raw = _struct.pack("<f", float("inf") if n > 0 else float("-inf"))
            else:
                raw = _struct.pack("<d", n)
            out += raw if f.little else raw[::-1]
        elif opt in "cs":
            s = _check_string("pack", arg + 2, args[arg] if arg < len(args) else None)
            arg += 1
            if size == 0:
                size = len(s)
            if len(s) < size:
                raise _arg_error("pack", arg + 2, "string too short")
            out += s[:size]
            if opt == "s":
                out += b"\0"
        else:
            f.control(opt)


def unpack(fmt=None, data=None, init=None):
    f = _Fmt(_check_string("unpack", 1, fmt), "unpack")
    data = _check_string("unpack", 2, data)
    ld = len(data)
    pos = 0
    if init is not None:
        pos = int(check_number("unpack", 3, init)) - 1
    if pos < 0:
        raise _arg_error("unpack", 3, "offset must be 1 or greater")
    res: list = []
    while True:
        item = f.next()
        if item is None:
            break
        opt, size = item
        pos += f.toalign(pos, opt, size)
        if size > ld or pos > ld - size:
            raise _arg_error("unpack", 2, "data string too short")
        if opt in _INTS:
            raw = data[pos:pos + size]
            v = int.from_bytes(raw, "little" if f.little else "big")
            if opt.islower() and size and v >> (size * 8 - 1):
                v -= 1 << (size * 8)
            if size > 8:
                v &= _U64
                if opt.islower() and v >> 63:
                    v -= 1 << 64
            res.append(_number(v))
        elif opt in "fd":
            raw = data[pos:pos + size]
            res.append(_struct.unpack("<f" if opt == "f" else "<d",
                                      raw if f.little else raw[::-1])[0])
        elif opt == "c":
            if size == 0:
                if not res or not isinstance(res[-1], (int, float)):
                    raise LuaLibError("format 'c0' needs a previous size")
                size = int(res.pop())
                if size > ld or pos > ld - size:
                    raise _arg_error("unpack", 2, "data string too short")
            res.append(data[pos:pos + size])
        elif opt == "s":
            end = data.find(b"\0", pos)
            if end < 0:
                raise LuaLibError("unfinished string in data")
            res.append(data[pos:end])
            size = end - pos + 1
        elif opt != "x":
            f.control(opt)
        pos += size
    res.append(pos + 1)
    return tuple(res)


def size(fmt=None) -> int:
    f = _Fmt(_check_string("size", 1, fmt), "size")
    pos = 0
    while True:
        item = f.next()
        if item is None:
            return pos
        opt, sz = item
        pos += f.toalign(pos, opt, sz)
        if opt == "s":
            raise _arg_error("size", 1, "option 's' has no fixed size")
        if opt == "c" and sz == 0:
            raise _arg_error("size", 1, "option 'c0' has no fixed size")
        if not opt.isalnum():
            f.control(opt)
        pos += sz


def _number(v: int):
    return v if -(1 << 53) <= v <= (1 << 53) else float(v)
