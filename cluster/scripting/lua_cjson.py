"""The `cjson` library Redis links into its Lua (lua_cjson 2.1), byte-for-byte.

cjson.encode is Lua code (ENCODER, run once per engine): it walks tables the way
lua_cjson does (arrays only when every key is a positive integer; "excessively sparse"
past max > 2 * count and max > 10; {} as an object; numbers as %.14g; depth 1000) and
raises its error texts at the script's position. cjson.decode is the Python `decode`
below, a tokenizer + recursive descent with lua_cjson's messages ("Expected value but
found T_END at character 1"). cjson.null is a userdata both sides share.
"""
from __future__ import annotations

import re
import sys

from cluster.scripting.lua_struct import LuaLibError

ENCODER = r"""
local null, spairs = ...
local type, pairs, tostring, concat, format, floor, error, select =
      type, pairs, tostring, table.concat, string.format, math.floor, error, select
local huge = math.huge
pairs = spairs or pairs
local escapes = {['"']='\\"', ['\\']='\\\\', ['/']='\\/', ['\b']='\\b', ['\f']='\\f',
                 ['\n']='\\n', ['\r']='\\r', ['\t']='\\t'}
for i = 0, 31 do
  local c = string.char(i)
  if not escapes[c] then escapes[c] = format('\\u%04x', i) end
end
escapes['\127'] = '\\u007f'

local function fail(msg) error(msg, 0) end

-- the settings of this encode (cjson.encode_* set them; the Python side passes them in)
local max_depth, invalid, numfmt, sparse_convert, sparse_ratio, sparse_safe

local function number(n)
  if n ~= n or n == huge or n == -huge then
    if invalid == 'off' then
      fail('Cannot serialise number: must not be NaN or Inf')
    elseif invalid == 'null' then
      return 'null'
    elseif n ~= n then
      return 'nan'
    end
    return n < 0 and '-inf' or 'inf'              -- Redis's lua_cjson: printf's %.14g
  end
  return format(numfmt, n)
end

local function str(s)
  return '"' .. s:gsub('[%c"\\/\127]', escapes) .. '"'
end

local encode_value
local function encode_table(t, depth, out)
  depth = depth + 1
  if depth > max_depth then fail('Cannot serialise, excessive nesting (' .. depth .. ')') end
  -- lua_array_length
  local max, items, is_array = 0, 0, true
  for k in pairs(t) do
    if type(k) == 'number' and k > 0 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      is_array = false
      break
    end
  end
  if is_array and sparse_ratio > 0 and max > items * sparse_ratio and max > sparse_safe then
    if not sparse_convert then fail('Cannot serialise table: excessively sparse array') end
    is_array = false                     -- converted: encoded as an object
  end
  if is_array and max > 0 then
    out[#out + 1] = '['
    for i = 1, max do
      if i > 1 then out[#out + 1] = ',' end
      encode_value(t[i], depth, out)
    end
    out[#out + 1] = ']'
    return
  end
  out[#out + 1] = '{'
  local first = true
  for k, v in pairs(t) do
    if not first then out[#out + 1] = ',' end
    first = false
    local kt = type(k)
    if kt == 'string' then
      out[#out + 1] = str(k)
    elseif kt == 'number' then
      out[#out + 1] = '"' .. number(k) .. '"'
    else
      fail('Cannot serialise ' .. kt .. ': table key must be a number or string')
    end
    out[#out + 1] = ':'
    encode_value(v, depth, out)
  end
  out[#out + 1] = '}'
end

encode_value = function(v, depth, out)
  local vt = type(v)
  if vt == 'string' then
    out[#out + 1] = str(v)
  elseif vt == 'number' then
    out[#out + 1] = number(v)
  elseif vt == 'boolean' then
    out[#out + 1] = tostring(v)
  elseif vt == 'table' then
    encode_table(v, depth, out)
  elseif vt == 'nil' or v == null then
    out[#out + 1] = 'null'
  else
    fail('Cannot serialise ' .. vt .. ': type not supported')
  end
end

local function encode(v)
  local out = {}
  encode_value(v, 0, out)
  return concat(out)
end
return function(v, ...)
  max_depth, invalid, numfmt, sparse_convert, sparse_ratio, sparse_safe = ...
  return pcall(encode, v)
end
"""

