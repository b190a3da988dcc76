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

local function number(n)
  if n ~= n or n == huge or n == -huge then
    fail('Cannot serialise number: must not be NaN or Inf')
  end
  return format('%.14g', n)
end

local function str(s)
  return '"' .. s:gsub('[%c"\\/\127]', escapes) .. '"'
end

local encode_value
local function encode_table(t, depth, out)
  depth = depth + 1
  if depth > 1000 then fail('Cannot serialise, excessive nesting (1001)') end
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
  if is_array and max > items * 2 and max > 10 then
    fail('Cannot serialise table: excessively sparse array')
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
return function(v) return pcall(encode, v) end
"""


def encoder(lua, null, pairs=None):
    """cjson.encode as a Python callable (its errors are LuaLibError, as decode's).

    `pairs`: the sandbox's pairs, which sees through its read-only library proxies."""
    encode = lua.execute(ENCODER, null, pairs)

    def call(*args):
        if len(args) != 1:
            raise LuaLibError("bad argument #1 to 'encode' (expected 1 argument)")
        ok, value = encode(args[0])
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
# decode recurses twice per nesting level and must reach MAX_DEPTH + 1 to report it
if sys.getrecursionlimit() < 3 * MAX_DEPTH:
    sys.setrecursionlimit(3 * MAX_DEPTH)


class _Decoder:
    def __init__(self, lua, null, text: bytes):
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
        if self.depth > MAX_DEPTH:
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


def decode(lua, null, *args):
    if len(args) != 1:
        raise LuaLibError("bad argument #1 to 'decode' (expected 1 argument)")
    text = args[0]
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = (b"%d" % text) if isinstance(text, int) and abs(text) < 10 ** 14 \
            else b"%.14g" % text
    if not isinstance(text, bytes):
        raise LuaLibError("bad argument #1 to 'decode' (string expected, got %s)"
                          % _lua_type(text))
    d = _Decoder(lua, null, text)
    result = d.value(d.token())
    tok = d.token()
    if tok[0] != "T_END":
        d.fail("the end", tok)
    return result


def _lua_type(v) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    return {"_LuaTable": "table", "_LuaFunction": "function"}.get(type(v).__name__,
                                                                 "userdata")