INT_MAX = 2 ** 31 - 1


class Settings:
    """lua_cjson's configuration of one Lua state, at Redis's defaults; the cjson.encode_*
    / decode_* functions read and set it (json_integer_option / json_enum_option), and it
    lasts as long as the state, as in Redis."""

    def __init__(self):
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_number_precision = 14
        self.encode_invalid_numbers = "off"      # "off" | "on" | "null"
        self.decode_invalid_numbers = True
        self.encode_keep_buffer = True
        self.encode_sparse_convert = False
        self.encode_sparse_ratio = 2
        self.encode_sparse_safe = 10

    def encode_args(self) -> tuple:
        return (self.encode_max_depth, self.encode_invalid_numbers.encode(),
                b"%%.%dg" % self.encode_number_precision, self.encode_sparse_convert,
                self.encode_sparse_ratio, self.encode_sparse_safe)

    def functions(self) -> dict[bytes, object]:
        """The cjson.* setters, by name."""
        def integer(name, low, high):
            def option(*args):
                _at_most(name, args, 1)
                if args and args[0] is not None:
                    setattr(self, name, _checked_int(name, 1, args[0], low, high))
                return getattr(self, name)
            return option

        def boolean(name):
            def option(*args):
                _at_most(name, args, 1)
                if args and args[0] is not None:
                    setattr(self, name, _checked_enum(name, 1, args[0], ("off", "on")) == "on")
                return getattr(self, name)
            return option

        def invalid_numbers(*args):
            _at_most("encode_invalid_numbers", args, 1)
            if args and args[0] is not None:
                self.encode_invalid_numbers = _checked_enum(
                    "encode_invalid_numbers", 1, args[0], ("off", "on", "null"))
            mode = self.encode_invalid_numbers
            return mode == "on" if mode != "null" else b"null"

        def sparse_array(*args):
            _at_most("encode_sparse_array", args, 3)
            if args and args[0] is not None:
                self.encode_sparse_convert = _checked_enum(
                    "encode_sparse_array", 1, args[0], ("off", "on")) == "on"
            if len(args) > 1 and args[1] is not None:
                self.encode_sparse_ratio = _checked_int("encode_sparse_array", 2, args[1],
                                                        0, INT_MAX)
            if len(args) > 2 and args[2] is not None:
                self.encode_sparse_safe = _checked_int("encode_sparse_array", 3, args[2],
                                                       0, INT_MAX)
            return (self.encode_sparse_convert, self.encode_sparse_ratio,
                    self.encode_sparse_safe)

        return {
            b"encode_max_depth": integer("encode_max_depth", 1, INT_MAX),
            b"decode_max_depth": integer("decode_max_depth", 1, INT_MAX),
            b"encode_number_precision": integer("encode_number_precision", 1, 14),
            b"encode_keep_buffer": boolean("encode_keep_buffer"),
            b"decode_invalid_numbers": boolean("decode_invalid_numbers"),
            b"encode_invalid_numbers": invalid_numbers,
            b"encode_sparse_array": sparse_array,
        }


def _at_most(name: str, args: tuple, n: int) -> None:
    if len(args) > n:
        raise LuaLibError("bad argument #%d to '%s' (found too many arguments)"
                          % (n + 1, name))


def _checked_int(name: str, index: int, value, low: int, high: int) -> int:
    """luaL_checkinteger + luaL_argcheck of json_integer_option."""
    given = value
    if isinstance(value, bytes):
        try:
            value = float(value)
        except ValueError:
            value = None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise LuaLibError("bad argument #%d to '%s' (number expected, got %s)"
                          % (index, name, _lua_type(given)))
    number = int(value) if value == value and abs(value) < 2 ** 63 else -(2 ** 63)
    if not low <= number <= high:
        raise LuaLibError("bad argument #%d to '%s' (expected integer between %d and %d)"
                          % (index, name, low, high))
    return number


def _checked_enum(name: str, index: int, value, options: tuple[str, ...]) -> str:
    """json_enum_option: a boolean (off/on) or one of the option names."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (int, float)):
        value = (b"%d" % value) if value == int(value) else b"%.14g" % value
    if not isinstance(value, bytes):
        raise LuaLibError("bad argument #%d to '%s' (string expected, got %s)"
                          % (index, name, _lua_type(value)))
    text = value.decode("utf-8", "replace")
    if text not in options:
        raise LuaLibError("bad argument #%d to '%s' (invalid option '%s')"
                          % (index, name, text))
    return text


def encoder(lua, null, pairs=None, settings: Settings | None = None):
    """cjson.encode as a Python callable (its errors are LuaLibError, as decode's).

    `pairs`: the sandbox's pairs, which sees through its read-only library proxies."""
    encode = lua.execute(ENCODER, null, pairs)
    settings = settings or Settings()

    def call(*args):
        if len(args) != 1:
            raise LuaLibError("bad argument #1 to 'encode' (expected 1 argument)")
        ok, value = encode(args[0], *settings.encode_args())
        if not ok:
            raise LuaLibError(value)
        return value
    return call

_WS = b" \t\n\r"
_NUMBER = re.compile(rb"-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)",
                     re.IGNORECASE)
_SIMPLE_ESC = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
               ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}
_PUNCT = {ord("{"): "T_OBJ_BEGIN", ord("}"): "T_OBJ_END", ord("["): "T_ARR_BEGIN",
          ord("]"): "T_ARR_END", ord(":"): "T_COLON", ord(","): "T_COMMA"}
MAX_DEPTH = 1000
_INF = float("inf")
# decode recurses twice per nesting level and must reach MAX_DEPTH + 1 to report it
if sys.getrecursionlimit() < 3 * MAX_DEPTH:
    sys.setrecursionlimit(3 * MAX_DEPTH)


class _Decoder:
    def __init__(self, lua, null, text: bytes, max_depth: int = 1000,
                 invalid_numbers: bool = True):
        self.max_depth = max_depth
        self.invalid_numbers = invalid_numbers      # hex, inf, nan accepted
        self.lua = lua
        self.null = null
        self.s = text
        self.i = 0
        self.depth = 0

    def token(self):
        """(type, value, index): the next token; errors are ('T_ERROR', message, index)."""
        s, i = self.s, self.i
        while i < len(s) and s[i] in _WS:
            i += 1
        start = i
        if i >= len(s):
            self.i = i
            return "T_END", None, start
        c = s[i]
        if c in _PUNCT:
            self.i = i + 1
            return _PUNCT[c], None, start
        if c == 0x22:
            tok = self.string(start)
            return tok if tok[0] != "T_ERROR" else tok[:2] + (self.i,)
        if c == 0x2D or 0x30 <= c <= 0x39 or c in b"iInN":
            m = _NUMBER.match(s, i)
            if m and not (c in b"nN" and s.startswith(b"null", i)):
                try:
                    value = float(m.group().decode()) if b"x" not in m.group().lower() \
                        else float(int(m.group().decode(), 16))
                except ValueError:
                    value = None
                if value is not None and not self.invalid_numbers and (
                        value != value or value in (_INF, -_INF) or b"x" in m.group().lower()):
                    value = None
                    c = 0x30                    # refused as lua_cjson does: invalid number
                if value is not None:
                    self.i = m.end()
                    return "T_NUMBER", value, start
            if c not in b"iInN":
                self.i = i
                return "T_ERROR", "invalid number", start
        for word, kind, value in ((b"true", "T_BOOLEAN", True), (b"false", "T_BOOLEAN", False),
                                  (b"null", "T_NULL", None)):
            if s.startswith(word, i):
                self.i = i + len(word)
                return kind, value, start
        self.i = i
        return "T_ERROR", "invalid token", start

    def string(self, start):
        s, i = self.s, start + 1
        out = bytearray()
        while True:
            if i >= len(s):
                self.i = i
                return "T_ERROR", "unexpected end of string", start
            c = s[i]
            if c == 0x22:
                self.i = i + 1
                return "T_STRING", bytes(out), start
            if c != 0x5C:
                out.append(c)
                i += 1
                continue
            self.i = i
            if i + 1 >= len(s):
                return "T_ERROR", "unexpected end of string", start
            e = s[i + 1]
            if e in _SIMPLE_ESC:
                out += _SIMPLE_ESC[e]
                i += 2
                continue
            if e != ord("u"):
                return "T_ERROR", "invalid escape code", start
            cp, i = self.unicode(i)
            if cp is None:
                return "T_ERROR", "invalid unicode escape code", start
            out += chr(cp).encode("utf-8", "surrogatepass")

    def unicode(self, i):
        s = self.s
        hexa = s[i + 2:i + 6]
        if len(hexa) < 4 or not all(ch in b"0123456789abcdefABCDEF" for ch in hexa):
            return None, i
        cp = int(hexa, 16)
        i += 6
        if 0xDC00 <= cp <= 0xDFFF:
            return None, i
        if 0xD800 <= cp <= 0xDBFF:
            if s[i:i + 2] != b"\\u":
                return None, i
            low = s[i + 2:i + 6]
            if len(low) < 4 or not all(ch in b"0123456789abcdefABCDEF" for ch in low):
                return None, i
            lo = int(low, 16)
            if not 0xDC00 <= lo <= 0xDFFF:
                return None, i
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
            i += 6
        return cp, i

    def fail(self, expected: str, tok):
        kind, value, index = tok
        found = value if kind == "T_ERROR" else kind
        raise LuaLibError("Expected %s but found %s at character %d"
                          % (expected, found, index + 1))

    def value(self, tok):
        kind, value, index = tok
        if kind in ("T_STRING", "T_BOOLEAN"):
            return value
        if kind == "T_NUMBER":
            return int(value) if value == value and abs(value) < 2 ** 53 \
                and value == int(value) else value
        if kind == "T_NULL":
            return self.null
        if kind == "T_OBJ_BEGIN":
            return self.obj(index)
        if kind == "T_ARR_BEGIN":
            return self.arr(index)
        self.fail("value", tok)

    def nest(self, index):
        self.depth += 1
        if self.depth > self.max_depth:
            raise LuaLibError("Found too many nested data structures (%d) at character %d"
                              % (self.depth, index + 1))

    def obj(self, index):
        self.nest(index)
        t = self.lua.table()
        tok = self.token()
        if tok[0] == "T_OBJ_END":
            self.depth -= 1
            return t
        while True:
            if tok[0] != "T_STRING":
                self.fail("object key string", tok)
            key = tok[1]
            tok = self.token()
            if tok[0] != "T_COLON":
                self.fail("colon", tok)
            t[key] = self.value(self.token())
            tok = self.token()
            if tok[0] == "T_OBJ_END":
                self.depth -= 1
                return t
            if tok[0] != "T_COMMA":
                self.fail("comma or object end", tok)
            tok = self.token()

    def arr(self, index):
        self.nest(index)
        t = self.lua.table()
        tok = self.token()
        if tok[0] == "T_ARR_END":
            self.depth -= 1
            return t
        n = 1
        while True:
            t[n] = self.value(tok)
            n += 1
            tok = self.token()
            if tok[0] == "T_ARR_END":
                self.depth -= 1
                return t
            if tok[0] != "T_COMMA":
                self.fail("comma or array end", tok)
            tok = self.token()


def decode(lua, null, *args, settings: Settings | None = None):
    if len(args) != 1:
        raise LuaLibError("bad argument #1 to 'decode' (expected 1 argument)")
    text = args[0]
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = (b"%d" % text) if isinstance(text, int) and abs(text) < 10 ** 14 \
            else b"%.14g" % text
    if not isinstance(text, bytes):
        raise LuaLibError("bad argument #1 to 'decode' (string expected, got %s)"
                          % _lua_type(text))
    settings = settings or Settings()
    d = _Decoder(lua, null, text, settings.decode_max_depth, settings.decode_invalid_numbers)
    try:
        result = d.value(d.token())
    except RecursionError:          # a depth set past what Python's stack takes
        raise LuaLibError("Found too many nested data structures (%d) at character %d"
                          % (d.depth, d.i + 1)) from None
    tok = d.token()
    if tok[0] != "T_END":
        d.fail("the end", tok)
    return result


def _lua_type(v) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, bytes):
        return "string"
    if isinstance(v, (int, float)):
        return "number"
    return {"_LuaTable": "table", "_LuaFunction": "function"}.get(type(v).__name__,
                                                                 "userdata")
